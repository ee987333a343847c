//! Named arrays in safetensors files, written atomically: the resume state and the on-disk
//! sample cache.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use safetensors::tensor::{Dtype, SafeTensors, View};
use tch::{Kind, Tensor};

use crate::TrainError;

/// One array's bytes (little-endian, C order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostArray {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl HostArray {
    pub fn f32(shape: &[usize], values: impl IntoIterator<Item = f32>) -> Self {
        Self {
            dtype: Dtype::F32,
            shape: shape.to_vec(),
            bytes: values.into_iter().flat_map(f32::to_le_bytes).collect(),
        }
    }

    pub fn u8(shape: &[usize], values: impl IntoIterator<Item = u8>) -> Self {
        Self {
            dtype: Dtype::U8,
            shape: shape.to_vec(),
            bytes: values.into_iter().collect(),
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn to_f32(&self) -> Option<Vec<f32>> {
        (self.dtype == Dtype::F32 && self.bytes.len() == 4 * self.numel()).then(|| {
            self.bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
    }

    pub fn to_u8(&self) -> Option<Vec<u8>> {
        (self.dtype == Dtype::U8 && self.bytes.len() == self.numel()).then(|| self.bytes.clone())
    }

    /// A float tensor's bytes (moved to the CPU).
    pub fn from_tensor(t: &Tensor) -> Result<Self, tch::TchError> {
        let host = t
            .f_to_device(tch::Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?;
        let n = host.numel();
        let mut values = vec![0f32; n];
        host.f_copy_data(&mut values, n)?;
        Ok(Self::f32(
            &host.size().iter().map(|&d| d as usize).collect::<Vec<_>>(),
            values,
        ))
    }

    /// A float tensor on the CPU (`None` for other dtypes).
    pub fn to_tensor(&self) -> Option<Tensor> {
        let v = self.to_f32()?;
        let shape: Vec<i64> = self.shape.iter().map(|&d| d as i64).collect();
        Some(Tensor::from_slice(&v).view(shape.as_slice()))
    }
}

impl View for &HostArray {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `bytes` through a temporary file in the same folder and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = path.with_file_name(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(TrainError::io(path))
}

/// Writes named arrays and string metadata as a safetensors file, atomically.
pub(crate) fn write(
    path: &Path,
    arrays: &BTreeMap<String, HostArray>,
    metadata: HashMap<String, String>,
) -> Result<(), TrainError> {
    let bytes = safetensors::tensor::serialize(arrays.iter(), &Some(metadata)).map_err(|e| {
        TrainError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("cannot serialise: {e:?}")),
        }
    })?;
    write_atomically(path, &bytes)
}

/// Named arrays and string metadata of a file.
pub(crate) type Contents = (BTreeMap<String, HostArray>, HashMap<String, String>);

/// Reads a safetensors file back.
pub(crate) fn read(path: &Path) -> Result<Contents, TrainError> {
    let bytes = std::fs::read(path).map_err(TrainError::io(path))?;
    let bad = |reason: String| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
    };
    let (_, meta) =
        SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("not safetensors: {e:?}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let file =
        SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not safetensors: {e:?}")))?;
    let mut arrays = BTreeMap::new();
    for (name, view) in file.tensors() {
        arrays.insert(
            name,
            HostArray {
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                bytes: view.data().to_vec(),
            },
        );
    }
    Ok((arrays, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_metadata_round_trip() {
        let dir = std::env::temp_dir().join(format!("cmr-train-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.safetensors");
        let t = Tensor::from_slice(&[1.5f32, -2.0, 3.25, 0.0, 1e-30, 7.0]).view([2, 3]);
        let mut arrays = BTreeMap::new();
        arrays.insert("t".to_string(), HostArray::from_tensor(&t).unwrap());
        arrays.insert("m".to_string(), HostArray::u8(&[2], [3, 250]));
        write(&path, &arrays, [("k".to_string(), "v".to_string())].into()).unwrap();
        let (back, meta) = read(&path).unwrap();
        assert_eq!(back, arrays);
        assert_eq!(meta["k"], "v");
        assert!(back["t"].to_tensor().unwrap().equal(&t));
        assert_eq!(back["m"].to_f32(), None);
        assert!(read(&dir.join("missing")).is_err());
        std::fs::write(dir.join("junk"), b"junk").unwrap();
        assert!(read(&dir.join("junk")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

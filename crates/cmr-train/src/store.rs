//! [`SampleStore`]: prepared samples on demand, shared between loader threads, optionally
//! cached in memory or on disk.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use cmr_geometry::{ImagePlane, PixelSpacing, Vec3};
use cmr_pretext::{PretextTarget, PretextTask};
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::preprocess::{prepare, PreparedSample, PreprocessConfig};
use crate::seeds::fnv1a;
use crate::tensorfile::{self, HostArray};
use crate::TrainError;

/// Where prepared samples are kept between uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "cache", content = "path", rename_all = "snake_case")]
pub enum CacheMode {
    /// Prepared again at every use (lowest memory; loading and resampling every time).
    None,
    /// Kept in memory after the first use (the default: preparation runs once per image).
    #[default]
    Memory,
    /// Kept as one safetensors file per image in this folder, reused across runs whose
    /// preprocessing and pretext task are the same (the file name is a hash of both and of
    /// the image's references; the full key is checked on reading).
    Disk(PathBuf),
}

/// Prepared samples of one dataset, by item index.
pub struct SampleStore<'a> {
    dataset: Dataset<'a>,
    config: PreprocessConfig,
    task: Option<Arc<dyn PretextTask>>,
    mode: CacheMode,
    memory: Vec<OnceLock<Arc<PreparedSample>>>,
}

impl std::fmt::Debug for SampleStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleStore")
            .field("items", &self.dataset.len())
            .field("mode", &self.mode)
            .finish()
    }
}

impl<'a> SampleStore<'a> {
    /// A store over `dataset`; `task` (when given) derives pretext targets.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for a bad preprocessing configuration, [`TrainError::Io`] when
    /// the disk cache folder cannot be created.
    pub fn new(
        dataset: Dataset<'a>,
        config: PreprocessConfig,
        task: Option<Arc<dyn PretextTask>>,
        mode: CacheMode,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        if let CacheMode::Disk(dir) = &mode {
            std::fs::create_dir_all(dir).map_err(TrainError::io(dir))?;
        }
        let memory = (0..dataset.len()).map(|_| OnceLock::new()).collect();
        Ok(Self {
            dataset,
            config,
            task,
            mode,
            memory,
        })
    }

    /// The dataset.
    pub fn dataset(&self) -> &Dataset<'a> {
        &self.dataset
    }

    /// The preprocessing.
    pub fn config(&self) -> &PreprocessConfig {
        &self.config
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.dataset.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.dataset.is_empty()
    }

    /// The prepared sample of item `index`.
    ///
    /// # Errors
    /// The errors of [`prepare`]; [`TrainError::Io`] for cache files that cannot be written.
    pub fn get(&self, index: usize) -> Result<Arc<PreparedSample>, TrainError> {
        let cell = self.memory.get(index).ok_or(TrainError::Invalid {
            what: "sample index",
            reason: format!("{index} of {}", self.dataset.len()),
        })?;
        if let Some(s) = cell.get() {
            return Ok(s.clone());
        }
        let sample = match &self.mode {
            CacheMode::Disk(dir) => self.through_disk(dir, index)?,
            _ => Arc::new(self.prepare(index)?),
        };
        if self.mode == CacheMode::Memory {
            let _ = cell.set(sample.clone());
        }
        Ok(sample)
    }

    fn prepare(&self, index: usize) -> Result<PreparedSample, TrainError> {
        let item = &self.dataset.items()[index];
        prepare(&self.dataset, item, &self.config, self.task.as_deref())
    }

    fn key(&self, index: usize) -> String {
        let item = &self.dataset.items()[index];
        let frame = self.dataset.frame(item);
        let set = item
            .label_set
            .map(|s| format!("{:?}", self.dataset.label_sets().0[s]));
        format!(
            "v1|{}|{}|{:?}|{}|{}|{:?}",
            frame.map(|f| f.image.to_string()).unwrap_or_default(),
            frame
                .and_then(|f| f.label.as_ref())
                .map(|l| l.to_string())
                .unwrap_or_default(),
            self.dataset.plane(item),
            self.config.describe(),
            self.task.as_ref().map(|t| t.describe()).unwrap_or_default(),
            set,
        )
    }

    fn through_disk(
        &self,
        dir: &std::path::Path,
        index: usize,
    ) -> Result<Arc<PreparedSample>, TrainError> {
        let key = self.key(index);
        let path = dir.join(format!("{:016x}.safetensors", fnv1a(key.as_bytes())));
        if path.exists() {
            let item = self.dataset.items()[index];
            if let Some(original) = self.dataset.plane(&item) {
                if let Ok(sample) =
                    read_cached(&path, &key, item, *original, self.config.spacing_mm)
                {
                    return Ok(Arc::new(sample));
                }
            }
        }
        let sample = self.prepare(index)?;
        write_cached(&path, &key, &sample)?;
        Ok(Arc::new(sample))
    }
}

/// Metadata of a cached sample. The region plane is rebuilt from the original plane and the
/// region origin's exact bits (JSON floats need not round-trip bit for bit).
#[derive(Serialize, Deserialize)]
struct CachedMeta {
    key: String,
    region_origin_bits: [u64; 3],
    centred_on_lv: bool,
    present: Option<Vec<bool>>,
}

fn write_cached(path: &std::path::Path, key: &str, s: &PreparedSample) -> Result<(), TrainError> {
    let (h, w) = s.image.dim();
    let mut arrays = BTreeMap::new();
    arrays.insert(
        "image".to_string(),
        HostArray::f32(&[h, w], s.image.iter().copied()),
    );
    arrays.insert(
        "valid".to_string(),
        HostArray::u8(&[h, w], s.valid.iter().map(|&v| u8::from(v))),
    );
    if let Some(seg) = &s.segmentation {
        arrays.insert(
            "segmentation".to_string(),
            HostArray::u8(&[h, w], seg.iter().copied()),
        );
    }
    let mut present = None;
    match &s.pretext {
        Some(PretextTarget::Classes { labels, ignore }) => {
            arrays.insert(
                "pretext_labels".into(),
                HostArray::u8(&[h, w], labels.iter().copied()),
            );
            arrays.insert(
                "pretext_ignore".into(),
                HostArray::u8(&[h, w], ignore.iter().map(|&v| u8::from(v))),
            );
        }
        Some(PretextTarget::Channels { maps, present: p }) => {
            let (c, mh, mw) = maps.dim();
            arrays.insert(
                "pretext_maps".into(),
                HostArray::f32(&[c, mh, mw], maps.iter().copied()),
            );
            present = Some(p.clone());
        }
        None => {}
    }
    let meta = CachedMeta {
        key: key.to_string(),
        region_origin_bits: [
            s.region.origin().x.to_bits(),
            s.region.origin().y.to_bits(),
            s.region.origin().z.to_bits(),
        ],
        centred_on_lv: s.centred_on_lv,
        present,
    };
    let json = serde_json::to_string(&meta).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    tensorfile::write(path, &arrays, HashMap::from([("sample".to_string(), json)]))
}

fn read_cached(
    path: &std::path::Path,
    key: &str,
    item: crate::dataset::ImageItem,
    original: ImagePlane,
    spacing_mm: f64,
) -> Result<PreparedSample, TrainError> {
    let (arrays, meta) = tensorfile::read(path)?;
    let stale = || TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stale or foreign cache file",
        ),
    };
    let meta: CachedMeta = meta
        .get("sample")
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(stale)?;
    if meta.key != key {
        return Err(stale());
    }
    let grid2 = |name: &str| -> Option<(Vec<usize>, &HostArray)> {
        let a = arrays.get(name)?;
        Some((a.shape.clone(), a))
    };
    let f32_2d = |name: &str| -> Option<Array2<f32>> {
        let (shape, a) = grid2(name)?;
        Array2::from_shape_vec((shape[0], shape[1]), a.to_f32()?).ok()
    };
    let u8_2d = |name: &str| -> Option<Array2<u8>> {
        let (shape, a) = grid2(name)?;
        Array2::from_shape_vec((shape[0], shape[1]), a.to_u8()?).ok()
    };
    let image = f32_2d("image").ok_or_else(stale)?;
    let valid = u8_2d("valid").ok_or_else(stale)?.mapv(|v| v != 0);
    let segmentation = u8_2d("segmentation");
    let pretext = if let Some(labels) = u8_2d("pretext_labels") {
        Some(PretextTarget::Classes {
            labels,
            ignore: u8_2d("pretext_ignore").ok_or_else(stale)?.mapv(|v| v != 0),
        })
    } else if let Some(a) = arrays.get("pretext_maps") {
        let maps = Array3::from_shape_vec(
            (a.shape[0], a.shape[1], a.shape[2]),
            a.to_f32().ok_or_else(stale)?,
        )
        .map_err(|_| stale())?;
        Some(PretextTarget::Channels {
            maps,
            present: meta.present.clone().ok_or_else(stale)?,
        })
    } else {
        None
    };
    let [x, y, z] = meta.region_origin_bits.map(f64::from_bits);
    let region = ImagePlane::new(
        Vec3::new(x, y, z),
        original.row_dir(),
        original.col_dir(),
        PixelSpacing {
            between_rows: spacing_mm,
            between_cols: spacing_mm,
        },
        image.nrows(),
        image.ncols(),
    )
    .map_err(|_| stale())?;
    Ok(PreparedSample {
        item,
        image,
        valid,
        segmentation,
        pretext,
        region,
        original,
        centred_on_lv: meta.centred_on_lv,
    })
}

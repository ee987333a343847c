//! Checkpoints: safetensors files with PyTorch-style names, written atomically, loaded in
//! whole or in part with a report of what was loaded.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use safetensors::tensor::{Dtype, SafeTensors, View};
use tch::{Device, Tensor};

use crate::net::{DECODER_PREFIX, ENCODER_PREFIX};
use crate::{UNet, UNetConfig, UNetError};

/// The safetensors metadata key under which checkpoints store the [`UNetConfig`] as JSON.
pub const CONFIG_METADATA_KEY: &str = "cmr_unet.config";

/// Which of the network's tensors a load replaces; the others are left as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadScope {
    /// Every parameter and buffer.
    All,
    /// The encoder only (`encoder.*`): pretrained features under a fresh decoder and heads.
    Encoder,
    /// Encoder and decoder (`encoder.*`, `decoder.*`), not the heads: a pretrained trunk under
    /// new task heads.
    AllButHeads,
    /// Tensors whose names start with one of these prefixes (for example
    /// `["encoder.", "decoder.", "heads.positions."]` to keep a pretext head too).
    Prefixes(Vec<String>),
}

impl LoadScope {
    /// Whether the tensor `name` is in scope.
    pub fn includes(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Encoder => name.starts_with(ENCODER_PREFIX),
            Self::AllButHeads => {
                name.starts_with(ENCODER_PREFIX) || name.starts_with(DECODER_PREFIX)
            }
            Self::Prefixes(prefixes) => prefixes.iter().any(|p| name.starts_with(p.as_str())),
        }
    }
}

/// What a load did, by tensor name (each list sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Where the tensors came from (a file path or "another network").
    pub source: String,
    /// The network's tensors that were replaced.
    pub loaded: Vec<String>,
    /// The network's tensors outside the scope, left as they were.
    pub skipped: Vec<String>,
    /// Tensors of the source that were not used: out of scope, or unknown to the network
    /// (for example PyTorch's `*.num_batches_tracked` BatchNorm counters).
    pub unused: Vec<String>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loaded {} tensors from {}; kept {} as they were",
            self.loaded.len(),
            self.source,
            self.skipped.len()
        )?;
        if !self.skipped.is_empty() {
            write!(f, " ({})", abbreviate(&self.skipped))?;
        }
        write!(f, "; {} source tensors unused", self.unused.len())?;
        if !self.unused.is_empty() {
            write!(f, " ({})", abbreviate(&self.unused))?;
        }
        Ok(())
    }
}

fn abbreviate(names: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(", ... {} more", names.len() - SHOWN));
    }
    s
}

/// The contents of a safetensors checkpoint: named tensors (on the CPU) and, when the file
/// was written by [`UNet::save`] or the PyTorch peer script, the network's configuration.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    config: Option<UNetConfig>,
    tensors: BTreeMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads a safetensors file.
    ///
    /// # Errors
    /// [`UNetError::Io`] when it cannot be read, [`UNetError::Checkpoint`] when it is not a
    /// valid safetensors file, holds an unsupported dtype or a malformed configuration.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, UNetError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| UNetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| UNetError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        let (_, metadata) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e:?}")))?;
        let config = match metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CONFIG_METADATA_KEY))
        {
            None => None,
            Some(json) => Some(UNetConfig::from_json(json).map_err(|e| bad(e.to_string()))?),
        };
        let file = SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e:?}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let tensor = Tensor::try_from(view)
                .map_err(|e| bad(format!("tensor `{name}` cannot be read: {e}")))?;
            tensors.insert(name, tensor);
        }
        Ok(Self {
            path: path.to_path_buf(),
            config,
            tensors,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored network configuration, if the file has one.
    pub fn config(&self) -> Option<&UNetConfig> {
        self.config.as_ref()
    }

    /// The tensors by name.
    pub fn tensors(&self) -> &BTreeMap<String, Tensor> {
        &self.tensors
    }
}

/// A tensor's bytes, ready for the safetensors writer.
struct HostTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl HostTensor {
    fn new(tensor: &Tensor) -> Result<Self, tch::TchError> {
        let host = tensor.f_to_device(Device::Cpu)?.f_contiguous()?;
        let dtype = Dtype::try_from(host.kind())?;
        let numel = host.numel();
        let mut bytes = vec![0u8; numel * host.kind().elt_size_in_bytes()];
        host.f_copy_data_u8(&mut bytes, numel)?;
        Ok(Self {
            dtype,
            shape: host.size().iter().map(|&d| d as usize).collect(),
            bytes,
        })
    }
}

impl View for &HostTensor {
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

/// Writes `bytes` to `path` through a temporary file in the same folder (synced) and a rename,
/// then syncs the folder, so that `path` is either the old file or the complete new one, never
/// a partial write, and the new one survives a crash once this returns.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UNetError> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let io = |source| UNetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the checkpoint path has no file name",
        ))
    })?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
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
    result.map_err(io)?;
    sync_parent_folder(path).map_err(io)
}

/// Makes a rename in `path`'s folder durable: without syncing the folder, a crash after the
/// rename may leave the old name (or none) on disk although the file's data was synced.
fn sync_parent_folder(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path; // folders cannot be opened for syncing there; the rename is what we have
    Ok(())
}

impl UNet {
    /// Saves every parameter and buffer as a safetensors file with PyTorch-style names (it
    /// loads with `safetensors.torch.load_file` + `load_state_dict(strict=False)`, the only
    /// keys missing being PyTorch's `num_batches_tracked` counters), and the configuration in
    /// the metadata. Written atomically (temporary file + rename).
    ///
    /// # Errors
    /// [`UNetError::Io`] when the file cannot be written, [`UNetError::Torch`] when a tensor
    /// cannot be copied to the host.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), UNetError> {
        let path = path.as_ref();
        let mut host = BTreeMap::new();
        for (name, tensor) in self.named_tensors() {
            let t = HostTensor::new(&tensor).map_err(|source| UNetError::Torch {
                context: format!("copying `{name}` to the host for {}", path.display()),
                source,
            })?;
            host.insert(name, t);
        }
        let metadata: HashMap<String, String> = [
            (CONFIG_METADATA_KEY.to_string(), self.config().to_json()),
            // What Hugging Face's safetensors.torch writes; harmless elsewhere.
            ("format".to_string(), "pt".to_string()),
        ]
        .into();
        let bytes = safetensors::tensor::serialize(host.iter(), &Some(metadata)).map_err(|e| {
            UNetError::Checkpoint {
                path: path.to_path_buf(),
                reason: format!("cannot serialise: {e:?}"),
            }
        })?;
        write_atomically(path, &bytes)
    }

    /// Builds the network a checkpoint describes (its stored configuration, standard encoder)
    /// on `device` and loads every tensor. Tensors the network does not have (such as
    /// PyTorch's `num_batches_tracked`) are ignored; use [`UNet::load`] to see them.
    ///
    /// # Errors
    /// [`UNetError::MissingConfig`] when the file stores no configuration, and the errors of
    /// [`Checkpoint::read`] and [`UNet::load`].
    pub fn from_checkpoint(path: impl AsRef<Path>, device: Device) -> Result<Self, UNetError> {
        let checkpoint = Checkpoint::read(path)?;
        let config = checkpoint
            .config()
            .ok_or_else(|| UNetError::MissingConfig {
                path: checkpoint.path().to_path_buf(),
            })?
            .clone();
        let mut net = Self::new(&config, device)?;
        net.load_checkpoint(&checkpoint, &LoadScope::All)?;
        Ok(net)
    }

    /// Loads the tensors in `scope` from a safetensors file (from [`UNet::save`] or a PyTorch
    /// `state_dict` saved with safetensors), converting them to the network's dtype and
    /// device. Nothing is changed unless every tensor in scope is present with the right
    /// shape.
    ///
    /// # Errors
    /// The errors of [`Checkpoint::read`]; [`UNetError::MissingTensors`] naming every tensor
    /// in scope the file lacks; [`UNetError::ShapeMismatch`] naming the tensor and both shapes;
    /// [`UNetError::KindMismatch`] for a non-floating-point tensor where the network has a
    /// floating-point one.
    pub fn load(
        &mut self,
        path: impl AsRef<Path>,
        scope: &LoadScope,
    ) -> Result<LoadReport, UNetError> {
        let checkpoint = Checkpoint::read(path)?;
        self.load_checkpoint(&checkpoint, scope)
    }

    /// [`UNet::load`] from an already read [`Checkpoint`].
    ///
    /// # Errors
    /// As [`UNet::load`].
    pub fn load_checkpoint(
        &mut self,
        checkpoint: &Checkpoint,
        scope: &LoadScope,
    ) -> Result<LoadReport, UNetError> {
        self.load_tensors(
            &checkpoint.path().display().to_string(),
            checkpoint.tensors(),
            scope,
        )
    }

    /// Copies the tensors in `scope` from another network (for example a pretrained one with
    /// other heads).
    ///
    /// # Errors
    /// As [`UNet::load`].
    pub fn load_from(&mut self, other: &UNet, scope: &LoadScope) -> Result<LoadReport, UNetError> {
        self.load_tensors("another network", &other.named_tensors(), scope)
    }

    fn load_tensors(
        &mut self,
        source: &str,
        tensors: &BTreeMap<String, Tensor>,
        scope: &LoadScope,
    ) -> Result<LoadReport, UNetError> {
        let ours = self.named_tensors();
        let mut report = LoadReport {
            source: source.to_string(),
            loaded: Vec::new(),
            skipped: Vec::new(),
            unused: Vec::new(),
        };
        let mut missing = Vec::new();
        // Check everything first, so that a failed load changes nothing.
        for (name, target) in &ours {
            if !scope.includes(name) {
                report.skipped.push(name.clone());
                continue;
            }
            let Some(src) = tensors.get(name) else {
                missing.push(name.clone());
                continue;
            };
            if src.size() != target.size() {
                return Err(UNetError::ShapeMismatch {
                    origin: source.to_string(),
                    tensor: name.clone(),
                    expected: target.size(),
                    found: src.size(),
                });
            }
            if target.is_floating_point() && !src.is_floating_point() {
                return Err(UNetError::KindMismatch {
                    origin: source.to_string(),
                    tensor: name.clone(),
                    expected: target.kind(),
                    found: src.kind(),
                });
            }
            report.loaded.push(name.clone());
        }
        if !missing.is_empty() {
            return Err(UNetError::MissingTensors {
                origin: source.to_string(),
                names: missing,
            });
        }
        for name in &report.loaded {
            let (mut target, src) = (ours[name].shallow_clone(), &tensors[name]);
            tch::no_grad(|| target.f_copy_(src)).map_err(|e| UNetError::Torch {
                context: format!("copying `{name}` from {source}"),
                source: e,
            })?;
        }
        report.unused = tensors
            .keys()
            .filter(|name| report.loaded.binary_search(name).is_err())
            .cloned()
            .collect();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeadSpec;
    use tch::Kind;

    fn small(heads: &[(&str, i64)]) -> UNetConfig {
        UNetConfig {
            levels: 3,
            base_channels: 4,
            heads: heads.iter().map(|&(n, c)| HeadSpec::new(n, c)).collect(),
            ..UNetConfig::default()
        }
    }

    /// A scratch folder removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "cmr-unet-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A network whose BatchNorm running statistics are no longer the initial 0 / 1.
    fn trained_net(config: &UNetConfig, seed: i64) -> UNet {
        tch::manual_seed(seed);
        let net = UNet::new(config, Device::Cpu).unwrap();
        let x = Tensor::randn([3, 1, 16, 16], (Kind::Float, Device::Cpu));
        tch::no_grad(|| net.forward_t(&x, true)).unwrap();
        net
    }

    fn assert_same(a: &Tensor, b: &Tensor, name: &str) {
        assert!(a.equal(b), "{name} differs");
    }

    #[test]
    fn save_then_from_checkpoint_reproduces_the_network() {
        let dir = Scratch::new("roundtrip");
        let config = small(&[("positions", 10), ("segmentation", 4)]);
        let net = trained_net(&config, 1);
        let path = dir.path("net.safetensors");
        net.save(&path).unwrap();
        // Atomic write leaves no temporary file behind.
        let names: Vec<_> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["net.safetensors"]);

        let checkpoint = Checkpoint::read(&path).unwrap();
        assert_eq!(checkpoint.config(), Some(&config));
        assert_eq!(checkpoint.tensors().len(), net.named_tensors().len());
        let back = UNet::from_checkpoint(&path, Device::Cpu).unwrap();
        for (name, t) in net.named_tensors() {
            assert_same(&t, &back.named_tensors()[&name], &name);
        }
        let x = Tensor::randn([2, 1, 13, 18], (Kind::Float, Device::Cpu));
        let a = net
            .forward_t(&x, false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        let b = back
            .forward_t(&x, false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        assert_same(&a, &b, "eval output");
        // Saving again over the file replaces it.
        let other = trained_net(&config, 2);
        other.save(&path).unwrap();
        let w = "encoder.blocks.0.conv1.weight";
        assert_same(
            &Checkpoint::read(&path).unwrap().tensors()[w],
            &other.named_tensors()[w],
            w,
        );
    }

    #[test]
    fn partial_loads_replace_only_their_scope_and_report_it() {
        let dir = Scratch::new("partial");
        let pretext = trained_net(&small(&[("positions", 10)]), 3);
        let path = dir.path("pretext.safetensors");
        pretext.save(&path).unwrap();
        let src = pretext.named_tensors();

        for scope in [LoadScope::Encoder, LoadScope::AllButHeads] {
            tch::manual_seed(4);
            let mut net = UNet::new(&small(&[("segmentation", 4)]), Device::Cpu).unwrap();
            let fresh: BTreeMap<String, Tensor> = net
                .named_tensors()
                .into_iter()
                .map(|(n, t)| (n, t.copy()))
                .collect();
            let report = net.load(&path, &scope).unwrap();
            let now = net.named_tensors();
            for (name, t) in &now {
                let expect_loaded = scope.includes(name);
                assert_eq!(report.loaded.contains(name), expect_loaded, "{name}");
                assert_eq!(report.skipped.contains(name), !expect_loaded, "{name}");
                if expect_loaded {
                    assert_same(t, &src[name], name);
                } else {
                    assert_same(t, &fresh[name], name);
                }
            }
            assert!(report.loaded.iter().any(|n| n.starts_with("encoder.")));
            assert_eq!(
                report.loaded.iter().any(|n| n.starts_with("decoder.")),
                scope == LoadScope::AllButHeads
            );
            assert!(report
                .unused
                .contains(&"heads.positions.weight".to_string()));
            assert!(report.to_string().contains("kept"), "{report}");
        }

        // Prefixes: trunk plus the pretext head, into a multi-task network.
        let mut multi = UNet::new(
            &small(&[("positions", 10), ("segmentation", 4)]),
            Device::Cpu,
        )
        .unwrap();
        let scope = LoadScope::Prefixes(vec![
            "encoder.".into(),
            "decoder.".into(),
            "heads.positions.".into(),
        ]);
        let report = multi.load_from(&pretext, &scope).unwrap();
        assert_eq!(report.source, "another network");
        assert_eq!(report.loaded.len(), src.len());
        assert!(report.unused.is_empty());
        assert_eq!(
            report.skipped,
            ["heads.segmentation.bias", "heads.segmentation.weight"]
        );
    }

    #[test]
    fn shape_mismatch_names_the_tensor_and_both_shapes_and_changes_nothing() {
        let dir = Scratch::new("mismatch");
        let wide = trained_net(
            &UNetConfig {
                base_channels: 8,
                ..small(&[("positions", 10)])
            },
            5,
        );
        let path = dir.path("wide.safetensors");
        wide.save(&path).unwrap();
        let mut net = trained_net(&small(&[("positions", 10)]), 6);
        let before: BTreeMap<String, Tensor> = net
            .named_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let err = net.load(&path, &LoadScope::All).unwrap_err();
        match &err {
            UNetError::ShapeMismatch {
                origin,
                tensor,
                expected,
                found,
            } => {
                assert!(origin.ends_with("wide.safetensors"));
                // Checks run in name order; the first mismatching tensor is the first decoder
                // block's (level 1: 8 channels here, 16 in the file) first BatchNorm bias.
                assert_eq!(tensor, "decoder.blocks.0.bn1.bias");
                assert_eq!(expected, &[8]);
                assert_eq!(found, &[16]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("decoder.blocks.0.bn1.bias"), "{message}");
        assert!(
            message.contains("[16]") && message.contains("[8]"),
            "{message}"
        );
        for (name, t) in net.named_tensors() {
            assert_same(&t, &before[&name], &name);
        }
    }

    #[test]
    fn missing_tensors_are_all_named() {
        let dir = Scratch::new("missing");
        let shallow = trained_net(
            &UNetConfig {
                levels: 2,
                ..small(&[("positions", 10)])
            },
            7,
        );
        let path = dir.path("shallow.safetensors");
        shallow.save(&path).unwrap();
        let mut net = UNet::new(&small(&[("positions", 10)]), Device::Cpu).unwrap();
        match net.load(&path, &LoadScope::Encoder).unwrap_err() {
            UNetError::MissingTensors { names, .. } => {
                // Level 2 of the encoder: 2 convs + 2 BatchNorms of 4 tensors = 10.
                assert_eq!(names.len(), 10, "{names:?}");
                assert!(names.iter().all(|n| n.starts_with("encoder.blocks.2.")));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn dtype_is_converted_on_load_and_integers_are_refused() {
        let dir = Scratch::new("dtype");
        let mut double = trained_net(&small(&[("positions", 10)]), 8);
        double.set_kind(Kind::Double).unwrap();
        let path = dir.path("double.safetensors");
        double.save(&path).unwrap();
        let checkpoint = Checkpoint::read(&path).unwrap();
        assert_eq!(
            checkpoint.tensors()["heads.positions.bias"].kind(),
            Kind::Double
        );
        let single = UNet::from_checkpoint(&path, Device::Cpu).unwrap();
        assert_eq!(single.kind(), Kind::Float);
        let name = "encoder.blocks.1.conv2.weight";
        assert_same(
            &single.named_tensors()[name],
            &double.named_tensors()[name].to_kind(Kind::Float),
            name,
        );

        let ints: Vec<(String, Tensor)> = single
            .named_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.to_kind(Kind::Int64)))
            .collect();
        let path = dir.path("ints.safetensors");
        Tensor::write_safetensors(&ints, &path).unwrap();
        let mut net = UNet::new(&small(&[("positions", 10)]), Device::Cpu).unwrap();
        assert!(matches!(
            net.load(&path, &LoadScope::All),
            Err(UNetError::KindMismatch { .. })
        ));
        // Written without our metadata: no configuration to rebuild from.
        assert!(matches!(
            UNet::from_checkpoint(&path, Device::Cpu),
            Err(UNetError::MissingConfig { .. })
        ));
    }

    #[test]
    fn broken_files_are_typed_errors() {
        let dir = Scratch::new("broken");
        let net = UNet::new(&small(&[("positions", 10)]), Device::Cpu).unwrap();
        let path = dir.path("net.safetensors");
        net.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
        assert!(matches!(
            Checkpoint::read(&cut),
            Err(UNetError::Checkpoint { .. })
        ));
        assert!(matches!(
            Checkpoint::read(dir.path("absent.safetensors")),
            Err(UNetError::Io { .. })
        ));
        // Saving onto a non-empty directory fails at the rename: an Io error, the directory
        // intact and no temporary file left.
        let blocker = dir.path("blocker.safetensors");
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("keep"), b"x").unwrap();
        assert!(matches!(net.save(&blocker), Err(UNetError::Io { .. })));
        assert!(blocker.join("keep").exists());
        let leftovers = std::fs::read_dir(&dir.0)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    #[cfg(unix)]
    fn the_folder_of_a_save_is_synced_even_for_a_bare_file_name() {
        // A bare name lives in the current folder, which is what gets synced.
        sync_parent_folder(Path::new("net.safetensors")).unwrap();
        let dir = Scratch::new("sync");
        sync_parent_folder(&dir.path("net.safetensors")).unwrap();
        // A folder that is not there cannot be synced: the error reaches the caller.
        assert!(sync_parent_folder(&dir.path("absent/net.safetensors")).is_err());
    }
}

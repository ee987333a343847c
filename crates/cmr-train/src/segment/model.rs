//! A fine-tuned segmentation network with what it needs to segment new images: the
//! preprocessing it was trained with and the label set of each head.

use std::path::{Path, PathBuf};

use cmr_geometry::View;
use cmr_unet::UNet;
use tch::Device;

use crate::dataset::{LabelSet, LabelSets};
use crate::preprocess::PreprocessConfig;
use crate::TrainError;

/// A segmentation network, its preprocessing and the label set of each of its segmentation
/// heads.
#[derive(Debug)]
pub struct SegmentationModel {
    net: UNet,
    preprocess: PreprocessConfig,
    label_sets: LabelSets,
    checkpoint: Option<PathBuf>,
}

impl SegmentationModel {
    /// A model from its parts. Label sets whose head the network lacks are dropped.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for a bad preprocessing configuration or label sets, a head
    /// whose channels differ from its label set's, or no segmentation head left.
    pub fn new(
        net: UNet,
        preprocess: PreprocessConfig,
        label_sets: LabelSets,
    ) -> Result<Self, TrainError> {
        preprocess.validate()?;
        label_sets.validate()?;
        let mut kept = Vec::new();
        for set in label_sets.0 {
            let Some(head) = net.heads().iter().find(|h| h.name == set.head) else {
                continue;
            };
            if head.channels != set.channels() {
                return Err(TrainError::Invalid {
                    what: "segmentation head",
                    reason: format!(
                        "head {} has {} channels, the {} label set {} (background + {:?})",
                        head.name,
                        head.channels,
                        set.view,
                        set.channels(),
                        set.classes
                    ),
                });
            }
            kept.push(set);
        }
        if kept.is_empty() {
            return Err(TrainError::Invalid {
                what: "segmentation model",
                reason: format!(
                    "no segmentation head among {:?} (a pretrained network is not a \
                     segmentation model: fine-tune it first)",
                    net.heads()
                        .iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                ),
            });
        }
        Ok(Self {
            net,
            preprocess,
            label_sets: LabelSets(kept),
            checkpoint: None,
        })
    }

    /// Loads a fine-tuned run: `path` is a run folder written by [`crate::finetune`]
    /// (`best.safetensors`, else `last.safetensors`, and `run.json`) or a checkpoint file in
    /// such a folder. The preprocessing comes from `run.json`; the label sets from its
    /// `label_sets` entry when present, else the project convention ([`LabelSets::default`])
    /// restricted to the network's heads.
    ///
    /// # Errors
    /// [`TrainError::Model`] when the checkpoint or `run.json` is missing or does not
    /// describe a segmentation run; [`TrainError::Network`] when the checkpoint cannot be
    /// read; as [`SegmentationModel::new`].
    pub fn load(path: &Path, device: Device) -> Result<Self, TrainError> {
        let bad = |reason: String| TrainError::Model {
            path: path.to_path_buf(),
            reason,
        };
        let (dir, checkpoint) = if path.is_dir() {
            let best = path.join("best.safetensors");
            let last = path.join("last.safetensors");
            let ck = if best.is_file() {
                best
            } else if last.is_file() {
                last
            } else {
                return Err(bad(
                    "no best.safetensors or last.safetensors: not a training run folder".into(),
                ));
            };
            (path.to_path_buf(), ck)
        } else if path.is_file() {
            let dir = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (dir, path.to_path_buf())
        } else {
            return Err(bad("no such file or folder".into()));
        };
        let run_json = dir.join("run.json");
        let text = std::fs::read_to_string(&run_json).map_err(|e| {
            bad(format!(
                "{}: {e} (the run's run.json gives the preprocessing)",
                run_json.display()
            ))
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", run_json.display())))?;
        let kind = json.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        if kind != "finetune" {
            return Err(bad(format!(
                "{} describes a `{kind}` run, not a fine-tuned segmentation run",
                run_json.display()
            )));
        }
        let run = &json["run"];
        let preprocess: PreprocessConfig =
            serde_json::from_value(run["config"]["train"]["preprocess"].clone()).map_err(|e| {
                bad(format!(
                    "{}: run.config.train.preprocess: {e}",
                    run_json.display()
                ))
            })?;
        let label_sets = match run.get("label_sets") {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| bad(format!("{}: run.label_sets: {e}", run_json.display())))?,
            None => LabelSets::default(),
        };
        let net = UNet::from_checkpoint(&checkpoint, device)?;
        let mut model = Self::new(net, preprocess, label_sets)?;
        model.checkpoint = Some(checkpoint);
        Ok(model)
    }

    /// The network.
    pub fn net(&self) -> &UNet {
        &self.net
    }

    /// The preprocessing of its inputs.
    pub fn preprocess(&self) -> &PreprocessConfig {
        &self.preprocess
    }

    /// The label sets of its segmentation heads.
    pub fn label_sets(&self) -> &LabelSets {
        &self.label_sets
    }

    /// The label set of a view, if the model segments it.
    pub fn label_set(&self, view: View) -> Option<&LabelSet> {
        self.label_sets.for_view(view).map(|(_, s)| s)
    }

    /// The checkpoint it was loaded from ([`SegmentationModel::load`]).
    pub fn checkpoint(&self) -> Option<&Path> {
        self.checkpoint.as_deref()
    }
}

//! The training loop shared by pretraining and fine-tuning.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cmr_pretext::{masked_cross_entropy, ClassCounts, PretextTask};
use cmr_unet::{UNet, UNetConfig};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::augment::centre_crop;
use crate::config::{OutputMode, RunDir, TrainConfig};
use crate::dataset::LabelSets;
use crate::loader::{Batch, BatchPlanner, BatchSource, Prefetcher, StreamPlan};
use crate::optim::Adam;
use crate::report::{
    epoch_row, step_row, Control, CsvLog, EpochRecord, Reporter, RunStart, StepRecord,
    EPOCH_HEADER, STEP_HEADER,
};
use crate::seeds::{derive_seed, fnv1a};
use crate::store::SampleStore;
use crate::tensorfile::{self, HostArray};
use crate::TrainError;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step was taken.
    Completed,
    /// Early stopping ended it after this epoch.
    StoppedEarly {
        /// The last epoch trained.
        epoch: u64,
    },
    /// A reporter interrupted it; resume to finish.
    Interrupted,
}

/// The best validation so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    /// Steps done when it was reached.
    pub step: u64,
    /// Its epoch.
    pub epoch: u64,
    /// The validation metric.
    #[serde(with = "crate::serde_f64")]
    pub metric: f64,
}

/// Wall-clock figures of a run (this process's part of it, for a resumed run).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds from start to end.
    pub wall_s: f64,
    /// Images fed to the model.
    pub images: u64,
    /// Images per second into the model, everything included.
    pub images_per_s: f64,
    /// Seconds the loop waited for batches (0 when the loader keeps ahead).
    pub data_wait_s: f64,
    /// Seconds spent validating.
    pub validation_s: f64,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The output folder.
    pub dir: PathBuf,
    /// How it ended.
    pub status: RunStatus,
    /// Steps done.
    pub steps: u64,
    /// Steps planned.
    pub total_steps: u64,
    /// The step this process started at (`> 0` when resumed).
    pub started_at: u64,
    /// The best validation (`None` without validation data).
    pub best: Option<BestRecord>,
    /// Every epoch's validation.
    pub epochs: Vec<EpochRecord>,
    /// The best checkpoint (the last one without validation data).
    pub best_checkpoint: PathBuf,
    /// The last checkpoint.
    pub last_checkpoint: PathBuf,
    /// Timing of this process's part.
    pub timing: Timing,
}

/// Loop state beyond weights and optimiser, saved in the resume file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LoopState {
    fingerprint: String,
    step: u64,
    adam_step: u64,
    best: Option<BestRecord>,
    bad_epochs: u64,
    /// Bit patterns of the running epoch loss sum (exact across save/load).
    epoch_loss_bits: u64,
    epoch_loss_count: u64,
    epochs: Vec<EpochRecord>,
    finished: Option<RunStatus>,
}

/// The files a run writes into its folder.
const RUN_FILES: [&str; 6] = [
    "best.safetensors",
    "last.safetensors",
    "resume.safetensors",
    "log.csv",
    "epochs.csv",
    "run.json",
];

/// A resume file's loop state and arrays.
type Saved = (LoopState, BTreeMap<String, HostArray>);

/// Serialises seeding + construction of networks: libtorch's generator is global, so two
/// threads building networks at once would interleave their draws.
pub(crate) static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Builds a network with its initialisation drawn from `seed`.
///
/// # Errors
/// [`TrainError::Network`] for a bad configuration.
pub fn build_network(config: &UNetConfig, seed: u64, device: Device) -> Result<UNet, TrainError> {
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    tch::manual_seed((derive_seed(&[seed, 0x1417]) >> 1) as i64);
    Ok(UNet::new(config, device)?)
}

/// One run's moving parts.
pub(crate) struct Session<'s, 'a> {
    pub net: UNet,
    pub kind: &'static str,
    pub task: Option<Arc<dyn PretextTask>>,
    /// Weight of the pretext loss (0: none).
    pub pretext_weight: f64,
    /// Whether segmentation losses are trained.
    pub segment: bool,
    pub label_sets: LabelSets,
    /// Training streams and their images per batch.
    pub streams: Vec<(&'s SampleStore<'a>, usize)>,
    pub validation: Option<&'s SampleStore<'a>>,
    pub config: TrainConfig,
    pub run: RunDir,
    /// Everything that must match for a resume (config, data, network, strategy).
    pub identity: String,
    /// JSON written to run.json with the outcome.
    pub description: serde_json::Value,
}

struct Validation {
    metric: f64,
    head_dice: Vec<(String, f64)>,
    pretext_loss: f64,
}

fn nan_to_neg(v: f64) -> f64 {
    if v.is_nan() {
        f64::NEG_INFINITY
    } else {
        v
    }
}

impl Session<'_, '_> {
    fn params(&self) -> BTreeMap<String, Tensor> {
        self.net
            .named_tensors()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect()
    }

    fn prepare_dir(&self) -> Result<Option<Saved>, TrainError> {
        let dir = &self.run.path;
        let resume_path = self.run.resume_state();
        let has_state = resume_path.exists();
        let resume = match self.run.mode {
            OutputMode::Resume if !has_state => {
                return Err(TrainError::Resume {
                    path: resume_path,
                    reason: "no resume state in this folder".into(),
                })
            }
            OutputMode::Resume => true,
            OutputMode::ResumeOrFresh => has_state,
            OutputMode::Fresh | OutputMode::Overwrite => false,
        };
        // A folder holding only this loop's own files but no resume state is a run killed
        // before its first checkpoint: "resume or fresh" starts it again.
        let mut restart = false;
        if !resume && self.run.mode != OutputMode::Overwrite && dir.exists() {
            let entries = std::fs::read_dir(dir).map_err(TrainError::io(dir))?;
            for e in entries {
                let name = e
                    .map_err(TrainError::io(dir))?
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                let ours = RUN_FILES.contains(&name.as_str())
                    || (name.starts_with('.') && name.contains(".tmp-"));
                if self.run.mode == OutputMode::ResumeOrFresh && ours {
                    restart = true;
                    continue;
                }
                return Err(TrainError::OutputExists {
                    path: dir.clone(),
                    found: name,
                });
            }
        }
        std::fs::create_dir_all(dir).map_err(TrainError::io(dir))?;
        if !resume {
            if self.run.mode == OutputMode::Overwrite || restart {
                let entries = std::fs::read_dir(dir).map_err(TrainError::io(dir))?;
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') && name.contains(".tmp-") {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
                for f in [self.run.resume_state(), self.run.best(), self.run.last()] {
                    if f.exists() {
                        std::fs::remove_file(&f).map_err(TrainError::io(&f))?;
                    }
                }
            }
            return Ok(None);
        }
        let (arrays, meta) = tensorfile::read(&resume_path)?;
        let bad = |reason: String| TrainError::Resume {
            path: resume_path.clone(),
            reason,
        };
        let state: LoopState = meta
            .get("state")
            .ok_or_else(|| bad("no loop state".into()))
            .and_then(|j| serde_json::from_str(j).map_err(|e| bad(e.to_string())))?;
        if state.fingerprint != self.fingerprint() {
            return Err(bad(
                "it was written by a run with another configuration, data or network".into(),
            ));
        }
        Ok(Some((state, arrays)))
    }

    fn fingerprint(&self) -> String {
        format!("{:016x}", fnv1a(self.identity.as_bytes()))
    }

    fn restore(
        &mut self,
        adam: &mut Adam,
        state: &LoopState,
        arrays: BTreeMap<String, HostArray>,
    ) -> Result<(), TrainError> {
        let device = self.net.device();
        let path = self.run.resume_state();
        let mut adam_state = BTreeMap::new();
        let mut model = BTreeMap::new();
        for (name, a) in arrays {
            let t = a.to_tensor().ok_or_else(|| TrainError::Resume {
                path: path.clone(),
                reason: format!("tensor {name} is not float"),
            })?;
            if let Some(n) = name.strip_prefix("model.") {
                model.insert(n.to_string(), t);
            } else if let Some(n) = name.strip_prefix("adam.") {
                adam_state.insert(n.to_string(), t);
            }
        }
        for (name, mut t) in self.net.named_tensors() {
            let src = model.get(&name).ok_or_else(|| TrainError::Resume {
                path: path.clone(),
                reason: format!("no tensor for {name}"),
            })?;
            if src.size() != t.size() {
                return Err(TrainError::Resume {
                    path: path.clone(),
                    reason: format!("{name} has shape {:?}, expected {:?}", src.size(), t.size()),
                });
            }
            let src = src.to_device(device).to_kind(t.kind());
            tch::no_grad(|| t.copy_(&src));
        }
        adam.restore(state.adam_step, adam_state, device)
    }

    fn save(&self, adam: &Adam, state: &LoopState) -> Result<(), TrainError> {
        let mut arrays = BTreeMap::new();
        for (name, t) in self.net.named_tensors() {
            arrays.insert(
                format!("model.{name}"),
                HostArray::from_tensor(&t).map_err(TrainError::torch("saving the network"))?,
            );
        }
        let (_, adam_tensors) = adam.state();
        for (name, t) in adam_tensors {
            arrays.insert(
                format!("adam.{name}"),
                HostArray::from_tensor(&t).map_err(TrainError::torch("saving Adam's state"))?,
            );
        }
        let json = serde_json::to_string(state).map_err(|e| TrainError::Resume {
            path: self.run.resume_state(),
            reason: e.to_string(),
        })?;
        self.net.save(self.run.last())?;
        tensorfile::write(
            &self.run.resume_state(),
            &arrays,
            HashMap::from([("state".to_string(), json)]),
        )
    }

    /// Loss of a batch: (total, segmentation, pretext), the last two as numbers when present.
    fn loss(
        &self,
        batch: &Batch,
        train: bool,
    ) -> Result<(Tensor, Option<f64>, Option<f64>), TrainError> {
        let out = self.net.forward_t(&batch.images, train)?;
        let device = batch.images.device();
        let mut total = Tensor::zeros([], (Kind::Float, device));
        let mut seg_value = None;
        if self.segment && batch.labelled > 0 {
            let mut seg = Tensor::zeros([], (Kind::Float, device));
            for g in &batch.segmentation {
                let logits = out
                    .head(&g.head)?
                    .f_index_select(0, &g.indices)
                    .map_err(TrainError::torch("selecting labelled rows"))?;
                let ce =
                    masked_cross_entropy(&logits, &g.target, Some(&g.ignore), g.channels, None)?;
                let share = g.indices.size()[0] as f64 / batch.labelled as f64;
                seg += ce * share;
            }
            seg_value = Some(seg.double_value(&[]));
            total += seg;
        }
        let mut pretext_value = None;
        if let (Some(task), Some(targets)) = (&self.task, &batch.pretext) {
            if self.pretext_weight > 0.0 {
                let p = task.loss(out.head(task.name())?, targets)?;
                pretext_value = Some(p.double_value(&[]));
                total += p * self.pretext_weight;
            }
        }
        Ok((total, seg_value, pretext_value))
    }

    fn validate(&self) -> Result<Validation, TrainError> {
        let Some(store) = self.validation else {
            return Ok(Validation {
                metric: f64::NAN,
                head_dice: Vec::new(),
                pretext_loss: f64::NAN,
            });
        };
        let n = store.len();
        let take = self.config.validation_images.unwrap_or(n).min(n);
        let indices: Vec<usize> = (0..take).map(|k| k * n / take.max(1)).collect();
        let crop = self.config.preprocess.crop;
        let device = self.net.device();
        let mut heads: BTreeMap<String, ClassCounts> = BTreeMap::new();
        let mut pretext_counts = self
            .task
            .as_ref()
            .map(|t| ClassCounts::new(t.output_channels() as usize));
        let mut pretext_is_classes = false;
        let (mut pretext_sum, mut pretext_n) = (0.0, 0usize);
        let net_heads: Vec<String> = self.net.heads().iter().map(|h| h.name.clone()).collect();
        for chunk in indices.chunks(self.config.batch_size.max(1)) {
            let samples = chunk
                .iter()
                .map(|&i| Ok(centre_crop(store.get(i)?.as_ref(), crop)))
                .collect::<Result<Vec<_>, TrainError>>()?;
            let with_pretext = self
                .task
                .as_ref()
                .is_some_and(|t| net_heads.iter().any(|h| h == t.name()));
            let batch = Batch::from_samples(&samples, &self.label_sets, with_pretext, device)?;
            let out = tch::no_grad(|| self.net.forward_t(&batch.images, false))?;
            if self.segment {
                for g in &batch.segmentation {
                    if !net_heads.contains(&g.head) {
                        continue;
                    }
                    let pred = out
                        .head(&g.head)?
                        .index_select(0, &g.indices)
                        .argmax(1, false);
                    heads
                        .entry(g.head.clone())
                        .or_insert_with(|| ClassCounts::new(g.channels as usize))
                        .add(&pred, &g.target, Some(&g.ignore))?;
                }
            }
            if let (Some(task), Some(targets)) = (&self.task, &batch.pretext) {
                let logits = out.head(task.name())?;
                let l = tch::no_grad(|| task.loss(logits, targets))?.double_value(&[]);
                pretext_sum += l * batch.len as f64;
                pretext_n += batch.len;
                if let Some(c) = pretext_counts.as_mut() {
                    pretext_is_classes = task.add_counts(logits, targets, c)?;
                }
            }
        }
        let pretext_loss = if pretext_n > 0 {
            pretext_sum / pretext_n as f64
        } else {
            f64::NAN
        };
        let head_dice: Vec<(String, f64)> = heads
            .iter()
            .map(|(h, c)| (h.clone(), c.mean_foreground_dice()))
            .filter(|(_, d)| d.is_finite())
            .collect();
        let metric = if self.segment {
            if head_dice.is_empty() {
                f64::NAN
            } else {
                head_dice.iter().map(|(_, d)| d).sum::<f64>() / head_dice.len() as f64
            }
        } else if pretext_is_classes {
            pretext_counts.map_or(f64::NAN, |c| c.mean_foreground_dice())
        } else {
            -pretext_loss
        };
        Ok(Validation {
            metric,
            head_dice,
            pretext_loss,
        })
    }

    pub(crate) fn run(mut self, reporter: &mut dyn Reporter) -> Result<RunOutcome, TrainError> {
        let config = self.config.clone();
        let total = config.steps;
        let first_len = self.streams.first().map_or(0, |(s, _)| s.len()) as u64;
        let first_per = self.streams.first().map_or(1, |(_, p)| *p).max(1) as u64;
        let epoch_steps = config
            .epoch_steps
            .unwrap_or_else(|| {
                first_len
                    .div_ceil(first_per)
                    .max(crate::config::MIN_EPOCH_STEPS)
            })
            .max(1);
        let mut adam = Adam::new(config.optimizer);
        let mut state = LoopState {
            fingerprint: self.fingerprint(),
            step: 0,
            adam_step: 0,
            best: None,
            bad_epochs: 0,
            epoch_loss_bits: 0f64.to_bits(),
            epoch_loss_count: 0,
            epochs: Vec::new(),
            finished: None,
        };
        if let Some((saved, arrays)) = self.prepare_dir()? {
            self.restore(&mut adam, &saved, arrays)?;
            state = saved;
            reporter.note(&format!("resumed at step {} of {total}", state.step));
        }
        let started_at = state.step;
        let mut steps_log = CsvLog::open(
            &self.run.path.join("log.csv"),
            STEP_HEADER,
            (started_at > 0).then_some(started_at),
        )?;
        let mut epochs_log = CsvLog::open(
            &self.run.path.join("epochs.csv"),
            EPOCH_HEADER,
            (started_at > 0).then_some(started_at + 1),
        )?;
        let batch_images: usize = self
            .streams
            .iter()
            .filter(|(s, _)| !s.is_empty())
            .map(|(_, p)| p)
            .sum();
        reporter.start(&RunStart {
            total_steps: total,
            first_step: started_at,
            batch_images,
            epoch_steps,
        });
        let params = self.params();
        let device = self.net.device();
        let with_pretext = self.task.is_some() && self.pretext_weight > 0.0;
        let planner = BatchPlanner::new(
            config.seed,
            self.streams
                .iter()
                .enumerate()
                .map(|(i, (s, per))| StreamPlan {
                    len: s.len(),
                    per_batch: *per,
                    id: i as u64,
                })
                .collect(),
        );
        let source = BatchSource {
            planner,
            stores: self.streams.iter().map(|(s, _)| *s).collect(),
            augment: config.augment,
            crop: config.preprocess.crop,
        };
        let produce = |step: u64| source.produce(step);
        let mut timing = Timing::default();
        let clock = Instant::now();
        let mut status = state.finished.unwrap_or(RunStatus::Completed);
        if state.finished.is_none() && state.step < total {
            let this = &self;
            let result: Result<RunStatus, TrainError> = std::thread::scope(|scope| {
                let mut loader =
                    Prefetcher::spawn(scope, &produce, state.step..total, config.loader);
                let mut last_ckpt = state.step;
                while state.step < total {
                    let step = state.step;
                    let t0 = Instant::now();
                    let samples = loader.next_batch().ok_or(TrainError::Loader {
                        reason: "ran out of batches".into(),
                    })??;
                    let wait = t0.elapsed().as_secs_f64();
                    let batch =
                        Batch::from_samples(&samples, &this.label_sets, with_pretext, device)?;
                    let lr = config.optimizer.lr * config.schedule.factor(step, total);
                    let (loss, seg, pre) = this.loss(&batch, true)?;
                    let value = loss.double_value(&[]);
                    if !value.is_finite() {
                        let (part, v) = match (seg, pre) {
                            (Some(v), _) if !v.is_finite() => ("segmentation", v),
                            (_, Some(v)) if !v.is_finite() => ("pretext", v),
                            _ => ("total", value),
                        };
                        return Err(TrainError::NonFiniteLoss {
                            step,
                            part,
                            value: v,
                        });
                    }
                    loss.backward();
                    adam.step(&params, lr)?;
                    state.step += 1;
                    state.adam_step = adam.steps();
                    state.epoch_loss_bits =
                        (f64::from_bits(state.epoch_loss_bits) + value).to_bits();
                    state.epoch_loss_count += 1;
                    let secs = t0.elapsed().as_secs_f64();
                    timing.images += batch.len as u64;
                    timing.data_wait_s += wait;
                    let record = StepRecord {
                        step,
                        epoch: step / epoch_steps,
                        lr,
                        loss: value,
                        segmentation_loss: seg.unwrap_or(f64::NAN),
                        pretext_loss: pre.unwrap_or(f64::NAN),
                        images: batch.len,
                        images_per_s: batch.len as f64 / secs.max(1e-9),
                        data_wait_s: wait,
                    };
                    steps_log.row(&step_row(&record))?;
                    if reporter.step(&record) == Control::Interrupt {
                        steps_log.flush()?;
                        return Ok(RunStatus::Interrupted);
                    }
                    let done = state.step;
                    let mut stop = None;
                    if done % epoch_steps == 0 || done == total {
                        let v0 = Instant::now();
                        let v = this.validate()?;
                        timing.validation_s += v0.elapsed().as_secs_f64();
                        let epoch = (done - 1) / epoch_steps;
                        let improved = v.metric.is_finite()
                            && state.best.is_none_or(|b| {
                                v.metric
                                    > nan_to_neg(b.metric)
                                        + config.early_stopping.map_or(0.0, |e| e.min_delta)
                            });
                        if improved {
                            state.best = Some(BestRecord {
                                step: done,
                                epoch,
                                metric: v.metric,
                            });
                            state.bad_epochs = 0;
                            this.net.save(this.run.best())?;
                        } else if v.metric.is_finite() {
                            state.bad_epochs += 1;
                        }
                        let record = EpochRecord {
                            epoch,
                            step: done,
                            train_loss: f64::from_bits(state.epoch_loss_bits)
                                / state.epoch_loss_count.max(1) as f64,
                            metric: v.metric,
                            head_dice: v.head_dice,
                            pretext_loss: v.pretext_loss,
                            improved,
                        };
                        state.epoch_loss_bits = 0f64.to_bits();
                        state.epoch_loss_count = 0;
                        epochs_log.row(&epoch_row(&record))?;
                        epochs_log.flush()?;
                        reporter.epoch(&record);
                        state.epochs.push(record);
                        if let Some(e) = config.early_stopping {
                            if state.bad_epochs >= e.patience && done < total {
                                stop = Some(RunStatus::StoppedEarly { epoch });
                            }
                        }
                        if done == total {
                            stop = stop.or(Some(RunStatus::Completed));
                        }
                        state.finished = stop;
                        steps_log.flush()?;
                        this.save(&adam, &state)?;
                        last_ckpt = done;
                    } else if done - last_ckpt >= config.checkpoint_every {
                        steps_log.flush()?;
                        this.save(&adam, &state)?;
                        last_ckpt = done;
                    }
                    if let Some(s) = stop {
                        if let RunStatus::StoppedEarly { epoch } = s {
                            reporter.note(&format!("early stop after epoch {epoch}"));
                        }
                        return Ok(s);
                    }
                }
                Ok(RunStatus::Completed)
            });
            status = result?;
        }
        timing.wall_s = clock.elapsed().as_secs_f64();
        timing.images_per_s = timing.images as f64 / timing.wall_s.max(1e-9);
        if status != RunStatus::Interrupted && state.best.is_none() && self.run.last().exists() {
            std::fs::copy(self.run.last(), self.run.best())
                .map_err(TrainError::io(self.run.best()))?;
        }
        let outcome = RunOutcome {
            dir: self.run.path.clone(),
            status,
            steps: state.step,
            total_steps: total,
            started_at,
            best: state.best,
            epochs: state.epochs.clone(),
            best_checkpoint: self.run.best(),
            last_checkpoint: self.run.last(),
            timing,
        };
        if status != RunStatus::Interrupted {
            let json = serde_json::json!({
                "kind": self.kind,
                "run": self.description,
                "outcome": outcome,
                "versions": { "cmr-train": env!("CARGO_PKG_VERSION") },
            });
            let text = serde_json::to_string_pretty(&json).map_err(|e| TrainError::Io {
                path: self.run.path.join("run.json"),
                source: std::io::Error::other(e),
            })?;
            crate::tensorfile::write_atomically(&self.run.path.join("run.json"), text.as_bytes())?;
        }
        Ok(outcome)
    }
}

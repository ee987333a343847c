//! Progress reporting ([`Reporter`]) and the per-run logs (`log.csv`, `epochs.csv`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// What the loop reports when a run starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// Total optimiser steps of the run.
    pub total_steps: u64,
    /// The step it starts at (0, or where a resumed run continues).
    pub first_step: u64,
    /// Images per step.
    pub batch_images: usize,
    /// Steps per epoch (between validations).
    pub epoch_steps: u64,
}

/// One optimiser step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0-based step.
    pub step: u64,
    /// 0-based epoch.
    pub epoch: u64,
    /// Learning rate used.
    #[serde(with = "crate::serde_f64")]
    pub lr: f64,
    /// Total loss.
    #[serde(with = "crate::serde_f64")]
    pub loss: f64,
    /// Segmentation part (NaN in pretraining).
    #[serde(with = "crate::serde_f64")]
    pub segmentation_loss: f64,
    /// Pretext part, before weighting (NaN when there is none).
    #[serde(with = "crate::serde_f64")]
    pub pretext_loss: f64,
    /// Images in the batch.
    pub images: usize,
    /// Images per second over this step, data waiting included.
    #[serde(with = "crate::serde_f64")]
    pub images_per_s: f64,
    /// Seconds the step waited for its batch.
    #[serde(with = "crate::serde_f64")]
    pub data_wait_s: f64,
}

/// One validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: u64,
    /// Steps done at the end of it.
    pub step: u64,
    /// Mean training loss over the epoch's steps.
    #[serde(with = "crate::serde_f64")]
    pub train_loss: f64,
    /// The validation metric (higher is better: mean foreground Dice, or minus the pretext
    /// loss for regression tasks); NaN without validation data.
    #[serde(with = "crate::serde_f64")]
    pub metric: f64,
    /// Mean validation Dice per segmentation head (head name, Dice), when fine-tuning.
    pub head_dice: Vec<(String, f64)>,
    /// Validation pretext loss (NaN when there is none).
    #[serde(with = "crate::serde_f64")]
    pub pretext_loss: f64,
    /// Whether this is the best epoch so far.
    pub improved: bool,
}

/// What a reporter tells the loop after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Carry on.
    Continue,
    /// Stop at once, as if the process were killed: nothing after the last checkpoint is
    /// saved, and the run returns [`crate::RunStatus::Interrupted`]. Resuming later gives the
    /// result of an uninterrupted run.
    Interrupt,
}

/// Receives progress. Every method has a default that does nothing, so implement only what
/// you show. The CLI draws a progress bar; tests record; [`NoReport`] ignores everything.
pub trait Reporter {
    /// The run starts (or resumes).
    fn start(&mut self, start: &RunStart) {
        let _ = start;
    }
    /// A step finished.
    fn step(&mut self, record: &StepRecord) -> Control {
        let _ = record;
        Control::Continue
    }
    /// An epoch finished and was validated.
    fn epoch(&mut self, record: &EpochRecord) {
        let _ = record;
    }
    /// A short message (checkpoint written, early stop, load report).
    fn note(&mut self, message: &str) {
        let _ = message;
    }
}

/// A reporter that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReport;

impl Reporter for NoReport {}

/// A reporter that keeps every record (for tests and notebooks).
#[derive(Debug, Clone, Default)]
pub struct RecordingReporter {
    /// Starts seen.
    pub starts: Vec<RunStart>,
    /// Steps seen.
    pub steps: Vec<StepRecord>,
    /// Epochs seen.
    pub epochs: Vec<EpochRecord>,
    /// Notes seen.
    pub notes: Vec<String>,
    /// Interrupt after this many steps have been reported (simulates a kill).
    pub interrupt_after: Option<usize>,
}

impl Reporter for RecordingReporter {
    fn start(&mut self, start: &RunStart) {
        self.starts.push(start.clone());
    }
    fn step(&mut self, record: &StepRecord) -> Control {
        self.steps.push(*record);
        match self.interrupt_after {
            Some(n) if self.steps.len() >= n => Control::Interrupt,
            _ => Control::Continue,
        }
    }
    fn epoch(&mut self, record: &EpochRecord) {
        self.epochs.push(record.clone());
    }
    fn note(&mut self, message: &str) {
        self.notes.push(message.to_string());
    }
}

/// Appends rows to a CSV file whose first column is a step number; on resume, rows at or after
/// the resume step are dropped first, so the log of a resumed run reads like an uninterrupted
/// one.
#[derive(Debug)]
pub(crate) struct CsvLog {
    path: PathBuf,
    file: std::fs::File,
}

impl CsvLog {
    pub fn open(path: &Path, header: &str, keep_before: Option<u64>) -> Result<Self, TrainError> {
        let io = TrainError::io(path);
        let kept = match keep_before {
            Some(limit) if path.exists() => {
                let text = std::fs::read_to_string(path).map_err(TrainError::io(path))?;
                let mut out = String::new();
                for (i, line) in text.lines().enumerate() {
                    let keep = i == 0
                        || line
                            .split(',')
                            .next()
                            .and_then(|s| s.parse::<u64>().ok())
                            .is_some_and(|s| s < limit);
                    if keep && !line.is_empty() {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                out
            }
            _ => format!("{header}\n"),
        };
        crate::tensorfile::write_atomically(path, kept.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn row(&mut self, row: &str) -> Result<(), TrainError> {
        writeln!(self.file, "{row}").map_err(TrainError::io(&self.path))
    }

    pub fn flush(&mut self) -> Result<(), TrainError> {
        self.file.flush().map_err(TrainError::io(&self.path))
    }
}

pub(crate) const STEP_HEADER: &str =
    "step,epoch,lr,loss,segmentation_loss,pretext_loss,images,images_per_s,data_wait_s";
pub(crate) const EPOCH_HEADER: &str =
    "step,epoch,train_loss,metric,pretext_loss,improved,head_dice";

pub(crate) fn step_row(r: &StepRecord) -> String {
    format!(
        "{},{},{:.6e},{:.6},{:.6},{:.6},{},{:.1},{:.4}",
        r.step,
        r.epoch,
        r.lr,
        r.loss,
        r.segmentation_loss,
        r.pretext_loss,
        r.images,
        r.images_per_s,
        r.data_wait_s
    )
}

pub(crate) fn epoch_row(r: &EpochRecord) -> String {
    let heads: Vec<String> = r
        .head_dice
        .iter()
        .map(|(h, d)| format!("{h}={d:.4}"))
        .collect();
    format!(
        "{},{},{:.6},{:.6},{:.6},{},{}",
        r.step,
        r.epoch,
        r.train_loss,
        r.metric,
        r.pretext_loss,
        r.improved,
        heads.join(";")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_logs_drop_rows_from_the_resume_step_on() {
        let dir = std::env::temp_dir().join(format!("cmr-train-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.csv");
        let mut log = CsvLog::open(&path, "step,x", None).unwrap();
        for s in 0..5 {
            log.row(&format!("{s},a")).unwrap();
        }
        log.flush().unwrap();
        drop(log);
        let mut log = CsvLog::open(&path, "step,x", Some(3)).unwrap();
        log.row("3,b").unwrap();
        log.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "step,x\n0,a\n1,a\n2,a\n3,b\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

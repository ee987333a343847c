//! Batches: which samples each step sees ([`BatchPlanner`], a pure function of the seed and
//! the step), loader threads that prepare and augment them ahead of the model step
//! ([`Prefetcher`], bounded queues, deterministic order), and their tensors ([`Batch`]).

use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::Scope;

use cmr_pretext::{PretextBatch, PretextTarget};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::augment::{augment, AugmentConfig, TrainingSample};
use crate::dataset::LabelSets;
use crate::normalize::stack_image_refs;
use crate::seeds::derive_seed;
use crate::store::SampleStore;
use crate::TrainError;

/// Loader threads and queue depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderConfig {
    /// Threads preparing batches (at least 1).
    pub workers: usize,
    /// Batches each thread may have ready ahead of the model step.
    pub prefetch: usize,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            prefetch: 2,
        }
    }
}

/// One stream of samples: an endless sequence over `len` items, reshuffled every pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPlan {
    /// Items in the stream.
    pub len: usize,
    /// Items it puts in every batch.
    pub per_batch: usize,
    /// Its identity in seed derivation.
    pub id: u64,
}

/// Which items (and augmentation seeds) every step sees: draw `g` of a stream (the `g`-th item
/// it ever yields) is item `perm_c[g mod len]` of pass `c = g / len`, where `perm_c` is a
/// permutation drawn from `(seed, stream, c)`, and its augmentation seed is derived from
/// `(seed, stream, g)`. Nothing depends on earlier steps, so a resumed run sees exactly the
/// batches an uninterrupted one would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlanner {
    seed: u64,
    streams: Vec<StreamPlan>,
}

/// One planned sample: stream, item within the stream, augmentation seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedSample {
    /// Index of the stream.
    pub stream: usize,
    /// Item index within the stream.
    pub item: usize,
    /// Seed of its augmentation.
    pub augment_seed: u64,
}

const STREAM_ORDER: u64 = 0x5EED_0001;
const STREAM_AUGMENT: u64 = 0x5EED_0002;

impl BatchPlanner {
    /// A planner over streams (empty streams or zero per-batch counts contribute nothing).
    pub fn new(seed: u64, streams: Vec<StreamPlan>) -> Self {
        Self { seed, streams }
    }

    /// Images per batch.
    pub fn batch_len(&self) -> usize {
        self.streams
            .iter()
            .filter(|s| s.len > 0)
            .map(|s| s.per_batch)
            .sum()
    }

    fn permutation(&self, stream: &StreamPlan, pass: u64) -> Vec<usize> {
        let mut perm: Vec<usize> = (0..stream.len).collect();
        let mut rng =
            ChaCha8Rng::seed_from_u64(derive_seed(&[self.seed, STREAM_ORDER, stream.id, pass]));
        perm.shuffle(&mut rng);
        perm
    }

    /// The samples of step `step`, stream by stream.
    ///
    /// ```
    /// use cmr_train::{BatchPlanner, StreamPlan};
    /// let p = BatchPlanner::new(3, vec![StreamPlan { len: 5, per_batch: 2, id: 0 }]);
    /// // Every pass over the 5 items is a permutation of them.
    /// let mut seen: Vec<usize> = (0..5u64).flat_map(|s| p.plan(s)).map(|x| x.item).take(5).collect();
    /// seen.sort();
    /// assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    /// assert_eq!(p.plan(7), p.plan(7));
    /// ```
    pub fn plan(&self, step: u64) -> Vec<PlannedSample> {
        let mut out = Vec::with_capacity(self.batch_len());
        for (si, stream) in self.streams.iter().enumerate() {
            if stream.len == 0 {
                continue;
            }
            let len = stream.len as u64;
            let mut cached: Option<(u64, Vec<usize>)> = None;
            for j in 0..stream.per_batch as u64 {
                let g = step * stream.per_batch as u64 + j;
                let pass = g / len;
                if cached.as_ref().is_none_or(|(p, _)| *p != pass) {
                    cached = Some((pass, self.permutation(stream, pass)));
                }
                let perm = &cached.as_ref().expect("set above").1;
                out.push(PlannedSample {
                    stream: si,
                    item: perm[(g % len) as usize],
                    augment_seed: derive_seed(&[self.seed, STREAM_AUGMENT, stream.id, g]),
                });
            }
        }
        out
    }
}

/// Produces the training samples of a step: plans it, fetches the prepared samples from the
/// stores (one per stream), augments them.
pub struct BatchSource<'s, 'a> {
    /// The planner.
    pub planner: BatchPlanner,
    /// One store per stream of the planner.
    pub stores: Vec<&'s SampleStore<'a>>,
    /// The augmentation.
    pub augment: AugmentConfig,
    /// Network input side.
    pub crop: usize,
}

impl BatchSource<'_, '_> {
    /// The samples of step `step`, in plan order.
    ///
    /// # Errors
    /// The errors of [`SampleStore::get`].
    pub fn produce(&self, step: u64) -> Result<Vec<TrainingSample>, TrainError> {
        self.planner
            .plan(step)
            .into_iter()
            .map(|p| {
                let prepared = self.stores[p.stream].get(p.item)?;
                Ok(augment(&prepared, self.crop, &self.augment, p.augment_seed))
            })
            .collect()
    }
}

/// What a loader thread sends: the step and its samples.
type Delivery = (u64, Result<Vec<TrainingSample>, TrainError>);

/// Loader threads running ahead of the consumer: worker `w` prepares steps `start + w`,
/// `start + w + workers`, ... into its own bounded queue, and the consumer takes step `s` from
/// worker `(s - start) mod workers`, so batches arrive in step order whatever the timing.
pub struct Prefetcher {
    queues: Vec<Receiver<Delivery>>,
    next: u64,
    range: Range<u64>,
}

impl Prefetcher {
    /// Starts `config.workers` threads in `scope` producing steps `range` with `produce`.
    pub fn spawn<'scope, 'env, F>(
        scope: &'scope Scope<'scope, 'env>,
        produce: &'env F,
        range: Range<u64>,
        config: LoaderConfig,
    ) -> Self
    where
        F: Fn(u64) -> Result<Vec<TrainingSample>, TrainError> + Sync,
    {
        let workers = config.workers.max(1);
        let mut queues = Vec::with_capacity(workers);
        for w in 0..workers as u64 {
            let (tx, rx) = sync_channel(config.prefetch.max(1));
            let steps = range.clone();
            scope.spawn(move || {
                let mut step = steps.start + w;
                while step < steps.end {
                    if tx.send((step, produce(step))).is_err() {
                        break;
                    }
                    step += workers as u64;
                }
            });
            queues.push(rx);
        }
        Self {
            queues,
            next: range.start,
            range,
        }
    }

    /// The next step's samples (`None` after the last step).
    ///
    /// # Errors
    /// [`TrainError::Loader`] when a worker died; the worker's own error otherwise.
    pub fn next_batch(&mut self) -> Option<Result<Vec<TrainingSample>, TrainError>> {
        if self.next >= self.range.end {
            return None;
        }
        let w = ((self.next - self.range.start) % self.queues.len() as u64) as usize;
        let got = self.queues[w].recv();
        let expected = self.next;
        self.next += 1;
        Some(match got {
            Ok((step, r)) if step == expected => r,
            Ok((step, _)) => Err(TrainError::Loader {
                reason: format!("expected step {expected}, got {step}"),
            }),
            Err(_) => Err(TrainError::Loader {
                reason: format!("worker {w} stopped before step {expected} (panicked?)"),
            }),
        })
    }
}

/// The segmentation targets of one head within a batch.
#[derive(Debug)]
pub struct SegmentationBatch {
    /// Index of the label set.
    pub label_set: usize,
    /// Head name.
    pub head: String,
    /// Head channels.
    pub channels: i64,
    /// Rows of the batch labelled with this set (int64).
    pub indices: Tensor,
    /// `[n, H, W]` int64 labels.
    pub target: Tensor,
    /// `[n, H, W]` bool: pixels outside the field of view.
    pub ignore: Tensor,
}

/// A batch as tensors on the training device.
#[derive(Debug)]
pub struct Batch {
    /// `[N, 1, H, W]` float.
    pub images: Tensor,
    /// Pretext targets of every image (`None` when not asked for or no image has one).
    pub pretext: Option<PretextBatch>,
    /// Segmentation targets, grouped by label set.
    pub segmentation: Vec<SegmentationBatch>,
    /// Images in the batch.
    pub len: usize,
    /// Images with a segmentation target.
    pub labelled: usize,
}

impl Batch {
    /// Stacks training samples. Pretext targets are stacked when `with_pretext` and some
    /// sample has one; segmentation targets by label set.
    ///
    /// # Errors
    /// [`TrainError::BatchShape`] for mixed sizes, [`TrainError::Pretext`] for mixed pretext
    /// target kinds.
    pub fn from_samples(
        samples: &[TrainingSample],
        label_sets: &LabelSets,
        with_pretext: bool,
        device: Device,
    ) -> Result<Self, TrainError> {
        let images: Vec<_> = samples.iter().map(|s| &s.image).collect();
        let images = stack_image_refs(&images)?.to_device(device);
        let pretext = if with_pretext && samples.iter().any(|s| s.pretext.is_some()) {
            let targets: Vec<Option<&PretextTarget>> =
                samples.iter().map(|s| s.pretext.as_ref()).collect();
            let valid: Vec<_> = samples.iter().map(|s| Some(&s.valid)).collect();
            Some(PretextBatch::stack(&targets, &valid, device)?)
        } else {
            None
        };
        let mut segmentation = Vec::new();
        let mut labelled = 0;
        for (si, set) in label_sets.0.iter().enumerate() {
            let rows: Vec<usize> = samples
                .iter()
                .enumerate()
                .filter(|(_, s)| s.item.label_set == Some(si) && s.segmentation.is_some())
                .map(|(i, _)| i)
                .collect();
            if rows.is_empty() {
                continue;
            }
            labelled += rows.len();
            let (h, w) = samples[rows[0]].image.dim();
            let mut target = Vec::with_capacity(rows.len() * h * w);
            let mut ignore = Vec::with_capacity(rows.len() * h * w);
            for &r in &rows {
                let seg = samples[r].segmentation.as_ref().expect("filtered above");
                target.extend(seg.iter().map(|&v| i64::from(v)));
                ignore.extend(samples[r].valid.iter().map(|&v| !v));
            }
            let shape = [rows.len() as i64, h as i64, w as i64];
            segmentation.push(SegmentationBatch {
                label_set: si,
                head: set.head.clone(),
                channels: set.channels(),
                indices: Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
                    .to_device(device),
                target: Tensor::from_slice(&target).view(shape).to_device(device),
                ignore: Tensor::from_slice(&ignore).view(shape).to_device(device),
            });
        }
        Ok(Self {
            images,
            pretext,
            segmentation,
            len: samples.len(),
            labelled,
        })
    }

    /// The kind of the images (always float).
    pub fn kind(&self) -> Kind {
        self.images.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pass_is_a_permutation_and_streams_are_independent() {
        let p = BatchPlanner::new(
            9,
            vec![
                StreamPlan {
                    len: 7,
                    per_batch: 3,
                    id: 0,
                },
                StreamPlan {
                    len: 4,
                    per_batch: 2,
                    id: 1,
                },
            ],
        );
        assert_eq!(p.batch_len(), 5);
        let draws: Vec<PlannedSample> = (0..14).flat_map(|s| p.plan(s)).collect();
        let first: Vec<usize> = draws
            .iter()
            .filter(|d| d.stream == 0)
            .map(|d| d.item)
            .collect();
        assert_eq!(first.len(), 42);
        for pass in first.chunks(7) {
            let mut v = pass.to_vec();
            v.sort_unstable();
            assert_eq!(v, (0..7).collect::<Vec<_>>());
        }
        // Different passes are shuffled differently (for this seed).
        assert_ne!(first[0..7], first[7..14]);
        let seeds: std::collections::HashSet<u64> = draws.iter().map(|d| d.augment_seed).collect();
        assert_eq!(seeds.len(), draws.len());
        // Another seed gives another order.
        let q = BatchPlanner::new(10, p.streams.clone());
        assert_ne!(p.plan(0), q.plan(0));
    }

    #[test]
    fn prefetcher_delivers_in_order_whatever_the_timing() {
        let produce = |step: u64| -> Result<Vec<TrainingSample>, TrainError> {
            // Later steps finish sooner on some workers.
            std::thread::sleep(std::time::Duration::from_millis((7 - step % 7) * 2));
            if step == 11 {
                return Err(TrainError::Invalid {
                    what: "step",
                    reason: "eleven".into(),
                });
            }
            Ok(Vec::new())
        };
        std::thread::scope(|scope| {
            let mut pf = Prefetcher::spawn(
                scope,
                &produce,
                5..13,
                LoaderConfig {
                    workers: 3,
                    prefetch: 1,
                },
            );
            for step in 5..13 {
                let got = pf.next_batch().unwrap();
                assert_eq!(got.is_err(), step == 11, "step {step}");
            }
            assert!(pf.next_batch().is_none());
        });
        // Dropping the consumer early stops the workers (the scope returns).
        std::thread::scope(|scope| {
            let mut pf = Prefetcher::spawn(scope, &produce, 0..1000, LoaderConfig::default());
            assert!(pf.next_batch().unwrap().is_ok());
        });
    }
}

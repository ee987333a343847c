//! Evaluation of trained networks: segmentation metrics on the original image grids
//! (predictions mapped back from the crop), and pretext scores on the crops.

use std::collections::BTreeMap;
use std::sync::Arc;

use cmr_geometry::{CardiacPhase, View};
use cmr_metrics::{evaluate_labels, MetricOptions, StructureMetrics};
use cmr_pretext::{ClassCounts, PretextTask};
use cmr_unet::UNet;
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::augment::centre_crop;
use crate::dataset::load_label_map;
use crate::dataset::{Dataset, ImageItem};
use crate::loader::Batch;
use crate::preprocess::{prepare, PreparedSample, PreprocessConfig};
use crate::resample::Affine2;
use crate::store::{CacheMode, SampleStore};
use crate::TrainError;

/// How predictions are scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Distance-metric conventions (MONAI's by default).
    pub metrics: MetricOptions,
    /// Images per forward pass.
    pub batch_size: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            metrics: MetricOptions::default(),
            batch_size: 8,
        }
    }
}

/// The metrics of one structure in one evaluated volume (an SA stack at one frame, or one LA
/// image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Subject identifier.
    pub subject: String,
    /// Study index in the source.
    pub study: usize,
    /// View.
    pub view: View,
    /// Frame index.
    pub frame: usize,
    /// ED/ES tag.
    pub phase: Option<CardiacPhase>,
    /// Head that predicted it.
    pub head: String,
    /// Label value.
    pub label: u8,
    /// Structure name from the label set.
    pub structure: String,
    /// Slices in the volume.
    pub slices: usize,
    /// Dice, HD95, ASSD, MCD, volumes (on the original grid, mm).
    pub metrics: StructureMetrics,
}

/// The map from crop pixels to original pixels of a prepared sample seen through its centre
/// crop.
fn crop_to_original(sample: &PreparedSample, crop: usize) -> Affine2 {
    let off = (sample.image.nrows() - crop) as f64 / 2.0;
    let r = sample.region_to_original();
    Affine2 {
        row0: r.row0 + off * (r.drow_di + r.drow_dj),
        col0: r.col0 + off * (r.dcol_di + r.dcol_dj),
        ..r
    }
}

/// Maps class probabilities `[K, crop, crop]` of a sample's centre crop back onto its original
/// grid (bilinear per class, then argmax); original pixels outside the crop are background.
fn probabilities_to_original(
    probs: &[f32],
    classes: usize,
    crop: usize,
    sample: &PreparedSample,
) -> Array2<u8> {
    let (rows, cols) = (sample.original.rows(), sample.original.cols());
    let inverse = crop_to_original(sample, crop)
        .inverse()
        .expect("positive spacings give an invertible map");
    let at = |k: usize, i: usize, j: usize| probs[(k * crop + i) * crop + j];
    let last = (crop - 1) as f64;
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        let (i, j) = inverse.apply(r as f64, c as f64);
        if !(i >= -0.5 && j >= -0.5 && i <= last + 0.5 && j <= last + 0.5) {
            return 0;
        }
        let (i, j) = (i.clamp(0.0, last), j.clamp(0.0, last));
        let (i0, j0) = (i.floor() as usize, j.floor() as usize);
        let (i1, j1) = ((i0 + 1).min(crop - 1), (j0 + 1).min(crop - 1));
        let (fi, fj) = ((i - i0 as f64) as f32, (j - j0 as f64) as f32);
        let mut best = (0u8, f32::NEG_INFINITY);
        for k in 0..classes {
            let v = (at(k, i0, j0) * (1.0 - fj) + at(k, i0, j1) * fj) * (1.0 - fi)
                + (at(k, i1, j0) * (1.0 - fj) + at(k, i1, j1) * fj) * fi;
            if v > best.1 {
                best = (k as u8, v);
            }
        }
        best.0
    })
}

/// Maps a label map on a sample's centre crop (`[crop, crop]`, values `< classes`) back onto
/// the sample's original grid, the way predictions are (one-hot, bilinear, argmax; outside the
/// crop: background).
///
/// # Errors
/// [`TrainError::Invalid`] when the map is not `crop x crop` or holds a value `>= classes`.
pub fn crop_labels_to_original(
    sample: &PreparedSample,
    labels: &Array2<u8>,
    classes: usize,
) -> Result<Array2<u8>, TrainError> {
    let crop = labels.nrows();
    if labels.ncols() != crop || crop > sample.image.nrows() {
        return Err(TrainError::Invalid {
            what: "crop labels",
            reason: format!("{:?} is not a square crop of the region", labels.dim()),
        });
    }
    if let Some(v) = labels.iter().find(|&&v| usize::from(v) >= classes) {
        return Err(TrainError::Invalid {
            what: "crop labels",
            reason: format!("value {v} with {classes} classes"),
        });
    }
    let mut probs = vec![0f32; classes * crop * crop];
    for ((i, j), &v) in labels.indexed_iter() {
        probs[(usize::from(v) * crop + i) * crop + j] = 1.0;
    }
    Ok(probabilities_to_original(&probs, classes, crop, sample))
}

/// Segments prepared samples with one head and returns label maps on their original grids.
///
/// # Errors
/// [`TrainError::Network`] for an unknown head or a forward failure.
pub fn predict_on_original(
    net: &UNet,
    samples: &[&PreparedSample],
    head: &str,
    crop: usize,
) -> Result<Vec<Array2<u8>>, TrainError> {
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let crops: Vec<Array2<f32>> = samples.iter().map(|s| centre_crop(s, crop).image).collect();
    let x = crate::normalize::stack_images(&crops)?.to_device(net.device());
    let out = tch::no_grad(|| net.forward_t(&x, false))?;
    let probs = out
        .head(head)?
        .softmax(1, Kind::Float)
        .to_device(tch::Device::Cpu)
        .contiguous();
    let classes = probs.size()[1] as usize;
    let per = classes * crop * crop;
    let mut flat = vec![0f32; samples.len() * per];
    probs.copy_data(&mut flat, samples.len() * per);
    Ok(samples
        .iter()
        .enumerate()
        .map(|(n, s)| probabilities_to_original(&flat[n * per..(n + 1) * per], classes, crop, s))
        .collect())
}

/// Evaluates segmentation on the labelled images of `data`: every image is preprocessed as in
/// training, segmented by the head of its label set, the prediction mapped back to the
/// original grid, and compared with the original label map by cmr-metrics. SA slices of one
/// frame form one 3-D volume (spacing: the stack's median slice spacing); LA images are 2-D.
/// One record per volume and structure.
///
/// # Errors
/// Loading, preprocessing, network and metric errors; [`TrainError::Invalid`] when a label set
/// has no head in the network.
pub fn evaluate_segmentation(
    net: &UNet,
    data: &Dataset<'_>,
    preprocess: &PreprocessConfig,
    options: &EvalOptions,
) -> Result<Vec<EvalRecord>, TrainError> {
    let data = data.labelled_only();
    let sets = data.label_sets().clone();
    // Group images by volume: (study, view, frame) -> items sorted by slice.
    let mut volumes: BTreeMap<(usize, View, usize), Vec<ImageItem>> = BTreeMap::new();
    for item in data.items() {
        volumes
            .entry((item.study, item.view, item.frame))
            .or_default()
            .push(*item);
    }
    let mut records = Vec::new();
    for ((study, view, frame), mut items) in volumes {
        items.sort_by_key(|i| i.slice);
        let set_index = items[0].label_set.expect("labelled_only");
        let set = &sets.0[set_index];
        if !net.heads().iter().any(|h| h.name == set.head) {
            return Err(TrainError::Invalid {
                what: "network heads",
                reason: format!("no head `{}` for the {} labels", set.head, view),
            });
        }
        let mut predictions = Vec::new();
        let mut truths = Vec::new();
        for chunk in items.chunks(options.batch_size.max(1)) {
            let prepared = chunk
                .iter()
                .map(|i| prepare(&data, i, preprocess, None))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&PreparedSample> = prepared.iter().collect();
            predictions.extend(predict_on_original(net, &refs, &set.head, preprocess.crop)?);
            for i in chunk {
                let f = data.frame(i).expect("dataset items exist");
                let l = f.label.as_ref().expect("labelled_only");
                truths.push(load_label_map(data.source(), l)?);
            }
        }
        let plane = data.plane(&items[0]).expect("dataset items exist");
        let sp = plane.spacing();
        let dims_agree = predictions.iter().all(|p| p.dim() == predictions[0].dim());
        let (pred, truth, spacing) = if dims_agree {
            let (h, w) = predictions[0].dim();
            let stack = |v: &[Array2<u8>]| {
                Array3::from_shape_vec(
                    (v.len(), h, w),
                    v.iter().flat_map(|a| a.iter().copied()).collect(),
                )
            };
            let slice_mm = data
                .study(&items[0])
                .view(view)
                .and_then(|s| s.spacing.as_ref())
                .map_or(sp.between_rows.max(sp.between_cols), |s| s.median_mm);
            (
                stack(&predictions).map_err(|e| TrainError::Invalid {
                    what: "prediction stack",
                    reason: e.to_string(),
                })?,
                stack(&truths).map_err(|e| TrainError::Invalid {
                    what: "label stack",
                    reason: e.to_string(),
                })?,
                [slice_mm, sp.between_rows, sp.between_cols],
            )
        } else {
            return Err(TrainError::BadImage {
                image: format!("{} of study {study}", view),
                reason: "slices of different sizes cannot form a volume".into(),
            });
        };
        let labels: Vec<u8> = (1..=set.max_label()).collect();
        let metrics = evaluate_labels(&pred, &truth, &labels, &spacing, &options.metrics)?;
        for m in metrics {
            records.push(EvalRecord {
                subject: data.subject_id(study),
                study,
                view,
                frame,
                phase: items[0].phase,
                head: set.head.clone(),
                label: m.label,
                structure: set.class_name(m.label).to_string(),
                slices: items.len(),
                metrics: m.metrics,
            });
        }
    }
    Ok(records)
}

/// Pretext scores of a network on the centre crops of `data`'s images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretextScore {
    /// Images scored.
    pub images: usize,
    /// Mean pretext loss per image.
    pub loss: f64,
    /// Dice per class (background first) for classification tasks, pooled over all pixels.
    pub class_dice: Vec<f64>,
    /// Mean Dice over the foreground classes present (NaN for regression tasks).
    pub mean_dice: f64,
}

/// Scores the pretext head of `net` on every image of `data` (centre crops, no augmentation).
///
/// # Errors
/// Loading, preprocessing, network and task errors.
pub fn evaluate_pretext(
    net: &UNet,
    task: Arc<dyn PretextTask>,
    data: &Dataset<'_>,
    preprocess: &PreprocessConfig,
    batch_size: usize,
) -> Result<PretextScore, TrainError> {
    let store = SampleStore::new(
        data.without_labels(),
        preprocess.clone(),
        Some(task.clone()),
        CacheMode::None,
    )?;
    let mut counts = ClassCounts::new(task.output_channels() as usize);
    let mut classes = false;
    let (mut loss_sum, mut n) = (0.0, 0usize);
    let indices: Vec<usize> = (0..store.len()).collect();
    for chunk in indices.chunks(batch_size.max(1)) {
        let samples = chunk
            .iter()
            .map(|&i| Ok(centre_crop(store.get(i)?.as_ref(), preprocess.crop)))
            .collect::<Result<Vec<_>, TrainError>>()?;
        let batch = Batch::from_samples(&samples, data.label_sets(), true, net.device())?;
        let Some(targets) = &batch.pretext else {
            continue;
        };
        let out = tch::no_grad(|| net.forward_t(&batch.images, false))?;
        let logits = out.head(task.name())?;
        let l: Tensor = tch::no_grad(|| task.loss(logits, targets))?;
        loss_sum += l.double_value(&[]) * batch.len as f64;
        n += batch.len;
        classes = task.add_counts(logits, targets, &mut counts)?;
    }
    Ok(PretextScore {
        images: n,
        loss: if n > 0 { loss_sum / n as f64 } else { f64::NAN },
        class_dice: if classes { counts.dice() } else { Vec::new() },
        mean_dice: if classes {
            counts.mean_foreground_dice()
        } else {
            f64::NAN
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmr_geometry::{ImagePlane, PixelSpacing, Vec3};

    #[test]
    fn probabilities_map_back_onto_the_original_grid() {
        // Original: 20 x 20 pixels of 1 mm. Region: 10 x 10 of 2 mm covering it exactly
        // (centres at 0.5 + 2i), crop = region. Class 1 wins on the crop's left half.
        let original = ImagePlane::new(
            Vec3::default(),
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(0.0, 1.0, 0.0),
            PixelSpacing {
                between_rows: 1.0,
                between_cols: 1.0,
            },
            20,
            20,
        )
        .unwrap();
        let region = ImagePlane::new(
            Vec3::new(0.5, 0.5, 0.0),
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(0.0, 1.0, 0.0),
            PixelSpacing {
                between_rows: 2.0,
                between_cols: 2.0,
            },
            10,
            10,
        )
        .unwrap();
        let sample = PreparedSample {
            item: ImageItem {
                study: 0,
                view: View::ShortAxis,
                slice: 0,
                frame: 0,
                phase: None,
                label_set: None,
            },
            image: Array2::zeros((10, 10)),
            valid: Array2::from_elem((10, 10), true),
            segmentation: None,
            pretext: None,
            region,
            original,
            centred_on_lv: true,
        };
        let crop = 10;
        let mut probs = vec![0f32; 2 * crop * crop];
        for i in 0..crop {
            for j in 0..crop {
                let left = j < 5;
                probs[i * crop + j] = if left { 0.2 } else { 0.8 };
                probs[crop * crop + i * crop + j] = if left { 0.8 } else { 0.2 };
            }
        }
        let labels = probabilities_to_original(&probs, 2, crop, &sample);
        // Crop column 4.5 (the boundary) sits at original column 0.5 + 2 * 4.5 = 9.5.
        assert_eq!(labels[[3, 9]], 1);
        assert_eq!(labels[[3, 10]], 0);
        assert!(labels.column(0).iter().all(|&v| v == 1));
        assert!(labels.column(19).iter().all(|&v| v == 0));
    }
}

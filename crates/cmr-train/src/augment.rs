//! Augmentation: a random similarity transform (rotation, scaling, small translation) applied
//! identically to the image, the validity mask, the segmentation (nearest neighbour) and the
//! pretext target (nearest neighbour for classes, linear for heatmaps), then intensity gamma
//! and a smooth multiplicative bias on the image. No flips: a mirror image would swap the
//! anatomical sides that the position labels encode.

use cmr_pretext::PretextTarget;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::ImageItem;
use crate::preprocess::PreparedSample;
use crate::resample::{warp_bilinear, warp_bilinear_channels, warp_nearest, Affine2};
use crate::TrainError;

/// Ranges of the random augmentation (all uniform; gamma log-uniform).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// Largest rotation either way, degrees.
    pub rotation_deg: f64,
    /// Zoom factor range `[min, max]` (> 1 enlarges the anatomy).
    pub scale: [f64; 2],
    /// Largest shift along each axis, mm.
    pub translation_mm: f64,
    /// Intensity gamma range `[min, max]`, applied to the crop rescaled to `[0, 1]`.
    pub gamma: [f64; 2],
    /// Largest amplitude of a linear multiplicative bias field across the crop (0.2: the
    /// intensity varies by up to +-20 % from the centre to the edge).
    pub bias: f64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            rotation_deg: 30.0,
            scale: [0.9, 1.1],
            translation_mm: 8.0,
            gamma: [0.7, 1.4],
            bias: 0.2,
        }
    }
}

impl AugmentConfig {
    /// No augmentation: the centre crop.
    pub fn none() -> Self {
        Self {
            rotation_deg: 0.0,
            scale: [1.0, 1.0],
            translation_mm: 0.0,
            gamma: [1.0, 1.0],
            bias: 0.0,
        }
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let ok_range =
            |r: [f64; 2]| r[0].is_finite() && r[1].is_finite() && 0.0 < r[0] && r[0] <= r[1];
        let bad = |what, reason: String| Err(TrainError::Invalid { what, reason });
        if !(self.rotation_deg.is_finite() && (0.0..=180.0).contains(&self.rotation_deg)) {
            return bad(
                "rotation",
                format!("{} degrees, expected 0..=180", self.rotation_deg),
            );
        }
        if !ok_range(self.scale) || self.scale[1] > 4.0 {
            return bad("scale range", format!("{:?}", self.scale));
        }
        if !ok_range(self.gamma) || self.gamma[1] > 10.0 {
            return bad("gamma range", format!("{:?}", self.gamma));
        }
        if !(self.translation_mm.is_finite() && self.translation_mm >= 0.0) {
            return bad("translation", format!("{} mm", self.translation_mm));
        }
        if !(self.bias.is_finite() && (0.0..1.0).contains(&self.bias)) {
            return bad("bias", format!("{}, expected 0..1", self.bias));
        }
        Ok(())
    }
}

/// One network input: the crop and its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSample {
    /// Which image.
    pub item: ImageItem,
    /// `[crop, crop]` intensities.
    pub image: Array2<f32>,
    /// True where the pixel shows the original image (losses ignore the others).
    pub valid: Array2<bool>,
    /// Segmentation labels, when labelled.
    pub segmentation: Option<Array2<u8>>,
    /// The pretext target, when there is one.
    pub pretext: Option<PretextTarget>,
}

/// The similarity transform of an augmentation, drawn from `seed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentDraw {
    /// Rotation, radians.
    pub angle: f64,
    /// Zoom factor.
    pub scale: f64,
    /// Shift in region pixels `(rows, cols)`.
    pub shift: (f64, f64),
    /// Gamma.
    pub gamma: f64,
    /// Bias amplitude and direction angle.
    pub bias: (f64, f64),
}

impl AugmentDraw {
    /// Draws the parameters for `config` from `seed`.
    pub fn new(config: &AugmentConfig, spacing_mm: f64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |lo: f64, hi: f64| {
            if hi > lo {
                rng.random_range(lo..=hi)
            } else {
                lo
            }
        };
        let angle = uniform(-config.rotation_deg, config.rotation_deg).to_radians();
        let scale = uniform(config.scale[0], config.scale[1]);
        let t = config.translation_mm / spacing_mm;
        let shift = (uniform(-t, t), uniform(-t, t));
        let gamma = uniform(config.gamma[0].ln(), config.gamma[1].ln()).exp();
        let bias = (
            uniform(-config.bias, config.bias),
            uniform(0.0, std::f64::consts::TAU),
        );
        Self {
            angle,
            scale,
            shift,
            gamma,
            bias,
        }
    }

    /// Crop pixel -> region pixel for a `crop` inside a `region`.
    pub fn map(&self, crop: usize, region: usize) -> Affine2 {
        let uc = (crop as f64 - 1.0) / 2.0;
        let rc = (region as f64 - 1.0) / 2.0;
        let (s, c) = self.angle.sin_cos();
        let (a, b, cc, d) = (
            c / self.scale,
            -s / self.scale,
            s / self.scale,
            c / self.scale,
        );
        Affine2 {
            row0: rc + self.shift.0 - (a * uc + b * uc),
            col0: rc + self.shift.1 - (cc * uc + d * uc),
            drow_di: a,
            drow_dj: b,
            dcol_di: cc,
            dcol_dj: d,
        }
    }
}

/// Warps a prepared sample into a `crop x crop` training sample with the augmentation drawn
/// from `seed` (the same seed gives the same result on any thread).
///
/// ```
/// use cmr_train::{augment, AugmentConfig, AugmentDraw};
/// // The identity draw maps the crop onto the middle of the region.
/// let map = AugmentDraw::new(&AugmentConfig::none(), 2.0, 7).map(4, 8);
/// assert_eq!(map.apply(0.0, 0.0), (2.0, 2.0));
/// ```
pub fn augment(
    sample: &PreparedSample,
    crop: usize,
    config: &AugmentConfig,
    seed: u64,
) -> TrainingSample {
    let spacing = sample.region.spacing().between_rows;
    let draw = AugmentDraw::new(config, spacing, seed);
    let region = sample.image.nrows();
    let map = draw.map(crop, region);
    let dim = (crop, crop);
    let (mut image, footprint) = warp_bilinear(&sample.image, &map, dim, 0.0);
    let mut valid = warp_nearest(&sample.valid, &map, dim, false);
    valid.zip_mut_with(&footprint, |v, &f| *v = *v && f);
    let segmentation = sample
        .segmentation
        .as_ref()
        .map(|s| warp_nearest(s, &map, dim, 0));
    let pretext = sample.pretext.as_ref().map(|t| match t {
        PretextTarget::Classes { labels, ignore } => PretextTarget::Classes {
            labels: warp_nearest(labels, &map, dim, 0),
            ignore: warp_nearest(ignore, &map, dim, true),
        },
        PretextTarget::Channels { maps, present } => PretextTarget::Channels {
            maps: warp_bilinear_channels(maps, &map, dim, 0.0),
            present: present.clone(),
        },
    });
    adjust_intensity(&mut image, &valid, &draw);
    TrainingSample {
        item: sample.item,
        image,
        valid,
        segmentation,
        pretext,
    }
}

/// The un-augmented centre crop.
pub fn centre_crop(sample: &PreparedSample, crop: usize) -> TrainingSample {
    augment(sample, crop, &AugmentConfig::none(), 0)
}

fn adjust_intensity(image: &mut Array2<f32>, valid: &Array2<bool>, draw: &AugmentDraw) {
    if draw.gamma != 1.0 {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for (&v, &ok) in image.iter().zip(valid) {
            if ok {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if hi > lo {
            let g = draw.gamma as f32;
            image.zip_mut_with(valid, |v, &ok| {
                if ok {
                    *v = lo + (hi - lo) * ((*v - lo) / (hi - lo)).clamp(0.0, 1.0).powf(g);
                }
            });
        }
    }
    if draw.bias.0 != 0.0 {
        let (rows, cols) = image.dim();
        let (rc, cc) = ((rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0);
        let half = rc.max(cc).max(1.0);
        let (s, c) = draw.bias.1.sin_cos();
        for ((r, col), v) in image.indexed_iter_mut() {
            let t = ((r as f64 - rc) * s + (col as f64 - cc) * c) / half;
            *v *= (1.0 + draw.bias.0 * t) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmr_geometry::{ImagePlane, PixelSpacing, Vec3, View};

    fn sample(region: usize) -> PreparedSample {
        let plane = ImagePlane::new(
            Vec3::default(),
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(0.0, 1.0, 0.0),
            PixelSpacing {
                between_rows: 2.0,
                between_cols: 2.0,
            },
            region,
            region,
        )
        .unwrap();
        // A bright square in the middle, labelled 1 (segmentation) and 3 (positions) there.
        let mid = |r: usize, c: usize| (r as i64 - 10).abs() <= 3 && (c as i64 - 10).abs() <= 3;
        PreparedSample {
            item: ImageItem {
                study: 0,
                view: View::ShortAxis,
                slice: 0,
                frame: 0,
                phase: None,
                label_set: Some(0),
            },
            image: Array2::from_shape_fn(
                (region, region),
                |(r, c)| if mid(r, c) { 1.0 } else { 0.2 },
            ),
            valid: Array2::from_elem((region, region), true),
            segmentation: Some(Array2::from_shape_fn((region, region), |(r, c)| {
                u8::from(mid(r, c))
            })),
            pretext: Some(PretextTarget::Classes {
                labels: Array2::from_shape_fn((region, region), |(r, c)| 3 * u8::from(mid(r, c))),
                ignore: Array2::from_elem((region, region), false),
            }),
            region: plane,
            original: plane,
            centred_on_lv: true,
        }
    }

    #[test]
    fn centre_crop_is_an_exact_copy_of_the_middle() {
        let s = sample(21);
        let t = centre_crop(&s, 11);
        assert_eq!(t.image, s.image.slice(ndarray::s![5..16, 5..16]).to_owned());
        assert_eq!(
            t.segmentation.unwrap(),
            s.segmentation
                .unwrap()
                .slice(ndarray::s![5..16, 5..16])
                .to_owned()
        );
        assert!(t.valid.iter().all(|&v| v));
    }

    #[test]
    fn geometry_is_identical_on_image_and_labels_and_seeds_repeat() {
        let s = sample(21);
        let config = AugmentConfig {
            gamma: [1.0, 1.0],
            bias: 0.0,
            ..AugmentConfig::default()
        };
        for seed in 0..20 {
            let t = augment(&s, 15, &config, seed);
            assert_eq!(t, augment(&s, 15, &config, seed));
            let seg = t.segmentation.as_ref().unwrap();
            let Some(PretextTarget::Classes { labels, ignore }) = &t.pretext else {
                panic!()
            };
            // Nearest neighbour keeps label values; positions follow the same map exactly.
            assert!(seg.iter().all(|&v| v <= 1));
            assert_eq!(labels, &seg.mapv(|v| 3 * v));
            // Pixels deep inside the labelled square are bright, far outside dark.
            for ((r, c), &l) in seg.indexed_iter() {
                if l == 1 && t.valid[[r, c]] {
                    assert!(t.image[[r, c]] > 0.2, "seed {seed} ({r}, {c})");
                }
            }
            // Where the map leaves the region, the pixel is invalid and positions ignored.
            for ((r, c), &v) in t.valid.indexed_iter() {
                if !v {
                    assert!(ignore[[r, c]]);
                }
            }
        }
        // Different seeds, different draws.
        assert_ne!(
            augment(&s, 15, &config, 1).image,
            augment(&s, 15, &config, 2).image
        );
    }

    #[test]
    fn intensity_changes_are_monotone_and_bounded() {
        let s = sample(21);
        let config = AugmentConfig {
            rotation_deg: 0.0,
            scale: [1.0, 1.0],
            translation_mm: 0.0,
            gamma: [0.5, 2.0],
            bias: 0.0,
        };
        for seed in 0..10 {
            let t = augment(&s, 11, &config, seed);
            // Gamma on [lo, hi] keeps the extremes and the order.
            assert!((t.image[[5, 5]] - 1.0).abs() < 1e-6);
            assert!((t.image[[0, 0]] - 0.2).abs() < 1e-6);
        }
        let biased = augment(
            &s,
            11,
            &AugmentConfig {
                bias: 0.3,
                ..config
            },
            3,
        );
        let ratio = biased.image[[0, 0]] / 0.2;
        assert!((0.57..=1.43).contains(&ratio), "{ratio}");
        assert!(AugmentConfig {
            bias: 1.5,
            ..config
        }
        .validate()
        .is_err());
        assert!(AugmentConfig {
            scale: [0.0, 1.0],
            ..config
        }
        .validate()
        .is_err());
        AugmentConfig::default().validate().unwrap();
    }
}

//! From one image of a study to a [`PreparedSample`]: intensities normalised, resampled to a
//! fixed in-plane spacing on a square region centred on the LV (found from the view geometry,
//! no labels needed), with labels resampled by nearest neighbour and the pretext target
//! derived exactly on the region's own plane.

use cmr_geometry::positions::{CrossLayout, PositionLayout};
use cmr_geometry::{ImagePlane, PixelPoint, PixelSpacing, View};
use cmr_pretext::{PretextError, PretextTarget, PretextTask};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::dataset::{load_label_map, load_pixels};
use crate::dataset::{Dataset, ImageItem};
use crate::normalize::Normalization;
use crate::resample::{warp_bilinear, warp_nearest, Affine2};
use crate::TrainError;

/// Where long-axis crops are centred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaCentre {
    /// On the LV long axis at the basal position level (label 1 of the cross layout), so that
    /// a crop holds both the atria and the apex. The default.
    #[default]
    BasalLevel,
    /// On the long axis at the mid-ventricular level.
    MidLevel,
}

/// Preprocessing: target grid, crop and intensity normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessConfig {
    /// In-plane pixel spacing of the network's input, mm.
    pub spacing_mm: f64,
    /// Side of the square network input, pixels.
    pub crop: usize,
    /// The cached region is `margin` times the crop (so rotations and shifts of the
    /// augmentation find real pixels); >= 1.
    pub margin: f64,
    /// Intensity normalisation (per image, before resampling).
    pub normalization: Normalization,
    /// Where LA crops are centred.
    pub la_centre: LaCentre,
    /// The layout whose derivation gives the LV centre (its tile sizes do not matter for the
    /// centre of SA images).
    pub centre_layout: CrossLayout,
}

impl Default for PreprocessConfig {
    /// 96 x 96 pixels of 2 mm (192 mm, the whole heart of an adult on SA and LA views),
    /// region 1.5x, 1st-99th percentile normalisation.
    fn default() -> Self {
        Self {
            spacing_mm: 2.0,
            crop: 96,
            margin: 1.5,
            normalization: Normalization::default(),
            la_centre: LaCentre::default(),
            centre_layout: CrossLayout::default(),
        }
    }
}

impl PreprocessConfig {
    /// Side of the cached region, pixels (at least the crop, same parity as the crop so the
    /// crop sits on whole pixels in its middle).
    pub fn region_size(&self) -> usize {
        let r = (self.crop as f64 * self.margin).ceil() as usize;
        let r = r.max(self.crop);
        if (r - self.crop) % 2 == 1 {
            r + 1
        } else {
            r
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what, reason: String| Err(TrainError::Invalid { what, reason });
        if !(self.spacing_mm.is_finite() && self.spacing_mm > 0.0 && self.spacing_mm <= 20.0) {
            return bad("preprocess spacing", format!("{} mm", self.spacing_mm));
        }
        if !(8..=1024).contains(&self.crop) {
            return bad("crop size", format!("{} px, expected 8..=1024", self.crop));
        }
        if !(self.margin.is_finite() && (1.0..=3.0).contains(&self.margin)) {
            return bad("crop margin", format!("{}, expected 1..=3", self.margin));
        }
        self.normalization.validate()
    }

    /// A description of everything that changes a prepared sample (cache keys).
    pub fn describe(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One image after preprocessing, before augmentation: a square region of
/// [`PreprocessConfig::region_size`] pixels at the fixed spacing, centred on the LV.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSample {
    /// Which image.
    pub item: ImageItem,
    /// Normalised intensities on the region grid.
    pub image: Array2<f32>,
    /// True where the region pixel lies inside the original image.
    pub valid: Array2<bool>,
    /// Segmentation labels on the region grid (values of the item's label set), if labelled.
    pub segmentation: Option<Array2<u8>>,
    /// The pretext target on the region grid, if one was asked for and the geometry gives one.
    pub pretext: Option<PretextTarget>,
    /// The region's plane (patient coordinates of every region pixel).
    pub region: ImagePlane,
    /// The original image's plane.
    pub original: ImagePlane,
    /// Whether the centre came from the view geometry (false: the image centre was used).
    pub centred_on_lv: bool,
}

impl PreparedSample {
    /// The map from region pixels to original pixels.
    pub fn region_to_original(&self) -> Affine2 {
        region_map(&self.original, &self.region)
    }
}

/// Region pixel -> original pixel (both planes share their direction cosines).
fn region_map(original: &ImagePlane, region: &ImagePlane) -> Affine2 {
    let o = original.world_to_pixel(region.origin());
    let sp = original.spacing();
    let rs = region.spacing();
    Affine2 {
        row0: o.row,
        col0: o.col,
        drow_di: rs.between_rows / sp.between_rows,
        drow_dj: 0.0,
        dcol_di: 0.0,
        dcol_dj: rs.between_cols / sp.between_cols,
    }
}

/// The LV centre on an image, in pixels, from the view geometry.
fn lv_centre(
    config: &PreprocessConfig,
    plane: &ImagePlane,
    view: View,
    refs: &cmr_geometry::positions::ViewPlanes,
) -> Option<PixelPoint> {
    let map = config.centre_layout.label(plane, view, refs).ok()?;
    if view != View::ShortAxis && config.la_centre == LaCentre::BasalLevel {
        if let Some(tile) = map.tiles.iter().find(|t| t.label == 1) {
            return Some(tile.centre);
        }
    }
    map.centre
}

/// Prepares one image: loads pixels (and labels when the item is labelled), normalises,
/// resamples onto the LV-centred region, and derives the pretext target there when `task` is
/// given (an image without one gets `None`, which the losses ignore).
///
/// # Errors
/// [`TrainError::Load`] when pixels or labels cannot be read; [`TrainError::BadImage`] when
/// they do not match the plane or a label is outside the view's label set;
/// [`TrainError::Invalid`] for a bad configuration or an image with no finite pixel.
pub fn prepare(
    dataset: &Dataset<'_>,
    item: &ImageItem,
    config: &PreprocessConfig,
    task: Option<&dyn PretextTask>,
) -> Result<PreparedSample, TrainError> {
    config.validate()?;
    let missing = || TrainError::BadImage {
        image: format!("{item:?}"),
        reason: "not in its study".into(),
    };
    let frame = dataset.frame(item).ok_or_else(missing)?;
    let original = *dataset.plane(item).ok_or_else(missing)?;
    let source = dataset.source();
    let pixels = load_pixels(source, &frame.image)?;
    if pixels.dim() != (original.rows(), original.cols()) {
        return Err(TrainError::BadImage {
            image: frame.image.to_string(),
            reason: format!(
                "pixels are {:?}, the plane says {} x {}",
                pixels.dim(),
                original.rows(),
                original.cols()
            ),
        });
    }
    let normalised = config
        .normalization
        .apply(pixels.view())
        .map_err(|e| match e {
            TrainError::Invalid { reason, .. } => TrainError::BadImage {
                image: frame.image.to_string(),
                reason,
            },
            other => other,
        })?;
    let refs = dataset.planes(item.study);
    let centre = lv_centre(config, &original, item.view, refs);
    let centred_on_lv = centre.is_some();
    let centre = centre.unwrap_or(PixelPoint {
        row: (original.rows() as f64 - 1.0) / 2.0,
        col: (original.cols() as f64 - 1.0) / 2.0,
    });
    let size = config.region_size();
    let s = config.spacing_mm;
    let half = (size as f64 - 1.0) / 2.0 * s;
    let world_centre = original.pixel_to_world(centre.row, centre.col);
    let region = ImagePlane::new(
        world_centre - original.row_dir() * half - original.col_dir() * half,
        original.row_dir(),
        original.col_dir(),
        PixelSpacing {
            between_rows: s,
            between_cols: s,
        },
        size,
        size,
    )
    .map_err(|e| TrainError::BadImage {
        image: frame.image.to_string(),
        reason: format!("region plane: {e}"),
    })?;
    let map = region_map(&original, &region);
    let (image, valid) = warp_bilinear(&normalised, &map, (size, size), 0.0);
    let segmentation = match (item.label_set, &frame.label) {
        (Some(set), Some(label_ref)) => {
            let labels = load_label_map(source, label_ref)?;
            if labels.dim() != pixels.dim() {
                return Err(TrainError::BadImage {
                    image: label_ref.to_string(),
                    reason: format!("labels are {:?}, pixels {:?}", labels.dim(), pixels.dim()),
                });
            }
            let max = dataset.label_sets().0[set].max_label();
            if let Some(v) = labels.iter().find(|&&v| v > max) {
                return Err(TrainError::BadImage {
                    image: label_ref.to_string(),
                    reason: format!(
                        "label value {v} outside the {} label set (0..={max})",
                        item.view
                    ),
                });
            }
            Some(warp_nearest(&labels, &map, (size, size), 0))
        }
        _ => None,
    };
    let pretext = match task {
        None => None,
        Some(task) => match task.derive(&region, item.view, refs) {
            Ok(t) => Some(t),
            Err(PretextError::Underivable { .. }) => None,
            Err(e) => return Err(e.into()),
        },
    };
    Ok(PreparedSample {
        item: *item,
        image,
        valid,
        segmentation,
        pretext,
        region,
        original,
        centred_on_lv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::tests::toy_source;
    use crate::dataset::DatasetOptions;
    use cmr_geometry::{Frame, MemorySource, Series, Slice, Study, StudySource};
    use cmr_pretext::PositionTask;

    #[test]
    fn region_is_centred_and_resampled_at_the_fixed_spacing() {
        // A 40 x 30 image of 1 mm pixels holding f = row + 100 col (modality values), no LA
        // views, so the region is centred on the image centre.
        let mut source = MemorySource::default();
        let plane =
            ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 40, 30)
                .unwrap();
        let img = Array2::from_shape_fn((40, 30), |(r, c)| (r + 100 * c) as f32);
        let mut frame = Frame::new(source.push_image(img));
        frame.label =
            Some(source.push_label(Array2::from_shape_fn((40, 30), |(r, _)| u8::from(r >= 20))));
        source.push_study(Study {
            uid: "s".into(),
            patient_id: None,
            series: vec![Series::new(
                View::ShortAxis,
                "sa",
                "sa",
                vec![Slice {
                    plane,
                    frames: vec![frame],
                }],
            )],
            dropped: vec![],
        });
        let data = Dataset::new(&source, &DatasetOptions::default()).unwrap();
        let config = PreprocessConfig {
            spacing_mm: 2.0,
            crop: 10,
            margin: 1.0,
            normalization: Normalization::Percentile {
                low: 0.0,
                high: 100.0,
            },
            ..PreprocessConfig::default()
        };
        let task = PositionTask::default();
        let s = prepare(&data, &data.items()[0], &config, Some(&task)).unwrap();
        assert!(!s.centred_on_lv);
        assert!(s.pretext.is_none()); // no LA planes: no positions
                                      // Region pixel (i, j) sits at original (10.5 + 2i, 5.5 + 2j): the image centre
                                      // (19.5, 14.5) is the region centre (4.5, 4.5).
        let map = s.region_to_original();
        assert_eq!(map.apply(4.5, 4.5), (19.5, 14.5));
        let max = 39.0 + 100.0 * 29.0;
        for (i, j) in [(0, 0), (3, 7), (9, 9)] {
            let (r, c) = (10.5 + 2.0 * i as f64, 5.5 + 2.0 * j as f64);
            let want = (r + 100.0 * c) / max;
            assert!((f64::from(s.image[[i, j]]) - want).abs() < 1e-5);
        }
        assert!(s.valid.iter().all(|&v| v));
        // Labels by nearest neighbour: rows >= 20 are 1; region row 5 -> original 20.5.
        let seg = s.segmentation.as_ref().unwrap();
        assert_eq!(seg[[4, 0]], 0);
        assert_eq!(seg[[5, 0]], 1);
        // A larger region reaches outside the image: those pixels are invalid and zero.
        let big = PreprocessConfig { crop: 30, ..config };
        let s = prepare(&data, &data.items()[0], &big, None).unwrap();
        assert!(!s.valid[[0, 0]] && s.image[[0, 0]] == 0.0 && s.valid[[15, 15]]);
    }

    #[test]
    fn bad_labels_and_configs_are_typed_errors() {
        // A second study whose 4Ch frame 0 carries a label value 5 (the 4Ch set has 0..=2).
        let mut with_bad = toy_source("a", 1);
        let bad = with_bad.push_label(Array2::from_elem((8, 8), 5));
        let mut study = with_bad.studies()[0].clone();
        study.series[1].slices[0].frames[0].label = Some(bad);
        with_bad.push_study(study);
        let data = Dataset::new(&with_bad, &DatasetOptions::default()).unwrap();
        let item = data
            .items()
            .iter()
            .find(|i| i.study == 1 && i.view == View::FourChamber && i.frame == 0)
            .copied()
            .unwrap();
        let err = prepare(&data, &item, &PreprocessConfig::default(), None).unwrap_err();
        assert!(matches!(err, TrainError::BadImage { .. }), "{err}");
        assert!(err.to_string().contains("label value 5"), "{err}");
        let bad_config = PreprocessConfig {
            crop: 2,
            ..PreprocessConfig::default()
        };
        assert!(matches!(
            prepare(&data, &data.items()[0], &bad_config, None),
            Err(TrainError::Invalid { .. })
        ));
        assert_eq!(
            PreprocessConfig {
                crop: 96,
                margin: 1.5,
                ..PreprocessConfig::default()
            }
            .region_size(),
            144
        );
        assert_eq!(
            PreprocessConfig {
                crop: 10,
                margin: 1.25,
                ..PreprocessConfig::default()
            }
            .region_size(),
            14
        );
    }
}

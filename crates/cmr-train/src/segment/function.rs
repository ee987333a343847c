//! Cardiac function from short-axis label volumes: per-frame LV and RV blood-pool volumes,
//! end-diastole (the first frame) and end-systole (the frame of smallest LV volume), and the
//! clinical measures of cmr-metrics between them.

use cmr_metrics::{clinical_measures, phase_volumes, ClinicalMeasures, SaLabels, StackGeometry};
use ndarray::{ArrayView4, Axis};
use serde::{Deserialize, Serialize};

use crate::dataset::LabelSet;
use crate::TrainError;

/// LV/RV volumes over the cycle and the measures at end-diastole (ED) and end-systole (ES).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardiacFunction {
    /// The ED frame: the first one (cine acquisitions are triggered on the R wave).
    pub ed_frame: usize,
    /// The ES frame: the one with the smallest LV blood-pool volume.
    pub es_frame: usize,
    /// LV blood-pool volume of every frame, ml.
    pub lv_volume_per_frame_ml: Vec<f64>,
    /// RV blood-pool volume of every frame, ml.
    pub rv_volume_per_frame_ml: Vec<f64>,
    /// LV myocardium volume of every frame, ml.
    pub lv_myocardium_per_frame_ml: Vec<f64>,
    /// The voxel geometry the volumes use.
    pub geometry: StackGeometry,
    /// EDV, ESV, SV, EF of both ventricles and LV mass (ED myocardium x 1.05 g/ml).
    pub measures: ClinicalMeasures,
}

/// Cardiac function from SA label volumes `[frames, slices, rows, cols]`.
///
/// Volumes are voxel counts times the voxel volume (pixel spacing x slice spacing, the
/// summation of discs of Bai et al., JCMR 2018); LV mass is the ED myocardial volume times
/// 1.05 g/ml ([`cmr_metrics::MYOCARDIAL_DENSITY_G_PER_ML`], the density used by Bai et al.).
/// ED is frame 0; ES is the frame of smallest LV blood-pool volume (the first such frame).
///
/// # Errors
/// [`TrainError::Invalid`] for no frame; [`TrainError::Metrics`] for a bad geometry or an LV
/// or RV that is empty at ED (EF undefined).
pub fn cardiac_function(
    sa: ArrayView4<'_, u8>,
    geometry: &StackGeometry,
    labels: &SaLabels,
) -> Result<CardiacFunction, TrainError> {
    let frames = sa.len_of(Axis(0));
    if frames == 0 {
        return Err(TrainError::Invalid {
            what: "short-axis labels",
            reason: "no frame".into(),
        });
    }
    let per_frame = sa
        .axis_iter(Axis(0))
        .map(|f| phase_volumes(&f, geometry, labels))
        .collect::<Result<Vec<_>, _>>()?;
    let lv: Vec<f64> = per_frame.iter().map(|v| v.lv_blood_pool_ml).collect();
    let es_frame = lv
        .iter()
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (i, &v)| {
                if v < best.1 {
                    (i, v)
                } else {
                    best
                }
            },
        )
        .0;
    let ed_frame = 0;
    let measures = clinical_measures(
        &sa.index_axis(Axis(0), ed_frame),
        &sa.index_axis(Axis(0), es_frame),
        geometry,
        labels,
    )?;
    Ok(CardiacFunction {
        ed_frame,
        es_frame,
        lv_volume_per_frame_ml: lv,
        rv_volume_per_frame_ml: per_frame.iter().map(|v| v.rv_blood_pool_ml).collect(),
        lv_myocardium_per_frame_ml: per_frame.iter().map(|v| v.lv_myocardium_ml).collect(),
        geometry: *geometry,
        measures,
    })
}

/// The SA label values of a label set, found by class name (`LV blood pool`,
/// `LV myocardium`, `RV blood pool`, case-insensitive).
///
/// # Errors
/// [`TrainError::Invalid`] naming the class that is missing.
pub fn sa_labels_of(set: &LabelSet) -> Result<SaLabels, TrainError> {
    let find = |name: &str| {
        set.classes
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .map(|i| i as u8 + 1)
            .ok_or_else(|| TrainError::Invalid {
                what: "short-axis label set",
                reason: format!(
                    "no class `{name}` among {:?} of head {}: volumes need the LV blood pool, \
                     LV myocardium and RV blood pool",
                    set.classes, set.head
                ),
            })
    };
    Ok(SaLabels {
        lv_blood_pool: find("LV blood pool")?,
        lv_myocardium: find("LV myocardium")?,
        rv_blood_pool: find("RV blood pool")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LabelSets;
    use cmr_geometry::View;
    use ndarray::Array4;

    #[test]
    fn es_is_the_smallest_lv_volume_and_volumes_scale_with_the_voxel() {
        // 4 frames, 2 slices; LV voxels per frame 50, 30, 20, 40 (ES = frame 2); voxel
        // 1.5 x 2 x 8 mm = 0.024 ml.
        let counts = [50usize, 30, 20, 40];
        let mut sa = Array4::<u8>::zeros((4, 2, 10, 10));
        for (f, &n) in counts.iter().enumerate() {
            for k in 0..n {
                sa[[f, k / 100, (k % 100) / 10, k % 10]] = 1;
            }
            sa[[f, 1, 9, 9]] = 3;
            sa[[f, 1, 9, 8]] = 2;
        }
        let g = StackGeometry {
            pixel_spacing: [1.5, 2.0],
            slice_spacing: 8.0,
        };
        let f = cardiac_function(sa.view(), &g, &SaLabels::default()).unwrap();
        assert_eq!((f.ed_frame, f.es_frame), (0, 2));
        let voxel = 1.5 * 2.0 * 8.0 / 1000.0;
        for (v, &n) in f.lv_volume_per_frame_ml.iter().zip(&counts) {
            assert!((v - n as f64 * voxel).abs() < 1e-12);
        }
        assert!((f.measures.lv_edv_ml - 50.0 * voxel).abs() < 1e-12);
        assert!((f.measures.lv_esv_ml - 20.0 * voxel).abs() < 1e-12);
        assert!((f.measures.lv_ef_percent - 60.0).abs() < 1e-9);
        assert!((f.measures.lv_mass_g - 1.05 * voxel).abs() < 1e-12);
        assert_eq!(f.measures.rv_ef_percent, 0.0);
    }

    #[test]
    fn empty_lv_at_ed_and_no_frames_are_errors() {
        let g = StackGeometry {
            pixel_spacing: [1.0, 1.0],
            slice_spacing: 10.0,
        };
        let empty = Array4::<u8>::zeros((2, 1, 4, 4));
        assert!(matches!(
            cardiac_function(empty.view(), &g, &SaLabels::default()),
            Err(TrainError::Metrics(_))
        ));
        let none = Array4::<u8>::zeros((0, 1, 4, 4));
        assert!(matches!(
            cardiac_function(none.view(), &g, &SaLabels::default()),
            Err(TrainError::Invalid { .. })
        ));
    }

    #[test]
    fn sa_labels_follow_the_class_names() {
        let sets = LabelSets::default();
        let sa = sets.for_view(View::ShortAxis).unwrap().1;
        assert_eq!(sa_labels_of(sa).unwrap(), SaLabels::default());
        let swapped = LabelSet::new(
            View::ShortAxis,
            "seg_sa",
            &["RV blood pool", "LV blood pool", "LV myocardium"],
        );
        let l = sa_labels_of(&swapped).unwrap();
        assert_eq!(
            (l.lv_blood_pool, l.lv_myocardium, l.rv_blood_pool),
            (2, 3, 1)
        );
        let la = sets.for_view(View::FourChamber).unwrap().1;
        assert!(sa_labels_of(la).is_err());
    }
}

//! Clinical measures from short-axis (SA) label stacks: ventricular volumes, ejection
//! fractions and LV myocardial mass.
//!
//! Volumes are voxel counts times the voxel volume, with the slice spacing (distance between
//! adjacent SA slice centres, from the image geometry) as the voxel depth: the summation of
//! discs used by Bai et al., JCMR 2018 (UK Biobank) and the clinical SA protocol. LV mass is
//! the end-diastolic myocardial volume times 1.05 g/mL (the myocardial density used there).

use ndarray::{ArrayBase, Data, Ix3};
use serde::{Deserialize, Serialize};

use crate::grid::validate_spacing;
use crate::MetricsError;

/// Density of myocardium, g/mL (Bai et al., JCMR 2018, and common CMR practice).
pub const MYOCARDIAL_DENSITY_G_PER_ML: f64 = 1.05;

/// Label values of the SA structures. The default is the project convention: 1 LV blood
/// pool, 2 LV myocardium, 3 RV blood pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaLabels {
    /// LV blood pool label.
    pub lv_blood_pool: u8,
    /// LV myocardium label.
    pub lv_myocardium: u8,
    /// RV blood pool label.
    pub rv_blood_pool: u8,
}

impl Default for SaLabels {
    fn default() -> Self {
        SaLabels {
            lv_blood_pool: 1,
            lv_myocardium: 2,
            rv_blood_pool: 3,
        }
    }
}

/// Voxel geometry of an SA stack `[slices, rows, cols]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StackGeometry {
    /// DICOM PixelSpacing: `[between rows, between columns]`, mm.
    pub pixel_spacing: [f64; 2],
    /// Distance between adjacent slice centres along the slice normal, mm (from the image
    /// positions, not SliceThickness, which ignores gaps).
    pub slice_spacing: f64,
}

impl StackGeometry {
    /// Volume of one voxel in mL (1 mL = 1000 mm³).
    ///
    /// # Errors
    /// [`MetricsError::InvalidSpacing`] for a non-positive or non-finite spacing (axis 0 is
    /// the slice spacing).
    pub fn voxel_ml(&self) -> Result<f64, MetricsError> {
        validate_spacing(
            &[
                self.slice_spacing,
                self.pixel_spacing[0],
                self.pixel_spacing[1],
            ],
            3,
        )?;
        Ok(self.slice_spacing * self.pixel_spacing[0] * self.pixel_spacing[1] / 1000.0)
    }
}

/// Structure volumes (mL) of one cardiac phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseVolumes {
    /// LV blood pool volume.
    pub lv_blood_pool_ml: f64,
    /// LV myocardium volume.
    pub lv_myocardium_ml: f64,
    /// RV blood pool volume.
    pub rv_blood_pool_ml: f64,
}

/// Volumes of the SA structures in one label stack.
///
/// ```
/// use cmr_metrics::{phase_volumes, SaLabels, StackGeometry};
/// use ndarray::Array3;
/// // 10 slices of 100 LV voxels, 2 x 2 mm pixels, 8 mm apart: 1000 voxels x 32 mm³.
/// let stack = Array3::from_shape_fn((10, 20, 20), |(_, r, c)| u8::from(r < 10 && c < 10));
/// let g = StackGeometry { pixel_spacing: [2.0, 2.0], slice_spacing: 8.0 };
/// let v = phase_volumes(&stack, &g, &SaLabels::default())?;
/// assert_eq!(v.lv_blood_pool_ml, 32.0);
/// assert_eq!(v.rv_blood_pool_ml, 0.0);
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// [`MetricsError::InvalidSpacing`] for a bad geometry.
pub fn phase_volumes<S>(
    labels: &ArrayBase<S, Ix3>,
    geometry: &StackGeometry,
    sa: &SaLabels,
) -> Result<PhaseVolumes, MetricsError>
where
    S: Data<Elem = u8>,
{
    let voxel = geometry.voxel_ml()?;
    let mut counts = [0usize; 3];
    for &v in labels.iter() {
        counts[0] += usize::from(v == sa.lv_blood_pool);
        counts[1] += usize::from(v == sa.lv_myocardium);
        counts[2] += usize::from(v == sa.rv_blood_pool);
    }
    Ok(PhaseVolumes {
        lv_blood_pool_ml: counts[0] as f64 * voxel,
        lv_myocardium_ml: counts[1] as f64 * voxel,
        rv_blood_pool_ml: counts[2] as f64 * voxel,
    })
}

/// Clinical measures of one subject from its end-diastolic (ED) and end-systolic (ES) SA
/// label stacks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClinicalMeasures {
    /// LV end-diastolic volume, mL.
    pub lv_edv_ml: f64,
    /// LV end-systolic volume, mL.
    pub lv_esv_ml: f64,
    /// LV stroke volume `EDV - ESV`, mL.
    pub lv_sv_ml: f64,
    /// LV ejection fraction `100 (EDV - ESV) / EDV`, %.
    pub lv_ef_percent: f64,
    /// LV myocardial mass at ED, g.
    pub lv_mass_g: f64,
    /// RV end-diastolic volume, mL.
    pub rv_edv_ml: f64,
    /// RV end-systolic volume, mL.
    pub rv_esv_ml: f64,
    /// RV stroke volume, mL.
    pub rv_sv_ml: f64,
    /// RV ejection fraction, %.
    pub rv_ef_percent: f64,
}

impl ClinicalMeasures {
    /// Field-wise `self - reference` (EF differences in percentage points): the errors of a
    /// prediction's measures against the reference's.
    pub fn difference(&self, reference: &ClinicalMeasures) -> ClinicalMeasures {
        ClinicalMeasures {
            lv_edv_ml: self.lv_edv_ml - reference.lv_edv_ml,
            lv_esv_ml: self.lv_esv_ml - reference.lv_esv_ml,
            lv_sv_ml: self.lv_sv_ml - reference.lv_sv_ml,
            lv_ef_percent: self.lv_ef_percent - reference.lv_ef_percent,
            lv_mass_g: self.lv_mass_g - reference.lv_mass_g,
            rv_edv_ml: self.rv_edv_ml - reference.rv_edv_ml,
            rv_esv_ml: self.rv_esv_ml - reference.rv_esv_ml,
            rv_sv_ml: self.rv_sv_ml - reference.rv_sv_ml,
            rv_ef_percent: self.rv_ef_percent - reference.rv_ef_percent,
        }
    }
}

/// LV/RV volumes, ejection fractions and LV mass from the ED and ES label stacks
/// (`[slices, rows, cols]`, both on `geometry`).
///
/// ```
/// use cmr_metrics::{clinical_measures, SaLabels, StackGeometry};
/// use ndarray::Array3;
/// let g = StackGeometry { pixel_spacing: [1.0, 1.0], slice_spacing: 10.0 };
/// // ED: 1000 LV voxels (10 mL), 500 myocardium (5 mL), 1500 RV (15 mL); ES: 400 LV, 900 RV.
/// let mut ed = Array3::<u8>::zeros((1, 100, 100));
/// ed.as_slice_mut().unwrap()[..1000].fill(1);
/// ed.as_slice_mut().unwrap()[1000..1500].fill(2);
/// ed.as_slice_mut().unwrap()[1500..3000].fill(3);
/// let mut es = Array3::<u8>::zeros((1, 100, 100));
/// es.as_slice_mut().unwrap()[..400].fill(1);
/// es.as_slice_mut().unwrap()[400..1300].fill(3);
/// let m = clinical_measures(&ed, &es, &g, &SaLabels::default())?;
/// assert_eq!((m.lv_edv_ml, m.lv_esv_ml), (10.0, 4.0));
/// assert!((m.lv_ef_percent - 60.0).abs() < 1e-12);
/// assert!((m.lv_mass_g - 5.25).abs() < 1e-12);
/// assert!((m.rv_ef_percent - 40.0).abs() < 1e-12);
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// [`MetricsError::PhaseShapeMismatch`] when ED and ES differ in shape,
/// [`MetricsError::InvalidSpacing`] for a bad geometry, and
/// [`MetricsError::EmptyStructure`] when the LV or RV blood pool is empty at ED (EF undefined).
pub fn clinical_measures<S1, S2>(
    ed: &ArrayBase<S1, Ix3>,
    es: &ArrayBase<S2, Ix3>,
    geometry: &StackGeometry,
    sa: &SaLabels,
) -> Result<ClinicalMeasures, MetricsError>
where
    S1: Data<Elem = u8>,
    S2: Data<Elem = u8>,
{
    if ed.shape() != es.shape() {
        return Err(MetricsError::PhaseShapeMismatch {
            ed: ed.shape().to_vec(),
            es: es.shape().to_vec(),
        });
    }
    let ed_v = phase_volumes(ed, geometry, sa)?;
    let es_v = phase_volumes(es, geometry, sa)?;
    let ef = |edv: f64, esv: f64, structure, measure| {
        if edv > 0.0 {
            Ok(100.0 * (edv - esv) / edv)
        } else {
            Err(MetricsError::EmptyStructure {
                structure,
                phase: "end-diastole",
                measure,
            })
        }
    };
    Ok(ClinicalMeasures {
        lv_edv_ml: ed_v.lv_blood_pool_ml,
        lv_esv_ml: es_v.lv_blood_pool_ml,
        lv_sv_ml: ed_v.lv_blood_pool_ml - es_v.lv_blood_pool_ml,
        lv_ef_percent: ef(
            ed_v.lv_blood_pool_ml,
            es_v.lv_blood_pool_ml,
            "LV blood pool",
            "LV ejection fraction",
        )?,
        lv_mass_g: ed_v.lv_myocardium_ml * MYOCARDIAL_DENSITY_G_PER_ML,
        rv_edv_ml: ed_v.rv_blood_pool_ml,
        rv_esv_ml: es_v.rv_blood_pool_ml,
        rv_sv_ml: ed_v.rv_blood_pool_ml - es_v.rv_blood_pool_ml,
        rv_ef_percent: ef(
            ed_v.rv_blood_pool_ml,
            es_v.rv_blood_pool_ml,
            "RV blood pool",
            "RV ejection fraction",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn anisotropic_voxels_and_errors() {
        let g = StackGeometry {
            pixel_spacing: [1.25, 1.5],
            slice_spacing: 8.0,
        };
        assert_eq!(g.voxel_ml().unwrap(), 0.015);
        let mut ed = Array3::<u8>::zeros((3, 4, 4));
        ed[[0, 0, 0]] = 1;
        ed[[1, 0, 0]] = 1;
        ed[[2, 1, 1]] = 2;
        let es = Array3::<u8>::zeros((3, 4, 4));
        // The RV is empty at ED: its EF is undefined.
        assert_eq!(
            clinical_measures(&ed, &es, &g, &SaLabels::default()),
            Err(MetricsError::EmptyStructure {
                structure: "RV blood pool",
                phase: "end-diastole",
                measure: "RV ejection fraction"
            })
        );
        ed[[2, 3, 3]] = 3;
        let m = clinical_measures(&ed, &es, &g, &SaLabels::default()).unwrap();
        assert_eq!(m.lv_edv_ml, 2.0 * 0.015);
        assert_eq!(m.lv_ef_percent, 100.0);
        assert_eq!(m.lv_mass_g, 0.015 * 1.05);
        let d = m.difference(&m);
        assert_eq!(d.lv_edv_ml, 0.0);
        let bad = StackGeometry {
            pixel_spacing: [1.0, 1.0],
            slice_spacing: 0.0,
        };
        assert_eq!(
            clinical_measures(&ed, &es, &bad, &SaLabels::default()),
            Err(MetricsError::InvalidSpacing {
                axis: 0,
                value: 0.0
            })
        );
        let other = Array3::<u8>::zeros((2, 4, 4));
        assert!(matches!(
            clinical_measures(&ed, &other, &g, &SaLabels::default()),
            Err(MetricsError::PhaseShapeMismatch { .. })
        ));
    }
}

//! Per-subject parameters: every number that makes one synthetic subject differ from another,
//! drawn from a seed. Ranges are chosen to resemble adult UK Biobank-like subjects (sizes from
//! common CMR reference ranges: LV end-diastolic diameter ~45-55 mm, wall ~7-11 mm, LV EF
//! ~50-70 %, RV end-diastolic volume slightly larger than the LV's).

use serde::{Deserialize, Serialize};

use crate::random::{rng_for, Sampler, Stream};

/// Heart anatomy and motion of one subject (end-diastole unless stated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartParams {
    /// Azimuth of the LV long axis (base to apex) in the axial plane, from patient left (+x)
    /// toward anterior (-y), degrees.
    pub axis_azimuth_deg: f64,
    /// Elevation of the LV long axis below the axial plane (toward the feet), degrees.
    pub axis_elevation_deg: f64,
    /// Angle, in the short-axis plane, from the in-plane anterior direction toward the patient's
    /// right to the direction of the RV (the septal direction), degrees.
    pub septal_angle_deg: f64,
    /// Endocardial apex of the LV at end-diastole, LPS mm relative to the torso centre line.
    pub lv_apex_mm: [f64; 3],
    /// LV cavity radius along the septal direction at the equator, mm.
    pub lv_radius_mm: f64,
    /// Ratio of the cavity radius across (anterior-inferior) to along the septal direction.
    pub lv_ellipticity: f64,
    /// LV cavity length from the mitral (base) plane to the endocardial apex, mm.
    pub lv_length_mm: f64,
    /// Distance of the base plane above the ellipsoid's equator, as a fraction of the long
    /// semi-axis (0: truncated at the equator).
    pub lv_base_fraction: f64,
    /// LV wall thickness at the equator, mm.
    pub lv_wall_mm: f64,
    /// Apical wall thickness as a fraction of the equatorial one.
    pub lv_apex_wall_fraction: f64,
    /// In-plane shape of the LV endocardium: amplitude (relative radius) and phase (radians)
    /// of the circumferential harmonics of order 2, 3 and 4. The cross-sectional area, and so
    /// the volume, is exactly preserved.
    pub lv_endo_shape: [[f64; 2]; 3],
    /// The same for the LV epicardium (independent, so the wall thickness varies).
    pub lv_epi_shape: [[f64; 2]; 3],
    /// Offset of the epicardium's axis from the endocardium's (septal, anterior), mm.
    pub lv_epi_offset_mm: [f64; 2],
    /// LV ejection fraction (0..1).
    pub lv_ef: f64,
    /// Distance the base (mitral plane) descends toward the apex from end-diastole to
    /// end-systole, mm.
    pub base_descent_mm: f64,
    /// RV size relative to the nominal RV for this LV.
    pub rv_scale: f64,
    /// RV free-wall contraction relative to nominal (1 = nominal).
    pub rv_contraction: f64,
    /// Left atrium semi-axes (septal, anterior, long-axis), mm, at ventricular end-diastole.
    pub la_semi_mm: [f64; 3],
    /// Right atrium semi-axes (septal, anterior, long-axis), mm.
    pub ra_semi_mm: [f64; 3],
    /// Direction of the aortic valve from the LV axis, degrees from the septal direction toward
    /// anterior.
    pub aortic_valve_angle_deg: f64,
    /// Aortic root radius, mm.
    pub aortic_radius_mm: f64,
    /// Pulmonary trunk radius, mm.
    pub pulmonary_radius_mm: f64,
    /// Mean epicardial fat thickness, mm (thicker in the grooves).
    pub epicardial_fat_mm: f64,
    /// Papillary muscle radius, mm.
    pub papillary_radius_mm: f64,
    /// Amount of trabeculation (0 none, 1 heavy).
    pub trabeculation: f64,
}

/// The torso around the heart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorsoParams {
    /// Body outline semi-axes (left-right, anterior-posterior), mm.
    pub body_semi_mm: [f64; 2],
    /// Subcutaneous fat thickness, mm.
    pub subcutaneous_fat_mm: f64,
    /// Chest wall muscle thickness, mm.
    pub chest_wall_mm: f64,
    /// Radius of curvature of the diaphragm domes, mm.
    pub diaphragm_radius_mm: f64,
    /// Height of the right dome above the left, mm.
    pub right_dome_mm: f64,
    /// Descending aorta radius, mm.
    pub descending_aorta_radius_mm: f64,
    /// Left-right position of the descending aorta, mm.
    pub descending_aorta_x_mm: f64,
}

/// Cardiac cycle timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleParams {
    /// R-R interval, ms.
    pub rr_ms: f64,
    /// End-systole as a fraction of the cycle (before rounding to a phase).
    pub es_fraction: f64,
}

/// Image contrast and the receiver chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastParams {
    /// Myocardium signal relative to blood (blood = 1).
    pub myocardium: f64,
    /// Fat signal relative to blood.
    pub fat: f64,
    /// Liver signal relative to blood.
    pub liver: f64,
    /// Skeletal muscle signal relative to blood.
    pub muscle: f64,
    /// Relative amplitude of the smooth blood-flow signal variation.
    pub flow_modulation: f64,
    /// Target contrast-to-noise ratio (nominal blood minus myocardium over the noise standard
    /// deviation in air), which sets the noise level.
    pub cnr_target: f64,
    /// Stored value of nominal blood signal (the per-subject intensity scale).
    pub intensity_scale: f64,
    /// Coil sensitivity: Gaussian width of the anterior and posterior coil profiles, mm.
    pub coil_width_mm: f64,
    /// Coil sensitivity: left-right offset of the coil centres, mm.
    pub coil_offset_x_mm: f64,
    /// Relative gain of the posterior coil.
    pub posterior_gain: f64,
}

/// All parameters of one synthetic subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectParams {
    /// Heart.
    pub heart: HeartParams,
    /// Torso.
    pub torso: TorsoParams,
    /// Cardiac cycle.
    pub cycle: CycleParams,
    /// Contrast and receiver.
    pub contrast: ContrastParams,
}

impl SubjectParams {
    /// Draws the parameters of subject `index` of the cohort with seed `seed`.
    pub fn sample(seed: u64, index: u64) -> Self {
        let mut r = rng_for(seed, index, Stream::Anatomy, &[]);
        let torso = sample_torso(&mut r);
        let heart = sample_heart(&mut r, &torso);
        let cycle = CycleParams {
            rr_ms: r.normal_clamped(950.0, 130.0, 650.0, 1300.0),
            es_fraction: r.uniform(0.33, 0.40),
        };
        let contrast = ContrastParams {
            myocardium: r.normal_clamped(0.32, 0.025, 0.26, 0.38),
            fat: r.normal_clamped(0.85, 0.08, 0.65, 1.0),
            liver: r.normal_clamped(0.32, 0.035, 0.25, 0.40),
            muscle: r.normal_clamped(0.26, 0.03, 0.2, 0.32),
            flow_modulation: r.uniform(0.3, 0.55),
            cnr_target: r.normal_clamped(19.0, 3.0, 13.0, 26.0),
            intensity_scale: r.uniform(350.0, 900.0),
            coil_width_mm: r.uniform(90.0, 140.0),
            coil_offset_x_mm: r.normal_clamped(20.0, 15.0, -20.0, 60.0),
            posterior_gain: r.uniform(0.5, 0.9),
        };
        Self {
            heart,
            torso,
            cycle,
            contrast,
        }
    }
}

fn sample_torso(r: &mut Sampler) -> TorsoParams {
    TorsoParams {
        body_semi_mm: [
            r.normal_clamped(172.0, 14.0, 140.0, 205.0),
            r.normal_clamped(116.0, 10.0, 96.0, 142.0),
        ],
        subcutaneous_fat_mm: r.uniform(6.0, 22.0),
        chest_wall_mm: r.uniform(9.0, 15.0),
        diaphragm_radius_mm: r.uniform(150.0, 230.0),
        right_dome_mm: r.uniform(5.0, 20.0),
        descending_aorta_radius_mm: r.normal_clamped(11.5, 1.2, 9.0, 14.0),
        descending_aorta_x_mm: r.normal_clamped(22.0, 4.0, 12.0, 32.0),
    }
}

fn sample_heart(r: &mut Sampler, torso: &TorsoParams) -> HeartParams {
    let inner_y = torso.body_semi_mm[1] - torso.subcutaneous_fat_mm - torso.chest_wall_mm;
    let lv_radius_mm = r.normal_clamped(26.0, 2.2, 21.0, 31.0);
    let lv_wall_mm = r.normal_clamped(8.5, 1.0, 6.5, 11.0);
    let fat = r.uniform(1.5, 4.5);
    HeartParams {
        axis_azimuth_deg: r.normal_clamped(45.0, 7.0, 28.0, 62.0),
        axis_elevation_deg: r.normal_clamped(30.0, 6.0, 16.0, 44.0),
        septal_angle_deg: r.normal_clamped(50.0, 8.0, 30.0, 70.0),
        lv_apex_mm: [
            r.normal_clamped(58.0, 8.0, 40.0, 76.0),
            // Apex (epicardium plus fat) a little behind the anterior inner chest wall.
            -inner_y + lv_wall_mm * 0.65 + fat + r.uniform(6.0, 18.0),
            0.0,
        ],
        lv_radius_mm,
        lv_ellipticity: r.uniform(0.9, 1.08),
        lv_length_mm: r.normal_clamped(88.0, 6.0, 76.0, 102.0),
        lv_base_fraction: r.uniform(0.2, 0.4),
        lv_wall_mm,
        lv_apex_wall_fraction: r.uniform(0.55, 0.75),
        lv_endo_shape: harmonics(r, [0.045, 0.03, 0.02]),
        lv_epi_shape: harmonics(r, [0.03, 0.02, 0.015]),
        lv_epi_offset_mm: [
            r.uniform(-0.1, 0.1) * lv_wall_mm,
            r.uniform(-0.1, 0.1) * lv_wall_mm,
        ],
        lv_ef: r.normal_clamped(0.60, 0.065, 0.40, 0.74),
        base_descent_mm: r.normal_clamped(11.0, 2.0, 6.0, 16.0),
        rv_scale: r.normal_clamped(1.0, 0.05, 0.9, 1.12),
        rv_contraction: r.normal_clamped(1.0, 0.15, 0.6, 1.3),
        la_semi_mm: [
            r.normal_clamped(22.0, 2.0, 17.0, 27.0),
            r.normal_clamped(25.0, 2.2, 19.0, 31.0),
            r.normal_clamped(23.0, 2.5, 18.0, 29.0),
        ],
        ra_semi_mm: [
            r.normal_clamped(23.0, 2.0, 18.0, 28.0),
            r.normal_clamped(24.0, 2.2, 19.0, 30.0),
            r.normal_clamped(22.0, 2.5, 17.0, 28.0),
        ],
        aortic_valve_angle_deg: r.normal_clamped(40.0, 8.0, 22.0, 58.0),
        aortic_radius_mm: r.normal_clamped(13.0, 1.2, 10.5, 16.0),
        pulmonary_radius_mm: r.normal_clamped(12.0, 1.2, 9.5, 15.0),
        epicardial_fat_mm: fat,
        papillary_radius_mm: r.uniform(3.5, 5.5),
        trabeculation: r.uniform(0.5, 1.0),
    }
}

/// Random circumferential harmonics (orders 2, 3, 4) with amplitudes up to `max`.
fn harmonics(r: &mut Sampler, max: [f64; 3]) -> [[f64; 2]; 3] {
    max.map(|m| [r.uniform(0.0, m), r.uniform(0.0, std::f64::consts::TAU)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_seeded_and_varied() {
        let a = SubjectParams::sample(11, 0);
        assert_eq!(a, SubjectParams::sample(11, 0));
        let b = SubjectParams::sample(11, 1);
        assert_ne!(a.heart.lv_radius_mm, b.heart.lv_radius_mm);
        let efs: Vec<f64> = (0..200)
            .map(|i| SubjectParams::sample(3, i).heart.lv_ef)
            .collect();
        let mean = efs.iter().sum::<f64>() / efs.len() as f64;
        assert!((mean - 0.60).abs() < 0.02, "{mean}");
        assert!(efs.iter().all(|e| (0.40..=0.74).contains(e)));
        let spread = efs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            - efs.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(spread > 0.2, "{spread}");
    }
}

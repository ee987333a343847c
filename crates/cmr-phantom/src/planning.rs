//! Scanner-like planning: the operator finds the LV long axis (with a small error), plans a
//! short-axis stack perpendicular to it from base to apex, and the 2-, 3- and 4-chamber views
//! through it; every series is then acquired in its own breath-hold.

use cmr_geometry::{ImagePlane, PixelSpacing, Vec3, View};
use serde::{Deserialize, Serialize};

use crate::config::PhantomConfig;
use crate::heart::Heart;
use crate::random::{rng_for, Sampler, Stream};
use crate::PhantomError;

/// The long-axis views the phantom acquires, in acquisition order.
pub const LONG_AXIS_VIEWS: [View; 3] = [View::TwoChamber, View::ThreeChamber, View::FourChamber];

/// One planned series: a single slice position imaged over the whole cine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSeries {
    /// The view.
    pub view: View,
    /// 0-based position in the short-axis stack, base first (`None` for long-axis views).
    pub slice_index: Option<usize>,
    /// SeriesDescription, UK Biobank style (`CINE_segmented_SAX_b1`, `CINE_segmented_LAX_4Ch`).
    pub description: String,
    /// SeriesNumber.
    pub series_number: u32,
    /// The image plane (exactly what the DICOM header says).
    pub plane: ImagePlane,
    /// ImagePositionPatient as written.
    pub image_position: [f64; 3],
    /// ImageOrientationPatient as written.
    pub image_orientation: [f64; 6],
    /// SliceThickness, mm.
    pub slice_thickness_mm: f64,
    /// Where the body sat during this series' breath-hold relative to the reference position
    /// (the anatomy is shifted by this vector), mm.
    pub breath_hold_shift_mm: [f64; 3],
}

/// The operator's estimate of the LV long axis and the errors it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanningRecord {
    /// Planned base centre, LPS mm.
    pub planned_base_mm: [f64; 3],
    /// Planned long-axis direction (base to apex).
    pub planned_axis: [f64; 3],
    /// Angle between planned and true long axes, degrees.
    pub axis_tilt_deg: f64,
    /// Offset of the planned base centre from the true one, perpendicular to the true axis,
    /// mm.
    pub base_offset_mm: f64,
    /// Rotation error of the 2Ch, 3Ch and 4Ch planes about the planned axis, degrees.
    pub view_rotation_deg: [f64; 3],
    /// Depth of the first short-axis slice centre below the planned base, mm.
    pub first_slice_depth_mm: f64,
}

/// All planned series of a subject.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) series: Vec<PlannedSeries>,
    pub(crate) record: PlanningRecord,
}

/// Rounds for DICOM decimal strings: positions to 1e-6 mm, direction cosines to 1e-10.
fn round_to(v: f64, step: f64) -> f64 {
    let r = (v / step).round() * step;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// An image plane centred on `centre`, exactly representable in a DICOM header.
fn centred_plane(
    centre: Vec3,
    row_dir: Vec3,
    col_dir: Vec3,
    spacing: f64,
    [rows, cols]: [usize; 2],
    what: &str,
) -> Result<(ImagePlane, [f64; 3], [f64; 6]), PhantomError> {
    let origin = centre
        - row_dir * ((cols as f64 - 1.0) / 2.0 * spacing)
        - col_dir * ((rows as f64 - 1.0) / 2.0 * spacing);
    let ipp = origin.to_array().map(|v| round_to(v, 1e-6));
    let iop = [
        row_dir.x, row_dir.y, row_dir.z, col_dir.x, col_dir.y, col_dir.z,
    ]
    .map(|v| round_to(v, 1e-10));
    let plane = ImagePlane::new(
        Vec3::from_array(ipp),
        Vec3::new(iop[0], iop[1], iop[2]),
        Vec3::new(iop[3], iop[4], iop[5]),
        PixelSpacing {
            between_rows: spacing,
            between_cols: spacing,
        },
        rows,
        cols,
    )
    .map_err(|source| PhantomError::Geometry {
        what: what.to_string(),
        source,
    })?;
    Ok((plane, ipp, iop))
}

/// Rotates `v` about the unit axis `k` by `angle` radians (Rodrigues).
pub(crate) fn rotate(v: Vec3, k: Vec3, angle: f64) -> Vec3 {
    let (s, c) = angle.sin_cos();
    v * c + k.cross(v) * s + k * (k.dot(v) * (1.0 - c))
}

/// Component of `v` perpendicular to the unit vector `n`, normalised.
fn perpendicular(v: Vec3, n: Vec3) -> Vec3 {
    (v - n * v.dot(n))
        .normalized()
        .expect("directions used in planning are never parallel to the axis")
}

fn breath_hold(r: &mut Sampler, config: &PhantomConfig) -> [f64; 3] {
    let b = &config.breath_hold;
    [0, 1, 2].map(|i| r.truncated(b.sd_mm[i], b.max_mm[i]))
}

/// Plans every series of a subject.
pub(crate) fn plan(
    heart: &Heart,
    config: &PhantomConfig,
    seed: u64,
    index: u64,
) -> Result<Plan, PhantomError> {
    let mut r = rng_for(seed, index, Stream::Planning, &[]);
    let pe = &config.planning;
    let f = heart.frame;
    // Planned long axis: the true one tilted about a random perpendicular direction.
    let tilt = r
        .truncated(pe.axis_tilt_sd_deg, pe.axis_tilt_max_deg)
        .to_radians();
    let tilt_about = rotate(f.s, f.u, r.uniform(0.0, std::f64::consts::TAU));
    let u = rotate(f.u, tilt_about, tilt);
    let offset = f.s * r.truncated(pe.offset_sd_mm, pe.offset_max_mm)
        + f.t * r.truncated(pe.offset_sd_mm, pe.offset_max_mm);
    let base = f.base + offset;
    let s = perpendicular(f.s, u);
    let t = perpendicular(f.t, u);
    let ps = config.pixel_spacing_mm;

    // Short-axis stack: base to apex, covering the epicardial apex.
    let first = r.uniform(0.0, 6.0);
    let spacing = config.sa_slice_spacing_mm;
    let reach = (heart.epicardial_apex() - f.base).dot(f.u) - first;
    let [lo, hi] = config.sa_slice_range;
    let n_slices = ((reach / spacing).ceil() as usize + 1).clamp(lo, hi);
    // Field of view: the LV a little off-centre, toward the RV.
    let fov_shift = s * r.uniform(4.0, 20.0) + t * r.uniform(-8.0, 8.0);
    let sa_row = -s;
    let sa_col = perpendicular(-t, u);
    let sa_col = perpendicular(sa_col, sa_row);
    let mut series = Vec::new();
    for k in 0..n_slices {
        let centre = base + u * (first + k as f64 * spacing) + fov_shift;
        let description = format!("CINE_segmented_SAX_b{}", k + 1);
        let (plane, ipp, iop) =
            centred_plane(centre, sa_row, sa_col, ps, config.sa_matrix, &description)?;
        series.push(PlannedSeries {
            view: View::ShortAxis,
            slice_index: Some(k),
            description,
            series_number: 20 + k as u32,
            plane,
            image_position: ipp,
            image_orientation: iop,
            slice_thickness_mm: config.sa_slice_thickness_mm,
            breath_hold_shift_mm: breath_hold(&mut r, config),
        });
    }

    // Long-axis views: planes containing the planned axis, rotated about it.
    let (sa_av, ca_av) = heart.aortic_valve_angle().sin_cos();
    let av_dir = perpendicular(f.s * ca_av + f.t * sa_av, u);
    let mut rotations = [0.0; 3];
    let la_centre = base + u * (0.45 * heart.lv_length());
    let nominal_rows = [t, -av_dir, -s];
    for (i, (view, nominal)) in LONG_AXIS_VIEWS.into_iter().zip(nominal_rows).enumerate() {
        let err = r
            .truncated(pe.view_rotation_sd_deg, pe.view_rotation_max_deg)
            .to_radians();
        rotations[i] = err.to_degrees();
        let row = rotate(nominal, u, err);
        let col = -u;
        let centre = la_centre + row * r.uniform(-10.0, 10.0);
        let description = format!("CINE_segmented_LAX_{view}");
        let (plane, ipp, iop) =
            centred_plane(centre, row, col, ps, config.la_matrix, &description)?;
        series.push(PlannedSeries {
            view,
            slice_index: None,
            description,
            series_number: 10 + i as u32,
            plane,
            image_position: ipp,
            image_orientation: iop,
            slice_thickness_mm: config.la_slice_thickness_mm,
            breath_hold_shift_mm: breath_hold(&mut r, config),
        });
    }
    // Acquisition order: long axis first, then the stack.
    series.sort_by_key(|s| s.series_number);
    let record = PlanningRecord {
        planned_base_mm: base.to_array(),
        planned_axis: u.to_array(),
        axis_tilt_deg: tilt.to_degrees().abs(),
        base_offset_mm: offset.norm(),
        view_rotation_deg: rotations,
        first_slice_depth_mm: first,
    };
    Ok(Plan { series, record })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::SubjectParams;

    #[test]
    fn rodrigues_rotation() {
        let x = Vec3::new(1.0, 0.0, 0.0);
        let z = Vec3::new(0.0, 0.0, 1.0);
        let r = rotate(x, z, std::f64::consts::FRAC_PI_2);
        assert!((r - Vec3::new(0.0, 1.0, 0.0)).norm() < 1e-12);
    }

    #[test]
    fn stack_is_perpendicular_to_the_planned_axis_and_steps_by_the_spacing() {
        let config = PhantomConfig::default();
        for seed in 0..10 {
            let params = SubjectParams::sample(seed, 0);
            let heart = Heart::new(&params, config.phases);
            let plan = plan(&heart, &config, seed, 0).unwrap();
            let axis = Vec3::from_array(plan.record.planned_axis);
            let sa: Vec<_> = plan
                .series
                .iter()
                .filter(|s| s.view == View::ShortAxis)
                .collect();
            assert!((8..=12).contains(&sa.len()));
            for (k, s) in sa.iter().enumerate() {
                assert_eq!(s.slice_index, Some(k));
                assert_eq!(s.description, format!("CINE_segmented_SAX_b{}", k + 1));
                assert!(s.plane.normal().cross(axis).norm() < 1e-8);
                if k > 0 {
                    let step = (s.plane.origin() - sa[k - 1].plane.origin()).dot(axis);
                    assert!((step - 10.0).abs() < 1e-5, "{step}");
                }
                for v in s.breath_hold_shift_mm.iter().zip(config.breath_hold.max_mm) {
                    assert!(v.0.abs() <= v.1);
                }
            }
            // The true axis tilt is within the bound.
            assert!(plan.record.axis_tilt_deg <= config.planning.axis_tilt_max_deg + 1e-9);
            assert!(axis.dot(heart.frame.u) > (4.0f64).to_radians().cos() - 1e-9);
            // Long-axis planes contain the planned axis.
            for s in plan.series.iter().filter(|s| s.view != View::ShortAxis) {
                assert!(s.plane.normal().dot(axis).abs() < 1e-8);
                let base = Vec3::from_array(plan.record.planned_base_mm);
                assert!(s.plane.signed_distance(base).abs() < 1e-5);
            }
        }
    }
}

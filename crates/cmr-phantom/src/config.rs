//! The acquisition protocol and the error model of the simulated scanner.

use serde::{Deserialize, Serialize};

use crate::PhantomError;

/// How far the simulated operator's planes miss the true anatomy. Every error is drawn from a
/// normal distribution truncated at its maximum, so the maxima are hard bounds that tests may
/// rely on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanningErrors {
    /// Standard deviation of the tilt of the planned long axis from the true one, degrees.
    pub axis_tilt_sd_deg: f64,
    /// Largest tilt of the planned long axis, degrees.
    pub axis_tilt_max_deg: f64,
    /// Standard deviation of the in-plane rotation of each long-axis view about the planned
    /// axis, degrees.
    pub view_rotation_sd_deg: f64,
    /// Largest in-plane rotation of a long-axis view, degrees.
    pub view_rotation_max_deg: f64,
    /// Standard deviation of each component of the offset of the planned base centre from the
    /// true one (perpendicular to the axis), mm.
    pub offset_sd_mm: f64,
    /// Largest offset component, mm.
    pub offset_max_mm: f64,
}

impl Default for PlanningErrors {
    fn default() -> Self {
        Self {
            axis_tilt_sd_deg: 2.0,
            axis_tilt_max_deg: 4.0,
            view_rotation_sd_deg: 3.0,
            view_rotation_max_deg: 6.0,
            offset_sd_mm: 1.5,
            offset_max_mm: 3.0,
        }
    }
}

/// Breath-hold misregistration: every series is acquired in its own breath-hold, so the whole
/// body sits at a slightly different place for each series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BreathHold {
    /// Standard deviation of the shift along x, y and z (LPS), mm; z (head-foot) dominates.
    pub sd_mm: [f64; 3],
    /// Largest shift along each axis, mm (hard bound).
    pub max_mm: [f64; 3],
}

impl Default for BreathHold {
    fn default() -> Self {
        Self {
            sd_mm: [0.8, 1.2, 2.0],
            max_mm: [2.0, 3.0, 4.0],
        }
    }
}

/// The acquisition protocol: matrices, resolution, slices, cine phases, and the simulated
/// scanner's imperfections. [`Default`] is close to the UK Biobank cine protocol (Petersen et
/// al., JCMR 2016: bSSFP, ~1.8 mm in-plane, 8 mm short-axis slices with 2 mm gaps), with
/// 25 rather than 50 phases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhantomConfig {
    /// Cine phases per cardiac cycle (phase 0 is end-diastole).
    pub phases: usize,
    /// Short-axis matrix `[rows, columns]`.
    pub sa_matrix: [usize; 2],
    /// Long-axis matrix `[rows, columns]`.
    pub la_matrix: [usize; 2],
    /// In-plane pixel spacing (square pixels), mm.
    pub pixel_spacing_mm: f64,
    /// Short-axis slice thickness, mm.
    pub sa_slice_thickness_mm: f64,
    /// Distance between short-axis slice centres, mm.
    pub sa_slice_spacing_mm: f64,
    /// Fewest and most short-axis slices; the stack covers base to apex within these bounds.
    pub sa_slice_range: [usize; 2],
    /// Long-axis slice thickness, mm.
    pub la_slice_thickness_mm: f64,
    /// Sub-voxel samples per pixel (partial volume in-plane and through the slice); >= 1.
    pub samples_per_pixel: usize,
    /// Width of the in-plane sampling footprint in pixels (1 = box filter of one pixel; a bit
    /// more blurs like a real point-spread function).
    pub footprint_px: f64,
    /// Add Rician noise (switch off only for tests of the noise-free signal).
    pub noise: bool,
    /// Planning errors of the simulated operator.
    pub planning: PlanningErrors,
    /// Breath-hold misregistration between series.
    pub breath_hold: BreathHold,
}

impl Default for PhantomConfig {
    fn default() -> Self {
        Self {
            phases: 25,
            sa_matrix: [192, 208],
            la_matrix: [208, 192],
            pixel_spacing_mm: 1.8,
            sa_slice_thickness_mm: 8.0,
            sa_slice_spacing_mm: 10.0,
            sa_slice_range: [8, 12],
            la_slice_thickness_mm: 6.0,
            samples_per_pixel: 8,
            footprint_px: 1.6,
            noise: true,
            planning: PlanningErrors::default(),
            breath_hold: BreathHold::default(),
        }
    }
}

impl PhantomConfig {
    /// A small, fast protocol for tests and quick looks: 112 x 112 pixels of 1.8 mm (the heart
    /// still fits), `phases` phases, otherwise the defaults.
    pub fn small(phases: usize) -> Self {
        Self {
            phases,
            sa_matrix: [112, 112],
            la_matrix: [112, 112],
            ..Self::default()
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`PhantomError::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<(), PhantomError> {
        let bad = |field: &'static str, value: String, reason: &'static str| {
            Err(PhantomError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let non_negative = |v: f64| v.is_finite() && v >= 0.0;
        if !(2..=500).contains(&self.phases) {
            return bad("phases", self.phases.to_string(), "must be 2..=500");
        }
        for (field, m) in [("sa_matrix", self.sa_matrix), ("la_matrix", self.la_matrix)] {
            if !(m[0] >= 16 && m[1] >= 16 && m[0] <= 1024 && m[1] <= 1024) {
                return bad(
                    field,
                    format!("{m:?}"),
                    "rows and columns must be 16..=1024",
                );
            }
        }
        if !(positive(self.pixel_spacing_mm) && self.pixel_spacing_mm <= 10.0) {
            return bad(
                "pixel_spacing_mm",
                self.pixel_spacing_mm.to_string(),
                "must be in (0, 10] mm",
            );
        }
        for (field, v) in [
            ("sa_slice_thickness_mm", self.sa_slice_thickness_mm),
            ("sa_slice_spacing_mm", self.sa_slice_spacing_mm),
            ("la_slice_thickness_mm", self.la_slice_thickness_mm),
        ] {
            if !(positive(v) && v <= 30.0) {
                return bad(field, v.to_string(), "must be in (0, 30] mm");
            }
        }
        let [lo, hi] = self.sa_slice_range;
        if !(1 <= lo && lo <= hi && hi <= 64) {
            return bad(
                "sa_slice_range",
                format!("{:?}", self.sa_slice_range),
                "must satisfy 1 <= min <= max <= 64",
            );
        }
        if !(1..=64).contains(&self.samples_per_pixel) {
            return bad(
                "samples_per_pixel",
                self.samples_per_pixel.to_string(),
                "must be 1..=64",
            );
        }
        if !(positive(self.footprint_px) && self.footprint_px <= 4.0) {
            return bad(
                "footprint_px",
                self.footprint_px.to_string(),
                "must be in (0, 4] pixels",
            );
        }
        let p = &self.planning;
        for (field, sd, max) in [
            (
                "planning.axis_tilt",
                p.axis_tilt_sd_deg,
                p.axis_tilt_max_deg,
            ),
            (
                "planning.view_rotation",
                p.view_rotation_sd_deg,
                p.view_rotation_max_deg,
            ),
            ("planning.offset", p.offset_sd_mm, p.offset_max_mm),
        ] {
            if !(non_negative(sd) && non_negative(max) && max <= 20.0) {
                return bad(
                    field,
                    format!("sd {sd}, max {max}"),
                    "sd and max must be finite, >= 0, max <= 20",
                );
            }
        }
        let b = &self.breath_hold;
        if !(b.sd_mm.iter().chain(&b.max_mm).all(|&v| non_negative(v))
            && b.max_mm.iter().all(|&v| v <= 20.0))
        {
            return bad(
                "breath_hold",
                format!("{b:?}"),
                "sd and max must be finite, >= 0, max <= 20 mm",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        PhantomConfig::default().validate().unwrap();
        PhantomConfig::small(3).validate().unwrap();
        let c = PhantomConfig {
            phases: 1,
            ..PhantomConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(PhantomError::InvalidConfig {
                field: "phases",
                ..
            })
        ));
        let c = PhantomConfig {
            pixel_spacing_mm: f64::NAN,
            ..PhantomConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(PhantomError::InvalidConfig {
                field: "pixel_spacing_mm",
                ..
            })
        ));
        let c = PhantomConfig {
            sa_slice_range: [9, 8],
            ..PhantomConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("sa_slice_range"), "{err}");
    }
}

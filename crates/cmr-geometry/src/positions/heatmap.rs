//! Line-heatmap targets: one Gaussian ridge per LA line (after Zhang et al., 2024, who regress
//! heatmaps of the view-plane intersection lines instead of classifying tiles).

use ndarray::{Array3, Axis};

use super::frame::underivable;
use super::ViewPlanes;
use crate::error::GeometryError;
use crate::{ImagePlane, PlaneIntersection, View};

/// The LA views whose lines become heatmap channels, in channel order.
pub const HEATMAP_VIEWS: [View; 3] = [View::TwoChamber, View::ThreeChamber, View::FourChamber];

/// One heatmap per LA view and which channels hold a line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineHeatmaps {
    /// `[3, rows, cols]`: `exp(-d^2 / (2 sigma^2))`, `d` the distance (mm) from the pixel
    /// centre to the line of [`HEATMAP_VIEWS`]`[k]`; all zeros where the line is absent.
    pub maps: Array3<f32>,
    /// Whether channel `k` holds a line (false for the target's own view, a missing view or a
    /// parallel plane); a regression loss should skip absent channels.
    pub present: [bool; 3],
}

/// Gaussian ridges of the 2Ch, 3Ch and 4Ch lines on `target` (an image of `view`).
///
/// ```
/// use cmr_geometry::positions::{demo_geometry, line_heatmaps, ViewPlanes};
/// use cmr_geometry::View;
/// let (sa, two_ch, four_ch) = demo_geometry();
/// let refs = ViewPlanes { two_chamber: Some(two_ch), four_chamber: Some(four_ch), ..Default::default() };
/// let h = line_heatmaps(&sa, View::ShortAxis, &refs, 5.0)?;
/// assert_eq!(h.present, [true, false, true]);
/// assert!(h.maps.iter().all(|v| (0.0..=1.0).contains(v)));
/// # Ok::<(), cmr_geometry::GeometryError>(())
/// ```
///
/// # Errors
/// [`GeometryError::PositionsUnderivable`] when `sigma_mm` is not positive or no channel holds
/// a line.
pub fn line_heatmaps(
    target: &ImagePlane,
    view: View,
    references: &ViewPlanes,
    sigma_mm: f64,
) -> Result<LineHeatmaps, GeometryError> {
    if !(sigma_mm.is_finite() && sigma_mm > 0.0) {
        return Err(underivable(
            view,
            format!("sigma must be positive, got {sigma_mm} mm"),
        ));
    }
    let mut maps = Array3::<f32>::zeros((3, target.rows(), target.cols()));
    let mut present = [false; 3];
    let scale = (-0.5 / (sigma_mm * sigma_mm)) as f32;
    for (k, (v, mut channel)) in HEATMAP_VIEWS
        .iter()
        .zip(maps.axis_iter_mut(Axis(0)))
        .enumerate()
    {
        if *v == view {
            continue;
        }
        let Some(plane) = references.long_axis(*v) else {
            continue;
        };
        let PlaneIntersection::Line(line) = target.intersect(plane) else {
            continue;
        };
        let Ok(pixel_line) = target.project_line(&line) else {
            continue;
        };
        let d = pixel_line.signed_distance_map(target);
        channel.zip_mut_with(&d, |out, &d| *out = (d * d * scale).exp());
        present[k] = true;
    }
    if present.iter().any(|&p| p) {
        Ok(LineHeatmaps { maps, present })
    } else {
        Err(underivable(view, "no LA plane crosses this image"))
    }
}

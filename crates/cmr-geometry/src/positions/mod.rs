//! Anatomical position labels: pretext targets derived from view geometry alone.
//!
//! Where a long-axis (LA) plane cuts a short-axis (SA) slice it leaves a line; the 2Ch and 4Ch
//! lines cross near the LV long axis (Bai et al., MICCAI 2019). A [`PositionLayout`] turns those
//! lines into a label map of anatomical positions (`0` background, `1..=9` positions) for any
//! SA or LA image, with no manual annotation.
//!
//! The paper does not publish its tile layout; [`CrossLayout`] is our documented default and
//! [`LatticeLayout`] an alternative behind the same trait. [`line_heatmaps`] gives the
//! line-heatmap targets of Zhang et al. (2024) for regression pretext tasks.
//!
//! # Anatomical signs
//! Plane intersection lines have no natural direction, and scanners may flip slice order or
//! direction cosines. Labels are made to mean the same anatomy in every subject by fixing each
//! direction against a patient-frame reference (LPS):
//!
//! * **apex direction** `a`: the LV long axis oriented so that `a · (1, -1, -1) > 0` (the apex
//!   points to the patient's left, anterior and inferior);
//! * **toward the RV** `r`: oriented so that `r · (-1, -1, 0) > 0` (the RV lies to the right of
//!   and anterior to the LV), used for the 4Ch line, and on LA images for the in-plane sides;
//! * **toward the inferior wall** `i`: oriented along `a × (-1, -1, 0)`, used for the 2Ch line.
//!
//! These hold for normal cardiac position (levocardia); situs anomalies would need their own
//! references, which [`AnatomicalReferences`] allows.
//!
//! ```
//! use cmr_geometry::positions::{CrossLayout, PositionLayout, ViewPlanes};
//! use cmr_geometry::{ImagePlane, View};
//! use cmr_geometry::positions::demo_geometry;
//! // An SA slice and the 2Ch/4Ch planes through the LV long axis (a synthetic heart).
//! let (sa, two_ch, four_ch) = demo_geometry();
//! let refs = ViewPlanes {
//!     short_axis: vec![sa],
//!     two_chamber: Some(two_ch),
//!     four_chamber: Some(four_ch),
//!     ..ViewPlanes::default()
//! };
//! let map = CrossLayout::default().label(&sa, View::ShortAxis, &refs)?;
//! assert!(map.derivation.is_complete());
//! // All nine positions are on the image, and the centre tile sits on the LV centre.
//! let counts = map.counts();
//! assert!(counts[1..=9].iter().all(|&n| n > 0));
//! let c = map.centre.expect("centre derived");
//! assert_eq!(map.labels[[c.row.round() as usize, c.col.round() as usize]], 1);
//! # Ok::<(), cmr_geometry::GeometryError>(())
//! ```

mod cross;
mod derive;
mod frame;
mod heatmap;
mod lattice;
pub mod overlay;
mod study;
mod tiles;

#[cfg(test)]
mod tests;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::GeometryError;
use crate::{ImagePlane, PixelPoint, Vec3, View};

pub use cross::CrossLayout;
pub use heatmap::{line_heatmaps, LineHeatmaps, HEATMAP_VIEWS};
pub use lattice::LatticeLayout;
pub use study::{label_study, write_study_positions, SlicePositions, WrittenPositions};
pub use tiles::Tile;

/// The planes of one study that position labels are derived from: the SA stack (any order) and
/// one plane per long-axis view (the middle slice when an LA view is itself a stack).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewPlanes {
    /// Every SA slice plane.
    pub short_axis: Vec<ImagePlane>,
    /// The 2-chamber plane.
    pub two_chamber: Option<ImagePlane>,
    /// The 3-chamber plane.
    pub three_chamber: Option<ImagePlane>,
    /// The 4-chamber plane.
    pub four_chamber: Option<ImagePlane>,
}

impl ViewPlanes {
    /// The planes of a study: every SA slice, and for each LA view its middle slice (LA series
    /// may themselves be stacks of parallel slices).
    ///
    /// ```
    /// use cmr_geometry::positions::{demo_geometry, ViewPlanes};
    /// use cmr_geometry::{Frame, PixelRef, Series, Slice, Study, View};
    /// let (sa, two_ch, _) = demo_geometry();
    /// let slice = |plane| Slice { plane, frames: vec![Frame::new(PixelRef::Memory { index: 0 })] };
    /// let study = Study {
    ///     uid: "1.2.3".into(),
    ///     patient_id: None,
    ///     series: vec![
    ///         Series::new(View::ShortAxis, "sa", "sax", vec![slice(sa)]),
    ///         Series::new(View::TwoChamber, "2ch", "2ch", vec![slice(two_ch)]),
    ///     ],
    ///     dropped: vec![],
    /// };
    /// let planes = ViewPlanes::from_study(&study);
    /// assert_eq!(planes.short_axis, vec![sa]);
    /// assert_eq!(planes.two_chamber, Some(two_ch));
    /// assert!(planes.four_chamber.is_none());
    /// ```
    pub fn from_study(study: &crate::Study) -> Self {
        let middle = |view| {
            study
                .view(view)
                .and_then(|s| s.slices.get(s.slices.len() / 2))
                .map(|s| s.plane)
        };
        Self {
            short_axis: study
                .view(View::ShortAxis)
                .map(|s| s.slices.iter().map(|sl| sl.plane).collect())
                .unwrap_or_default(),
            two_chamber: middle(View::TwoChamber),
            three_chamber: middle(View::ThreeChamber),
            four_chamber: middle(View::FourChamber),
        }
    }

    /// The plane of an LA view, if present.
    pub fn long_axis(&self, view: View) -> Option<&ImagePlane> {
        match view {
            View::TwoChamber => self.two_chamber.as_ref(),
            View::ThreeChamber => self.three_chamber.as_ref(),
            View::FourChamber => self.four_chamber.as_ref(),
            View::ShortAxis | View::Other => None,
        }
    }
}

/// Patient-frame reference directions that fix the anatomical sign of every line (see the
/// module documentation). The defaults describe a normally positioned heart in LPS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnatomicalReferences {
    /// Roughly where the LV apex points from the base.
    pub apex: Vec3,
    /// Roughly where the RV lies from the LV.
    pub right_ventricle: Vec3,
}

impl Default for AnatomicalReferences {
    fn default() -> Self {
        Self {
            apex: Vec3::new(1.0, -1.0, -1.0),
            right_ventricle: Vec3::new(-1.0, -1.0, 0.0),
        }
    }
}

impl AnatomicalReferences {
    /// `v` or `-v`, whichever points along `reference`.
    pub(crate) fn orient(v: Vec3, reference: Vec3) -> Vec3 {
        if v.dot(reference) < 0.0 {
            -v
        } else {
            v
        }
    }

    /// The LV long-axis direction with its sign fixed toward the apex.
    pub fn apex_direction(&self, axis: Vec3) -> Vec3 {
        Self::orient(axis, self.apex)
    }

    /// Reference for "toward the inferior wall" given the apex direction: `a x rv`.
    pub fn inferior_reference(&self, apex_direction: Vec3) -> Vec3 {
        apex_direction.cross(self.right_ventricle)
    }
}

/// Why a reference that a layout would use contributed nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MissingReason {
    /// The study has no such view.
    Absent,
    /// The plane is parallel to the target image, so they share no line.
    ParallelToTarget,
    /// The geometry is degenerate for this use (e.g. two lines nearly parallel).
    Degenerate(String),
}

/// A reference that was missing or unusable, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingReference {
    /// Which view.
    pub view: View,
    /// Why it contributed nothing.
    pub reason: MissingReason,
}

/// An explicit record of how a position map was derived.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Derivation {
    /// Views whose planes contributed lines.
    pub used: Vec<View>,
    /// Views that a complete derivation needs but that contributed nothing.
    pub missing: Vec<MissingReference>,
    /// Positions (1-based labels) that could not be placed.
    pub unplaced: Vec<u8>,
    /// Placed positions whose tile lies entirely outside the image.
    pub outside_image: Vec<u8>,
}

impl Derivation {
    /// True when every position was placed (possibly outside the image).
    pub fn is_complete(&self) -> bool {
        self.unplaced.is_empty()
    }
}

/// A line drawn on the target image, kept for overlays and checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReferenceLine {
    /// The view whose plane produced it (for SA level lines on LA images: `ShortAxis`).
    pub view: View,
    /// Its visible segment in pixel coordinates, if it crosses the image.
    pub segment: Option<(PixelPoint, PixelPoint)>,
}

/// The output of a [`PositionLayout`]: labels, the pixels to ignore in a loss, and how they were
/// derived.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionMap {
    /// `[rows, cols]`: 0 background, `1..=n` positions.
    pub labels: Array2<u8>,
    /// `[rows, cols]`: true where the target is unknown and must not contribute to a loss.
    /// All false for a complete derivation; for a partial one, every pixel outside the placed
    /// tiles (background is only asserted when the layout is complete).
    pub ignore: Array2<bool>,
    /// The LV centre in pixels (SA: where the lines cross; LA: the mid level's centre), if
    /// derived.
    pub centre: Option<PixelPoint>,
    /// The tiles placed, label order.
    pub tiles: Vec<Tile>,
    /// The lines used, for overlays.
    pub lines: Vec<ReferenceLine>,
    /// What was used and what was missing.
    pub derivation: Derivation,
}

impl PositionMap {
    /// Number of pixels with each label value `0..=9` (index = label).
    pub fn counts(&self) -> [usize; 10] {
        let mut counts = [0usize; 10];
        for &v in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(v)) {
                *c += 1;
            }
        }
        counts
    }
}

/// A rule that labels anatomical positions on one image from the planes of the other views.
pub trait PositionLayout {
    /// Number of positions (labels `1..=n`; 0 is background).
    fn num_positions(&self) -> u8;

    /// The position map of `target` (an image of `view`) given the study's planes.
    ///
    /// # Errors
    /// [`GeometryError::PositionsUnderivable`] when not even a partial map can be derived (for
    /// example an SA slice with a single LA line, so no LV centre). Partial derivations are
    /// not errors: see [`PositionMap::derivation`] and [`PositionMap::ignore`].
    fn label(
        &self,
        target: &ImagePlane,
        view: View,
        references: &ViewPlanes,
    ) -> Result<PositionMap, GeometryError>;
}

/// View planes of an analytic heart, for examples, benchmarks and doc tests: an SA stack of 9
/// slices 10 mm apart (`size x size` pixels of `spacing_mm`) centred on an LV long axis through
/// `(10, -5, 0)` mm that points along the default apex reference, and 2Ch, 3Ch and 4Ch planes
/// through that axis (3Ch turned 50 degrees from 4Ch toward the inferior wall).
///
/// ```
/// use cmr_geometry::positions::example_heart;
/// let planes = example_heart(192, 1.8);
/// assert_eq!(planes.short_axis.len(), 9);
/// assert!(planes.two_chamber.is_some() && planes.three_chamber.is_some());
/// ```
pub fn example_heart(size: usize, spacing_mm: f64) -> ViewPlanes {
    frame::example_heart(size, spacing_mm)
}

/// The middle SA slice, 2Ch and 4Ch planes of [`example_heart`] at 160 px of 1.8 mm.
pub fn demo_geometry() -> (ImagePlane, ImagePlane, ImagePlane) {
    let h = example_heart(160, 1.8);
    let sa = h.short_axis[h.short_axis.len() / 2];
    (
        sa,
        h.two_chamber.expect("example heart has 2Ch"),
        h.four_chamber.expect("example heart has 4Ch"),
    )
}

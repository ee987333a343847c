//! What the other views' planes give on one target image: the lines, the LV centre, the long
//! axis and the SA levels. Layouts only decide where tiles go from these.

use super::frame::{
    crossing, long_axis, parallel_plane_at, sa_levels, underivable, view_line, Line2, P2,
};
use super::{
    AnatomicalReferences, Derivation, MissingReason, MissingReference, ReferenceLine, ViewPlanes,
};
use crate::error::GeometryError;
use crate::{ImagePlane, Line3, PlaneIntersection, View};

/// Lines of the LA views on an SA slice, oriented anatomically, and where they cross.
pub(crate) struct ShortAxisLines {
    /// Usable lines: 4Ch toward the RV, 2Ch toward the inferior wall, 3Ch toward the RV side.
    pub found: Vec<(View, Line2, Line3)>,
    /// The LV centre (in-plane mm).
    pub centre: P2,
    /// Used views and missing references (no tiles recorded yet).
    pub derivation: Derivation,
}

impl ShortAxisLines {
    /// The in-plane line of one view, if usable.
    pub fn line(&self, view: View) -> Option<Line2> {
        self.found.iter().find(|f| f.0 == view).map(|f| f.1)
    }

    /// The lines clipped to the image, for overlays.
    pub fn reference_lines(&self, target: &ImagePlane) -> Vec<ReferenceLine> {
        self.found
            .iter()
            .map(|(view, _, l3)| reference_line(target, *view, l3))
            .collect()
    }
}

/// A 3-D line drawn on the target.
pub(crate) fn reference_line(target: &ImagePlane, view: View, l3: &Line3) -> ReferenceLine {
    ReferenceLine {
        view,
        segment: target
            .project_line(l3)
            .ok()
            .and_then(|pl| pl.clipped_segment(target)),
    }
}

/// Intersects an SA slice with the LA planes and locates the LV centre.
///
/// # Errors
/// [`GeometryError::PositionsUnderivable`] when fewer than two usable, crossing lines remain.
pub(crate) fn short_axis_lines(
    target: &ImagePlane,
    refs: &ViewPlanes,
    anat: &AnatomicalReferences,
) -> Result<ShortAxisLines, GeometryError> {
    let apex = anat.apex_direction(target.normal());
    let mut derivation = Derivation::default();
    let mut found = Vec::new();
    for (view, reference) in [
        (View::FourChamber, anat.right_ventricle),
        (View::TwoChamber, anat.inferior_reference(apex)),
        (View::ThreeChamber, anat.right_ventricle),
    ] {
        match view_line(target, view, refs, reference) {
            Ok((l2, l3)) => found.push((view, l2, l3)),
            Err(m) => derivation.missing.push(m),
        }
    }
    let lines: Vec<Line2> = found.iter().map(|f| f.1).collect();
    let centre = crossing(&lines).ok_or_else(|| {
        underivable(
            View::ShortAxis,
            format!(
                "the LV centre needs two crossing LA lines; usable: {:?}; missing: {:?}",
                found.iter().map(|f| f.0).collect::<Vec<_>>(),
                derivation.missing
            ),
        )
    })?;
    derivation.used = found.iter().map(|f| f.0).collect();
    Ok(ShortAxisLines {
        found,
        centre,
        derivation,
    })
}

/// One SA level on an LA image: where an SA-parallel plane crosses the long axis.
pub(crate) struct Level {
    /// Where the level line meets the long axis (in-plane mm).
    pub centre: P2,
    /// The level line, oriented toward the RV (4Ch, 3Ch) or the inferior wall (2Ch).
    pub line: Line2,
    /// The level line in 3-D.
    pub line3: Line3,
}

/// The long axis and the SA levels on an LA image.
pub(crate) struct LongAxisLevels {
    /// The LV long axis, oriented toward the apex.
    pub axis: Line3,
    /// The long axis in the target's in-plane frame.
    pub axis_in_plane: Line2,
    /// Levels at the requested fractions of the base-to-apex extent; `None` where a level
    /// could not be placed (a single-slice stack gives only fraction 0.5).
    pub levels: Vec<Option<Level>>,
    /// Used views and missing references.
    pub derivation: Derivation,
}

/// Locates the long axis on an LA image and the SA levels at `fractions` (0 = most basal SA
/// slice, 1 = most apical).
///
/// # Errors
/// [`GeometryError::PositionsUnderivable`] without two non-parallel LA planes, when the axis is
/// perpendicular to the image, or with an empty SA stack.
pub(crate) fn long_axis_levels(
    target: &ImagePlane,
    view: View,
    refs: &ViewPlanes,
    anat: &AnatomicalReferences,
    fractions: &[f64],
) -> Result<LongAxisLevels, GeometryError> {
    let mut derivation = Derivation::default();
    let axis = long_axis(refs, anat).ok_or_else(|| {
        underivable(
            view,
            "the LV long axis needs two non-parallel LA planes (2Ch, 3Ch, 4Ch)",
        )
    })?;
    for v in [View::TwoChamber, View::ThreeChamber, View::FourChamber] {
        if refs.long_axis(v).is_some() {
            derivation.used.push(v);
        } else {
            derivation.missing.push(MissingReference {
                view: v,
                reason: MissingReason::Absent,
            });
        }
    }
    let axis_in_plane = Line2::from_line3(target, &axis, axis.direction)
        .ok_or_else(|| underivable(view, "the LV long axis is perpendicular to this image"))?;
    let (template, sa_normal, t) = sa_levels(refs, anat)
        .ok_or_else(|| underivable(view, "the SA stack is needed for the levels and is empty"))?;
    derivation.used.push(View::ShortAxis);
    let side_reference = match view {
        View::TwoChamber => anat.inferior_reference(axis.direction),
        _ => anat.right_ventricle,
    };
    let (t_base, t_apex) = (t[0], t[t.len() - 1]);
    let single_slice = (t_apex - t_base).abs() < 1e-6;
    if single_slice {
        derivation.missing.push(MissingReference {
            view: View::ShortAxis,
            reason: MissingReason::Degenerate("a single SA slice gives only the mid level".into()),
        });
    }
    let levels = fractions
        .iter()
        .map(|&f| {
            if single_slice && (f - 0.5).abs() > 1e-9 {
                return None;
            }
            let plane = parallel_plane_at(&template, sa_normal, t_base + f * (t_apex - t_base))?;
            let PlaneIntersection::Line(line3) = target.intersect(&plane) else {
                return None;
            };
            let line = Line2::from_line3(target, &line3, side_reference)?;
            let centre = crossing(&[axis_in_plane, line])?;
            Some(Level {
                centre,
                line,
                line3,
            })
        })
        .collect();
    Ok(LongAxisLevels {
        axis,
        axis_in_plane,
        levels,
        derivation,
    })
}

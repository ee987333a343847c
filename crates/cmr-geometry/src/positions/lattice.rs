//! An alternative layout: a 3x3 lattice of square cells centred on the LV.

use serde::{Deserialize, Serialize};

use super::cross::{check_sizes, finish, LA_LEVELS};
use super::derive::{long_axis_levels, reference_line, short_axis_lines};
use super::frame::{underivable, P2};
use super::tiles::Tile;
use super::{AnatomicalReferences, PositionLayout, PositionMap, ViewPlanes};
use crate::error::GeometryError;
use crate::{ImagePlane, View};

/// A 3x3 lattice of adjoining square cells of side [`cell_mm`](Self::cell_mm), centred on the LV
/// centre (SA) or on the mid-level point of the long axis (LA).
///
/// The lattice axes are `u` and `v`: on SA slices `u` runs along the 4Ch line toward the RV and
/// `v` perpendicular to it toward the inferior wall; on LA images `u` runs along the mid SA level
/// toward the RV (4Ch, 3Ch) or the inferior wall (2Ch) and `v` along the long axis toward the
/// apex. The cell one step along `i` in `u` and `j` in `v` (`i, j` in `-1..=1`) has label
/// `5 + i + 3 j`, so 5 is the centre.
///
/// Compared with [`super::CrossLayout`] it needs fewer references (one LA line and the crossing
/// point on SA) and covers a solid square, so the network learns a coarse coordinate system
/// rather than the view lines themselves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatticeLayout {
    /// Cell side, mm.
    pub cell_mm: f64,
    /// Patient-frame references fixing the anatomical signs.
    pub references: AnatomicalReferences,
}

impl Default for LatticeLayout {
    fn default() -> Self {
        Self {
            cell_mm: 25.0,
            references: AnatomicalReferences::default(),
        }
    }
}

impl LatticeLayout {
    fn cells(&self, target: &ImagePlane, centre: P2, u: P2, v: P2) -> Vec<Tile> {
        let mut tiles = Vec::with_capacity(9);
        for j in -1i32..=1 {
            for i in -1i32..=1 {
                let c =
                    centre + u * (f64::from(i) * self.cell_mm) + v * (f64::from(j) * self.cell_mm);
                let label = (5 + i + 3 * j) as u8;
                tiles.push(Tile::new(target, label, c, u, self.cell_mm));
            }
        }
        tiles
    }
}

/// The unit vector perpendicular to `u`, on the side of `hint`.
fn perpendicular_toward(u: P2, hint: P2) -> P2 {
    let v = P2 { y: -u.x, x: u.y };
    if v.dot(hint) < 0.0 {
        -v
    } else {
        v
    }
}

impl PositionLayout for LatticeLayout {
    fn num_positions(&self) -> u8 {
        9
    }

    fn label(
        &self,
        target: &ImagePlane,
        view: View,
        references: &ViewPlanes,
    ) -> Result<PositionMap, GeometryError> {
        check_sizes(view, &[("cell side", self.cell_mm)])?;
        match view {
            View::ShortAxis => {
                let sa = short_axis_lines(target, references, &self.references)?;
                let apex = self.references.apex_direction(target.normal());
                let inferior =
                    super::frame::direction_in(target, self.references.inferior_reference(apex));
                let u = match (sa.line(View::FourChamber), sa.line(View::TwoChamber)) {
                    (Some(l4), _) => l4.dir,
                    // Without 4Ch, u is perpendicular to the 2Ch line, on the RV side.
                    (None, Some(l2)) => perpendicular_toward(
                        l2.dir,
                        super::frame::direction_in(target, self.references.right_ventricle),
                    ),
                    (None, None) => sa.found[0].1.dir,
                };
                let v = perpendicular_toward(u, inferior);
                let tiles = self.cells(target, sa.centre, u, v);
                Ok(finish(
                    target,
                    tiles,
                    sa.centre,
                    sa.reference_lines(target),
                    sa.derivation,
                ))
            }
            View::TwoChamber | View::ThreeChamber | View::FourChamber => {
                let la = long_axis_levels(target, view, references, &self.references, &LA_LEVELS)?;
                let mid = la.levels[1].as_ref().ok_or_else(|| {
                    underivable(view, "the mid SA level does not cross the long axis")
                })?;
                let v = perpendicular_toward(mid.line.dir, la.axis_in_plane.dir);
                let tiles = self.cells(target, mid.centre, mid.line.dir, v);
                let lines = vec![
                    reference_line(target, view, &la.axis),
                    reference_line(target, View::ShortAxis, &mid.line3),
                ];
                Ok(finish(target, tiles, mid.centre, lines, la.derivation))
            }
            View::Other => Err(underivable(
                view,
                "positions are defined for SA and LA views",
            )),
        }
    }
}

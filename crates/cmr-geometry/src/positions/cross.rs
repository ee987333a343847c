//! The default layout: a cross of 9 tiles on SA slices, three levels of 3 tiles on LA images.

use serde::{Deserialize, Serialize};

use super::derive::{long_axis_levels, reference_line, short_axis_lines};
use super::frame::{to_pixel, underivable, P2};
use super::tiles::{rasterise, Tile};
use super::{
    AnatomicalReferences, Derivation, PositionLayout, PositionMap, ReferenceLine, ViewPlanes,
};
use crate::error::GeometryError;
use crate::{ImagePlane, View};

/// The default anatomical position layout.
///
/// **Short-axis slices.** The 2Ch and 4Ch planes (and the 3Ch plane, when present) cut the
/// slice in lines; the LV centre is where they cross (the least-squares point for three).
/// Tiles are squares of [`tile_side_mm`](Self::tile_side_mm), oriented along their line:
///
/// | label | where |
/// |---|---|
/// | 1 | centre (on the LV centre, oriented along the 4Ch line) |
/// | 2, 3 | 4Ch line toward the RV, 1 and 2 steps from the centre |
/// | 4, 5 | 4Ch line toward the lateral wall, 1 and 2 steps |
/// | 6, 7 | 2Ch line toward the inferior wall, 1 and 2 steps |
/// | 8, 9 | 2Ch line toward the anterior wall, 1 and 2 steps |
///
/// A step is [`tile_step_mm`](Self::tile_step_mm). The defaults (20 mm tiles, 25 mm steps) are
/// sized to an adult heart: an LV of ~50 mm cavity and ~10 mm wall puts the centre tile in the
/// blood pool, the first ring on the myocardium and the second ring beyond it (the RV on the
/// septal side). The 3Ch line only helps to locate the centre.
///
/// **Long-axis images.** The LV long axis is where two LA planes meet (2Ch x 4Ch preferred); the
/// SA stack planes cut the image in lines across it. Three levels are placed at 1/6, 1/2 and
/// 5/6 of the way from the most basal to the most apical SA slice; at each level a tile sits on
/// the long axis with one tile a step to either side along the level line:
///
/// | label | level | where |
/// |---|---|---|
/// | 1, 2, 3 | basal | on the axis; toward the RV (4Ch, 3Ch) or inferior wall (2Ch); opposite |
/// | 4, 5, 6 | mid | same order |
/// | 7, 8, 9 | apical | same order |
///
/// Anatomical sides come from [`AnatomicalReferences`], so flipping slice order or a direction
/// cosine never changes which anatomy gets which label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CrossLayout {
    /// Tile side, mm.
    pub tile_side_mm: f64,
    /// Distance between neighbouring tile centres along a line, mm.
    pub tile_step_mm: f64,
    /// Patient-frame references fixing the anatomical signs.
    pub references: AnatomicalReferences,
}

impl Default for CrossLayout {
    fn default() -> Self {
        Self {
            tile_side_mm: 20.0,
            tile_step_mm: 25.0,
            references: AnatomicalReferences::default(),
        }
    }
}

/// Labels on each SA half-line, in the order of the table above.
const SA_ARMS: [(View, f64, [u8; 2]); 4] = [
    (View::FourChamber, 1.0, [2, 3]),
    (View::FourChamber, -1.0, [4, 5]),
    (View::TwoChamber, 1.0, [6, 7]),
    (View::TwoChamber, -1.0, [8, 9]),
];

/// Fractions of the base-to-apex extent of the SA stack at which LA levels sit.
pub(crate) const LA_LEVELS: [f64; 3] = [1.0 / 6.0, 0.5, 5.0 / 6.0];

/// Checks that tile sizes are positive and finite.
pub(crate) fn check_sizes(view: View, sizes: &[(&str, f64)]) -> Result<(), GeometryError> {
    match sizes.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
        None => Ok(()),
        Some((name, v)) => Err(underivable(
            view,
            format!("{name} must be a positive number of mm, got {v}"),
        )),
    }
}

impl CrossLayout {
    fn label_short_axis(
        &self,
        target: &ImagePlane,
        refs: &ViewPlanes,
    ) -> Result<PositionMap, GeometryError> {
        let sa = short_axis_lines(target, refs, &self.references)?;
        let centre_axis = sa
            .line(View::FourChamber)
            .or_else(|| sa.line(View::TwoChamber))
            .map_or(P2 { y: 0.0, x: 1.0 }, |l| l.dir);
        let mut derivation = sa.derivation.clone();
        let mut tiles = vec![Tile::new(
            target,
            1,
            sa.centre,
            centre_axis,
            self.tile_side_mm,
        )];
        for (view, sign, labels) in SA_ARMS {
            let Some(l) = sa.line(view) else {
                derivation.unplaced.extend(labels);
                continue;
            };
            for (k, label) in labels.into_iter().enumerate() {
                let at = sa.centre + l.dir * (sign * self.tile_step_mm * (k + 1) as f64);
                tiles.push(Tile::new(target, label, at, l.dir, self.tile_side_mm));
            }
        }
        Ok(finish(
            target,
            tiles,
            sa.centre,
            sa.reference_lines(target),
            derivation,
        ))
    }

    fn label_long_axis(
        &self,
        target: &ImagePlane,
        view: View,
        refs: &ViewPlanes,
    ) -> Result<PositionMap, GeometryError> {
        let la = long_axis_levels(target, view, refs, &self.references, &LA_LEVELS)?;
        let mut derivation = la.derivation;
        let mut tiles = Vec::new();
        let mut lines = vec![reference_line(target, view, &la.axis)];
        for (index, level) in la.levels.iter().enumerate() {
            let labels = [1u8, 2, 3].map(|k| 3 * index as u8 + k);
            let Some(level) = level else {
                derivation.unplaced.extend(labels);
                continue;
            };
            lines.push(reference_line(target, View::ShortAxis, &level.line3));
            for (label, offset) in labels.into_iter().zip([0.0, 1.0, -1.0]) {
                let c = level.centre + level.line.dir * (offset * self.tile_step_mm);
                tiles.push(Tile::new(
                    target,
                    label,
                    c,
                    level.line.dir,
                    self.tile_side_mm,
                ));
            }
        }
        let centre = la.levels[1]
            .as_ref()
            .map(|l| l.centre)
            .ok_or_else(|| underivable(view, "the mid SA level does not cross the long axis"))?;
        Ok(finish(target, tiles, centre, lines, derivation))
    }
}

/// Rasterises the tiles and builds the map, ignore mask and record.
pub(crate) fn finish(
    target: &ImagePlane,
    tiles: Vec<Tile>,
    centre: P2,
    lines: Vec<ReferenceLine>,
    mut derivation: Derivation,
) -> PositionMap {
    let (labels, counts) = rasterise(target, &tiles);
    derivation.unplaced.sort_unstable();
    derivation.outside_image = tiles
        .iter()
        .zip(&counts)
        .filter(|(_, &n)| n == 0)
        .map(|(t, _)| t.label)
        .collect();
    let ignore = if derivation.is_complete() {
        ndarray::Array2::from_elem(labels.dim(), false)
    } else {
        labels.mapv(|v| v == 0)
    };
    PositionMap {
        labels,
        ignore,
        centre: Some(to_pixel(target, centre)),
        tiles,
        lines,
        derivation,
    }
}

impl PositionLayout for CrossLayout {
    fn num_positions(&self) -> u8 {
        9
    }

    fn label(
        &self,
        target: &ImagePlane,
        view: View,
        references: &ViewPlanes,
    ) -> Result<PositionMap, GeometryError> {
        check_sizes(
            view,
            &[
                ("tile side", self.tile_side_mm),
                ("tile step", self.tile_step_mm),
            ],
        )?;
        match view {
            View::ShortAxis => self.label_short_axis(target, references),
            View::TwoChamber | View::ThreeChamber | View::FourChamber => {
                self.label_long_axis(target, view, references)
            }
            View::Other => Err(underivable(
                view,
                "positions are defined for SA and LA views",
            )),
        }
    }
}

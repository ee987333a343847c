//! Property tests of the layouts on analytic heart geometry.

use super::frame::plane_centred_at;
use super::*;
use crate::{GeometryError, ImagePlane, PixelPoint, PixelSpacing, Vec3, View};

/// A heart whose LV long axis passes through `axis_point` along the apex direction `a`; the
/// 4Ch plane holds the axis and the RV direction, the 2Ch plane is perpendicular to it and the
/// 3Ch plane is the 4Ch plane turned 50 degrees about the axis.
struct Heart {
    axis_point: Vec3,
    apex: Vec3,
    rv: Vec3,
    inferior: Vec3,
    planes: ViewPlanes,
}

fn unit(v: Vec3) -> Vec3 {
    v.normalized().unwrap()
}

/// Builds a heart from an apex direction near the default reference, tilted by `(tx, ty)`
/// radians, with an SA stack of `slices` at 10 mm steps and the given pixel spacing.
fn heart(tx: f64, ty: f64, slices: usize, spacing: f64, size: usize) -> Heart {
    let anat = AnatomicalReferences::default();
    let base_a = unit(anat.apex);
    let base_r = unit(anat.right_ventricle);
    let base_i = base_a.cross(base_r);
    let apex = unit(base_a + base_r * tx + base_i * ty);
    // RV direction: the reference made perpendicular to the axis.
    let rv = unit(base_r - apex * base_r.dot(apex));
    let inferior = apex.cross(rv);
    let axis_point = Vec3::new(12.0, -20.0, 35.0);
    let short_axis = (0..slices)
        .map(|k| {
            let t = (k as f64 - (slices as f64 - 1.0) / 2.0) * 10.0;
            plane_centred_at(axis_point + apex * t, rv, inferior, spacing, size, size)
        })
        .collect();
    let (s, c) = 50f64.to_radians().sin_cos();
    let three = unit(rv * c + inferior * s);
    let planes = ViewPlanes {
        short_axis,
        four_chamber: Some(plane_centred_at(axis_point, rv, apex, spacing, size, size)),
        two_chamber: Some(plane_centred_at(
            axis_point, inferior, -apex, spacing, size, size,
        )),
        three_chamber: Some(plane_centred_at(
            axis_point, apex, three, spacing, size, size,
        )),
    };
    Heart {
        axis_point,
        apex,
        rv,
        inferior,
        planes,
    }
}

fn world(plane: &ImagePlane, p: PixelPoint) -> Vec3 {
    plane.pixel_to_world(p.row, p.col)
}

fn tile(map: &PositionMap, label: u8) -> &Tile {
    map.tiles.iter().find(|t| t.label == label).unwrap()
}

/// A copy of `p` with the row direction reversed (the image mirrored left-right), keeping every
/// pixel's world position set the same.
fn mirrored(p: &ImagePlane) -> ImagePlane {
    let last = p.pixel_to_world(0.0, p.cols() as f64 - 1.0);
    ImagePlane::new(
        last,
        -p.row_dir(),
        p.col_dir(),
        p.spacing(),
        p.rows(),
        p.cols(),
    )
    .unwrap()
}

/// Tilts within the anatomical range (up to ~30 degrees from the reference apex direction).
const TILTS: [(f64, f64); 5] = [
    (0.0, 0.0),
    (0.3, -0.2),
    (-0.4, 0.1),
    (0.2, 0.45),
    (-0.25, -0.4),
];

#[test]
fn sa_centre_is_the_axis_point_and_tiles_sit_at_their_distances() {
    let layout = CrossLayout::default();
    for (tx, ty) in TILTS {
        for (spacing, size) in [(1.8, 128), (0.9, 300), (2.5, 96)] {
            let h = heart(tx, ty, 9, spacing, size);
            for sa in &h.planes.short_axis {
                let map = layout.label(sa, View::ShortAxis, &h.planes).unwrap();
                assert!(map.derivation.is_complete(), "{:?}", map.derivation);
                // The centre is where the long axis pierces this slice.
                let c = world(sa, map.centre.unwrap());
                let expected = h.axis_point + h.apex * (sa.center() - h.axis_point).dot(h.apex);
                assert!(
                    (c - expected).norm() < 1e-6,
                    "centre off by {}",
                    (c - expected).norm()
                );
                // Tile centres at the stated distances and anatomical sides.
                for (label, dir, steps) in [
                    (2, h.rv, 1.0),
                    (3, h.rv, 2.0),
                    (4, -h.rv, 1.0),
                    (5, -h.rv, 2.0),
                    (6, h.inferior, 1.0),
                    (7, h.inferior, 2.0),
                    (8, -h.inferior, 1.0),
                    (9, -h.inferior, 2.0),
                ] {
                    let w = world(sa, tile(&map, label).centre);
                    let want = expected + dir * (steps * layout.tile_step_mm);
                    assert!(
                        (w - want).norm() < 1e-6,
                        "label {label} off by {} mm",
                        (w - want).norm()
                    );
                }
            }
        }
    }
}

#[test]
fn reference_lines_lie_on_both_planes() {
    let h = heart(0.2, -0.1, 5, 1.7, 140);
    let sa = &h.planes.short_axis[2];
    let map = CrossLayout::default()
        .label(sa, View::ShortAxis, &h.planes)
        .unwrap();
    assert_eq!(map.lines.len(), 3);
    for line in &map.lines {
        let la = h.planes.long_axis(line.view).unwrap();
        let (a, b) = line.segment.expect("line crosses the image");
        for p in [a, b] {
            let w = world(sa, p);
            assert!(sa.signed_distance(w).abs() < 1e-6);
            assert!(la.signed_distance(w).abs() < 1e-6, "{:?}", line.view);
        }
    }
}

#[test]
fn labels_follow_anatomy_not_slice_order_or_direction_signs() {
    let layout = CrossLayout::default();
    let h = heart(0.25, 0.3, 7, 1.8, 128);
    let mut flipped = h.planes.clone();
    flipped.short_axis.reverse();
    flipped.four_chamber = flipped.four_chamber.map(|p| mirrored(&p));
    flipped.two_chamber = flipped.two_chamber.map(|p| mirrored(&p));
    let targets = [
        (View::ShortAxis, h.planes.short_axis[3]),
        (View::FourChamber, h.planes.four_chamber.unwrap()),
        (View::TwoChamber, h.planes.two_chamber.unwrap()),
        (View::ThreeChamber, h.planes.three_chamber.unwrap()),
    ];
    for (view, target) in targets {
        let a = layout.label(&target, view, &h.planes).unwrap();
        let flipped_target = mirrored(&target);
        let b = layout.label(&flipped_target, view, &flipped).unwrap();
        for label in 1..=9 {
            let wa = world(&target, tile(&a, label).centre);
            let wb = world(&flipped_target, tile(&b, label).centre);
            assert!((wa - wb).norm() < 1e-6, "{view:?} label {label} moved");
        }
        // The mirrored image's label map is the original mirrored.
        let mut mirrored_labels = b.labels.clone();
        mirrored_labels.invert_axis(ndarray::Axis(1));
        let differing = mirrored_labels
            .iter()
            .zip(a.labels.iter())
            .filter(|(x, y)| x != y)
            .count();
        // Pixels exactly on a tile edge may round either way.
        assert!(
            differing * 200 < a.labels.len(),
            "{view:?}: {differing} pixels differ"
        );
    }
}

#[test]
fn la_levels_sit_on_the_axis_at_the_stack_fractions() {
    let layout = CrossLayout::default();
    let h = heart(-0.2, 0.15, 9, 1.5, 200);
    // SA slices are at t = -40..=40 mm along the apex direction; levels at 1/6, 1/2, 5/6.
    for view in [View::FourChamber, View::TwoChamber] {
        let target = h.planes.long_axis(view).copied().unwrap();
        let map = layout.label(&target, view, &h.planes).unwrap();
        assert!(map.derivation.is_complete());
        for (level, t) in [(0u8, -80.0 / 3.0), (1, 0.0), (2, 80.0 / 3.0)] {
            let centre = world(&target, tile(&map, 3 * level + 1).centre);
            let want = h.axis_point + h.apex * t;
            assert!((centre - want).norm() < 1e-6, "{view:?} level {level}");
            let side = if view == View::FourChamber {
                h.rv
            } else {
                h.inferior
            };
            let plus = world(&target, tile(&map, 3 * level + 2).centre);
            assert!((plus - (want + side * layout.tile_step_mm)).norm() < 1e-6);
        }
    }
}

#[test]
fn missing_views_degrade_to_partial_maps_with_an_ignore_mask() {
    let layout = CrossLayout::default();
    let h = heart(0.1, 0.1, 5, 1.8, 128);
    let sa = h.planes.short_axis[2];

    // No 2Ch: the 4Ch and 3Ch lines still give the centre; the 2Ch arms are unplaced.
    let mut refs = h.planes.clone();
    refs.two_chamber = None;
    let map = layout.label(&sa, View::ShortAxis, &refs).unwrap();
    assert_eq!(map.derivation.unplaced, vec![6, 7, 8, 9]);
    assert!(map
        .derivation
        .missing
        .iter()
        .any(|m| m.view == View::TwoChamber && m.reason == MissingReason::Absent));
    let full = layout.label(&sa, View::ShortAxis, &h.planes).unwrap();
    assert!((world(&sa, map.centre.unwrap()) - world(&sa, full.centre.unwrap())).norm() < 1e-6);
    // Background is not asserted: exactly the unlabelled pixels are ignored.
    assert_eq!(map.ignore, map.labels.mapv(|v| v == 0));
    assert!(full.ignore.iter().all(|&i| !i));

    // Only the 4Ch plane: no centre, a typed error naming what is missing.
    let only_4ch = ViewPlanes {
        short_axis: h.planes.short_axis.clone(),
        four_chamber: h.planes.four_chamber,
        ..ViewPlanes::default()
    };
    let err = layout.label(&sa, View::ShortAxis, &only_4ch).unwrap_err();
    assert!(matches!(
        err,
        GeometryError::PositionsUnderivable {
            view: View::ShortAxis,
            ..
        }
    ));

    // An "LA" plane parallel to the slice gives no line.
    let mut parallel = h.planes.clone();
    parallel.three_chamber = Some(h.planes.short_axis[0]);
    let map = layout.label(&sa, View::ShortAxis, &parallel).unwrap();
    assert!(map
        .derivation
        .missing
        .iter()
        .any(|m| m.view == View::ThreeChamber && m.reason == MissingReason::ParallelToTarget));

    // A one-slice stack gives only the mid level on LA images.
    let mut single = h.planes.clone();
    single.short_axis.truncate(1);
    let four = h.planes.four_chamber.unwrap();
    let map = layout.label(&four, View::FourChamber, &single).unwrap();
    assert_eq!(map.derivation.unplaced, vec![1, 2, 3, 7, 8, 9]);
    // No SA stack at all: nothing to place levels on.
    let mut empty = h.planes.clone();
    empty.short_axis.clear();
    assert!(layout.label(&four, View::FourChamber, &empty).is_err());
    // Other views have no layout.
    assert!(layout.label(&sa, View::Other, &h.planes).is_err());
}

#[test]
fn tiles_off_the_image_are_recorded_not_fatal() {
    // A small field of view (20 x 20 px at 1.8 mm = 36 mm) holds only the centre tile region.
    let h = heart(0.0, 0.0, 3, 1.8, 20);
    let sa = h.planes.short_axis[1];
    let map = CrossLayout::default()
        .label(&sa, View::ShortAxis, &h.planes)
        .unwrap();
    assert!(map.derivation.is_complete());
    assert_eq!(map.derivation.outside_image, vec![3, 5, 7, 9]);
    assert!(map.counts()[1] > 0);
    // Lines are still reported with their visible part.
    assert!(map.lines.iter().all(|l| l.segment.is_some()));
}

#[test]
fn lattice_cells_tile_a_square_around_the_centre() {
    let layout = LatticeLayout::default();
    let h = heart(0.15, -0.3, 5, 1.25, 200);
    let sa = h.planes.short_axis[2];
    let map = layout.label(&sa, View::ShortAxis, &h.planes).unwrap();
    let centre = world(&sa, tile(&map, 5).centre);
    let c = world(&sa, map.centre.unwrap());
    assert!((centre - c).norm() < 1e-9);
    // Label 6 is one cell toward the RV, label 8 one cell toward the inferior wall.
    assert!((world(&sa, tile(&map, 6).centre) - (c + h.rv * 25.0)).norm() < 1e-6);
    assert!((world(&sa, tile(&map, 8).centre) - (c + h.inferior * 25.0)).norm() < 1e-6);
    // The nine cells cover a 75 mm square: area within a pixel row of 75^2.
    let covered = map.labels.iter().filter(|&&v| v > 0).count() as f64 * 1.25 * 1.25;
    assert!(
        (covered - 75.0 * 75.0).abs() < 75.0 * 1.25 * 2.0,
        "{covered}"
    );
    // LA: the centre cell is on the long axis at mid level; 2 is one cell toward the apex.
    let four = h.planes.four_chamber.unwrap();
    let la = layout.label(&four, View::FourChamber, &h.planes).unwrap();
    let mid = world(&four, tile(&la, 5).centre);
    assert!((mid - h.axis_point).norm() < 1e-6);
    assert!((world(&four, tile(&la, 8).centre) - (mid + h.apex * 25.0)).norm() < 1e-6);
}

#[test]
fn heatmap_ridges_peak_on_the_lines() {
    let h = heart(0.1, 0.2, 5, 2.0, 100);
    let sa = h.planes.short_axis[2];
    let maps = line_heatmaps(&sa, View::ShortAxis, &h.planes, 4.0).unwrap();
    assert_eq!(maps.present, [true, true, true]);
    // Near the LV centre all three ridges are close to 1.
    let c = CrossLayout::default()
        .label(&sa, View::ShortAxis, &h.planes)
        .unwrap()
        .centre
        .unwrap();
    let (r, col) = (c.row.round() as usize, c.col.round() as usize);
    for k in 0..3 {
        assert!(maps.maps[[k, r, col]] > 0.8);
    }
    // The 4Ch image has no 4Ch channel.
    let four = h.planes.four_chamber.unwrap();
    let la = line_heatmaps(&four, View::FourChamber, &h.planes, 4.0).unwrap();
    assert_eq!(la.present, [true, true, false]);
    assert!(line_heatmaps(&sa, View::ShortAxis, &h.planes, 0.0).is_err());
}

#[test]
fn invalid_tile_sizes_are_typed_errors() {
    let h = heart(0.0, 0.0, 3, 1.8, 64);
    let layout = CrossLayout {
        tile_side_mm: f64::NAN,
        ..CrossLayout::default()
    };
    assert!(layout
        .label(&h.planes.short_axis[0], View::ShortAxis, &h.planes)
        .is_err());
    let _ = PixelSpacing::from_dicom([1.0, 1.0]);
}

//! Anatomical position labels from arbitrary plane parameters: the raw bytes are read as f64
//! plane parameters (origin, direction cosines, spacing) and small image sizes for a target
//! and up to four reference planes; both layouts must label or return a typed error.
#![no_main]

use cmr_geometry::positions::{CrossLayout, LatticeLayout, PositionLayout, ViewPlanes};
use cmr_geometry::{ImagePlane, View};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn f64(&mut self) -> Option<f64> {
        let (h, t) = self.0.split_first_chunk::<8>()?;
        self.0 = t;
        Some(f64::from_le_bytes(*h))
    }
    fn byte(&mut self) -> Option<u8> {
        let (h, t) = self.0.split_first()?;
        self.0 = t;
        Some(*h)
    }
    fn plane(&mut self) -> Option<Result<ImagePlane, cmr_geometry::GeometryError>> {
        let mut v = [0.0; 11];
        for x in &mut v {
            *x = self.f64()?;
        }
        // Image sides 1..=96 so a map stays small.
        let rows = usize::from(self.byte()? % 96) + 1;
        let cols = usize::from(self.byte()? % 96) + 1;
        Some(ImagePlane::from_dicom(
            [v[0], v[1], v[2]],
            [v[3], v[4], v[5], v[6], v[7], v[8]],
            [v[9], v[10]],
            rows,
            cols,
        ))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let Some(flags) = b.byte() else { return };
    let Some(Ok(target)) = b.plane() else { return };
    let mut refs = ViewPlanes::default();
    let mut sa = Vec::new();
    // Planes in order: 2Ch, 4Ch, 3Ch (each when its flag bit is set), then up to 4 SA.
    while let Some(p) = b.plane() {
        let Ok(p) = p else { continue };
        if refs.two_chamber.is_none() && flags & 1 != 0 {
            refs.two_chamber = Some(p);
        } else if refs.four_chamber.is_none() && flags & 2 != 0 {
            refs.four_chamber = Some(p);
        } else if refs.three_chamber.is_none() && flags & 4 != 0 {
            refs.three_chamber = Some(p);
        } else {
            sa.push(p);
            if sa.len() >= 4 {
                break;
            }
        }
    }
    if sa.is_empty() {
        sa.push(target);
    }
    refs.short_axis = sa;
    let view = [
        View::ShortAxis,
        View::TwoChamber,
        View::ThreeChamber,
        View::FourChamber,
    ][usize::from(flags >> 4) % 4];
    let tile = |i: u8| f64::from(i % 60) + 0.5;
    let cross = CrossLayout {
        tile_side_mm: tile(flags),
        tile_step_mm: tile(flags.rotate_left(3)),
        ..CrossLayout::default()
    };
    let lattice = LatticeLayout {
        cell_mm: tile(flags.rotate_left(5)),
        ..LatticeLayout::default()
    };
    for layout in [&cross as &dyn PositionLayout, &lattice] {
        if let Ok(map) = layout.label(&target, view, &refs) {
            assert_eq!(map.labels.dim(), (target.rows(), target.cols()));
            assert_eq!(map.ignore.dim(), map.labels.dim());
            assert!(map.labels.iter().all(|&l| l <= layout.num_positions()));
        }
    }
});

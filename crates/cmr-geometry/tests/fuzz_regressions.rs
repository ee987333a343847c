//! Every input that crashed a fuzz target (`cargo xtask fuzz`), kept under
//! `tests/data/fuzz/<target>/`: each must now load or give a typed error, without a panic and
//! without any single allocation over [`LIMIT`] (libFuzzer reported them as allocations of
//! gigabytes, the parser reserving a corrupt declared length).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use cmr_geometry::dicom::{decode_frame_from_bytes, image_headers_from_bytes};
use cmr_geometry::nifti_file::{read_geometry_with, read_volume_with};
use cmr_geometry::positions::{CrossLayout, LatticeLayout, PositionLayout, ViewPlanes};
use cmr_geometry::{GeometryError, ImagePlane, LoadLimits, View};

mod peak_alloc;

use peak_alloc::{PeakAlloc, LARGEST};

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

/// The largest allocation any of these small inputs may cause (the fuzz targets' decoded
/// limit).
const LIMIT: usize = 256 << 20;

/// The limits the fuzz targets use.
fn limits() -> LoadLimits {
    LoadLimits {
        max_file_bytes: 64 << 20,
        max_decoded_bytes: LIMIT as u64,
        max_images_per_file: 4096,
        ..LoadLimits::default()
    }
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `f` on every input of `target`, one at a time, checking the largest allocation.
fn each(target: &str, f: impl Fn(&Path, &[u8])) -> usize {
    let files = inputs(target);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        LARGEST.store(0, Ordering::Relaxed);
        f(path, &bytes);
        let peak = LARGEST.load(Ordering::Relaxed);
        assert!(
            peak <= LIMIT,
            "{}: an allocation of {peak} bytes",
            path.display()
        );
    }
    files.len()
}

// The targets' tests run one after another in one test (they share the allocation counter).
#[test]
fn every_crash_input_now_gives_a_result_or_a_typed_error() {
    let l = limits();
    let mut n = each("dicom_header", |path, bytes| {
        let _ = image_headers_from_bytes(bytes, path, &l);
    });
    n += each("dicom_pixels", |path, bytes| {
        for frame in 0..2 {
            let _ = decode_frame_from_bytes(bytes, path, frame, &l);
        }
    });
    n += each("nifti_read", |path, _| {
        if read_geometry_with(path, &l).is_ok() {
            let _ = read_volume_with(path, &l);
        }
    });
    n += each("position_labels", |_, bytes| label_planes(bytes));
    assert!(n > 0, "no regression inputs found");
}

/// Reads bytes as `fuzz/fuzz_targets/position_labels.rs` does.
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
    fn plane(&mut self) -> Option<Result<ImagePlane, GeometryError>> {
        let mut v = [0.0; 11];
        for x in &mut v {
            *x = self.f64()?;
        }
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

/// The `position_labels` fuzz target's body: both layouts label the target plane or return
/// a typed error.
fn label_planes(data: &[u8]) {
    let mut b = Bytes(data);
    let Some(flags) = b.byte() else { return };
    let Some(Ok(target)) = b.plane() else { return };
    let mut refs = ViewPlanes::default();
    let mut sa = Vec::new();
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
            assert!(map.labels.iter().all(|&l| l <= layout.num_positions()));
        }
    }
}

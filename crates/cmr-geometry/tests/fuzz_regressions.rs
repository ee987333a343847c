//! Every input that crashed a fuzz target (`cargo xtask fuzz`), kept under
//! `tests/data/fuzz/<target>/`: each must now load or give a typed error, without a panic and
//! without any single allocation over [`LIMIT`] (libFuzzer reported them as allocations of
//! gigabytes, the parser reserving a corrupt declared length).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cmr_geometry::dicom::{decode_frame_from_bytes, image_headers_from_bytes};
use cmr_geometry::nifti_file::{read_geometry_with, read_volume_with};
use cmr_geometry::LoadLimits;

struct PeakAlloc;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

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
    assert!(n > 0, "no regression inputs found");
}

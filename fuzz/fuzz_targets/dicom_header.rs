//! DICOM header scan and geometry extraction on arbitrary bytes: every input must give image
//! headers or a skip reason, never a panic, and never allocate more than the limits allow.
#![no_main]

use std::path::Path;

use cmr_geometry::dicom::image_headers_from_bytes;
use cmr_geometry::LoadLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = cmr_ssl_fuzz_limits();
    if let Ok(headers) = image_headers_from_bytes(data, Path::new("fuzz.dcm"), &limits) {
        for h in &headers {
            // Geometry that came out must be usable.
            let p = h.plane;
            assert!(p.rows() > 0 && p.cols() > 0);
            let c = p.center();
            assert!(c.is_finite());
            assert!(p.signed_distance(c).abs() < 1e-6);
        }
    }
});

/// Limits small enough that anything they let through fits libFuzzer's memory limit.
fn cmr_ssl_fuzz_limits() -> LoadLimits {
    LoadLimits {
        max_file_bytes: 64 << 20,
        max_decoded_bytes: 256 << 20,
        max_images_per_file: 4096,
        ..LoadLimits::default()
    }
}

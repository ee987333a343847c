//! Pixel decoding on arbitrary bytes: the first frames of any input decode or give a typed
//! error. Third-party codecs may panic on malformed streams; the loader catches those and
//! returns a typed error, so this target silences the panic message and counts only panics
//! that escape the loader (those abort, as libFuzzer expects).
#![no_main]

use std::path::Path;

use cmr_geometry::dicom::decode_frame_from_bytes;
use cmr_geometry::LoadLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let limits = LoadLimits {
        max_file_bytes: 64 << 20,
        max_decoded_bytes: 256 << 20,
        max_images_per_file: 4096,
        ..LoadLimits::default()
    };
    for frame in 0..2 {
        if let Ok(img) = decode_frame_from_bytes(data, Path::new("fuzz.dcm"), frame, &limits) {
            assert!(img.nrows() > 0 && img.ncols() > 0);
        }
    }
});

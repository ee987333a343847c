//! NIfTI reading on arbitrary bytes: header geometry and the whole volume, through the same
//! file-based functions the loaders use (the bytes are written to a file first; gzip input is
//! named `.nii.gz`).
#![no_main]

use std::path::PathBuf;

use cmr_geometry::nifti_file::{read_geometry_with, read_volume_with};
use cmr_geometry::LoadLimits;
use libfuzzer_sys::fuzz_target;

fn scratch(gz: bool) -> PathBuf {
    let dir = std::env::var_os("CMR_FUZZ_SCRATCH")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let name = format!(
        "cmr-fuzz-{}.{}",
        std::process::id(),
        if gz { "nii.gz" } else { "nii" }
    );
    dir.join(name)
}

fuzz_target!(|data: &[u8]| {
    let limits = LoadLimits {
        max_file_bytes: 64 << 20,
        max_decoded_bytes: 256 << 20,
        max_images_per_file: 4096,
        ..LoadLimits::default()
    };
    let gz = data.starts_with(&[0x1f, 0x8b]);
    let path = scratch(gz);
    std::fs::write(&path, data).expect("scratch file");
    if let Ok(g) = read_geometry_with(&path, &limits) {
        let _ = g.planes();
        if let Ok((g2, v)) = read_volume_with(&path, &limits) {
            assert_eq!(g2.dims, g.dims);
            assert_eq!(v.dim(), (g.times(), g.slices(), g.rows(), g.cols()));
        }
    }
});

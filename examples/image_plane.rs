//! Where do the pixels of a DICOM image sit in the patient? Builds an oblique short-axis-like
//! plane from DICOM attribute values and prints the world position of its corners and centre.
//!
//! Run: `cargo run --example image_plane`

use cmr_ssl::geometry::{GeometryError, ImagePlane};

fn main() -> Result<(), GeometryError> {
    // ImagePositionPatient, ImageOrientationPatient, PixelSpacing, Rows, Columns as a scanner
    // writes them for a UK Biobank-like short-axis slice.
    let plane = ImagePlane::from_dicom(
        [-93.5, -121.3, 118.4],
        [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
        [1.8269, 1.8269],
        208,
        180,
    )?;
    println!("normal (through-plane direction): {:?}", plane.normal());
    for (name, r, c) in [
        ("top-left", 0.0, 0.0),
        ("top-right", 0.0, 179.0),
        ("bottom-left", 207.0, 0.0),
        ("centre", 103.5, 89.5),
    ] {
        let w = plane.pixel_to_world(r, c);
        let back = plane.world_to_pixel(w);
        println!(
            "{name:12} pixel (r {r:6.1}, c {c:6.1}) -> LPS ({:8.2}, {:8.2}, {:8.2}) mm -> back (r {:6.1}, c {:6.1})",
            w.x, w.y, w.z, back.row, back.col
        );
    }
    Ok(())
}

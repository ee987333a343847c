//! NIfTI geometry checked against an independent implementation: `tests/data/itk_oblique.nii.gz`
//! was written by SimpleITK 2.5 (which works in LPS, like DICOM) from an oblique 3-slice
//! volume; the expected world points below are SimpleITK's `TransformIndexToPhysicalPoint`
//! for index (i, j, k) = (column, row, slice), printed when the file was made.

use std::path::Path;

use approx::assert_abs_diff_eq;
use cmr_geometry::nifti_file::{read_volume, write_volume, NiftiWriteOptions};
use cmr_geometry::{NiftiFolder, StudySource, Vec3};

/// (column i, row j, slice k), SimpleITK's world point (LPS mm), voxel value.
type ItkPoint = ((usize, usize, usize), [f64; 3], f32);

const ITK_POINTS: [ItkPoint; 4] = [
    (
        (0, 0, 0),
        [-93.5, -121.30000305175781, 118.4000015258789],
        0.0,
    ),
    (
        (4, 0, 0),
        [-89.31120656898455, -116.56913586191138, 117.38368147539313],
        4.0,
    ),
    (
        (0, 3, 0),
        [-95.40702114403112, -120.68884217987632, 113.38504876439183],
        15.0,
    ),
    (
        (2, 1, 2),
        [-102.73754602854623, -108.10828199530994, 121.5821767374297],
        47.0,
    ),
];

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/itk_oblique.nii.gz"
    ))
}

#[test]
fn planes_from_an_itk_written_file_put_pixels_where_itk_does() {
    let (geometry, data) = read_volume(fixture()).unwrap();
    assert_eq!(geometry.dims, [5, 4, 3, 1]);
    let planes = geometry.planes().unwrap();
    for ((i, j, k), world, value) in ITK_POINTS {
        let p = planes[k].pixel_to_world(j as f64, i as f64);
        // ITK's own float32 header values: agree to ~1e-4 mm.
        assert_abs_diff_eq!((p - Vec3::from_array(world)).norm(), 0.0, epsilon = 1e-4);
        assert_eq!(data[[0, k, j, i]], value);
    }
    assert_abs_diff_eq!(planes[0].spacing().between_cols, 1.6, epsilon = 1e-6);
    assert_abs_diff_eq!(planes[0].spacing().between_rows, 1.8, epsilon = 1e-6);
}

#[test]
fn rewriting_the_itk_file_keeps_its_geometry() {
    let (geometry, data) = read_volume(fixture()).unwrap();
    let planes = geometry.planes().unwrap();
    let dir = std::env::temp_dir().join(format!("cmr-geometry-itk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("sa.nii.gz");
    write_volume(&out, &planes, data.view(), &NiftiWriteOptions::default()).unwrap();
    let (g2, d2) = read_volume(&out).unwrap();
    assert_eq!(d2, data);
    for (a, b) in planes.iter().zip(g2.planes().unwrap()) {
        assert_abs_diff_eq!((a.origin() - b.origin()).norm(), 0.0, epsilon = 1e-4);
        assert_abs_diff_eq!(a.normal().dot(b.normal()), 1.0, epsilon = 1e-9);
    }
    // A folder holding it reads as one study with a 3-slice SA stack spaced 8 mm.
    let folder = NiftiFolder::open(&dir).unwrap();
    let sa = folder.studies()[0]
        .view(cmr_geometry::View::ShortAxis)
        .unwrap();
    assert_eq!(sa.slices.len(), 3);
    assert_abs_diff_eq!(sa.spacing.as_ref().unwrap().median_mm, 8.0, epsilon = 1e-4);
    std::fs::remove_dir_all(&dir).unwrap();
}

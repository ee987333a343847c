//! Position labels for a whole study: every SA slice and LA image, as label volumes in the
//! study geometry and as overlay pictures.

use std::path::{Path, PathBuf};

use ndarray::{Array4, Axis};

use super::overlay::{save_png, OverlayStyle};
use super::{PositionLayout, PositionMap, ViewPlanes};
use crate::error::GeometryError;
use crate::nifti_file::{write_volume, NiftiWriteOptions};
use crate::{ImagePlane, Study, StudySource, View};

/// The position map of one slice of one series.
#[derive(Debug)]
pub struct SlicePositions {
    /// The series' view.
    pub view: View,
    /// Slice index within the series (stack order).
    pub slice: usize,
    /// The slice plane.
    pub plane: ImagePlane,
    /// The map, or why none could be derived for this slice.
    pub map: Result<PositionMap, GeometryError>,
}

/// Derives position maps for every slice of every cardiac view of `study` (positions depend
/// only on geometry, so one map serves all frames of a slice). Slices where nothing can be
/// derived keep their typed error; the others are unaffected.
///
/// ```
/// use cmr_geometry::positions::{demo_geometry, label_study, CrossLayout};
/// use cmr_geometry::{Frame, PixelRef, Series, Slice, Study, View};
/// let (sa, two_ch, four_ch) = demo_geometry();
/// let slice = |plane| Slice { plane, frames: vec![Frame::new(PixelRef::Memory { index: 0 })] };
/// let study = Study {
///     uid: "1.2.3".into(),
///     patient_id: None,
///     series: vec![
///         Series::new(View::ShortAxis, "sa", "sax", vec![slice(sa)]),
///         Series::new(View::TwoChamber, "2ch", "2ch", vec![slice(two_ch)]),
///         Series::new(View::FourChamber, "4ch", "4ch", vec![slice(four_ch)]),
///     ],
///     dropped: vec![],
/// };
/// let maps = label_study(&study, &CrossLayout::default());
/// assert_eq!(maps.len(), 3);
/// // The SA slice gets the full cross; each LA image gets only the mid level because the SA
/// // "stack" has a single slice.
/// assert!(maps[0].map.as_ref().unwrap().derivation.is_complete());
/// assert_eq!(maps[1].map.as_ref().unwrap().derivation.unplaced, vec![1, 2, 3, 7, 8, 9]);
/// ```
pub fn label_study(study: &Study, layout: &dyn PositionLayout) -> Vec<SlicePositions> {
    let refs = ViewPlanes::from_study(study);
    View::CARDIAC
        .iter()
        .filter_map(|&v| study.view(v))
        .flat_map(|series| {
            let refs = &refs;
            series
                .slices
                .iter()
                .enumerate()
                .map(move |(k, s)| SlicePositions {
                    view: series.view,
                    slice: k,
                    plane: s.plane,
                    map: layout.label(&s.plane, series.view, refs),
                })
        })
        .collect()
}

/// Files written by [`write_study_positions`].
#[derive(Debug, Clone, Default)]
pub struct WrittenPositions {
    /// `positions_<view>.nii.gz` label volumes (0 background, 1..=9 positions) and
    /// `ignore_<view>.nii.gz` masks (1 where a loss should ignore the pixel).
    pub volumes: Vec<PathBuf>,
    /// `positions_<view>_s<k>.png` overlays on the first frame of each slice.
    pub overlays: Vec<PathBuf>,
    /// Slices without a map: `(view, slice, reason)`.
    pub failed: Vec<(View, usize, String)>,
}

/// Writes the position maps of `study` into `dir`: per view a label volume and an ignore mask
/// as NIfTI in the study geometry (slices without a map are all-ignored), and an overlay PNG per
/// slice on its first frame. Every file is written atomically.
///
/// # Errors
/// [`GeometryError::Io`] when `dir` cannot be created or a file cannot be written, and any
/// error from loading a slice's first frame.
pub fn write_study_positions(
    dir: &Path,
    study: &Study,
    source: &dyn StudySource,
    layout: &dyn PositionLayout,
    style: OverlayStyle,
) -> Result<WrittenPositions, GeometryError> {
    std::fs::create_dir_all(dir).map_err(|source| GeometryError::Io {
        action: "creating",
        path: dir.to_path_buf(),
        source,
    })?;
    let maps = label_study(study, layout);
    let mut written = WrittenPositions::default();
    for &view in &View::CARDIAC {
        let Some(series) = study.view(view) else {
            continue;
        };
        let slices: Vec<&SlicePositions> = maps.iter().filter(|m| m.view == view).collect();
        let planes: Vec<ImagePlane> = slices.iter().map(|s| s.plane).collect();
        let (rows, cols) = (planes[0].rows(), planes[0].cols());
        let mut labels = Array4::<u8>::zeros((1, slices.len(), rows, cols));
        let mut ignore = Array4::<u8>::ones((1, slices.len(), rows, cols));
        for (k, s) in slices.iter().enumerate() {
            match &s.map {
                Ok(map) if map.labels.dim() == (rows, cols) => {
                    labels
                        .index_axis_mut(Axis(0), 0)
                        .index_axis_mut(Axis(0), k)
                        .assign(&map.labels);
                    ignore
                        .index_axis_mut(Axis(0), 0)
                        .index_axis_mut(Axis(0), k)
                        .assign(&map.ignore.mapv(u8::from));
                    if let Some(frame) = series.slices[k].frames.first() {
                        let image = source.load_image(&frame.image)?;
                        let path = dir.join(format!("positions_{}_s{k}.png", view.file_stem()));
                        save_png(&path, image.view(), map, &s.plane, style)?;
                        written.overlays.push(path);
                    }
                }
                Ok(_) => {
                    written
                        .failed
                        .push((view, k, "slice size differs from the series".into()))
                }
                Err(e) => written.failed.push((view, k, e.to_string())),
            }
        }
        let opts = NiftiWriteOptions {
            description: format!("cmr-ssl positions {}", view.file_stem()),
            ..NiftiWriteOptions::default()
        };
        for (name, data) in [("positions", &labels), ("ignore", &ignore)] {
            let path = dir.join(format!("{name}_{}.nii.gz", view.file_stem()));
            write_volume(&path, &planes, data.view(), &opts)?;
            written.volumes.push(path);
        }
    }
    Ok(written)
}

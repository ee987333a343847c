//! Every SA and LA image of a study segmented on its original grid, stacked into label
//! volumes `[frames, slices, rows, cols]` in the study geometry.

use cmr_geometry::{ImagePlane, Series, Study, StudySource, View};
use cmr_metrics::StackGeometry;
use ndarray::{Array2, Array4, Axis};

use crate::dataset::load_label_map;
use crate::dataset::{Dataset, DatasetOptions, FrameSelection};
use crate::evaluate::predict_on_original;
use crate::preprocess::{prepare, PreparedSample};
use crate::segment::SegmentationModel;
use crate::TrainError;

/// The label volume of one view of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewLabels {
    /// The view.
    pub view: View,
    /// The plane of every slice (the series order: SA sorted along the normal).
    pub planes: Vec<ImagePlane>,
    /// Labels `[frames, slices, rows, cols]` on the original pixel grids.
    pub labels: Array4<u8>,
    /// Distance between adjacent slice centres (median over the stack), mm; `None` for a
    /// single slice.
    pub slice_spacing_mm: Option<f64>,
}

impl ViewLabels {
    /// The voxel geometry of the stack (pixel spacing and slice spacing), for volumes;
    /// `None` for a single slice.
    pub fn stack_geometry(&self) -> Option<StackGeometry> {
        let sp = self.planes.first()?.spacing();
        Some(StackGeometry {
            pixel_spacing: [sp.between_rows, sp.between_cols],
            slice_spacing: self.slice_spacing_mm?,
        })
    }

    /// Frames in the volume.
    pub fn frames(&self) -> usize {
        self.labels.len_of(Axis(0))
    }
}

/// The predicted label volumes of one study.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySegmentation {
    /// Index of the study in its source.
    pub study: usize,
    /// Its subject identifier (PatientID, else the study UID).
    pub subject: String,
    /// Its StudyInstanceUID (or folder identity for NIfTI).
    pub study_uid: String,
    /// One volume per segmented view, in [`View::CARDIAC`] order.
    pub views: Vec<ViewLabels>,
}

impl StudySegmentation {
    /// The volume of a view, if it was segmented.
    pub fn view(&self, view: View) -> Option<&ViewLabels> {
        self.views.iter().find(|v| v.view == view)
    }
}

/// The frames per slice and the common slice size of a series, or why it cannot form a
/// volume.
fn volume_shape(study: &Study, series: &Series) -> Result<(usize, usize, usize), TrainError> {
    let bad = |reason: String| TrainError::BadImage {
        image: format!(
            "{} series {} of study {}",
            series.view, series.uid, study.uid
        ),
        reason,
    };
    let frames = series
        .frames_per_slice()
        .ok_or_else(|| bad("slices have different numbers of frames".into()))?;
    let first = series
        .slices
        .first()
        .ok_or_else(|| bad("no slice".into()))?;
    let (rows, cols) = (first.plane.rows(), first.plane.cols());
    if series
        .slices
        .iter()
        .any(|s| (s.plane.rows(), s.plane.cols()) != (rows, cols))
    {
        return Err(bad("slices of different sizes cannot form a volume".into()));
    }
    if frames == 0 {
        return Err(bad("no frame".into()));
    }
    Ok((frames, rows, cols))
}

fn view_labels(series: &Series, labels: Array4<u8>) -> ViewLabels {
    ViewLabels {
        view: series.view,
        planes: series.slices.iter().map(|s| s.plane).collect(),
        labels,
        slice_spacing_mm: series.spacing.as_ref().map(|s| s.median_mm),
    }
}

/// Segments every image of every frame of the views of study `study` of `source` that
/// `model` has a head for (SA stacks and LA images), `batch_size` images per forward pass.
/// Views the model does not segment (e.g. 3Ch) and views the study lacks are skipped.
///
/// # Errors
/// [`TrainError::Invalid`] for a study index out of range or a study with no view the model
/// segments; [`TrainError::BadImage`] for a series whose slices differ in frames or size;
/// loading, preprocessing and network errors.
pub fn segment_study(
    model: &SegmentationModel,
    source: &(dyn StudySource + Sync),
    study: usize,
    batch_size: usize,
) -> Result<StudySegmentation, TrainError> {
    let studies = source.studies();
    let s = studies.get(study).ok_or_else(|| TrainError::Invalid {
        what: "study index",
        reason: format!("{study} with {} studies in the source", studies.len()),
    })?;
    let views: Vec<View> = View::CARDIAC
        .into_iter()
        .filter(|&v| model.label_set(v).is_some() && s.view(v).is_some())
        .collect();
    if views.is_empty() {
        return Err(TrainError::Invalid {
            what: "study views",
            reason: format!(
                "study {} has none of the views the model segments ({:?})",
                s.uid,
                model
                    .label_sets()
                    .0
                    .iter()
                    .map(|l| l.view)
                    .collect::<Vec<_>>()
            ),
        });
    }
    let data = Dataset::new(
        source,
        &DatasetOptions {
            views: views.clone(),
            frames: FrameSelection::All,
            use_labels: false,
            label_sets: model.label_sets().clone(),
        },
    )?
    .with_studies(&[study]);
    let mut out = Vec::new();
    for view in views {
        let series = s.view(view).expect("filtered above");
        let head = &model.label_set(view).expect("filtered above").head;
        let (frames, rows, cols) = volume_shape(s, series)?;
        let mut labels = Array4::<u8>::zeros((frames, series.slices.len(), rows, cols));
        let mut items: Vec<_> = data.items().iter().filter(|i| i.view == view).collect();
        items.sort_by_key(|i| (i.frame, i.slice));
        for chunk in items.chunks(batch_size.max(1)) {
            let prepared = chunk
                .iter()
                .map(|i| prepare(&data, i, model.preprocess(), None))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&PreparedSample> = prepared.iter().collect();
            let maps = predict_on_original(model.net(), &refs, head, model.preprocess().crop)?;
            for (item, map) in chunk.iter().zip(maps) {
                labels
                    .index_axis_mut(Axis(0), item.frame)
                    .index_axis_mut(Axis(0), item.slice)
                    .assign(&map);
            }
        }
        out.push(view_labels(series, labels));
    }
    Ok(StudySegmentation {
        study,
        subject: crate::dataset::subject_id(s),
        study_uid: s.uid.clone(),
        views: out,
    })
}

/// The reference (ground-truth) label volume of one view of a study, stacked exactly as
/// [`segment_study`] stacks predictions; `None` when the study lacks the view or any of its
/// images has no label map.
///
/// # Errors
/// [`TrainError::BadImage`] for a series that cannot form a volume or a label map whose
/// size differs from its plane; [`TrainError::Load`] when a label map cannot be read.
pub fn reference_labels(
    source: &dyn StudySource,
    study: &Study,
    view: View,
) -> Result<Option<ViewLabels>, TrainError> {
    let Some(series) = study.view(view) else {
        return Ok(None);
    };
    if series.frames().any(|(_, f)| f.label.is_none()) {
        return Ok(None);
    }
    let (frames, rows, cols) = volume_shape(study, series)?;
    let mut labels = Array4::<u8>::zeros((frames, series.slices.len(), rows, cols));
    for (k, slice) in series.slices.iter().enumerate() {
        for (f, frame) in slice.frames.iter().enumerate() {
            let l = frame.label.as_ref().expect("checked above");
            let map: Array2<u8> = load_label_map(source, l)?;
            if map.dim() != (rows, cols) {
                return Err(TrainError::BadImage {
                    image: l.to_string(),
                    reason: format!("labels are {:?}, the plane {rows} x {cols}", map.dim()),
                });
            }
            labels
                .index_axis_mut(Axis(0), f)
                .index_axis_mut(Axis(0), k)
                .assign(&map);
        }
    }
    Ok(Some(view_labels(series, labels)))
}

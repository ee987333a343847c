//! What `cmr-ssl segment` writes: NIfTI label volumes in the study geometry, overlay PNGs of
//! the ED and ES frames, and `report.json` / `report.csv` with the cardiac function.

use std::path::{Path, PathBuf};

use cmr_geometry::nifti_file::{write_volume, NiftiWriteOptions};
use cmr_geometry::{Study, StudySource, View};
use cmr_metrics::SaLabels;
use image::RgbImage;
use ndarray::Axis;
use serde::{Deserialize, Serialize};

use crate::dataset::load_pixels;
use crate::overlay::{panel_grid, render_labels, save_png, LabelOverlayStyle};
use crate::segment::{cardiac_function, CardiacFunction, StudySegmentation, ViewLabels};
use crate::TrainError;

/// One segmented view in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewSummary {
    /// The view.
    pub view: View,
    /// Frames, slices, rows, columns of the label volume.
    pub shape: [usize; 4],
    /// The NIfTI file, relative to the output folder.
    pub labels: Option<PathBuf>,
}

/// The report of one segmented study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// The name its files carry.
    pub name: String,
    /// Subject identifier.
    pub subject: String,
    /// Study identifier.
    pub study_uid: String,
    /// The segmented views.
    pub views: Vec<ViewSummary>,
    /// Cardiac function from the predicted SA labels (`None` without an SA stack; see
    /// `notes`).
    pub function: Option<CardiacFunction>,
    /// Cardiac function from the study's own SA labels, when it has them (e.g. a phantom).
    pub reference: Option<CardiacFunction>,
    /// Why a measure is missing.
    pub notes: Vec<String>,
}

impl StudyReport {
    /// The report of `segmentation`, with the reference SA labels when given. The function
    /// is computed with `sa` label values; a study without an SA stack of two or more slices
    /// or with an empty LV/RV at ED gets a note instead.
    pub fn new(
        name: &str,
        segmentation: &StudySegmentation,
        sa: &SaLabels,
        reference_sa: Option<&ViewLabels>,
    ) -> Self {
        let mut notes = Vec::new();
        let mut function_of = |labels: Option<&ViewLabels>, what: &str| {
            let v = labels?;
            let Some(g) = v.stack_geometry() else {
                notes.push(format!("{what}: the SA series has one slice, no volume"));
                return None;
            };
            match cardiac_function(v.labels.view(), &g, sa) {
                Ok(f) => Some(f),
                Err(e) => {
                    notes.push(format!("{what}: {e}"));
                    None
                }
            }
        };
        let function = function_of(segmentation.view(View::ShortAxis), "prediction");
        let reference = function_of(reference_sa, "reference");
        if segmentation.view(View::ShortAxis).is_none() {
            notes.push("no short-axis stack: no volumes".into());
        }
        Self {
            name: name.to_string(),
            subject: segmentation.subject.clone(),
            study_uid: segmentation.study_uid.clone(),
            views: segmentation
                .views
                .iter()
                .map(|v| ViewSummary {
                    view: v.view,
                    shape: v.labels.dim().into(),
                    labels: None,
                })
                .collect(),
            function,
            reference,
            notes,
        }
    }
}

/// The files written for one study.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WrittenStudy {
    /// NIfTI label volumes, one per view.
    pub labels: Vec<PathBuf>,
    /// Overlay PNGs, one per view.
    pub overlays: Vec<PathBuf>,
}

/// Writes the label volumes of `segmentation` as `labels/NAME_VIEW.nii.gz` (u8,
/// `[frames, slices, rows, cols]` in the study geometry) and overlays of the ED and ES frames
/// (`report.function`'s, else the first and middle ones) as `overlays/NAME_VIEW.png` (one
/// column per slice, the prediction filled, the reference outlined where `references` has
/// the view) under `out`, and records the label files in `report`.
///
/// # Errors
/// [`TrainError::Io`] when a folder or file cannot be written; [`TrainError::Geometry`]
/// when a volume cannot be written in the study geometry (slices not forming one affine);
/// [`TrainError::Load`] when an image cannot be read for an overlay.
pub fn write_study_outputs(
    out: &Path,
    source: &dyn StudySource,
    study: &Study,
    segmentation: &StudySegmentation,
    references: &[ViewLabels],
    report: &mut StudyReport,
    style: LabelOverlayStyle,
) -> Result<WrittenStudy, TrainError> {
    let (label_dir, overlay_dir) = (out.join("labels"), out.join("overlays"));
    for d in [&label_dir, &overlay_dir] {
        std::fs::create_dir_all(d).map_err(TrainError::io(d))?;
    }
    let mut written = WrittenStudy::default();
    for v in &segmentation.views {
        let file = format!("{}_{}.nii.gz", report.name, v.view.file_stem());
        let path = label_dir.join(&file);
        let opts = NiftiWriteOptions {
            description: format!("cmr-ssl segmentation {}", v.view.file_stem()),
            ..NiftiWriteOptions::default()
        };
        write_volume(&path, &v.planes, v.labels.view(), &opts).map_err(|e| {
            TrainError::Geometry {
                path: path.clone(),
                source: Box::new(e),
            }
        })?;
        if let Some(s) = report.views.iter_mut().find(|s| s.view == v.view) {
            s.labels = Some(PathBuf::from("labels").join(&file));
        }
        written.labels.push(path);
        let frames = match &report.function {
            Some(f) => vec![("ED", f.ed_frame), ("ES", f.es_frame)],
            None => vec![("first", 0), ("middle", v.frames() / 2)],
        };
        let reference = references.iter().find(|r| r.view == v.view);
        let picture = overlay(source, study, v, reference, &frames, style)?;
        let path = overlay_dir.join(format!("{}_{}.png", report.name, v.view.file_stem()));
        save_png(&path, &picture)?;
        written.overlays.push(path);
    }
    Ok(written)
}

/// One row per frame in `frames`, one column per slice.
fn overlay(
    source: &dyn StudySource,
    study: &Study,
    labels: &ViewLabels,
    reference: Option<&ViewLabels>,
    frames: &[(&str, usize)],
    style: LabelOverlayStyle,
) -> Result<RgbImage, TrainError> {
    let series = study.view(labels.view).ok_or_else(|| TrainError::Invalid {
        what: "overlay",
        reason: format!("study {} has no {} series", study.uid, labels.view),
    })?;
    let mut rows = Vec::new();
    for &(name, f) in frames {
        let f = f.min(labels.frames() - 1);
        let mut panels = Vec::new();
        for (k, slice) in series.slices.iter().enumerate() {
            let frame = &slice.frames[f];
            let image = load_pixels(source, &frame.image)?;
            let pred = labels.labels.index_axis(Axis(0), f);
            let pred = pred.index_axis(Axis(0), k);
            let truth = reference.map(|r| r.labels.index_axis(Axis(0), f));
            let truth = truth.as_ref().map(|t| t.index_axis(Axis(0), k));
            panels.push(Some(render_labels(image.view(), Some(pred), truth, style)?));
        }
        rows.push((format!("{} at {name} (frame {f})", labels.view), panels));
    }
    Ok(panel_grid(&rows, &[], 18, 4))
}

fn csv_number(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.2}"))
}

/// The CSV of a set of reports: one row per study with the predicted LV/RV EDV, ESV, EF and
/// LV mass, the ED and ES frames, and the reference values where the study had labels.
pub fn reports_csv(reports: &[StudyReport]) -> String {
    let mut csv = String::from(
        "study,subject,ed_frame,es_frame,lv_edv_ml,lv_esv_ml,lv_ef_percent,lv_mass_g,\
         rv_edv_ml,rv_esv_ml,rv_ef_percent,ref_lv_edv_ml,ref_lv_esv_ml,ref_lv_ef_percent,\
         ref_lv_mass_g,ref_rv_edv_ml,ref_rv_esv_ml,ref_rv_ef_percent\n",
    );
    for r in reports {
        let p = r.function.as_ref();
        let m = |f: fn(&CardiacFunction) -> f64| csv_number(p.map(f));
        let q = |f: fn(&CardiacFunction) -> f64| csv_number(r.reference.as_ref().map(f));
        let frame =
            |f: fn(&CardiacFunction) -> usize| p.map_or(String::new(), |c| f(c).to_string());
        let cells = [
            r.name.clone(),
            r.subject.clone(),
            frame(|c| c.ed_frame),
            frame(|c| c.es_frame),
            m(|c| c.measures.lv_edv_ml),
            m(|c| c.measures.lv_esv_ml),
            m(|c| c.measures.lv_ef_percent),
            m(|c| c.measures.lv_mass_g),
            m(|c| c.measures.rv_edv_ml),
            m(|c| c.measures.rv_esv_ml),
            m(|c| c.measures.rv_ef_percent),
            q(|c| c.measures.lv_edv_ml),
            q(|c| c.measures.lv_esv_ml),
            q(|c| c.measures.lv_ef_percent),
            q(|c| c.measures.lv_mass_g),
            q(|c| c.measures.rv_edv_ml),
            q(|c| c.measures.rv_esv_ml),
            q(|c| c.measures.rv_ef_percent),
        ];
        let quoted: Vec<String> = cells
            .iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        csv.push_str(&quoted.join(","));
        csv.push('\n');
    }
    csv
}

/// Writes `report.json` (the reports as a JSON array, with `extra` under `"run"`) and
/// `report.csv` ([`reports_csv`]) into `out`, atomically.
///
/// # Errors
/// [`TrainError::Io`] when a file cannot be written.
pub fn write_reports(
    out: &Path,
    reports: &[StudyReport],
    extra: serde_json::Value,
) -> Result<(), TrainError> {
    let json = serde_json::json!({ "run": extra, "studies": reports });
    let path = out.join("report.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| TrainError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    let write = |path: &Path, bytes: &[u8]| {
        cmr_geometry::atomic::write_bytes(path, bytes).map_err(|e| TrainError::Geometry {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    };
    write(&path, text.as_bytes())?;
    write(&out.join("report.csv"), reports_csv(reports).as_bytes())
}

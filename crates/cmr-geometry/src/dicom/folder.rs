//! [`DicomFolder`]: a folder of DICOM files as a [`StudySource`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::pixels::load_frame_with;
use super::scan::scan_headers_with;
use crate::assemble::assemble_studies_with_report;
use crate::error::GeometryError;
use crate::limits::LoadLimits;
use crate::report::{FileOutcome, FileReport, SkipReason};
use crate::source::StudySource;
use crate::study::{PixelRef, Study};
use crate::views::ViewRules;

/// How [`DicomFolder::open_with`] scans.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Header-reading threads (`None`: one per core).
    pub threads: Option<usize>,
    /// How series names map to views.
    pub view_rules: ViewRules,
    /// What one file may claim before it is refused (also applied when loading pixels).
    pub limits: LoadLimits,
}

/// Every study found under a folder of DICOM files (any layout, any file names), as a
/// [`StudySource`]: headers are read once when opening, pixels on demand.
///
/// ```no_run
/// use cmr_geometry::{DicomFolder, StudySource, View};
/// let folder = DicomFolder::open("/data/cmr")?;
/// for study in folder.studies() {
///     let sa = study.view(View::ShortAxis).expect("an SA stack");
///     let image = folder.load_image(&sa.slices[0].frames[0].image)?;
///     println!("{}: SA {} slices, first image {:?}", study.uid, sa.slices.len(), image.dim());
/// }
/// for skipped in folder.report().iter().filter(|r| r.skip_reason().is_some()) {
///     println!("skipped {}: {}", skipped.path.display(), skipped.skip_reason().unwrap());
/// }
/// # Ok::<(), cmr_geometry::GeometryError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DicomFolder {
    root: PathBuf,
    studies: Vec<Study>,
    report: Vec<FileReport>,
    limits: LoadLimits,
}

impl DicomFolder {
    /// Scans `root` with default options.
    ///
    /// # Errors
    /// [`GeometryError::Walk`] when a folder cannot be listed. Unusable files are not errors:
    /// they are listed in [`DicomFolder::report`].
    pub fn open(root: impl AsRef<Path>) -> Result<Self, GeometryError> {
        Self::open_with(root, &ScanOptions::default())
    }

    /// Scans `root`: reads every file's header in parallel and assembles studies (see
    /// [`crate::assemble`] for the grouping, view and ordering rules).
    ///
    /// # Errors
    /// As [`DicomFolder::open`].
    pub fn open_with(root: impl AsRef<Path>, opts: &ScanOptions) -> Result<Self, GeometryError> {
        let root = root.as_ref().to_path_buf();
        let scan = scan_headers_with(&root, opts.threads, &opts.limits)?;
        let (studies, assembly) = assemble_studies_with_report(scan.headers, &opts.view_rules);
        let mut report = scan.report;
        // Fold what assembling left out or noticed into the files' report lines.
        let mut excluded: HashMap<&Path, Vec<(u32, &SkipReason)>> = HashMap::new();
        for (p, frame, why) in &assembly.excluded {
            excluded.entry(p.as_path()).or_default().push((*frame, why));
        }
        let mut noted: HashMap<&Path, Vec<&str>> = HashMap::new();
        for (p, n) in &assembly.notes {
            noted.entry(p.as_path()).or_default().push(n);
        }
        for r in &mut report {
            let FileOutcome::Used { images, note } = &mut r.outcome else {
                continue;
            };
            let out = excluded.get(r.path.as_path()).cloned().unwrap_or_default();
            if !out.is_empty() && out.len() >= *images {
                r.outcome = FileOutcome::Skipped(out[0].1.clone());
                continue;
            }
            let mut notes: Vec<String> = note.take().into_iter().collect();
            for (frame, why) in &out {
                notes.push(format!("frame {frame} left out: {why}"));
            }
            *images -= out.len();
            notes.extend(
                noted
                    .get(r.path.as_path())
                    .into_iter()
                    .flatten()
                    .map(|n| n.to_string()),
            );
            *note = (!notes.is_empty()).then(|| notes.join("; "));
        }
        Ok(Self {
            studies,
            report,
            root,
            limits: opts.limits,
        })
    }

    /// The scanned folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// One line per file: used (how many images) or skipped (why).
    pub fn report(&self) -> &[FileReport] {
        &self.report
    }
}

impl StudySource for DicomFolder {
    fn studies(&self) -> &[Study] {
        &self.studies
    }

    fn load_image(&self, image: &PixelRef) -> Result<Array2<f32>, GeometryError> {
        match image {
            PixelRef::Dicom { path, frame } => load_frame_with(path, *frame, &self.limits),
            other => Err(GeometryError::ForeignPixelRef {
                reference: other.to_string(),
                source_kind: "DICOM folder",
            }),
        }
    }

    /// DICOM folders carry no label maps; every label reference is foreign.
    fn load_label(&self, label: &PixelRef) -> Result<Array2<u8>, GeometryError> {
        Err(GeometryError::ForeignPixelRef {
            reference: label.to_string(),
            source_kind: "DICOM folder",
        })
    }
}

//! What happened to each file a source looked at: used, or skipped and why.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why a file was not used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SkipReason {
    /// Not a DICOM file (no `DICM` marker and not parseable as DICOM).
    NotDicom,
    /// A DICOMDIR (media directory), which holds no images.
    Dicomdir,
    /// A DICOM file of another modality (CT, RT, ...).
    NotMr {
        /// Its Modality.
        modality: String,
    },
    /// A DICOM MR object that is not an image (no pixel data, a report, a presentation
    /// state, ...).
    NotAnImage {
        /// Its SOPClassUID.
        sop_class_uid: String,
    },
    /// An MR image without the attributes that place it in the patient (or with unusable
    /// ones).
    NoGeometry {
        /// What is missing or wrong.
        detail: String,
    },
    /// The file could not be read or parsed.
    Unreadable {
        /// The error, as text.
        error: String,
    },
    /// A file whose name is not part of the layout a source reads (for example an unknown
    /// `.nii.gz` in a UK Biobank-style folder).
    NotInLayout,
    /// The file disagrees with the files it belongs with (different size or geometry).
    Inconsistent {
        /// How.
        detail: String,
    },
    /// The file's structure contradicts itself or its size (a truncated transfer, a corrupt or
    /// crafted file).
    Corrupt {
        /// What does not add up.
        detail: String,
    },
    /// The file claims more than the [`LoadLimits`](crate::LoadLimits) allow.
    OverLimit {
        /// Which limit, the claim and the limit.
        detail: String,
    },
    /// Another file holds the same image.
    Duplicate {
        /// The file that is used instead.
        of: PathBuf,
        /// What they share.
        detail: String,
    },
    /// A link to a folder that is already being walked (a symbolic link loop).
    SymlinkLoop {
        /// Where the link leads.
        target: PathBuf,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotDicom => f.write_str("not a DICOM file"),
            SkipReason::Dicomdir => f.write_str("DICOMDIR (media directory, no images)"),
            SkipReason::NotMr { modality } => write!(f, "not MR (Modality {modality})"),
            SkipReason::NotAnImage { sop_class_uid } => {
                write!(f, "not an image (SOP class {sop_class_uid})")
            }
            SkipReason::NoGeometry { detail } => write!(f, "no usable geometry: {detail}"),
            SkipReason::Unreadable { error } => write!(f, "unreadable: {error}"),
            SkipReason::NotInLayout => f.write_str("not part of the expected file layout"),
            SkipReason::Inconsistent { detail } => write!(f, "inconsistent: {detail}"),
            SkipReason::Corrupt { detail } => write!(f, "corrupt or truncated: {detail}"),
            SkipReason::OverLimit { detail } => write!(f, "over a load limit: {detail}"),
            SkipReason::Duplicate { of, detail } => {
                write!(f, "duplicate of {} ({detail})", of.display())
            }
            SkipReason::SymlinkLoop { target } => {
                write!(f, "symbolic link loop back to {}", target.display())
            }
        }
    }
}

/// The outcome for one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FileOutcome {
    /// The file's images are part of a study.
    Used {
        /// How many 2-D images it contributed.
        images: usize,
        /// Anything worth knowing about how it was used.
        note: Option<String>,
    },
    /// The file was skipped.
    Skipped(SkipReason),
}

/// One line of a source's report: a file and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// What happened to it.
    pub outcome: FileOutcome,
}

impl FileReport {
    /// A used file.
    pub fn used(path: PathBuf, images: usize) -> Self {
        Self {
            path,
            outcome: FileOutcome::Used { images, note: None },
        }
    }

    /// A skipped file.
    pub fn skipped(path: PathBuf, reason: SkipReason) -> Self {
        Self {
            path,
            outcome: FileOutcome::Skipped(reason),
        }
    }

    /// The skip reason, when skipped.
    pub fn skip_reason(&self) -> Option<&SkipReason> {
        match &self.outcome {
            FileOutcome::Skipped(r) => Some(r),
            FileOutcome::Used { .. } => None,
        }
    }
}

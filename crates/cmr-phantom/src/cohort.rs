//! Writing studies and cohorts to disk: DICOM (one file per image), UK Biobank-style NIfTI
//! and the JSON manifest, with progress reported through an injectable [`ProgressReporter`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::PhantomConfig;
use crate::dicom::{encode_image, write_atomic};
use crate::geometry_source::write_nifti;
use crate::subject::{instance_uid, Subject, SyntheticStudy};
use crate::PhantomError;

/// Receives progress while a cohort is generated (the library never prints).
pub trait ProgressReporter: Sync {
    /// Generation of `total` subjects begins.
    fn started(&self, total: usize) {
        let _ = total;
    }

    /// Subject `done` of `total` (1-based count) has been written.
    fn subject_written(&self, done: usize, total: usize, subject_id: &str) {
        let _ = (done, total, subject_id);
    }
}

/// A reporter that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressReporter for NoProgress {}

/// What to write for each subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFormats {
    /// One DICOM file per image under `dicom/`.
    pub dicom: bool,
    /// UK Biobank-style NIfTI files under `nifti/`.
    pub nifti: bool,
}

impl Default for OutputFormats {
    fn default() -> Self {
        Self {
            dicom: true,
            nifti: true,
        }
    }
}

/// A cohort to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortSpec {
    /// Number of subjects.
    pub subjects: usize,
    /// Cohort seed (subject `i` is fully determined by the seed, `i` and the configuration).
    pub seed: u64,
    /// Index of the first subject (to extend a cohort).
    pub first_index: u64,
    /// Acquisition protocol.
    pub config: PhantomConfig,
    /// Output formats.
    pub formats: OutputFormats,
}

/// One written subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenSubject {
    /// Subject identifier (folder name).
    pub subject_id: String,
    /// Index in the cohort.
    pub index: u64,
    /// The subject folder.
    pub dir: PathBuf,
    /// Number of DICOM files written.
    pub dicom_files: usize,
    /// NIfTI files written.
    pub nifti_files: Vec<PathBuf>,
    /// LV ejection fraction (from the manifest).
    pub lv_ef: f64,
}

/// The result of [`write_cohort`], also written as `cohort.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortSummary {
    /// The specification.
    pub spec: CohortSpec,
    /// Every subject written.
    pub subjects: Vec<WrittenSubject>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

fn create_dir(dir: &Path) -> Result<(), PhantomError> {
    std::fs::create_dir_all(dir).map_err(|e| PhantomError::io("creating", dir, e))
}

/// Writes one rendered study into `dir`: `dicom/<NN>_<SeriesDescription>/IM_<phase>.dcm`,
/// `nifti/*.nii.gz` (each when asked) and `manifest.json` (listing the DICOM files only when
/// they were written). Every file appears atomically.
///
/// # Errors
/// [`PhantomError::Io`], [`PhantomError::Dicom`], [`PhantomError::Geometry`] (NIfTI) or
/// [`PhantomError::Manifest`] naming the file that failed.
pub fn write_study(
    study: &SyntheticStudy,
    dir: &Path,
    formats: OutputFormats,
) -> Result<WrittenSubject, PhantomError> {
    create_dir(dir)?;
    let m = &study.manifest;
    let mut dicom_files = 0;
    if formats.dicom {
        let jobs: Vec<(usize, usize)> = study
            .series
            .iter()
            .enumerate()
            .flat_map(|(i, s)| (0..s.images.dim().0).map(move |p| (i, p)))
            .collect();
        for record in &m.series {
            if let Some(first) = record.dicom_files.first() {
                let folder = dir.join(first);
                if let Some(parent) = folder.parent() {
                    create_dir(parent)?;
                }
            }
        }
        jobs.par_iter().try_for_each(|&(i, phase)| {
            let series = &study.series[i];
            let record = &m.series[i];
            let path = dir.join(&record.dicom_files[phase]);
            let uid = instance_uid(m.seed, m.index, series.planned.series_number, phase);
            let bytes =
                encode_image(m, series, phase, &uid).map_err(|message| PhantomError::Dicom {
                    path: path.clone(),
                    series: record.description.clone(),
                    message,
                })?;
            write_atomic(&path, &bytes)
        })?;
        dicom_files = jobs.len();
    }
    let nifti_files = if formats.nifti {
        write_nifti(study, &dir.join("nifti"))?
    } else {
        Vec::new()
    };
    let path = dir.join("manifest.json");
    // The manifest lists only files that exist.
    let mut written = m.clone();
    if !formats.dicom {
        for s in &mut written.series {
            s.dicom_files.clear();
        }
    }
    let json = serde_json::to_vec_pretty(&written).map_err(|source| PhantomError::Manifest {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &json)?;
    Ok(WrittenSubject {
        subject_id: m.subject_id.clone(),
        index: m.index,
        dir: dir.to_path_buf(),
        dicom_files,
        nifti_files,
        lv_ef: m.volumes.lv_ef,
    })
}

/// Generates and writes a cohort into `out` (one folder per subject plus `cohort.json`).
/// Subjects are generated one after another, each rendered and written in parallel.
///
/// ```
/// use cmr_phantom::{write_cohort, CohortSpec, NoProgress, OutputFormats, PhantomConfig};
/// let out = std::env::temp_dir().join(format!("cmr-phantom-doc-{}", std::process::id()));
/// let spec = CohortSpec {
///     subjects: 1,
///     seed: 5,
///     first_index: 0,
///     config: PhantomConfig { sa_slice_range: [8, 8], ..PhantomConfig::small(2) },
///     formats: OutputFormats { dicom: true, nifti: false },
/// };
/// let summary = write_cohort(&spec, &out, &NoProgress)?;
/// assert_eq!(summary.subjects[0].dicom_files, (8 + 3) * 2);
/// assert!(out.join("PH00000/manifest.json").is_file());
/// # std::fs::remove_dir_all(&out).unwrap();
/// # Ok::<(), cmr_phantom::PhantomError>(())
/// ```
///
/// # Errors
/// As [`Subject::new`] and [`write_study`]; also when `out` or `cohort.json` cannot be
/// written.
pub fn write_cohort(
    spec: &CohortSpec,
    out: &Path,
    reporter: &dyn ProgressReporter,
) -> Result<CohortSummary, PhantomError> {
    spec.config.validate()?;
    create_dir(out)?;
    let start = Instant::now();
    reporter.started(spec.subjects);
    let mut subjects = Vec::with_capacity(spec.subjects);
    for i in 0..spec.subjects {
        let index = spec.first_index + i as u64;
        let subject = Subject::new(&spec.config, spec.seed, index)?;
        let study = subject.render();
        let written = write_study(&study, &out.join(subject.id()), spec.formats)?;
        reporter.subject_written(i + 1, spec.subjects, &written.subject_id);
        subjects.push(written);
    }
    let summary = CohortSummary {
        spec: spec.clone(),
        subjects,
        seconds: start.elapsed().as_secs_f64(),
    };
    let path = out.join("cohort.json");
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| PhantomError::Manifest {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &json)?;
    Ok(summary)
}

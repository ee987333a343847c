//! UK Biobank-style NIfTI studies: one folder per subject holding
//!
//! | file | content |
//! |---|---|
//! | `sa.nii.gz` | SA cine, `(cols, rows, slices, frames)` |
//! | `sa_ED.nii.gz`, `sa_ES.nii.gz` | the SA stack at end-diastole / end-systole (3-D) |
//! | `label_sa_ED.nii.gz`, `label_sa_ES.nii.gz` | their ground-truth label maps |
//! | `label_sa.nii.gz` | optional: label maps of every cine frame (4-D) |
//! | `la_2ch*`, `la_3ch*`, `la_4ch*` | the same for each long-axis view |
//!
//! [`NiftiFolder`] reads such folders into [`Study`]s (a [`StudySource`]);
//! [`write_ukbb_study`] writes a study in this layout.
//!
//! # Which cine frame is ED or ES
//!
//! A phase image `<view>_ED`/`_ES` is a copy of one frame of the cine `<view>`. Its frame is
//! found by this rule, in order:
//!
//! 1. the phase file's description says `frame N` (what [`write_ukbb_study`] writes): frame N;
//! 2. otherwise the cine frame whose voxels equal the phase image exactly (both files are
//!    read once, when the folder is opened);
//! 3. otherwise (no frame matches) the phase image is added to every slice as an extra frame
//!    after the cine frames, tagged with its phase and without a trigger time, and the file's
//!    report says so.
//!
//! Without a cine file, the phase images alone form the series (ED frame, then ES frame).
//! `label_<view>_ED` labels the frame tagged ED (likewise ES); a label whose phase has no
//! image is reported and skipped. Phases are tagged on [`Frame::phase`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ndarray::{Array2, Array3, Array4, Axis};
use rayon::prelude::*;

use crate::error::GeometryError;
use crate::limits::LoadLimits;
use crate::nifti_file::{
    read_geometry_with, read_volume_with, volume_image, write_volume, NiftiGeometry,
    NiftiWriteOptions,
};
use crate::report::{FileOutcome, FileReport, SkipReason};
use crate::source::StudySource;
use crate::study::{CardiacPhase, Frame, PixelRef, Series, Slice, Study, View};
use crate::walk::walk;
use crate::ImagePlane;

const PHASES: [CardiacPhase; 2] = [CardiacPhase::EndDiastole, CardiacPhase::EndSystole];

/// Affine columns of files that belong together may differ this much (mm; the affine is
/// stored as `f32`).
const SAME_GEOMETRY_MM: f64 = 1e-2;

/// How many decoded volumes [`NiftiFolder`] keeps for repeated image loads.
const CACHED_VOLUMES: usize = 4;

/// The files of one view in one subject folder.
#[derive(Debug, Default)]
struct ViewFiles {
    cine: Option<PathBuf>,
    phase: BTreeMap<&'static str, PathBuf>,
    phase_label: BTreeMap<&'static str, PathBuf>,
    cine_label: Option<PathBuf>,
}

fn strip_nifti_ext(name: &str) -> Option<&str> {
    name.strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
}

/// Sorts the NIfTI files of a folder into views; returns them and the unknown files.
fn classify_files(files: &[PathBuf]) -> (BTreeMap<View, ViewFiles>, Vec<PathBuf>) {
    let mut views: BTreeMap<View, ViewFiles> = BTreeMap::new();
    let mut unknown = Vec::new();
    'file: for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(stem) = strip_nifti_ext(&name) else {
            continue;
        };
        for view in View::CARDIAC {
            let v = view.file_stem();
            let entry = || ViewFiles::default();
            if stem == v {
                views.entry(view).or_insert_with(entry).cine = Some(path.clone());
                continue 'file;
            }
            if stem == format!("label_{v}") {
                views.entry(view).or_insert_with(entry).cine_label = Some(path.clone());
                continue 'file;
            }
            for p in PHASES {
                let ph = p.short_name();
                if stem == format!("{v}_{ph}") {
                    let e = views.entry(view).or_insert_with(entry);
                    e.phase.insert(ph, path.clone());
                    continue 'file;
                }
                if stem == format!("label_{v}_{ph}") {
                    let e = views.entry(view).or_insert_with(entry);
                    e.phase_label.insert(ph, path.clone());
                    continue 'file;
                }
            }
        }
        unknown.push(path.clone());
    }
    (views, unknown)
}

fn same_geometry(a: &NiftiGeometry, b: &NiftiGeometry) -> Result<(), String> {
    if a.dims[..3] != b.dims[..3] {
        return Err(format!(
            "size {:?} differs from {:?}",
            &b.dims[..3],
            &a.dims[..3]
        ));
    }
    for j in 0..4 {
        let d = (a.affine.columns[j] - b.affine.columns[j]).norm();
        if d > SAME_GEOMETRY_MM {
            return Err(format!("affine column {j} differs by {d:.4} mm"));
        }
    }
    Ok(())
}

/// `frame N` in a description.
fn frame_hint(description: &str) -> Option<usize> {
    let rest = &description[description.find("frame ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// How a file that cannot be used is reported.
fn skip_reason(e: &GeometryError) -> SkipReason {
    match e {
        GeometryError::Corrupt { detail, .. } => SkipReason::Corrupt {
            detail: detail.clone(),
        },
        GeometryError::LimitExceeded {
            limit, value, max, ..
        } => SkipReason::OverLimit {
            detail: format!("{limit} is {value}, limit {max}"),
        },
        other => SkipReason::Unreadable {
            error: other.to_string(),
        },
    }
}

/// Builds one view's series from its files, pushing a report line per file.
fn read_view(
    view: View,
    files: &ViewFiles,
    report: &mut Vec<FileReport>,
    limits: &LoadLimits,
) -> Option<Series> {
    let read_geometry = |p: &Path| read_geometry_with(p, limits);
    let stem = view.file_stem();
    let skip = |report: &mut Vec<FileReport>, path: &Path, reason: SkipReason| {
        report.push(FileReport::skipped(path.to_path_buf(), reason));
    };
    // The reference geometry: the cine, else the ED image, else the ES image.
    let mut cine_geometry = None;
    if let Some(cine) = &files.cine {
        match read_geometry(cine) {
            Ok(g) => cine_geometry = Some(g),
            Err(e) => skip(report, cine, skip_reason(&e)),
        }
    }
    let mut phase_geometry: BTreeMap<&'static str, (PathBuf, NiftiGeometry)> = BTreeMap::new();
    for (ph, path) in &files.phase {
        match read_geometry(path) {
            Ok(g) => {
                let reference = cine_geometry
                    .as_ref()
                    .or_else(|| phase_geometry.values().next().map(|(_, g)| g));
                match reference.map(|r| same_geometry(r, &g)) {
                    Some(Err(detail)) => {
                        skip(report, path, SkipReason::Inconsistent { detail });
                    }
                    _ => {
                        phase_geometry.insert(ph, (path.clone(), g));
                    }
                }
            }
            Err(e) => skip(report, path, skip_reason(&e)),
        }
    }
    let Some(reference) = cine_geometry
        .as_ref()
        .or_else(|| phase_geometry.values().next().map(|(_, g)| g))
        .cloned()
    else {
        for p in files.phase_label.values().chain(&files.cine_label) {
            skip(
                report,
                p,
                SkipReason::Inconsistent {
                    detail: format!("no readable {stem} image for this label"),
                },
            );
        }
        return None;
    };
    let planes = match reference.planes() {
        Ok(p) => p,
        Err(e) => {
            let path = files
                .cine
                .clone()
                .or_else(|| phase_geometry.values().next().map(|(p, _)| p.clone()))
                .unwrap_or_default();
            skip(
                report,
                &path,
                SkipReason::NoGeometry {
                    detail: e.to_string(),
                },
            );
            return None;
        }
    };
    let mut slices: Vec<Slice> = planes
        .into_iter()
        .map(|plane| Slice {
            plane,
            frames: Vec::new(),
        })
        .collect();

    // Cine frames.
    if let (Some(cine), Some(g)) = (&files.cine, &cine_geometry) {
        for (k, s) in slices.iter_mut().enumerate() {
            for t in 0..g.times() {
                let mut f = Frame::new(PixelRef::Nifti {
                    path: cine.clone(),
                    slice: k,
                    time: t,
                });
                f.trigger_time_ms = g.frame_interval_ms.map(|dt| dt * t as f64);
                s.frames.push(f);
            }
        }
        report.push(FileReport::used(cine.clone(), g.slices() * g.times()));
    }

    // Phase images: find or add their frame.
    let mut cine_volume: Option<Array4<f32>> = None;
    let mut phase_frame: BTreeMap<&'static str, usize> = BTreeMap::new();
    for p in PHASES {
        let ph = p.short_name();
        let Some((path, g)) = phase_geometry.get(ph) else {
            continue;
        };
        let mut note = None;
        let frame = match (&files.cine, &cine_geometry) {
            (Some(cine), Some(cg)) => {
                let hinted = frame_hint(&g.description).filter(|t| *t < cg.times());
                let found = match hinted {
                    Some(t) => Some(t),
                    None => {
                        // Compare voxels; a file that cannot be read is reported, the rest of
                        // the study still loads.
                        let compared = (|| -> Result<Option<usize>, GeometryError> {
                            if cine_volume.is_none() {
                                cine_volume = Some(read_volume_with(cine, limits)?.1);
                            }
                            let (_, img) = read_volume_with(path, limits)?;
                            let img = img.index_axis(Axis(0), 0).to_owned();
                            Ok(cine_volume
                                .as_ref()
                                .and_then(|v| v.outer_iter().position(|frame| frame == img)))
                        })();
                        match compared {
                            Ok(f) => f,
                            Err(e) => {
                                skip(report, path, skip_reason(&e));
                                continue;
                            }
                        }
                    }
                };
                match found {
                    Some(t) => t,
                    None => {
                        note = Some(format!(
                            "matches no frame of {}; added as an extra {ph} frame",
                            cine.display()
                        ));
                        slices[0].frames.len()
                    }
                }
            }
            _ => slices[0].frames.len(),
        };
        for (k, s) in slices.iter_mut().enumerate() {
            if frame == s.frames.len() {
                s.frames.push(Frame::new(PixelRef::Nifti {
                    path: path.clone(),
                    slice: k,
                    time: 0,
                }));
            }
            s.frames[frame].phase = Some(p);
        }
        phase_frame.insert(ph, frame);
        report.push(FileReport {
            path: path.clone(),
            outcome: FileOutcome::Used {
                images: slices.len(),
                note,
            },
        });
    }

    // Labels of every cine frame.
    if let Some(path) = &files.cine_label {
        let check =
            read_geometry(path)
                .map_err(|e| e.to_string())
                .and_then(|g| match &cine_geometry {
                    None => Err(format!("no {stem} cine to label")),
                    Some(cg) if g.times() != cg.times() => Err(format!(
                        "{} label frames for {} cine frames",
                        g.times(),
                        cg.times()
                    )),
                    Some(cg) => same_geometry(cg, &g),
                });
        match check {
            Ok(()) => {
                let times = cine_geometry.as_ref().map_or(0, NiftiGeometry::times);
                for (k, s) in slices.iter_mut().enumerate() {
                    for (t, f) in s.frames.iter_mut().take(times).enumerate() {
                        f.label = Some(PixelRef::Nifti {
                            path: path.clone(),
                            slice: k,
                            time: t,
                        });
                    }
                }
                report.push(FileReport::used(path.clone(), slices.len() * times));
            }
            Err(detail) => skip(report, path, SkipReason::Inconsistent { detail }),
        }
    }

    // Labels of the phase frames.
    for (ph, path) in &files.phase_label {
        let Some(&frame) = phase_frame.get(ph) else {
            skip(
                report,
                path,
                SkipReason::Inconsistent {
                    detail: format!("no {stem}_{ph} image says which frame this labels"),
                },
            );
            continue;
        };
        match read_geometry(path)
            .map_err(|e| e.to_string())
            .and_then(|g| same_geometry(&reference, &g))
        {
            Ok(()) => {
                for (k, s) in slices.iter_mut().enumerate() {
                    s.frames[frame].label = Some(PixelRef::Nifti {
                        path: path.clone(),
                        slice: k,
                        time: 0,
                    });
                }
                report.push(FileReport::used(path.clone(), slices.len()));
            }
            Err(detail) => skip(report, path, SkipReason::Inconsistent { detail }),
        }
    }

    let description = files
        .cine
        .as_ref()
        .or_else(|| phase_geometry.values().next().map(|(p, _)| p))
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(Series::new(view, stem, description, slices))
}

/// Reads one subject folder; `Ok(None)` when it holds no recognised file.
fn read_study(
    root: &Path,
    dir: &Path,
    files: &[PathBuf],
    limits: &LoadLimits,
) -> (Option<Study>, Vec<FileReport>) {
    let (views, unknown) = classify_files(files);
    let mut report: Vec<FileReport> = unknown
        .into_iter()
        .map(|p| FileReport::skipped(p, SkipReason::NotInLayout))
        .collect();
    if views.is_empty() {
        return (None, report);
    }
    let mut series = Vec::new();
    for (view, vf) in &views {
        if let Some(s) = read_view(*view, vf, &mut report, limits) {
            series.push(s);
        }
    }
    let uid = match dir.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string()),
    };
    (
        Some(Study {
            uid,
            patient_id: None,
            series,
            dropped: Vec::new(),
        }),
        report,
    )
}

/// Folders with the NIfTI files directly in them.
type NiftiFolders = Vec<(PathBuf, Vec<PathBuf>)>;

/// Every folder under `root` (itself included) with the NIfTI files directly in it, and
/// the folders, links and files that could not be walked.
fn nifti_folders(root: &Path) -> Result<(NiftiFolders, Vec<FileReport>), GeometryError> {
    let listing = walk(root, true)?;
    let folders = listing
        .folders
        .into_iter()
        .map(|(dir, files)| {
            let nifti: Vec<PathBuf> = files
                .into_iter()
                .filter(|f| {
                    f.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(strip_nifti_ext)
                        .is_some()
                })
                .collect();
            (dir, nifti)
        })
        .filter(|(_, files)| !files.is_empty())
        .collect();
    Ok((folders, listing.problems))
}

/// A folder of UK Biobank-style NIfTI studies (see the [module docs](self)), as a
/// [`StudySource`]. Every folder under the root that holds recognised files is one study,
/// named by its path relative to the root.
#[derive(Debug)]
pub struct NiftiFolder {
    root: PathBuf,
    studies: Vec<Study>,
    report: Vec<FileReport>,
    cache: Mutex<Vec<(PathBuf, Arc<Array4<f32>>)>>,
    limits: LoadLimits,
}

impl NiftiFolder {
    /// Finds and reads every study under `root` (folders in parallel) with
    /// [`LoadLimits::default`]. Unusable files are skipped and listed in
    /// [`NiftiFolder::report`].
    ///
    /// # Errors
    /// [`GeometryError::Walk`] when `root` cannot be listed.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, GeometryError> {
        Self::open_with(root, &LoadLimits::default())
    }

    /// [`NiftiFolder::open`] with explicit limits, applied to every header read and every
    /// volume loaded. Unreadable, corrupt or over-limit files, folders that cannot be listed
    /// and symbolic link loops are reported; the rest of the folder still loads.
    ///
    /// # Errors
    /// [`GeometryError::Walk`] when `root` cannot be listed.
    pub fn open_with(root: impl AsRef<Path>, limits: &LoadLimits) -> Result<Self, GeometryError> {
        let root = root.as_ref().to_path_buf();
        let (folders, problems) = nifti_folders(&root)?;
        let results: Vec<_> = folders
            .par_iter()
            .map(|(dir, files)| read_study(&root, dir, files, limits))
            .collect();
        let mut studies = Vec::new();
        let mut report = problems;
        for (study, r) in results {
            studies.extend(study);
            report.extend(r);
        }
        Ok(Self {
            root,
            studies,
            report,
            cache: Mutex::new(Vec::new()),
            limits: *limits,
        })
    }

    /// The folder this source reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// One line per NIfTI file found: used (with how many images) or skipped (and why).
    pub fn report(&self) -> &[FileReport] {
        &self.report
    }

    fn volume(&self, path: &Path) -> Result<Arc<Array4<f32>>, GeometryError> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = cache.iter().position(|(p, _)| p == path) {
                let hit = cache.remove(i);
                let v = hit.1.clone();
                cache.push(hit);
                return Ok(v);
            }
        }
        // Decode outside the lock so other threads can load other files meanwhile.
        let (_, v) = read_volume_with(path, &self.limits)?;
        let v = Arc::new(v);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_VOLUMES {
            cache.remove(0);
        }
        cache.push((path.to_path_buf(), v.clone()));
        Ok(v)
    }

    fn image(&self, r: &PixelRef) -> Result<Array2<f32>, GeometryError> {
        match r {
            PixelRef::Nifti { path, slice, time } => {
                volume_image(&*self.volume(path)?, *slice, *time, path)
            }
            other => Err(GeometryError::ForeignPixelRef {
                reference: other.to_string(),
                source_kind: "NIfTI folder",
            }),
        }
    }
}

/// Converts label values to `u8`, refusing anything that is not an integer in `0..=255`.
fn to_labels(values: Array2<f32>, what: &dyn Fn() -> String) -> Result<Array2<u8>, GeometryError> {
    if let Some(bad) = values
        .iter()
        .find(|v| !(v.fract() == 0.0 && (0.0..=255.0).contains(*v)))
    {
        return Err(GeometryError::BadLabelValue {
            what: what(),
            value: f64::from(*bad),
        });
    }
    Ok(values.mapv(|v| v as u8))
}

impl StudySource for NiftiFolder {
    fn studies(&self) -> &[Study] {
        &self.studies
    }

    fn load_image(&self, image: &PixelRef) -> Result<Array2<f32>, GeometryError> {
        self.image(image)
    }

    fn load_label(&self, label: &PixelRef) -> Result<Array2<u8>, GeometryError> {
        to_labels(self.image(label)?, &|| label.to_string())
    }
}

/// Options for [`write_ukbb_study`].
#[derive(Debug, Clone, PartialEq)]
pub struct UkbbWriteOptions {
    /// Slice step (mm) recorded for single-slice (long-axis) volumes; UK Biobank long-axis
    /// cines are 6 mm slices.
    pub single_slice_step_mm: f64,
}

impl Default for UkbbWriteOptions {
    fn default() -> Self {
        Self {
            single_slice_step_mm: 6.0,
        }
    }
}

/// Writes the cardiac views of `study` into `dir` in the UK Biobank layout (see the
/// [module docs](self)), loading pixels from `source`; returns the files written.
///
/// For each SA/2Ch/3Ch/4Ch series: `<view>.nii.gz` (every frame, `f32`); `<view>_ED/ES.nii.gz`
/// for each phase tagged on the same frame index in every slice (description `frame N`);
/// `label_<view>_ED/ES.nii.gz` (`u8`) when that frame is labelled on every slice; and
/// `label_<view>.nii.gz` when every frame is labelled. [`View::Other`] series are not written.
///
/// # Errors
/// [`GeometryError::NotAVolume`] when a series' slices do not all have the same number of
/// frames or cannot share one affine; errors from `source` or from writing.
pub fn write_ukbb_study(
    dir: &Path,
    study: &Study,
    source: &dyn StudySource,
    opts: &UkbbWriteOptions,
) -> Result<Vec<PathBuf>, GeometryError> {
    std::fs::create_dir_all(dir).map_err(|source| GeometryError::Io {
        action: "creating",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for series in study.series.iter().filter(|s| s.view != View::Other) {
        let stem = series.view.file_stem();
        let Some(frames) = series.frames_per_slice().filter(|n| *n > 0) else {
            return Err(GeometryError::NotAVolume {
                what: format!("{} series {}", series.view, series.uid),
                reason: "slices have different numbers of frames (or none)".into(),
            });
        };
        let planes: Vec<ImagePlane> = series.slices.iter().map(|s| s.plane).collect();
        let (rows, cols) = (planes[0].rows(), planes[0].cols());
        let load = |r: &PixelRef| -> Result<Array2<f32>, GeometryError> {
            let a = source.load_image(r)?;
            check_shape(&a, rows, cols, r)?;
            Ok(a)
        };
        let mut cine = Array4::<f32>::zeros((frames, planes.len(), rows, cols));
        for (k, s) in series.slices.iter().enumerate() {
            for (t, f) in s.frames.iter().enumerate() {
                cine.slice_mut(ndarray::s![t, k, .., ..])
                    .assign(&load(&f.image)?);
            }
        }
        let base = NiftiWriteOptions {
            single_slice_step_mm: opts.single_slice_step_mm,
            frame_interval_ms: frame_interval(series),
            description: format!("cmr-ssl {} {}", series.view, series.description),
        };
        let path = dir.join(format!("{stem}.nii.gz"));
        write_volume(&path, &planes, cine.view(), &base)?;
        written.push(path);

        let labels_of = |t: usize| -> Result<Option<Array3<u8>>, GeometryError> {
            let mut out = Array3::<u8>::zeros((planes.len(), rows, cols));
            for (k, s) in series.slices.iter().enumerate() {
                let Some(r) = &s.frames[t].label else {
                    return Ok(None);
                };
                let a = source.load_label(r)?;
                check_shape(&a, rows, cols, r)?;
                out.index_axis_mut(Axis(0), k).assign(&a);
            }
            Ok(Some(out))
        };
        for p in PHASES {
            let Some(t) = series.phase_index(p) else {
                continue;
            };
            let ph = p.short_name();
            let opts_t = NiftiWriteOptions {
                frame_interval_ms: None,
                description: format!("cmr-ssl frame {t} of {stem}.nii.gz"),
                ..base.clone()
            };
            let path = dir.join(format!("{stem}_{ph}.nii.gz"));
            let img = cine.index_axis(Axis(0), t).insert_axis(Axis(0));
            write_volume(&path, &planes, img, &opts_t)?;
            written.push(path);
            if let Some(lab) = labels_of(t)? {
                let path = dir.join(format!("label_{stem}_{ph}.nii.gz"));
                write_volume(&path, &planes, lab.view().insert_axis(Axis(0)), &opts_t)?;
                written.push(path);
            }
        }
        let all_labelled = series
            .slices
            .iter()
            .all(|s| s.frames.iter().all(|f| f.label.is_some()));
        if all_labelled {
            let mut lab = Array4::<u8>::zeros((frames, planes.len(), rows, cols));
            for t in 0..frames {
                if let Some(l) = labels_of(t)? {
                    lab.index_axis_mut(Axis(0), t).assign(&l);
                }
            }
            let path = dir.join(format!("label_{stem}.nii.gz"));
            write_volume(&path, &planes, lab.view(), &base)?;
            written.push(path);
        }
    }
    Ok(written)
}

fn check_shape<T>(
    a: &Array2<T>,
    rows: usize,
    cols: usize,
    r: &PixelRef,
) -> Result<(), GeometryError> {
    if a.dim() != (rows, cols) {
        return Err(GeometryError::ShapeMismatch {
            what: r.to_string(),
            expected: vec![rows, cols],
            found: a.shape().to_vec(),
        });
    }
    Ok(())
}

/// The constant frame interval of a series, from the first slice's trigger times.
fn frame_interval(series: &Series) -> Option<f64> {
    let times: Option<Vec<f64>> = series
        .slices
        .first()?
        .frames
        .iter()
        .map(|f| f.trigger_time_ms)
        .collect();
    let times = times?;
    if times.len() < 2 {
        return None;
    }
    let dt = (times[times.len() - 1] - times[0]) / (times.len() - 1) as f64;
    (dt > 0.0).then_some(dt)
}

#[cfg(test)]
mod tests;

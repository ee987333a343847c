//! Scanning a folder of DICOM files: walk, read headers in parallel, report every file.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::header::{read_image_headers_with, ImageHeader};
use crate::error::GeometryError;
use crate::limits::LoadLimits;
use crate::report::FileReport;
use crate::walk::walk;

/// The result of reading every file's header under a folder.
#[derive(Debug, Clone, Default)]
pub struct HeaderScan {
    /// One entry per image (per frame of multi-frame files), in file order.
    pub headers: Vec<ImageHeader>,
    /// One entry per file: used (how many images) or skipped (why), in file order; then one
    /// per folder that could not be listed, symbolic link loop, dangling link or special file.
    pub report: Vec<FileReport>,
}

/// Every regular file under `root` (recursively, symbolic links followed, link loops not
/// entered), sorted.
///
/// # Errors
/// [`GeometryError::Walk`] when `root` cannot be listed.
pub fn list_files(root: &Path) -> Result<Vec<PathBuf>, GeometryError> {
    Ok(walk(root, false)?.files())
}

/// Reads the headers of `files`, on `threads` threads (`None`: rayon's global pool, one
/// thread per core; `Some(1)`: this thread only), with [`LoadLimits::default`].
///
/// # Errors
/// [`GeometryError::Io`] when a thread pool cannot be built.
pub fn read_headers(
    files: &[PathBuf],
    threads: Option<usize>,
) -> Result<HeaderScan, GeometryError> {
    read_headers_with(files, threads, &LoadLimits::default())
}

/// [`read_headers`] with explicit limits.
///
/// # Errors
/// [`GeometryError::Io`] when a thread pool cannot be built.
pub fn read_headers_with(
    files: &[PathBuf],
    threads: Option<usize>,
    limits: &LoadLimits,
) -> Result<HeaderScan, GeometryError> {
    let read = |path: &PathBuf| match read_image_headers_with(path, limits) {
        Ok(h) => (FileReport::used(path.clone(), h.len()), h),
        Err(reason) => (FileReport::skipped(path.clone(), reason), Vec::new()),
    };
    let results: Vec<(FileReport, Vec<ImageHeader>)> = match threads {
        Some(1) => files.iter().map(read).collect(),
        None => files.par_iter().map(read).collect(),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| GeometryError::Io {
                action: "starting header-reading threads for",
                path: PathBuf::from(format!("{} files", files.len())),
                source: std::io::Error::other(e),
            })?
            .install(|| files.par_iter().map(read).collect()),
    };
    let mut scan = HeaderScan::default();
    for (r, h) in results {
        scan.report.push(r);
        scan.headers.extend(h);
    }
    Ok(scan)
}

/// Walks `root` then reads every file's header (see [`scan_headers_with`]).
///
/// # Errors
/// As [`scan_headers_with`].
pub fn scan_headers(root: &Path, threads: Option<usize>) -> Result<HeaderScan, GeometryError> {
    scan_headers_with(root, threads, &LoadLimits::default())
}

/// Walks `root` (reporting unreadable folders, link loops and dangling links) and reads
/// every file's header with `limits`.
///
/// # Errors
/// [`GeometryError::Walk`] when `root` itself cannot be listed; [`GeometryError::Io`] when
/// a thread pool cannot be built.
pub fn scan_headers_with(
    root: &Path,
    threads: Option<usize>,
    limits: &LoadLimits,
) -> Result<HeaderScan, GeometryError> {
    let listing = walk(root, false)?;
    let mut scan = read_headers_with(&listing.files(), threads, limits)?;
    scan.report.extend(listing.problems);
    Ok(scan)
}

//! Scanning a folder of DICOM files: walk, read headers in parallel, report every file.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::header::{read_image_headers, ImageHeader};
use crate::error::GeometryError;
use crate::report::FileReport;

/// The result of reading every file's header under a folder.
#[derive(Debug, Clone, Default)]
pub struct HeaderScan {
    /// One entry per image (per frame of multi-frame files), in file order.
    pub headers: Vec<ImageHeader>,
    /// One entry per file: used (how many images) or skipped (why), in file order.
    pub report: Vec<FileReport>,
}

/// Every regular file under `root` (recursively, symbolic links followed), sorted.
///
/// # Errors
/// [`GeometryError::Walk`] when a folder cannot be listed.
pub fn list_files(root: &Path) -> Result<Vec<PathBuf>, GeometryError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let walk_err = |source| GeometryError::Walk {
            path: dir.clone(),
            source,
        };
        for entry in std::fs::read_dir(&dir).map_err(walk_err)? {
            let path = entry.map_err(walk_err)?.path();
            // `metadata` follows links; a dangling link is simply not a file.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) if m.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the headers of `files`, on `threads` threads (`None`: rayon's global pool, one
/// thread per core; `Some(1)`: this thread only).
///
/// # Errors
/// [`GeometryError::Io`] when a thread pool cannot be built.
pub fn read_headers(
    files: &[PathBuf],
    threads: Option<usize>,
) -> Result<HeaderScan, GeometryError> {
    let read = |path: &PathBuf| match read_image_headers(path) {
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

/// [`list_files`] then [`read_headers`].
///
/// # Errors
/// As those two.
pub fn scan_headers(root: &Path, threads: Option<usize>) -> Result<HeaderScan, GeometryError> {
    read_headers(&list_files(root)?, threads)
}

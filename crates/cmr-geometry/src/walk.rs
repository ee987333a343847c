//! Listing the files under a folder for the loaders: symbolic links are followed, but a link
//! back into a folder already being walked (a loop) is reported and not entered; folders
//! that cannot be listed, dangling links and special files are reported, and the walk goes
//! on with everything else.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::GeometryError;
use crate::report::{FileReport, SkipReason};

/// The regular files found, folder by folder, and what could not be walked.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// `(folder, its regular files sorted)`, folders sorted.
    pub folders: Vec<(PathBuf, Vec<PathBuf>)>,
    /// A line per unreadable folder, link loop, dangling link or special file.
    pub problems: Vec<FileReport>,
}

impl Listing {
    /// Every file, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self
            .folders
            .iter()
            .flat_map(|(_, f)| f.iter().cloned())
            .collect();
        all.sort();
        all
    }
}

fn unreadable(path: PathBuf, error: impl std::fmt::Display) -> FileReport {
    FileReport::skipped(
        path,
        SkipReason::Unreadable {
            error: error.to_string(),
        },
    )
}

/// Walks `root`. Names starting with `.` are passed over when `skip_hidden`.
///
/// # Errors
/// [`GeometryError::Walk`] only when `root` itself cannot be listed.
pub(crate) fn walk(root: &Path, skip_hidden: bool) -> Result<Listing, GeometryError> {
    let mut listing = Listing::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    if let Ok(c) = std::fs::canonicalize(root) {
        seen.insert(c);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(source) if dir == root => {
                return Err(GeometryError::Walk { path: dir, source });
            }
            Err(e) => {
                listing.problems.push(unreadable(dir, e));
                continue;
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    listing.problems.push(unreadable(dir.clone(), e));
                    continue;
                }
            };
            if skip_hidden && entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            // `metadata` follows links.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => match std::fs::canonicalize(&path) {
                    Ok(c) if !seen.insert(c.clone()) => listing.problems.push(FileReport::skipped(
                        path,
                        SkipReason::SymlinkLoop { target: c },
                    )),
                    Ok(_) => stack.push(path),
                    Err(e) => listing.problems.push(unreadable(path, e)),
                },
                Ok(m) if m.is_file() => files.push(path),
                Ok(_) => listing.problems.push(unreadable(
                    path,
                    "not a regular file (a device, socket or pipe)",
                )),
                Err(e) => {
                    let what = match std::fs::symlink_metadata(&path) {
                        Ok(l) if l.file_type().is_symlink() => {
                            format!("dangling or looping symbolic link: {e}")
                        }
                        _ => e.to_string(),
                    };
                    listing.problems.push(unreadable(path, what));
                }
            }
        }
        files.sort();
        listing.folders.push((dir, files));
    }
    listing.folders.sort();
    listing.problems.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn loops_and_dangling_links_are_reported_and_everything_else_listed() {
        let root = std::env::temp_dir().join(format!("cmr-geometry-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f1"), b"x").unwrap();
        std::fs::write(root.join("a/f2"), b"x").unwrap();
        std::fs::write(root.join("a/.hidden"), b"x").unwrap();
        std::os::unix::fs::symlink("..", root.join("a/b/up")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("a/dangling")).unwrap();
        let listing = walk(&root, true).unwrap();
        assert_eq!(
            listing.files(),
            vec![root.join("a/b/f1"), root.join("a/f2")]
        );
        let problems: Vec<_> = listing
            .problems
            .iter()
            .map(|r| (r.path.clone(), r.skip_reason().cloned().unwrap()))
            .collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, root.join("a/b/up"));
        assert!(matches!(&problems[0].1, SkipReason::SymlinkLoop { target }
            if *target == std::fs::canonicalize(root.join("a")).unwrap()));
        assert_eq!(problems[1].0, root.join("a/dangling"));
        assert!(matches!(&problems[1].1, SkipReason::Unreadable { error }
            if error.contains("symbolic link")));
        assert_eq!(walk(&root, false).unwrap().files().len(), 3);
        assert!(walk(&root.join("missing"), true).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}

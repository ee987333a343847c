//! Atomic file output: the file is written under its final name inside a private temporary
//! folder next to the destination, flushed to disk, renamed into place, and the folder entry
//! flushed too, so a reader (or a crash, or a SIGKILL) never sees a half-written file. One
//! helper for every writer of this crate (raw bytes, DICOM, NIfTI, PNG), public so that the
//! crates built on this one write their outputs the same way.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("cmr-atomic-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! cmr_geometry::atomic::write_bytes(&dir.join("report.json"), b"{}")?;
//! assert_eq!(std::fs::read(dir.join("report.json"))?, b"{}");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use crate::error::GeometryError;

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> GeometryError {
    let path = path.to_path_buf();
    move |source| GeometryError::Io {
        action,
        path,
        source,
    }
}

/// A private folder next to the destination (removed on drop, with whatever is left in it).
struct TempSibling {
    dir: PathBuf,
}

impl Drop for TempSibling {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `path` atomically: `write` gets a temporary path with the same file name (so
/// writers that look at the extension, such as `.nii.gz`, behave the same) in a private
/// folder beside `path`; the result is synced, renamed over `path`, and the parent folder
/// synced.
///
/// # Errors
/// [`GeometryError::Io`] naming the step and file that failed, or `write`'s error; the
/// destination is then untouched and no temporary is left.
pub fn write_with(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), GeometryError>,
) -> Result<(), GeometryError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| GeometryError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"),
    })?;
    let temp = TempSibling {
        dir: parent.join(format!(
            ".tmp-{}-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )),
    };
    std::fs::create_dir(&temp.dir).map_err(io("creating", &temp.dir))?;
    let tmp = temp.dir.join(name);
    write(&tmp)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io("syncing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("renaming into place", path))?;
    // Make the rename itself durable (best effort: not every platform can open a folder).
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_with`]).
///
/// # Errors
/// [`GeometryError::Io`] naming the step and file that failed; the destination is untouched.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), GeometryError> {
    write_with(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(io("writing", tmp))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("cmr-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.bin");
        write_bytes(&path, b"first version").unwrap();
        write_bytes(&path, b"2nd").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2nd");
        // A failing writer leaves the old file and no temporary.
        let failed = write_with(&path, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(GeometryError::Io {
                action: "testing",
                path: tmp.to_path_buf(),
                source: std::io::Error::other("interrupted"),
            })
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"2nd");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
        assert!(write_bytes(&dir.join("no/such/dir/x"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

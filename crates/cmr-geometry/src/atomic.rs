//! Atomic file output: write to a temporary sibling, flush to disk, rename into place, so a
//! reader (or a crash) never sees a half-written file.

use std::io::Write;
use std::path::Path;

use crate::error::GeometryError;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder is written and
/// synced, then renamed over `path`.
///
/// # Errors
/// [`GeometryError::Io`] naming the step and file that failed; the destination is untouched.
pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), GeometryError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| GeometryError::Io {
            action,
            path: p,
            source,
        }
    };
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::File::create(&tmp)
        .map_err(io("creating", &tmp))
        .and_then(|mut f| {
            f.write_all(bytes).map_err(io("writing", &tmp))?;
            f.sync_all().map_err(io("syncing", &tmp))
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io("renaming into place", path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
        assert!(write_bytes(&dir.join("no/such/dir/x"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

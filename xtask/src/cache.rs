//! Where things live: the per-user cache (outside the repo) and the checkout's `.cmr-ssl/` links.

use std::path::{Path, PathBuf};

use crate::{fail, workspace_root, TaskError, TaskResult};

/// The PyTorch release whose libtorch `tch` 0.26 is built against.
pub const TORCH_VERSION: &str = "2.13.0";

/// Pinned pydicom wheel whose `pydicom/data/test_files` is our real-DICOM test corpus.
pub const PYDICOM_VERSION: &str = "3.0.2";
/// SHA-256 of `pydicom-3.0.2-py3-none-any.whl` as published on the package index.
pub const PYDICOM_WHEEL_SHA256: &str =
    "abf971a5440f84dbaf42c4b6758e30e62480902584f8b270b9a5d146e278a07b";

/// The cache root: `$CMR_SSL_CACHE`, else `$XDG_CACHE_HOME/cmr-ssl`, else `~/.cache/cmr-ssl`.
pub fn cache_root() -> TaskResult<PathBuf> {
    if let Some(dir) = non_empty_env("CMR_SSL_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = non_empty_env("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("cmr-ssl"));
    }
    match non_empty_env("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("cmr-ssl")),
        None => fail(
            "neither CMR_SSL_CACHE, XDG_CACHE_HOME nor HOME is set, so there is no place for the \
             libtorch cache. Set CMR_SSL_CACHE to a writable folder with ~6 GB free and re-run.",
        ),
    }
}

/// Reads an environment variable, treating unset and empty alike.
pub fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The venv holding the torch wheel (and, after `cargo xtask peers`, the Python peers).
pub fn venv_dir(cache: &Path) -> PathBuf {
    cache.join("venv")
}

/// The venv's Python interpreter.
pub fn venv_python(cache: &Path) -> PathBuf {
    venv_dir(cache).join("bin").join("python")
}

/// Folder holding the extracted pydicom test files.
pub fn pydicom_corpus_dir(cache: &Path) -> PathBuf {
    cache
        .join("corpus")
        .join(format!("pydicom-{PYDICOM_VERSION}"))
        .join("test_files")
}

/// The checkout's folder of links into the cache (git-ignored). `.cargo/config.toml` points
/// `LIBTORCH` and `CMR_SSL_PYDICOM_TEST_FILES` here, so a plain `cargo test` works after setup.
pub fn links_dir() -> PathBuf {
    workspace_root().join(".cmr-ssl")
}

/// Replaces (or creates) the symlink `link` so that it points at `target`, atomically.
pub fn point_link(link: &Path, target: &Path) -> TaskResult<()> {
    let parent = link.parent().expect("link paths have a parent");
    std::fs::create_dir_all(parent)
        .map_err(|e| TaskError(format!("cannot create {}: {e}", parent.display())))?;
    let tmp = parent.join(format!(
        ".{}.tmp{}",
        link.file_name().and_then(|n| n.to_str()).unwrap_or("link"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .and_then(|()| std::fs::rename(&tmp, link))
        .map_err(|e| {
            TaskError(format!(
                "cannot link {} -> {}: {e}",
                link.display(),
                target.display()
            ))
        })
}

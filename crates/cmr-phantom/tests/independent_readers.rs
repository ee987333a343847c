//! Independent readers: pydicom and SimpleITK (the Python peers installed by
//! `cargo xtask peers` into the cache venv) read a written study and agree with the manifest;
//! see `tests/support/check_phantom_files.py` for what is checked.
//!
//! Without the venv the test prints why and passes, unless `CMR_SSL_REQUIRE_CORPUS=1` (set by
//! `cargo xtask test` and `ci`), when it fails.

use std::path::PathBuf;
use std::process::Command;

use cmr_phantom::{write_study, OutputFormats, PhantomConfig, Subject};

/// The cache venv's Python: `CMR_SSL_PYTHON`, else `<cache>/venv/bin/python` with the cache
/// at `CMR_SSL_CACHE`, `$XDG_CACHE_HOME/cmr-ssl` or `~/.cache/cmr-ssl` (as `cargo xtask`
/// lays it out).
fn venv_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CMR_SSL_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var_os("CMR_SSL_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("cmr-ssl")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/cmr-ssl")))?;
    let python = cache.join("venv/bin/python");
    python.is_file().then_some(python)
}

fn skip_or_fail(why: &str) {
    if std::env::var("CMR_SSL_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("{why} (CMR_SSL_REQUIRE_CORPUS=1; run `cargo xtask peers`)");
    }
    eprintln!("SKIPPED independent reader check: {why}; run `cargo xtask peers` to enable it");
}

#[test]
fn pydicom_and_simpleitk_read_the_written_study() {
    let Some(python) = venv_python() else {
        skip_or_fail("no cache venv Python found");
        return;
    };
    let dir = std::env::temp_dir().join(format!("cmr-phantom-readers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = PhantomConfig {
        sa_slice_range: [8, 8],
        ..PhantomConfig::small(3)
    };
    let subject = Subject::new(&config, 21, 4).unwrap();
    let study = subject.render();
    write_study(&study, &dir, OutputFormats::default()).unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/check_phantom_files.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        skip_or_fail(&format!("the venv lacks a module: {stdout}"));
        return;
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    eprintln!("{}", stdout.trim());
    // 11 series x 3 phases, and 6 NIfTI files per view.
    assert!(
        stdout.contains("33 DICOM files and 24 NIfTI files of 1 subjects: OK"),
        "{stdout}"
    );
}

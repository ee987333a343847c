//! `cargo xtask setup`: libtorch from the PyPI torch wheel, plus the pinned DICOM test corpus.
//!
//! Idempotent: a valid cache is reused and only the checkout's links are refreshed.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::cache::{
    cache_root, links_dir, non_empty_env, point_link, pydicom_corpus_dir, venv_dir, venv_python,
    PYDICOM_VERSION, PYDICOM_WHEEL_SHA256, TORCH_VERSION,
};
use crate::{fail, run_step, TaskError, TaskResult};

/// What the set-up build needs: exported to every child `cargo` the xtask runs.
pub struct BuildEnv {
    /// The libtorch folder (has `lib/` and `include/`).
    pub libtorch: PathBuf,
    /// True when the user's own `LIBTORCH` is used instead of the cached wheel.
    pub user_libtorch: bool,
    /// The extracted pydicom test files.
    pub pydicom_test_files: PathBuf,
    /// The cache root.
    pub cache: PathBuf,
}

impl BuildEnv {
    /// Exports the environment to a child command.
    pub fn apply(&self, cmd: &mut Command) {
        // The cached wheel goes by the checkout link, the very value .cargo/config.toml gives
        // plain `cargo` commands: torch-sys reruns its build (minutes of C++) whenever LIBTORCH
        // changes, so xtask and plain builds sharing target/ must see the same string.
        let libtorch = if self.user_libtorch {
            self.libtorch.clone()
        } else {
            links_dir().join("libtorch")
        };
        cmd.env("LIBTORCH", libtorch)
            .env("CMR_SSL_PYDICOM_TEST_FILES", &self.pydicom_test_files)
            .env("CMR_SSL_CACHE", &self.cache)
            // The torch-sys build must not be steered elsewhere by a stray setting.
            .env_remove("LIBTORCH_USE_PYTORCH");
    }

    /// One line per location, printed at the end of `cargo xtask setup`.
    pub fn print_summary(&self) {
        let origin = if self.user_libtorch {
            "your LIBTORCH"
        } else {
            "cached wheel"
        };
        eprintln!("libtorch ({origin}): {}", self.libtorch.display());
        eprintln!("pydicom test files:  {}", self.pydicom_test_files.display());
        eprintln!(
            "checkout links:      {} (used by .cargo/config.toml, so plain `cargo test` works)",
            links_dir().display()
        );
    }
}

/// Installs what is missing and returns the build environment.
pub fn run() -> TaskResult<BuildEnv> {
    let cache = cache_root()?;
    std::fs::create_dir_all(&cache).map_err(|e| {
        TaskError(format!(
            "cannot create the cache folder {}: {e}. Set CMR_SSL_CACHE to a writable folder \
             (about 6 GB free) and re-run `cargo xtask setup`.",
            cache.display()
        ))
    })?;

    let (libtorch, user_libtorch) = match user_libtorch()? {
        Some(dir) => {
            eprintln!("==> using your LIBTORCH {}", dir.display());
            (dir, true)
        }
        None => (ensure_torch_wheel(&cache)?, false),
    };
    point_link(&links_dir().join("libtorch"), &libtorch)?;

    let pydicom_test_files = ensure_pydicom_corpus(&cache)?;
    point_link(&links_dir().join("pydicom-test-files"), &pydicom_test_files)?;

    Ok(BuildEnv {
        libtorch,
        user_libtorch,
        pydicom_test_files,
        cache,
    })
}

/// `cargo xtask where`.
pub fn print_where() -> TaskResult<()> {
    let cache = cache_root()?;
    println!("cache:          {}", cache.display());
    println!("venv:           {}", venv_dir(&cache).display());
    println!("pydicom corpus: {}", pydicom_corpus_dir(&cache).display());
    println!("checkout links: {}", links_dir().display());
    Ok(())
}

/// The user's own `LIBTORCH`, validated; `None` when unset or when it is the value our
/// `.cargo/config.toml` sets (the checkout's own link).
fn user_libtorch() -> TaskResult<Option<PathBuf>> {
    let Some(value) = non_empty_env("LIBTORCH") else {
        return Ok(None);
    };
    let dir = PathBuf::from(&value);
    if dir == links_dir().join("libtorch") {
        return Ok(None);
    }
    match libtorch_version(&dir) {
        Ok(v) if v == TORCH_VERSION => Ok(Some(dir)),
        Ok(v) => fail(format!(
            "LIBTORCH={value} holds libtorch {v}, but tch 0.26 needs libtorch {TORCH_VERSION}. \
             Point LIBTORCH at a {TORCH_VERSION} build, or unset it so that `cargo xtask setup` \
             installs the PyPI torch=={TORCH_VERSION} wheel into the cache."
        )),
        Err(why) => fail(format!(
            "LIBTORCH={value} is not a usable libtorch: {why}. LIBTORCH must name a folder with \
             lib/libtorch_cpu.so and include/torch (an unpacked libtorch {TORCH_VERSION} archive, \
             or the `torch` folder of a torch=={TORCH_VERSION} wheel in site-packages). Fix the \
             path, or unset LIBTORCH so that `cargo xtask setup` installs one into the cache."
        )),
    }
}

/// Reads the libtorch version of a folder: `build-version` (libtorch archives) or
/// `version.py` (the torch wheel). Errors say what is missing.
fn libtorch_version(dir: &Path) -> Result<String, String> {
    if !dir.is_dir() {
        return Err(format!("{} does not exist", dir.display()));
    }
    for needed in ["lib/libtorch_cpu.so", "include/torch"] {
        if !dir.join(needed).exists() {
            return Err(format!("{} has no {needed}", dir.display()));
        }
    }
    let raw = if let Ok(s) = std::fs::read_to_string(dir.join("build-version")) {
        s
    } else if let Ok(s) = std::fs::read_to_string(dir.join("version.py")) {
        s.lines()
            .find_map(|l| l.strip_prefix("__version__ = "))
            .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_string())
            .ok_or_else(|| format!("{}/version.py has no __version__", dir.display()))?
    } else {
        return Err(format!(
            "{} has neither build-version nor version.py, so its version is unknown",
            dir.display()
        ));
    };
    Ok(raw.trim().split('+').next().unwrap_or("").to_string())
}

/// The torch folder inside the cache venv's site-packages, installing the wheel if needed.
fn ensure_torch_wheel(cache: &Path) -> TaskResult<PathBuf> {
    if let Some(dir) = find_site_packages(cache).map(|sp| sp.join("torch")) {
        if libtorch_version(&dir).as_deref() == Ok(TORCH_VERSION) {
            return Ok(dir);
        }
    }
    ensure_venv(cache)?;
    eprintln!(
        "==> installing torch=={TORCH_VERSION} into {} (about 4.7 GB, a few minutes; once)",
        venv_dir(cache).display()
    );
    pip_install(cache, &[&format!("torch=={TORCH_VERSION}")]).map_err(|e| {
        TaskError(format!(
            "{e} The torch=={TORCH_VERSION} wheel (CUDA build, runs on CPU too) could not be \
             installed. Check free disk space (about 6 GB under {}) and that the Python package \
             index is reachable, then re-run `cargo xtask setup`. If you already have libtorch \
             {TORCH_VERSION}, set LIBTORCH to it instead.",
            cache.display()
        ))
    })?;
    let dir = find_site_packages(cache)
        .map(|sp| sp.join("torch"))
        .ok_or_else(|| TaskError("pip reported success but site-packages is missing".into()))?;
    libtorch_version(&dir)
        .map_err(|why| TaskError(format!("the installed torch wheel is unusable: {why}")))
        .and_then(|v| {
            if v == TORCH_VERSION {
                Ok(dir)
            } else {
                fail(format!("pip installed torch {v}, expected {TORCH_VERSION}"))
            }
        })
}

/// `<venv>/lib/python3.X/site-packages`, if the venv exists.
pub fn find_site_packages(cache: &Path) -> Option<PathBuf> {
    let lib = venv_dir(cache).join("lib");
    std::fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
}

/// Creates the venv with the system Python when it does not exist (or is broken).
pub fn ensure_venv(cache: &Path) -> TaskResult<()> {
    let python = venv_python(cache);
    if python_works(&python) {
        return Ok(());
    }
    let system_python = non_empty_env("PYTHON").unwrap_or_else(|| "python3".into());
    if !python_works(Path::new(&system_python)) {
        return fail(format!(
            "`{system_python}` was not found or does not run. `cargo xtask setup` needs Python 3 \
             (3.10 to 3.13) with the venv module and pip to install the PyTorch {TORCH_VERSION} \
             wheel that provides libtorch. Install it (Debian/Ubuntu: `apt install python3 \
             python3-venv python3-pip`) or name an interpreter with PYTHON=/path/to/python3, \
             then re-run. Alternatively set LIBTORCH to an existing libtorch {TORCH_VERSION}."
        ));
    }
    let venv = venv_dir(cache);
    run_step(
        &format!("{system_python} -m venv {}", venv.display()),
        Command::new(&system_python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )
    .map_err(|e| {
        TaskError(format!(
            "{e} Creating a Python virtual environment failed. On Debian/Ubuntu install the \
             venv module (`apt install python3-venv`), check that {} is writable, then re-run \
             `cargo xtask setup`.",
            cache.display()
        ))
    })
}

fn python_works(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)",
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `pip install <specs>` into the cache venv.
pub fn pip_install(cache: &Path, specs: &[&str]) -> TaskResult<()> {
    let mut cmd = Command::new(venv_python(cache));
    cmd.args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(specs);
    run_step(&format!("pip install {}", specs.join(" ")), &mut cmd)
}

/// Downloads the pinned pydicom wheel, checks its hash and extracts its test files.
fn ensure_pydicom_corpus(cache: &Path) -> TaskResult<PathBuf> {
    let dest = pydicom_corpus_dir(cache);
    let marker = dest.join(".verified");
    if marker.exists() {
        return Ok(dest);
    }
    ensure_venv(cache)?;
    let downloads = cache.join("downloads");
    let wheel = downloads.join(format!("pydicom-{PYDICOM_VERSION}-py3-none-any.whl"));
    if !wheel.exists() {
        let mut cmd = Command::new(venv_python(cache));
        cmd.args(["-m", "pip", "download", "--disable-pip-version-check"])
            .args(["--no-deps", "--only-binary=:all:", "-d"])
            .arg(&downloads)
            .arg(format!("pydicom=={PYDICOM_VERSION}"));
        run_step(
            &format!("pip download pydicom=={PYDICOM_VERSION}"),
            &mut cmd,
        )
        .map_err(|e| {
            TaskError(format!(
                "{e} The pinned DICOM test corpus (the test files inside the pydicom \
                 {PYDICOM_VERSION} wheel) could not be downloaded; check that the Python package \
                 index is reachable and re-run `cargo xtask setup`."
            ))
        })?;
    }
    let bytes = std::fs::read(&wheel)
        .map_err(|e| TaskError(format!("cannot read {}: {e}", wheel.display())))?;
    let digest = format!("{:x}", Sha256::digest(&bytes));
    if digest != PYDICOM_WHEEL_SHA256 {
        let _ = std::fs::remove_file(&wheel);
        return fail(format!(
            "{} has SHA-256 {digest}, expected {PYDICOM_WHEEL_SHA256}; the file was deleted. \
             Re-run `cargo xtask setup` to download it again; if the hash differs again, the \
             package index serves a different file and the corpus cannot be trusted.",
            wheel.display()
        ));
    }
    // Extract into a fresh temporary folder, then move the test files into place.
    let staging = cache
        .join("corpus")
        .join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    run_step(
        "extract pydicom test files",
        Command::new(venv_python(cache))
            .args([
                "-c",
                "import sys, zipfile\n\
                 z = zipfile.ZipFile(sys.argv[1])\n\
                 z.extractall(sys.argv[2], [n for n in z.namelist() \
                 if n.startswith('pydicom/data/test_files/')])",
            ])
            .arg(&wheel)
            .arg(&staging),
    )?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(dest.parent().expect("corpus dir has a parent"))
        .and_then(|()| std::fs::rename(staging.join("pydicom/data/test_files"), &dest))
        .and_then(|()| std::fs::write(&marker, PYDICOM_WHEEL_SHA256))
        .map_err(|e| {
            TaskError(format!(
                "cannot place the corpus at {}: {e}",
                dest.display()
            ))
        })?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(dest)
}

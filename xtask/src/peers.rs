//! `cargo xtask peers`: the pinned Python implementations we compare against (reference values
//! and same-machine benchmarks), installed into the cache venv next to torch.

use std::path::PathBuf;

use crate::cache::{cache_root, venv_python};
use crate::setup::{ensure_venv, pip_install};
use crate::TaskResult;

/// Pinned peer packages. torch itself comes from `cargo xtask setup`.
pub const PEERS: &[&str] = &[
    "pydicom==3.0.2",
    "numpy==2.4.6",
    "scipy==1.17.1",
    "medpy==0.5.2",
    "SimpleITK==2.5.7",
    "monai==1.6.1",
    "safetensors==0.8.0",
];

/// Installs the peers (pip skips what is already there) and returns the venv's Python.
pub fn install() -> TaskResult<PathBuf> {
    crate::setup::run()?;
    let cache = cache_root()?;
    ensure_venv(&cache)?;
    pip_install(&cache, PEERS)?;
    Ok(venv_python(&cache))
}

/// Runs a Python script of this repository (path relative to the workspace root) with the
/// cache venv's interpreter after making sure the peers are installed. The script sees the
/// workspace root as its working directory.
pub fn run_script(script: &str, args: &[String]) -> TaskResult<()> {
    let python = install()?;
    let root = crate::workspace_root();
    let mut cmd = std::process::Command::new(python);
    cmd.arg(root.join(script)).args(args).current_dir(&root);
    crate::run_step(&format!("python {script} {}", args.join(" ")), &mut cmd)
}

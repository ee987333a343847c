//! `cargo xtask phantom-check`: generates a small phantom cohort with `cmr-ssl phantom` and
//! reads every file back with independent readers (pydicom 3.0.2 and SimpleITK, pinned in
//! `peers::PEERS`), checking them against the manifests.

use crate::{peers, setup, TaskResult};

const SCRIPT: &str = "crates/cmr-phantom/tests/support/check_phantom_files.py";

/// Writes the cohort to `target/phantom-check` (default 2 subjects, seed 7; extra arguments
/// go to `cmr-ssl phantom`, e.g. `--subjects 5 --phases 50`), then runs the check script.
pub fn run(extra: &[String]) -> TaskResult<()> {
    let env = setup::run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    let out = target.join("phantom-check");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| crate::TaskError(format!("could not clear {}: {e}", out.display())))?;
    }
    let out_arg = out.display().to_string();
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "cmr-cli",
        "--",
        "phantom",
        "--out",
        &out_arg,
    ];
    if !extra.iter().any(|a| a == "--subjects") {
        args.extend(["--subjects", "2"]);
    }
    if !extra.iter().any(|a| a == "--seed") {
        args.extend(["--seed", "7"]);
    }
    args.extend(extra.iter().map(String::as_str));
    crate::cargo(&env, &args, &[])?;
    peers::run_script(SCRIPT, &[out_arg])
}

//! `cargo xtask metrics-reference` and `cargo xtask bench-metrics`: cmr-metrics against medpy
//! 0.5.2 and MONAI 1.6.1 (pinned in `peers::PEERS`), for the committed reference values and
//! for speed on identical masks.

use std::path::PathBuf;
use std::process::Command;

use crate::{peers, setup, TaskResult};

const REFERENCE_SCRIPT: &str = "benches/peers/metrics_reference.py";
const BENCH_SCRIPT: &str = "benches/peers/metrics_bench.py";
/// Read by `crates/cmr-metrics/tests/reference.rs`.
const REFERENCE_FILE: &str = "crates/cmr-metrics/tests/data/reference.json";

/// Regenerates the reference values (deterministic: same seed, same file) with medpy, MONAI
/// and scipy. Extra arguments go to the script (e.g. `--seed N`).
pub fn reference(extra: &[String]) -> TaskResult<()> {
    let mut args = vec!["--out".to_string(), REFERENCE_FILE.to_string()];
    args.extend(extra.iter().cloned());
    python(REFERENCE_SCRIPT, &args)?;
    eprintln!("check it with: cargo test -p cmr-metrics --test reference");
    Ok(())
}

/// Runs the criterion benchmark of HD95/ASSD, then times medpy and MONAI on the same masks
/// and prints both with the speed-up ratios. Extra arguments go to the Python script
/// (e.g. `--budget 3` seconds of timing per peer call).
pub fn bench(extra: &[String]) -> TaskResult<()> {
    let env = setup::run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    let criterion = target.join("criterion");
    std::fs::create_dir_all(&criterion)
        .map_err(|e| crate::TaskError(format!("cannot create {}: {e}", criterion.display())))?;
    // The benchmark writes the values it computes there, for the peer script to compare.
    let values = criterion.join("cmr_metrics_values.json");
    let values = values.display().to_string();
    crate::cargo(
        &env,
        &["bench", "-p", "cmr-metrics", "--bench", "distances"],
        &[("CMR_METRICS_BENCH_VALUES", &values)],
    )?;
    let mut args = vec![
        "--criterion".to_string(),
        criterion.display().to_string(),
        "--values".to_string(),
        values,
    ];
    args.extend(extra.iter().cloned());
    python(BENCH_SCRIPT, &args)
}

/// Runs a repository script with the venv's Python after making sure the peers are installed.
fn python(script: &str, args: &[String]) -> TaskResult<()> {
    let python = peers::install()?;
    let root = crate::workspace_root();
    let mut cmd = Command::new(python);
    cmd.arg(root.join(script)).args(args).current_dir(&root);
    crate::run_step(&format!("python {script} {}", args.join(" ")), &mut cmd)
}

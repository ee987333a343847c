//! `cargo xtask`: the build helper of the cmr-ssl workspace.
//!
//! It never links libtorch itself; it installs it (from the PyPI `torch` wheel), points the
//! build at it and runs the workspace's checks. Run `cargo xtask help` for the commands.

mod cache;
mod dicom_scan;
mod fuzz;
mod metrics;
mod peers;
mod phantom_check;
mod setup;
mod unet;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// An error that ends an xtask command: one paragraph a person can act on.
#[derive(Debug)]
pub struct TaskError(pub String);

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type TaskResult<T> = Result<T, TaskError>;

/// Shorthand to build a [`TaskError`] from anything printable.
pub fn fail<T>(msg: impl Into<String>) -> TaskResult<T> {
    Err(TaskError(msg.into()))
}

const HELP: &str = "\
cargo xtask <command>

Commands:
  setup      install libtorch (PyPI torch==2.13.0) and the pinned test corpus into the cache,
             and point this checkout's build at them (reuses a valid cache)
  test       setup if needed, then run every workspace test (the README's test command)
  demo [ARGS]
             setup if needed, then the quick few-shot experiment on a 50-subject phantom
             cohort (cmr-ssl experiment, ~10 min on 2 cores) into target/experiment-quick;
             ARGS go to cmr-ssl experiment (e.g. --out DIR); rerunning resumes
  ci         fmt --check, clippy -D warnings, rustdoc -D warnings, test, benchmark smoke run
  peers      install the pinned Python peers (pydicom, medpy, monai, scipy) into the cache venv
  where      print the cache locations in use
  metrics-reference
             recompute crates/cmr-metrics/tests/data/reference.json with medpy, MONAI, scipy
  bench-metrics [--budget S]
             HD95/ASSD speed: criterion bench of cmr-metrics, then medpy and MONAI on the same
             masks, with the ratios
  fuzz [--seconds N] [--targets a,b] [--keep-going] [--no-asan] [--rss-limit-mb M]
             build the libFuzzer targets in fuzz/ (stable rustc + RUSTC_BOOTSTRAP=1, ASan) and
             run each for N s (default 60) on seeds from a phantom study and the pydicom files;
             prints executions and crash inputs per target (artifacts in fuzz/artifacts)
  bench-scan [--repeats N] [--processes P]
             DICOM header scan (files/s) and decode (MB/s): criterion bench of cmr-geometry on
             2,000 generated MR files, then pydicom on the same folder, with the ratios
  unet-parity [--out DIR] [--update-fixtures]
             cmr-unet vs the same U-Net in PyTorch: weights both ways, outputs within 1e-5
             (--update-fixtures refreshes crates/cmr-unet/tests/fixtures from PyTorch)
  bench-unet [--threads 1,2] [--seconds S] [--formats contiguous,channels_last] [--out DIR]
             [--keep-freed-memory]
             U-Net training step and inference speed, cmr-unet vs PyTorch, steps of both
             alternated so a shared machine's load hits both alike (default 1 and 2 threads,
             3 s per case; table and unet_bench.{json,csv,md} in target/unet-bench;
             --keep-freed-memory: glibc keeps freed memory, for both sides)
  phantom-check [cmr-ssl phantom options]
             generate a small phantom cohort (target/phantom-check) and read every DICOM and
             NIfTI file back with pydicom and SimpleITK against the manifests

Environment:
  CMR_SSL_CACHE   cache folder (default: $XDG_CACHE_HOME/cmr-ssl or ~/.cache/cmr-ssl)
  LIBTORCH        use your own libtorch 2.13.0 instead of installing the wheel
  PYTHON          the Python 3 interpreter used to create the venv (default: python3)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r.to_vec()),
        None => ("help", Vec::new()),
    };
    let result = match cmd {
        "setup" => setup::run().map(|env| {
            env.print_summary();
        }),
        "test" => test(&rest),
        "demo" => demo(&rest),
        "ci" => ci(),
        "peers" => peers::install().map(|_| ()),
        "where" => setup::print_where(),
        "metrics-reference" => metrics::reference(&rest),
        "bench-metrics" => metrics::bench(&rest),
        "bench-scan" => dicom_scan::bench(&rest),
        "fuzz" => fuzz::run(&rest),
        "unet-parity" => unet::parity(&rest),
        "bench-unet" => unet::bench(&rest),
        "phantom-check" => phantom_check::run(&rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => fail(format!("unknown xtask command `{other}`.\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's manifest directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs `cargo <args>` in the workspace root with the set-up environment, failing on a
/// non-zero exit.
fn cargo(env: &setup::BuildEnv, args: &[&str], extra_env: &[(&str, &str)]) -> TaskResult<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(workspace_root());
    env.apply(&mut cmd);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run_step(&format!("cargo {}", args.join(" ")), &mut cmd)
}

/// Runs one step, echoing it first and reporting its wall time.
pub fn run_step(label: &str, cmd: &mut Command) -> TaskResult<()> {
    eprintln!("==> {label}");
    let start = std::time::Instant::now();
    let status = cmd
        .status()
        .map_err(|e| TaskError(format!("could not start `{label}`: {e}")))?;
    eprintln!("    ({label}: {:.1} s)", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        fail(format!("`{label}` failed ({status})."))
    }
}

fn test(extra: &[String]) -> TaskResult<()> {
    let env = setup::run()?;
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    cargo(&env, &args, &[("CMR_SSL_REQUIRE_CORPUS", "1")])
}

/// Output folder of `cargo xtask demo` (under the workspace root) unless `--out` is given.
const DEMO_OUT: &str = "target/experiment-quick";

/// The quick few-shot experiment on a 50-subject phantom cohort (about 10 minutes on 2 CPU
/// cores); a second call resumes or, when finished, only prints where the results are.
fn demo(extra: &[String]) -> TaskResult<()> {
    let env = setup::run()?;
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "cmr-cli",
        "--",
        "experiment",
        "--phantom",
        "50",
        "--preset",
        "quick",
    ];
    let custom_out = extra
        .iter()
        .any(|a| a == "--out" || a.starts_with("--out="));
    if !custom_out {
        args.extend(["--out", DEMO_OUT]);
    }
    args.extend(extra.iter().map(String::as_str));
    cargo(&env, &args, &[])?;
    if !custom_out {
        let out = workspace_root().join(DEMO_OUT);
        eprintln!(
            "results: {} (summary.md, dice_vs_n.png, results.csv, overlays/, run.json)",
            out.display()
        );
    }
    Ok(())
}

fn ci() -> TaskResult<()> {
    let env = setup::run()?;
    cargo(&env, &["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &env,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(
        &env,
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    test(&[])?;
    // Compile every benchmark and run each once (criterion's --test mode).
    cargo(
        &env,
        &["bench", "--workspace", "--benches", "--", "--test"],
        &[],
    )
}

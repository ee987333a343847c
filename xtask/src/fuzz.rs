//! `cargo xtask fuzz`: builds the libFuzzer targets in `fuzz/` with the stable toolchain and
//! runs each for a bounded time.
//!
//! cargo-fuzz normally needs a nightly toolchain for `-Zsanitizer=address`. The same flags
//! work on stable with `RUSTC_BOOTSTRAP=1` (which unlocks unstable compiler flags), so this
//! builds exactly what `cargo fuzz build` would (sanitizer coverage, `--cfg fuzzing`, debug
//! assertions, AddressSanitizer, for the host triple), without cargo-fuzz installed:
//!
//! ```text
//! RUSTC_BOOTSTRAP=1 RUSTFLAGS="<FLAGS below>" \
//!   cargo build --manifest-path fuzz/Cargo.toml --release --target <host> --bins
//! fuzz/target/<host>/release/<target> fuzz/corpus/<target> -max_total_time=N ...
//! ```
//!
//! With cargo-fuzz installed (`cargo install cargo-fuzz`), `RUSTC_BOOTSTRAP=1 cargo fuzz run
//! <target>` works as well.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{fail, run_step, workspace_root, TaskError, TaskResult};

/// The fuzz targets (binaries of `fuzz/Cargo.toml`).
pub const TARGETS: [&str; 4] = [
    "dicom_header",
    "dicom_pixels",
    "nifti_read",
    "position_labels",
];

/// What `cargo fuzz build` passes to rustc (cargo-fuzz 0.12/0.13 defaults, ASan on).
const FLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

struct Options {
    seconds: u64,
    targets: Vec<String>,
    asan: bool,
    keep_going: bool,
    rss_limit_mb: u64,
}

fn parse(args: &[String]) -> TaskResult<Options> {
    let mut o = Options {
        seconds: 60,
        targets: TARGETS.iter().map(|s| s.to_string()).collect(),
        asan: true,
        keep_going: false,
        rss_limit_mb: 2048,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| TaskError(format!("{name} needs a value")))
        };
        match a.as_str() {
            "--seconds" => {
                o.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| TaskError(format!("--seconds: {e}")))?
            }
            "--targets" => {
                o.targets = value("--targets")?.split(',').map(str::to_string).collect();
                if let Some(bad) = o.targets.iter().find(|t| !TARGETS.contains(&t.as_str())) {
                    return fail(format!(
                        "unknown fuzz target `{bad}`; the targets are {}",
                        TARGETS.join(", ")
                    ));
                }
            }
            "--rss-limit-mb" => {
                o.rss_limit_mb = value("--rss-limit-mb")?
                    .parse()
                    .map_err(|e| TaskError(format!("--rss-limit-mb: {e}")))?
            }
            "--no-asan" => o.asan = false,
            "--keep-going" => o.keep_going = true,
            other => return fail(format!("unknown option `{other}` for `cargo xtask fuzz`")),
        }
    }
    Ok(o)
}

fn host_triple() -> TaskResult<String> {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .map_err(|e| TaskError(format!("could not run rustc -vV: {e}")))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| TaskError("rustc -vV printed no host triple".into()))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Seeds: the generator's files plus the pydicom test files (when installed).
fn seed(fuzz: &Path, corpus: &Path) -> TaskResult<()> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "-p",
        "cmr-ssl-fuzz-seeds",
        "--",
    ])
    .arg(corpus)
    .current_dir(fuzz)
    .env_remove("RUSTFLAGS");
    run_step(
        "write seed corpora (phantom study, small images, planes)",
        &mut cmd,
    )?;
    let pydicom = std::env::var_os("CMR_SSL_PYDICOM_TEST_FILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".cmr-ssl/pydicom-test-files"));
    if !pydicom.is_dir() {
        eprintln!(
            "    (pydicom test files not found at {}; run `cargo xtask setup` to seed with them)",
            pydicom.display()
        );
        return Ok(());
    }
    let mut n = 0;
    let mut stack = vec![pydicom];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| TaskError(format!("listing {}: {e}", dir.display())))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.metadata().map(|m| m.len() <= 1 << 20).unwrap_or(false) {
                let name = format!("pydicom-{}", e.file_name().to_string_lossy());
                for t in ["dicom_header", "dicom_pixels"] {
                    std::fs::copy(&p, corpus.join(t).join(&name))
                        .map_err(|e| TaskError(format!("copying {}: {e}", p.display())))?;
                }
                n += 1;
            }
        }
    }
    eprintln!("    added {n} pydicom test files to the DICOM corpora");
    Ok(())
}

/// One row of the summary.
struct Outcome {
    target: String,
    executions: Option<u64>,
    seconds: f64,
    crashes: Vec<PathBuf>,
    exit: String,
}

fn run_target(bin: &Path, corpus: &Path, artifacts: &Path, o: &Options) -> TaskResult<Outcome> {
    let target = bin.file_name().unwrap().to_string_lossy().into_owned();
    let dir = corpus.join(&target);
    let art = artifacts.join(&target);
    std::fs::create_dir_all(&art).map_err(|e| TaskError(format!("{}: {e}", art.display())))?;
    let before: Vec<PathBuf> = list(&art);
    let scratch = std::env::temp_dir().join(format!("cmr-fuzz-scratch-{target}"));
    std::fs::create_dir_all(&scratch).map_err(|e| TaskError(e.to_string()))?;
    let mut cmd = Command::new(bin);
    cmd.arg(&dir)
        .arg(format!("-max_total_time={}", o.seconds))
        .arg(format!("-rss_limit_mb={}", o.rss_limit_mb))
        .arg(format!("-malloc_limit_mb={}", o.rss_limit_mb))
        .arg("-timeout=10")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", art.display()))
        .env("CMR_FUZZ_SCRATCH", &scratch)
        // ASan's own limit: report (as a crash) any single allocation over the RSS limit.
        .env(
            "ASAN_OPTIONS",
            format!(
                "allocator_may_return_null=0:detect_leaks=0:max_allocation_size_mb={}",
                o.rss_limit_mb
            ),
        );
    if o.keep_going {
        cmd.args([
            "-fork=1",
            "-ignore_crashes=1",
            "-ignore_ooms=1",
            "-ignore_timeouts=1",
        ]);
    }
    let log_path = artifacts.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| TaskError(e.to_string()))?;
    cmd.stderr(log.try_clone().map_err(|e| TaskError(e.to_string()))?)
        .stdout(log);
    eprintln!(
        "==> fuzz {target} for {} s (log: {})",
        o.seconds,
        log_path.display()
    );
    let start = std::time::Instant::now();
    let status = cmd
        .status()
        .map_err(|e| TaskError(format!("could not start {}: {e}", bin.display())))?;
    let seconds = start.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let executions = executions(&text);
    let crashes = list(&art)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    Ok(Outcome {
        target,
        executions,
        seconds,
        crashes,
        exit: status.to_string(),
    })
}

/// Total executions from libFuzzer's final stats (or, in fork mode, its last status line).
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|l| {
        l.strip_prefix("stat::number_of_executed_units:")
            .and_then(|v| v.trim().parse().ok())
    });
    // Otherwise the last status line: `#<executions>\t...` (fork mode: `#<n>: ...`).
    stat.or_else(|| {
        log.lines().rev().find_map(|l| {
            let digits: String = l
                .strip_prefix('#')?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
    })
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// `cargo xtask fuzz [--seconds N] [--targets a,b] [--keep-going] [--no-asan]
/// [--rss-limit-mb M]`.
pub fn run(args: &[String]) -> TaskResult<()> {
    let o = parse(args)?;
    let fuzz = workspace_root().join("fuzz");
    let corpus = fuzz.join("corpus");
    let artifacts = fuzz.join("artifacts");
    seed(&fuzz, &corpus)?;
    let triple = host_triple()?;
    let mut flags: Vec<&str> = FLAGS.to_vec();
    if o.asan {
        flags.push("-Zsanitizer=address");
    }
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--bins", "--target", &triple, "-p"])
        .arg("cmr-ssl-fuzz")
        .current_dir(&fuzz)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", flags.join(" "));
    run_step(
        "build fuzz targets (stable rustc, RUSTC_BOOTSTRAP=1)",
        &mut cmd,
    )?;
    let bin_dir = fuzz.join("target").join(&triple).join("release");
    let mut rows = Vec::new();
    for t in &o.targets {
        rows.push(run_target(&bin_dir.join(t), &corpus, &artifacts, &o)?);
    }
    println!("\n| fuzz target | executions | time (s) | crash inputs | exit |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {} | {} |",
            r.target,
            r.executions.map_or("?".into(), |n| n.to_string()),
            r.seconds,
            r.crashes.len(),
            r.exit
        );
    }
    let crashes: Vec<&PathBuf> = rows.iter().flat_map(|r| &r.crashes).collect();
    if crashes.is_empty() {
        Ok(())
    } else {
        for c in &crashes {
            eprintln!("crash input: {}", c.display());
        }
        fail(format!(
            "{} crash input(s) under fuzz/artifacts; reproduce one with \
             fuzz/target/{triple}/release/<target> <file>",
            crashes.len()
        ))
    }
}

//! `cargo xtask unet-parity` and `cargo xtask bench-unet`: cmr-unet against the identical
//! PyTorch model (crates/cmr-unet/peers/), with the torch that setup installed.

use std::path::{Path, PathBuf};

use crate::{fail, peers, setup, workspace_root, TaskError, TaskResult};

const PEERS_DIR: &str = "crates/cmr-unet/peers";
const FIXTURES_DIR: &str = "crates/cmr-unet/tests/fixtures";

/// Parses `--flag value` pairs, rejecting unknown flags; `switches` take no value.
fn parse_flags(
    args: &[String],
    flags: &[&str],
    switches: &[&str],
) -> TaskResult<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if switches.contains(&a.as_str()) {
            out.push((a.clone(), None));
        } else if flags.contains(&a.as_str()) {
            let v = it
                .next()
                .ok_or_else(|| TaskError(format!("{a} needs a value")))?;
            out.push((a.clone(), Some(v.clone())));
        } else {
            return fail(format!(
                "unknown argument `{a}` (accepted: {})",
                flags
                    .iter()
                    .chain(switches)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(out)
}

fn out_dir(flags: &[(String, Option<String>)], default: &str) -> TaskResult<PathBuf> {
    let dir = flags
        .iter()
        .find(|(f, _)| f == "--out")
        .and_then(|(_, v)| v.clone())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join(default));
    std::fs::create_dir_all(&dir)
        .map_err(|e| TaskError(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

fn example(env: &setup::BuildEnv, name: &str, args: &[&str]) -> TaskResult<()> {
    let mut all = vec![
        "run",
        "--release",
        "--quiet",
        "-p",
        "cmr-unet",
        "--example",
        name,
        "--",
    ];
    all.extend_from_slice(args);
    crate::cargo(env, &all, &[])
}

fn path_str(p: &Path) -> TaskResult<String> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| TaskError(format!("{} is not UTF-8", p.display())))
}

/// `cargo xtask unet-parity [--out DIR] [--update-fixtures]`.
pub fn parity(args: &[String]) -> TaskResult<()> {
    let flags = parse_flags(args, &["--out"], &["--update-fixtures"])?;
    let dir = out_dir(&flags, "unet-parity")?;
    let dir_s = path_str(&dir)?;
    let env = setup::run()?;
    example(&env, "unet_parity", &["export", &dir_s])?;
    peers::run_script(
        &format!("{PEERS_DIR}/unet_parity.py"),
        std::slice::from_ref(&dir_s),
    )?;
    example(&env, "unet_parity", &["check", &dir_s])?;
    if flags.iter().any(|(f, _)| f == "--update-fixtures") {
        let fixtures = workspace_root().join(FIXTURES_DIR);
        std::fs::create_dir_all(&fixtures)
            .map_err(|e| TaskError(format!("cannot create {}: {e}", fixtures.display())))?;
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| TaskError(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // PyTorch's weights and outputs (torch_*), and our weights whose PyTorch outputs
            // torch_on_ours_* holds (ours_<case>.safetensors; our own ours_*_io stay out).
            let ours_weights = name.starts_with("ours_") && !name.ends_with("_io.safetensors");
            if (name.starts_with("torch_") || ours_weights) && name.ends_with(".safetensors") {
                std::fs::copy(entry.path(), fixtures.join(&name))
                    .map_err(|e| TaskError(format!("cannot copy {name}: {e}")))?;
                eprintln!("fixture updated: {FIXTURES_DIR}/{name}");
            }
        }
    }
    eprintln!(
        "cmr-unet and PyTorch agree; cases and results in {}",
        dir.display()
    );
    Ok(())
}

/// glibc malloc settings of `--keep-freed-memory`: no mmap per large block, no trimming, 256 MiB
/// of extra heap per growth (mallopt(3): M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD).
const KEEP_FREED_MEMORY: [(&str, &str); 3] = [
    ("MALLOC_MMAP_THRESHOLD_", "2147483647"),
    ("MALLOC_TRIM_THRESHOLD_", "4294967295"),
    ("MALLOC_TOP_PAD_", "268435456"),
];

/// `cargo xtask bench-unet [--threads 1,2] [--seconds S] [--formats F,..] [--out DIR]
/// [--keep-freed-memory]`:
/// builds the Rust side (release) and lets `peers/unet_bench.py` alternate single steps of
/// PyTorch and cmr-unet (the example in `--serve` mode) case by case, at each thread count, so
/// that other work on a shared machine slows both sides alike; table and
/// DIR/unet_bench.{json,csv,md}.
pub fn bench(args: &[String]) -> TaskResult<()> {
    let flags = parse_flags(
        args,
        &["--threads", "--seconds", "--formats", "--out"],
        &["--keep-freed-memory"],
    )?;
    let get = |name: &str, default: &str| {
        flags
            .iter()
            .find(|(f, _)| f == name)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| default.to_string())
    };
    let threads = get("--threads", "1,2");
    if threads
        .split(',')
        .any(|t| t.parse::<u32>().map_or(true, |n| n == 0))
    {
        return fail(format!(
            "--threads takes thread counts such as 2 or 1,2, not `{threads}`"
        ));
    }
    let seconds = get("--seconds", "3");
    let dir = out_dir(&flags, "unet-bench")?;
    let env = setup::run()?;
    crate::cargo(
        &env,
        &[
            "build",
            "--release",
            "--quiet",
            "-p",
            "cmr-unet",
            "--example",
            "unet_bench",
        ],
        &[],
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let binary = target.join("release/examples/unet_bench");
    if !binary.exists() {
        return fail(format!("the build left no {}", binary.display()));
    }
    if flags.iter().any(|(f, _)| f == "--keep-freed-memory") {
        // For both processes (the Rust server inherits Python's environment): glibc keeps
        // freed blocks instead of returning each large activation buffer to the OS, which
        // the next step would fault in again page by page.
        for (name, value) in KEEP_FREED_MEMORY {
            std::env::set_var(name, value);
        }
    }
    peers::run_script(
        &format!("{PEERS_DIR}/unet_bench.py"),
        &[
            "--ours".into(),
            path_str(&binary)?,
            "--threads".into(),
            threads,
            "--seconds".into(),
            seconds,
            "--formats".into(),
            get("--formats", "contiguous,channels_last"),
            "--out".into(),
            path_str(&dir)?,
        ],
    )
}

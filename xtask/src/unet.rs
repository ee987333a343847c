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
            if name.starts_with("torch_") && name.ends_with(".safetensors") {
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

/// `cargo xtask bench-unet [--threads N] [--seconds S] [--rounds R] [--out DIR]`: R
/// alternating rounds of cmr-unet and PyTorch (the machine may be shared, so each side's best
/// round counts), then the comparison table.
pub fn bench(args: &[String]) -> TaskResult<()> {
    let flags = parse_flags(args, &["--threads", "--seconds", "--rounds", "--out"], &[])?;
    let get = |name: &str, default: &str| {
        flags
            .iter()
            .find(|(f, _)| f == name)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| default.to_string())
    };
    let (threads, seconds) = (get("--threads", "2"), get("--seconds", "2"));
    let rounds: usize = get("--rounds", "3")
        .parse()
        .map_err(|e| TaskError(format!("--rounds: {e}")))?;
    if rounds == 0 {
        return fail("--rounds must be at least 1");
    }
    let dir = out_dir(&flags, "unet-bench")?;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let env = setup::run()?;
    let script = format!("{PEERS_DIR}/unet_bench.py");
    for round in 1..=rounds {
        let ours = path_str(&dir.join(format!("cmr_unet_r{round}.json")))?;
        let theirs = path_str(&dir.join(format!("pytorch_r{round}.json")))?;
        example(
            &env,
            "unet_bench",
            &[
                "--threads",
                &threads,
                "--seconds",
                &seconds,
                "--json",
                &ours,
            ],
        )?;
        peers::run_script(
            &script,
            &[
                "--threads".into(),
                threads.clone(),
                "--seconds".into(),
                seconds.clone(),
                "--json".into(),
                theirs,
            ],
        )?;
    }
    peers::run_script(&script, &["--report".into(), path_str(&dir)?])
}

//! `cmr-ssl segment` refuses what it cannot use with one `error:` line and a failing exit
//! status, before segmenting anything. (Segmentation itself is tested in cmr-train's
//! `tests/segment.rs` with a tiny trained model.)

use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmr-cli-segment-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmr-ssl segment ARGS`, expects failure, returns the last line of stderr.
fn fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cmr-ssl"))
        .arg("segment")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded: {args:?}\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    last.to_string()
}

#[test]
fn unusable_models_and_outputs_are_refused() {
    let dir = temp_dir("refuse");
    let out = dir.join("out");
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    let (m, o) = (model.to_str().unwrap(), out.to_str().unwrap());

    // A folder without checkpoints is not a run.
    let e = fails(&["--model", m, "--phantom-subject", "0", "--out", o]);
    assert!(e.contains("not a training run folder"), "{e}");

    // A pretraining run is not a segmentation model (checked before any checkpoint is read).
    std::fs::write(model.join("best.safetensors"), b"not read").unwrap();
    std::fs::write(
        model.join("run.json"),
        br#"{"kind": "pretrain", "run": {}}"#,
    )
    .unwrap();
    let e = fails(&["--model", m, "--phantom-subject", "0", "--out", o]);
    assert!(e.contains("`pretrain` run"), "{e}");

    // A non-empty --out is refused without --force.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"x").unwrap();
    let e = fails(&["--model", m, "--phantom-subject", "0", "--out", o]);
    assert!(e.contains("not empty") && e.contains("--force"), "{e}");

    // Neither a study nor a phantom subject: clap's usage error.
    let usage = Command::new(env!("CARGO_BIN_EXE_cmr-ssl"))
        .args(["segment", "--model", m, "--out", o, "--force"])
        .output()
        .unwrap();
    assert!(!usage.status.success());
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--study"));
    let _ = std::fs::remove_dir_all(&dir);
}

//! `cmr-ssl experiment` refuses bad requests with one `error:` line and a failing exit status,
//! before training anything. (The experiment itself is tested in cmr-train's
//! `tests/experiment.rs`; the quick preset takes minutes, too long for a test.)

use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("cmr-cli-experiment-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmr-ssl experiment ARGS`, expects failure, returns stderr.
fn fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cmr-ssl"))
        .arg("experiment")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded: {args:?}\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    last.to_string()
}

#[test]
fn bad_requests_fail_with_one_error_line() {
    let dir = temp_dir("bad");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let e = fails(&["--phantom", "50", "--out", file.to_str().unwrap()]);
    assert!(e.contains("not a folder"), "{e}");

    let e = fails(&["--phantom", "50", "--parallel", "0", "--out", "unused"]);
    assert!(e.contains("--parallel"), "{e}");

    // 4 subjects cannot fill 8 test + 2 validation subjects of the quick preset.
    let out = dir.join("small");
    let e = fails(&["--phantom", "4", "--out", out.to_str().unwrap()]);
    assert!(e.contains("subjects"), "{e}");
    assert!(
        !out.join("experiment.json").exists(),
        "nothing written: {e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--print-config` writes the configuration that would run; passed back with `--config` (and
/// an override on top) it gives the same configuration but for the override, and a file that
/// is not a configuration is refused with its name in the error.
#[test]
fn configuration_round_trips_through_a_file() {
    let print = |extra: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_cmr-ssl"))
            .args(["experiment", "--phantom", "50", "--print-config"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let quick = print(&[]);
    assert_eq!(quick["preset"], "quick");
    let dir = temp_dir("config");
    let file = dir.join("quick.json");
    std::fs::write(&file, serde_json::to_string(&quick).unwrap()).unwrap();
    let back = print(&["--config", file.to_str().unwrap(), "--finetune-steps", "7"]);
    let mut expected = quick.clone();
    expected["finetune"]["steps"] = serde_json::json!(7);
    assert_ne!(quick, expected);
    assert_eq!(back, expected);

    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"preset\": 3}").unwrap();
    let e = fails(&[
        "--phantom",
        "50",
        "--config",
        bad.to_str().unwrap(),
        "--out",
        "unused",
    ]);
    assert!(
        e.contains("bad.json") && e.contains("not an experiment configuration"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

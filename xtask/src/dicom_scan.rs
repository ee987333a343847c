//! `cargo xtask bench-scan`: cmr-geometry's DICOM header scan and pixel decode against pydicom
//! 3.0.2 (pinned in `peers::PEERS`) on the same generated folder of 2,000 MR files.

use std::path::PathBuf;

use crate::{peers, setup, TaskResult};

const SCRIPT: &str = "benches/peers/pydicom_scan.py";

/// Runs the criterion benchmark `dicom_scan` (which writes the folder on first use), then
/// times pydicom on that folder and prints both with the ratios. Extra arguments go to the
/// Python script (e.g. `--repeats 5`, `--processes 2`).
pub fn bench(extra: &[String]) -> TaskResult<()> {
    let env = setup::run()?;
    crate::cargo(&env, &["bench", "--bench", "dicom_scan"], &[])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    let mut args = vec![
        "--folder".to_string(),
        target
            .join("bench-data")
            .join("dicom-scan-2000")
            .display()
            .to_string(),
        "--criterion".to_string(),
        target.join("criterion").display().to_string(),
    ];
    args.extend(extra.iter().cloned());
    peers::run_script(SCRIPT, &args)
}

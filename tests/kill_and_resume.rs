//! A training process killed with SIGKILL at random moments, several times, and resumed each
//! time, ends with the same checkpoints and logs as a run that was never interrupted, and
//! leaves no partial or temporary file at any point.
//!
//! The child process is this test binary itself, running only [`child_training_run`] (which
//! does nothing unless [`CHILD_ENV`] names its run folder), so no extra binary is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cmr_phantom::{PhantomConfig, Subject};
use cmr_train::{
    merge_into_memory, pretrain, AugmentConfig, Dataset, DatasetOptions, OutputMode,
    PretrainConfig, RecordingReporter, RunDir, RunStatus, TaskConfig, TrainConfig,
};
use cmr_unet::UNetConfig;

/// Set in the child's environment to its run folder.
const CHILD_ENV: &str = "CMR_SSL_KILL_RESUME_CHILD";

/// The files a finished run holds (`TrainConfig` output); nothing else may appear.
const RUN_FILES: [&str; 6] = [
    "best.safetensors",
    "last.safetensors",
    "resume.safetensors",
    "log.csv",
    "epochs.csv",
    "run.json",
];

/// 24 steps of tiny images, a checkpoint every 2 steps and an epoch (with validation) every
/// 6, on two phantom subjects (one for validation).
fn run(dir: &RunDir) -> cmr_train::RunOutcome {
    tch::set_num_threads(1);
    let phantom = PhantomConfig {
        sa_slice_range: [6, 6],
        samples_per_pixel: 1,
        ..PhantomConfig::small(2)
    };
    let source = merge_into_memory((0..2).map(|i| {
        Subject::new(&phantom, 5, i)
            .unwrap()
            .render()
            .to_memory_source()
    }))
    .unwrap();
    let all = Dataset::new(&source, &DatasetOptions::default()).unwrap();
    let config = PretrainConfig {
        network: UNetConfig {
            levels: 3,
            base_channels: 4,
            ..UNetConfig::default()
        },
        task: TaskConfig::default(),
        train: TrainConfig {
            augment: AugmentConfig::default(),
            epoch_steps: Some(6),
            checkpoint_every: 2,
            ..TrainConfig::tiny(24)
        },
    };
    pretrain(
        &config,
        &all.with_studies(&[0]),
        Some(&all.with_studies(&[1])),
        dir,
        &mut RecordingReporter::default(),
    )
    .unwrap()
}

/// The child's entry point (a no-op in a normal test run).
#[test]
fn child_training_run() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let outcome = run(&RunDir::new(PathBuf::from(dir), OutputMode::ResumeOrFresh));
    assert_eq!(outcome.status, RunStatus::Completed);
}

fn child(dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_training_run", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A deterministic stream of fractions in [0, 1) (xorshift64*).
struct Fractions(u64);

impl Fractions {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A temporary file of an atomic write (`.<name>.tmp-<pid>-<n>`), which a SIGKILL during the
/// write leaves behind; it is never read as a result.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Every file in the run folder is one of the run's files and complete: checkpoints parse,
/// CSV rows have the header's number of fields. Temporaries of atomic writes are allowed only
/// when `allow_temporaries` (right after a kill).
fn check_no_partial_files(dir: &Path, allow_temporaries: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return; // not created yet
    };
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if allow_temporaries && is_temporary(&name) {
            continue;
        }
        assert!(
            RUN_FILES.contains(&name.as_str()),
            "unexpected (temporary?) file {name} in {}",
            dir.display()
        );
        let path = e.path();
        if name.ends_with(".safetensors") {
            tch::Tensor::read_safetensors(&path)
                .unwrap_or_else(|err| panic!("{name} is not a complete checkpoint: {err}"));
        } else if name.ends_with(".csv") {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines = text.lines();
            let fields = lines.next().map_or(0, |h| h.split(',').count());
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{name} ends mid-line"
            );
            for l in lines {
                assert_eq!(l.split(',').count(), fields, "{name}: partial row {l:?}");
            }
        }
    }
}

fn weights(path: &Path) -> Vec<(String, tch::Tensor)> {
    let mut v = tch::Tensor::read_safetensors(path).unwrap();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The step log without its timing columns (`images_per_s`, `data_wait_s`).
fn losses(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(7).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn sigkilled_training_resumes_to_the_same_result_with_no_partial_files() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let root = std::env::temp_dir().join(format!("cmr-kill-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();

    // The reference: one uninterrupted run, in a child process like the others (timed, to
    // place the kills inside the run).
    let straight = root.join("straight");
    let start = Instant::now();
    assert!(child(&straight).wait().unwrap().success());
    let full = start.elapsed();

    // Kill at random moments once a resume state exists (kills before it:
    // `killed_before_the_first_checkpoint_resumes`): after the run logs 0 to 2 more
    // steps, plus 0 to 40 ms (so kills land in steps, in checkpoint writes, in validation),
    // four times, then let the run finish.
    let killed = root.join("killed");
    let mut fractions = Fractions(0x5EED_0FC0_FFEE);
    let (mut kills, mut attempts) = (0, 0);
    let logged =
        |dir: &Path| std::fs::read_to_string(dir.join("log.csv")).map_or(0, |t| t.lines().count());
    loop {
        attempts += 1;
        let mut c = child(&killed);
        if kills < 4 {
            let give_up = Instant::now() + full * 2;
            while !killed.join("resume.safetensors").is_file()
                && c.try_wait().unwrap().is_none()
                && Instant::now() < give_up
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            let target = logged(&killed) + (3.0 * fractions.next()) as usize;
            while logged(&killed) < target
                && c.try_wait().unwrap().is_none()
                && Instant::now() < give_up
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis((40.0 * fractions.next()) as u64));
            if c.try_wait().unwrap().is_none() {
                c.kill().unwrap(); // SIGKILL
                c.wait().unwrap();
                kills += 1;
                check_no_partial_files(&killed, true);
                continue;
            }
        }
        assert!(c.wait().unwrap().success(), "the resumed run failed");
        break;
    }
    assert_eq!(kills, 4, "the run ended before four kills landed");
    check_no_partial_files(&killed, false);

    // Same checkpoints, same losses and epoch records as the uninterrupted run.
    for name in ["last.safetensors", "best.safetensors"] {
        let (a, b) = (weights(&straight.join(name)), weights(&killed.join(name)));
        assert_eq!(a.len(), b.len());
        for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            assert!(ta.equal(tb), "{name}: {na} differs after {kills} kills");
        }
    }
    assert_eq!(losses(&straight), losses(&killed));
    assert_eq!(
        std::fs::read_to_string(straight.join("epochs.csv")).unwrap(),
        std::fs::read_to_string(killed.join("epochs.csv")).unwrap()
    );
    eprintln!(
        "kill-and-resume: {kills} SIGKILLs in {attempts} starts; uninterrupted run {:.1} s",
        full.as_secs_f64()
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// A run killed before its first checkpoint (log headers written, no resume state yet)
/// resumes with `OutputMode::ResumeOrFresh` by starting afresh, and ends with no stale
/// temporaries.
#[test]
fn killed_before_the_first_checkpoint_resumes() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("cmr-kill-early-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut c = child(&dir);
    while !dir.join("log.csv").is_file() && c.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = c.kill();
    c.wait().unwrap();
    check_no_partial_files(&dir, true);
    assert!(
        child(&dir).wait().unwrap().success(),
        "the resumed run failed"
    );
    check_no_partial_files(&dir, false);
    std::fs::remove_dir_all(&dir).unwrap();
}

//! PyTorch parity without Python: the fixtures in `tests/fixtures/` were written by
//! `peers/unet_parity.py` (`cargo xtask unet-parity --update-fixtures`) from PyTorch-initialised
//! models of the same architecture (`peers/unet_torch.py`, torch 2.13.0): their state dicts as
//! PyTorch saves them, and what PyTorch computed from one input (eval logits, training-mode
//! logits, gradients of a loss, BatchNorm running statistics after that forward); and, the
//! other way round, weights cmr-unet saved (`ours_<case>`) with what PyTorch computed after
//! loading them (`torch_on_ours_<case>_io`).

mod support;

use std::path::PathBuf;

use cmr_unet::{Checkpoint, LoadScope, UNet};
use support::parity;
use tch::Device;

const CASES: [&str; 2] = ["maxpool_transposed", "strided_bilinear"];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn pytorch_weights_give_pytorch_outputs_gradients_and_statistics() {
    tch::set_num_threads(1);
    for case in CASES {
        let c = parity::compare(
            &fixture(&format!("torch_{case}.safetensors")),
            &fixture(&format!("torch_{case}_io.safetensors")),
        )
        .unwrap();
        assert!(
            c.missing.is_empty(),
            "{case}: unmatched keys {:?}",
            c.missing
        );
        // Every kind of record is there, so none is compared vacuously.
        for prefix in ["eval.", "train.", "grad.", "after_train."] {
            assert!(
                c.max_abs.keys().any(|k| k.starts_with(prefix)),
                "{case}: no {prefix}* record"
            );
        }
        let (key, worst) = c.worst();
        assert!(
            worst <= parity::TOLERANCE,
            "{case}: {key} differs from PyTorch by {worst:e}"
        );
    }
}

#[test]
fn our_weights_give_in_pytorch_what_they_give_in_ours() {
    // The other direction: `ours_<case>.safetensors` was saved by cmr-unet
    // (`examples/unet_parity.rs export`), loaded by PyTorch with `load_state_dict`, and
    // `torch_on_ours_<case>_io.safetensors` is what PyTorch computed with it. A tensor PyTorch
    // put in the wrong slot (or a layout it read differently) would show here.
    tch::set_num_threads(1);
    for case in CASES {
        let c = parity::compare(
            &fixture(&format!("ours_{case}.safetensors")),
            &fixture(&format!("torch_on_ours_{case}_io.safetensors")),
        )
        .unwrap();
        assert!(
            c.missing.is_empty(),
            "{case}: unmatched keys {:?}",
            c.missing
        );
        for prefix in ["eval.", "train.", "grad.", "after_train."] {
            assert!(
                c.max_abs.keys().any(|k| k.starts_with(prefix)),
                "{case}: no {prefix}* record"
            );
        }
        let (key, worst) = c.worst();
        assert!(
            worst <= parity::TOLERANCE,
            "{case}: {key} differs from PyTorch by {worst:e}"
        );
    }
}

#[test]
fn loading_a_pytorch_state_dict_reports_only_its_batchnorm_counters_unused() {
    for case in CASES {
        let path = fixture(&format!("torch_{case}.safetensors"));
        let checkpoint = Checkpoint::read(&path).unwrap();
        let config = checkpoint.config().unwrap().clone();
        let mut net = UNet::new(&config, Device::Cpu).unwrap();
        let report = net.load_checkpoint(&checkpoint, &LoadScope::All).unwrap();
        assert!(report.skipped.is_empty());
        assert!(!report.unused.is_empty());
        assert!(
            report
                .unused
                .iter()
                .all(|n| n.ends_with(".num_batches_tracked")),
            "{:?}",
            report.unused
        );
        // One counter per BatchNorm, and one BatchNorm per running mean we loaded.
        let means = report
            .loaded
            .iter()
            .filter(|n| n.ends_with(".running_mean"))
            .count();
        assert_eq!(report.unused.len(), means);
    }
}

#[test]
fn our_checkpoints_have_pytorchs_state_dict_layout() {
    // What PyTorch's load_state_dict checks: the same keys (bar num_batches_tracked), shapes
    // and dtypes.
    let dir = std::env::temp_dir().join(format!("cmr-unet-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for case in CASES {
        let theirs = Checkpoint::read(fixture(&format!("torch_{case}.safetensors"))).unwrap();
        let net = UNet::new(theirs.config().unwrap(), Device::Cpu).unwrap();
        let path = dir.join(format!("{case}.safetensors"));
        net.save(&path).unwrap();
        let ours = Checkpoint::read(&path).unwrap();
        let layout = |c: &Checkpoint| {
            c.tensors()
                .iter()
                .filter(|(n, _)| !n.ends_with(".num_batches_tracked"))
                .map(|(n, t)| (n.clone(), t.size(), t.kind()))
                .collect::<Vec<_>>()
        };
        assert_eq!(layout(&ours), layout(&theirs), "{case}");
        assert_eq!(ours.config(), theirs.config());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

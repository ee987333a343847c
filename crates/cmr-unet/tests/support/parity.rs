//! The PyTorch parity protocol, shared by `tests/pytorch_parity.rs` and
//! `examples/unet_parity.rs` (the Python side is `peers/unet_parity.py`).
//!
//! A case is two safetensors files: the network's weights (with the configuration in the
//! metadata) and an "io" file holding `input` and what the network computes from it:
//! 1. `eval.<head>`: eval-mode logits;
//! 2. then one training-mode forward and backward of `loss = sum over heads (sorted by name)
//!    of mean(logits^2)`: `train.<head>` (logits), `grad.<parameter>` (gradients) and
//!    `after_train.<buffer>` (BatchNorm running statistics after that forward).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use cmr_unet::{Checkpoint, UNet, UNetError};
use tch::{Device, Kind, Tensor};

/// Largest absolute difference allowed between the two implementations.
pub const TOLERANCE: f64 = 1e-5;

/// Everything a case records, computed with `net` from `input`.
pub fn record(net: &UNet, input: &Tensor) -> Result<BTreeMap<String, Tensor>, UNetError> {
    let mut out = BTreeMap::new();
    out.insert("input".to_string(), input.copy());
    let eval = tch::no_grad(|| net.forward_t(input, false))?;
    for (name, logits) in eval.into_heads() {
        out.insert(format!("eval.{name}"), logits);
    }
    for mut p in net.var_store().trainable_variables() {
        p.zero_grad();
    }
    let train = net.forward_t(input, true)?.into_heads();
    let mut loss = Tensor::zeros([], (Kind::Float, net.device()));
    for logits in train.values() {
        loss += logits.square().mean(Kind::Float);
    }
    loss.backward();
    for (name, logits) in train {
        out.insert(format!("train.{name}"), logits.detach());
    }
    let learnable = net.parameter_names();
    for (name, t) in net.named_tensors() {
        if learnable.contains(&name) {
            out.insert(format!("grad.{name}"), t.grad().detach().copy());
        } else {
            out.insert(format!("after_train.{name}"), t.detach().copy());
        }
    }
    Ok(out)
}

/// Loads `weights` (a checkpoint with its configuration), replays `io`'s input and returns the
/// largest absolute difference per recorded key, plus the keys of either side that the other
/// lacks (`missing`).
pub struct Comparison {
    /// Key -> max |ours - theirs|.
    pub max_abs: BTreeMap<String, f64>,
    /// Keys recorded by one side only.
    pub missing: Vec<String>,
}

impl Comparison {
    /// The worst difference over all keys.
    pub fn worst(&self) -> (String, f64) {
        let mut worst = (String::from("(nothing compared)"), 0.0);
        for (k, &v) in &self.max_abs {
            if v > worst.1 || worst.0.starts_with('(') {
                worst = (k.clone(), v);
            }
        }
        worst
    }

    /// Whether everything agrees within [`TOLERANCE`].
    pub fn agrees(&self) -> bool {
        self.missing.is_empty() && self.worst().1 <= TOLERANCE
    }
}

/// Runs the protocol on a case written by the other implementation.
pub fn compare(weights: &Path, io: &Path) -> Result<Comparison, UNetError> {
    let net = UNet::from_checkpoint(weights, Device::Cpu)?;
    let expected = Checkpoint::read(io)?;
    let input = expected
        .tensors()
        .get("input")
        .ok_or_else(|| UNetError::MissingTensors {
            origin: io.display().to_string(),
            names: vec!["input".into()],
        })?;
    let ours = record(&net, input)?;
    let mut max_abs = BTreeMap::new();
    let mut missing = Vec::new();
    for (key, theirs) in expected.tensors() {
        match ours.get(key) {
            None => missing.push(key.clone()),
            Some(mine) => {
                if mine.size() != theirs.size() {
                    return Err(UNetError::ShapeMismatch {
                        origin: io.display().to_string(),
                        tensor: key.clone(),
                        expected: mine.size(),
                        found: theirs.size(),
                    });
                }
                let diff = (mine - theirs.to_kind(mine.kind()))
                    .abs()
                    .max()
                    .double_value(&[]);
                max_abs.insert(key.clone(), diff);
            }
        }
    }
    missing.extend(
        ours.keys()
            .filter(|k| !expected.tensors().contains_key(*k))
            .cloned(),
    );
    Ok(Comparison { max_abs, missing })
}

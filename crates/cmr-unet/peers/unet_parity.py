"""The PyTorch half of `cargo xtask unet-parity`.

    python unet_parity.py DIR

1. For every `DIR/ours_<case>.safetensors` written by cmr-unet (`examples/unet_parity.rs
   export`): builds the PyTorch model from the stored configuration, loads the weights with
   `load_state_dict`, replays `ours_<case>_io.safetensors` (eval logits, then one training
   forward + backward: train logits, gradients, BatchNorm running statistics) and compares.
   Writes what PyTorch computed to `DIR/torch_on_ours_<case>_io.safetensors`, so that
   `cargo test` can check this direction without Python (fixtures: `ours_<case>.safetensors`
   and that file).
2. Writes `DIR/torch_<case>.safetensors` (the state dict of a PyTorch-initialised model of the
   same configuration, `num_batches_tracked` included, as PyTorch saves it) and
   `DIR/torch_<case>_io.safetensors` (what PyTorch computes with it), for the Rust side to
   check (`examples/unet_parity.rs check`) and to commit as test fixtures.

Exits 1 when a difference exceeds TOLERANCE. The protocol is documented in
crates/cmr-unet/tests/support/parity.rs.
"""

import glob
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_torch import UNet, config_from_metadata, config_metadata, load_ours  # noqa: E402

TOLERANCE = 1e-5


def record(model, x):
    """The protocol of tests/support/parity.rs, in PyTorch."""
    out = {"input": x.clone()}
    model.eval()
    with torch.no_grad():
        for name, logits in model(x).items():
            out[f"eval.{name}"] = logits
    model.train()
    model.zero_grad(set_to_none=True)
    heads = model(x)
    loss = torch.zeros(())
    for name in sorted(heads):
        loss = loss + heads[name].square().mean()
    loss.backward()
    for name, logits in heads.items():
        out[f"train.{name}"] = logits.detach()
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad.detach().clone()
    for name, b in model.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out[f"after_train.{name}"] = b.detach().clone()
    return {k: v.contiguous() for k, v in out.items()}


def compare(theirs, ours):
    diffs = {}
    missing = sorted(set(theirs) ^ set(ours))
    for key in sorted(set(theirs) & set(ours)):
        if theirs[key].shape != ours[key].shape:
            raise ValueError(f"{key}: shape {tuple(theirs[key].shape)} vs {tuple(ours[key].shape)}")
        diffs[key] = (theirs[key].double() - ours[key].double()).abs().max().item()
    return diffs, missing


def summary(direction, case, diffs, missing):
    evals = max(v for k, v in diffs.items() if k.startswith("eval."))
    worst_key = max(diffs, key=diffs.get)
    print(
        f"{direction}  {case:20} eval max|diff| {evals:.2e}; over all {len(diffs)} recorded "
        f"tensors (train logits, gradients, BN statistics) {diffs[worst_key]:.2e} ({worst_key})"
        + (f"; unmatched keys {missing}" if missing else "")
    )
    return not missing and diffs[worst_key] <= TOLERANCE


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: unet_parity.py DIR")
    out_dir = sys.argv[1]
    torch.set_num_threads(1)
    cases = sorted(glob.glob(os.path.join(out_dir, "ours_*_io.safetensors")))
    if not cases:
        sys.exit(f"no ours_*_io.safetensors in {out_dir}: run the Rust export first")
    ok = True
    for seed, io_path in enumerate(cases):
        case = os.path.basename(io_path)[len("ours_") : -len("_io.safetensors")]
        weights_path = os.path.join(out_dir, f"ours_{case}.safetensors")
        with safe_open(weights_path, "pt") as f:
            cfg = config_from_metadata(f.metadata())

        # cmr-unet -> PyTorch
        model = UNet(cfg)
        load_ours(model, load_file(weights_path))
        expected = load_file(io_path)
        theirs = record(model, expected["input"])
        diffs, missing = compare(theirs, expected)
        # What PyTorch computed from our weights, for the Rust side's fixture test.
        save_file(theirs, os.path.join(out_dir, f"torch_on_ours_{case}_io.safetensors"))
        ok &= summary("cmr-unet -> PyTorch", case, diffs, missing)

        # PyTorch -> cmr-unet: a PyTorch-initialised model with perturbed BatchNorm.
        torch.manual_seed(200 + seed)
        model = UNet(cfg)
        with torch.no_grad():
            for name, t in model.state_dict().items():
                if ".bn" in name and t.is_floating_point():
                    noise = torch.rand(t.shape) * 0.5 + 0.75
                    t.copy_(t * noise + (noise - 1.0))
        shape = list(expected["input"].shape)
        shape[-2] += 2  # another padding split than the Rust case
        x = torch.randn(shape)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(out_dir, f"torch_{case}.safetensors"), config_metadata(cfg))
        save_file(record(model, x), os.path.join(out_dir, f"torch_{case}_io.safetensors"))
    print(json.dumps({"agree": bool(ok), "tolerance": TOLERANCE}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

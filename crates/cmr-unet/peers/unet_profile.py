"""Where the time of a U-Net step goes: a per-operator breakdown (torch.profiler) of the
PyTorch step that `unet_bench.py` times. cmr-unet's step calls the same ATen operators of the
same libtorch build (tch is a thin binding), so the breakdown describes both sides; what it
cannot show is the per-call overhead each side adds around the operators.

    ~/.cache/cmr-ssl/venv/bin/python crates/cmr-unet/peers/unet_profile.py \
        [--threads 1] [--format channels_last] [--case train_b8_128] [--steps 3] [--top 12]
"""

import argparse
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_bench import FORMATS, torch_case  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--format", default="channels_last", choices=[f[0] for f in FORMATS])
    ap.add_argument("--case", default="train_b8_128", help="train|infer _b<batch>_<size>")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    try:
        kind, batch, size = args.case.split("_")
        batch, size = int(batch.lstrip("b")), int(size)
    except ValueError:
        sys.exit(f"--case {args.case!r}: expected e.g. train_b8_128 or infer_b1_192")
    torch.set_num_threads(args.threads)
    fmt = dict(FORMATS)[args.format]
    step = torch_case(fmt, kind, batch, size)  # built and warmed up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        wall = sum(step() for _ in range(args.steps)) / args.steps
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(
        f"PyTorch {torch.__version__}, {args.threads} thread(s), {args.format}, {args.case}: "
        f"{wall * 1e3:.1f} ms per step under the profiler ({args.steps} steps); self CPU time "
        "per operator, largest first"
    )
    print(f"{'operator':44} {'ms/step':>9} {'share':>6} {'calls/step':>10}")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        print(
            f"{e.key[:44]:44} {e.self_cpu_time_total / 1e3 / args.steps:9.2f} "
            f"{e.self_cpu_time_total / total:6.1%} {e.count / args.steps:10.1f}"
        )


if __name__ == "__main__":
    main()

"""The PyTorch half of `cargo xtask bench-unet`: the same cases, loop and statistics as
crates/cmr-unet/examples/unet_bench.rs, on the identical model (unet_torch.py).

    python unet_bench.py [--threads 2] [--seconds 3] [--json PATH]
    python unet_bench.py --report DIR

`cargo xtask bench-unet` alternates rounds of both implementations (DIR/cmr_unet_r<i>.json,
DIR/pytorch_r<i>.json) on the shared machine; --report takes each side's best median per case
over the rounds (the least disturbed) and prints cmr-unet's throughput divided by PyTorch's
(> 1: cmr-unet faster), and writes DIR/report.json.
"""

import argparse
import glob
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_torch import UNet  # noqa: E402

CONFIG = {
    "in_channels": 1,
    "base_channels": 16,
    "levels": 5,
    "downsample": "max_pool",
    "upsample": "transposed_conv",
    "heads": [{"name": "positions", "channels": 10}],
}
CASES = [("train", 8, 128), ("train", 8, 192), ("infer", 1, 128), ("infer", 1, 192)]


def timed(seconds, step):
    for _ in range(2):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--json")
    ap.add_argument("--report")
    args = ap.parse_args()
    if args.report:
        report(args.report)
        return
    torch.set_num_threads(args.threads)
    rows = []
    for fmt_name, fmt in [("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last)]:
        for kind, batch, size in CASES:
            torch.manual_seed(0)
            model = UNet(CONFIG).to(memory_format=fmt)
            x = torch.randn(batch, 1, size, size).contiguous(memory_format=fmt)
            if kind == "train":
                y = torch.randint(0, 10, (batch, size, size))
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)
                model.train()

                def step():
                    opt.zero_grad(set_to_none=True)
                    loss = F.cross_entropy(model(x)["positions"], y)
                    loss.backward()
                    opt.step()

            else:
                model.eval()

                def step():
                    with torch.no_grad():
                        model(x)

            median, iterations = timed(args.seconds, step)
            name = f"{kind}_b{batch}_{size}"
            print(
                f"PyTorch   {fmt_name:13} {name:15} median {median * 1e3:8.2f} ms  "
                f"{batch / median:7.1f} images/s  ({iterations} iterations)"
            )
            rows.append(
                {
                    "memory_format": fmt_name,
                    "case": name,
                    "batch": batch,
                    "median_s": median,
                    "images_per_s": batch / median,
                    "iterations": iterations,
                }
            )
    doc = {"implementation": f"PyTorch {torch.__version__}", "threads": torch.get_num_threads(), "results": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)


def best_of(paths):
    """(memory format, case) -> best images/s over the files, and the thread counts seen."""
    best, threads = {}, set()
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        threads.add(doc["threads"])
        for r in doc["results"]:
            key = (r["memory_format"], r["case"])
            best[key] = max(best.get(key, 0.0), r["images_per_s"])
    return best, threads


def report(out_dir):
    ours_files = sorted(glob.glob(os.path.join(out_dir, "cmr_unet_r*.json")))
    torch_files = sorted(glob.glob(os.path.join(out_dir, "pytorch_r*.json")))
    if not ours_files or not torch_files:
        sys.exit(f"no cmr_unet_r*.json / pytorch_r*.json in {out_dir}")
    ours, ours_threads = best_of(ours_files)
    theirs, their_threads = best_of(torch_files)
    if ours_threads != their_threads or len(ours_threads) != 1:
        print(f"warning: thread counts differ: cmr-unet {ours_threads}, PyTorch {their_threads}")
    rounds = min(len(ours_files), len(torch_files))
    print(
        f"\ncmr-unet / PyTorch {torch.__version__} throughput, {sorted(ours_threads)} threads, "
        f"best of {rounds} alternating rounds (> 1.00: cmr-unet faster)"
    )
    print(f"{'memory format':14} {'case':15} {'cmr-unet img/s':>15} {'PyTorch img/s':>15} {'ratio':>7}")
    rows = []
    for key in sorted(ours, key=lambda k: (k[0] != "contiguous", k[1])):
        if key not in theirs:
            continue
        ratio = ours[key] / theirs[key]
        rows.append({"memory_format": key[0], "case": key[1], "cmr_unet_images_per_s": ours[key],
                     "pytorch_images_per_s": theirs[key], "ratio": ratio})
        print(f"{key[0]:14} {key[1]:15} {ours[key]:15.1f} {theirs[key]:15.1f} {ratio:7.2f}")
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump({"rounds": rounds, "threads": sorted(ours_threads), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()

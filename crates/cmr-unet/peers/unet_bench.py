"""The PyTorch half of `cargo xtask bench-unet`: the same cases, loop and statistics as
crates/cmr-unet/examples/unet_bench.rs, on the identical model (unet_torch.py).

    python unet_bench.py [--threads 2] [--seconds 3] [--json PATH]
    python unet_bench.py --report DIR

`cargo xtask bench-unet` alternates rounds of both implementations (DIR/cmr_unet_r<i>.json,
DIR/pytorch_r<i>.json) on the shared machine; --report takes, per case and side, the best
over the rounds of the median step time, the fastest step and the CPU time per step (the last
two are the least disturbed by other work), prints cmr-unet's throughput divided by PyTorch's
for each (> 1: cmr-unet faster), and writes DIR/report.json.
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
    cpu_start = time.process_time()
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    cpu = (time.process_time() - cpu_start) / len(times)
    times.sort()
    return times[len(times) // 2], times[0], cpu, len(times)


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

            median, fastest, cpu, iterations = timed(args.seconds, step)
            name = f"{kind}_b{batch}_{size}"
            print(
                f"PyTorch   {fmt_name:13} {name:15} median {median * 1e3:8.2f} ms "
                f"({batch / median:6.1f} images/s), fastest {fastest * 1e3:8.2f} ms, "
                f"CPU {cpu * 1e3:8.2f} ms/iter ({iterations} iterations)"
            )
            rows.append(
                {
                    "memory_format": fmt_name,
                    "case": name,
                    "batch": batch,
                    "median_s": median,
                    "min_s": fastest,
                    "cpu_s": cpu,
                    "images_per_s": batch / median,
                    "iterations": iterations,
                }
            )
    doc = {"implementation": f"PyTorch {torch.__version__}", "threads": torch.get_num_threads(), "results": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)


def best_of(paths):
    """(memory format, case) -> best (median, fastest, CPU-time) images/s over the files, and
    the thread counts seen."""
    best, threads = {}, set()
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        threads.add(doc["threads"])
        for r in doc["results"]:
            key = (r["memory_format"], r["case"])
            cpu = r["batch"] / r["cpu_s"] if r.get("cpu_s") else float("nan")
            new = (r["batch"] / r["median_s"], r["batch"] / r["min_s"], cpu)
            old = best.get(key, (0.0, 0.0, 0.0))
            best[key] = tuple(max(a, b) if b == b else a for a, b in zip(old, new))
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
        f"\ncmr-unet / PyTorch {torch.__version__} throughput in images/s, {sorted(ours_threads)} "
        f"threads, best of {rounds} alternating rounds (ratio > 1.00: cmr-unet faster)"
    )
    print("  wall = best median wall time per step; fastest = best single step; cpu = CPU time per")
    print("  step, all threads (time spent preempted by other work does not count)")
    print(
        f"{'memory format':14} {'case':14} {'wall: ours':>10} {'PyTorch':>8} {'ratio':>6}"
        f" {'fastest: ours':>14} {'PyTorch':>8} {'ratio':>6} {'cpu: ours':>10} {'PyTorch':>8} {'ratio':>6}"
    )
    rows = []
    for key in sorted(ours, key=lambda k: (k[0] != "contiguous", k[1])):
        if key not in theirs:
            continue
        o, t = ours[key], theirs[key]
        row = {"memory_format": key[0], "case": key[1]}
        for i, what in enumerate(["median", "fastest", "cpu"]):
            row[what] = {"cmr_unet_images_per_s": o[i], "pytorch_images_per_s": t[i], "ratio": o[i] / t[i]}
        rows.append(row)
        print(
            f"{key[0]:14} {key[1]:14} {o[0]:10.1f} {t[0]:8.1f} {o[0] / t[0]:6.2f}"
            f" {o[1]:14.1f} {t[1]:8.1f} {o[1] / t[1]:6.2f} {o[2]:10.1f} {t[2]:8.1f} {o[2] / t[2]:6.2f}"
        )
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump({"rounds": rounds, "threads": sorted(ours_threads), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()

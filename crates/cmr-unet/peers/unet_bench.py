"""The PyTorch half of `cargo xtask bench-unet`: the identical model (unet_torch.py), the same
cases and steps as crates/cmr-unet/examples/unet_bench.rs, measured *paired*.

    python unet_bench.py --ours PATH/TO/unet_bench [--threads 1,2] [--seconds 3]
        [--formats contiguous,channels_last] [--out DIR]

It starts the Rust example with `--serve` and, for every case, alternates one PyTorch step
and one cmr-unet step (in ABBA order) until `--seconds` of PyTorch steps have passed (at least
6 pairs). The two never run at the same time, and on a machine shared with other work both
see the same background load, so the per-pair ratio (PyTorch step time / cmr-unet step time
= cmr-unet throughput / PyTorch throughput) is robust where absolute times are not. Both
sides use the same thread count (one server per count). Prints a table and writes
DIR/unet_bench.{json,csv,md}.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
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
FORMATS = [("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last)]
# glibc malloc settings in effect (`bench-unet --keep-freed-memory`), inherited by the server.
MALLOC_ENV = {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")}


def torch_case(fmt, kind, batch, size):
    """A step function for the PyTorch model, warmed up like the Rust one."""
    torch.manual_seed(0)
    model = UNet(CONFIG).to(memory_format=fmt)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=fmt)
    if kind == "train":
        y = torch.randint(0, 10, (batch, size, size))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()

        def step():
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x)["positions"], y)
            loss.backward()
            opt.step()
            return time.perf_counter() - t

    else:
        model.eval()

        def step():
            t = time.perf_counter()
            with torch.no_grad():
                model(x)
            return time.perf_counter() - t

    for _ in range(2):
        step()
    return step


class Ours:
    """The Rust example in --serve mode."""

    def __init__(self, binary, threads):
        self.proc = subprocess.Popen(
            [binary, "--serve", "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer:
            sys.exit(f"cmr-unet bench server stopped (exit {self.proc.wait()}) after `{line}`")
        return answer

    def case(self, fmt_name, kind, batch, size):
        if self.ask(f"case {fmt_name} {kind} {batch} {size}") != "ready":
            sys.exit("cmr-unet bench server did not get ready")

    def step(self):
        return float(self.ask("step"))

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def paired(ours, step_torch, seconds):
    """Alternates single steps (ABBA) until `seconds` of PyTorch steps, at least 6 pairs."""
    t_ours, t_torch = [], []
    spent = 0.0
    while len(t_ours) < 6 or spent < seconds:
        if len(t_ours) % 2 == 0:
            t_torch.append(step_torch())
            t_ours.append(ours.step())
        else:
            t_ours.append(ours.step())
            t_torch.append(step_torch())
        spent += t_torch[-1]
    return t_ours, t_torch


def measure(binary, threads, seconds, formats):
    """Every case at one thread count; returns the table rows."""
    torch.set_num_threads(threads)
    ours = Ours(binary, threads)
    rows = []
    for fmt_name, fmt in formats:
        for kind, batch, size in CASES:
            step_torch = torch_case(fmt, kind, batch, size)
            ours.case(fmt_name, kind, batch, size)
            t_ours, t_torch = paired(ours, step_torch, seconds)
            ratios = sorted(t / o for t, o in zip(t_torch, t_ours))
            q = statistics.quantiles(ratios, n=4)
            mo, mt = statistics.median(t_ours), statistics.median(t_torch)
            row = {
                "threads": threads,
                "memory_format": fmt_name,
                "case": f"{kind}_b{batch}_{size}",
                "batch": batch,
                "pairs": len(ratios),
                "cmr_unet_median_s": mo,
                "pytorch_median_s": mt,
                "cmr_unet_fastest_s": min(t_ours),
                "pytorch_fastest_s": min(t_torch),
                "ratio_median": statistics.median(ratios),
                "ratio_quartiles": [q[0], q[2]],
            }
            rows.append(row)
            print(format_row(row), flush=True)
            del step_torch
    ours.close()
    return rows


HEADER = (
    f"{'thr':>3} {'memory format':14} {'case':14} {'pairs':>5} {'ours ms':>9} {'torch ms':>9} "
    f"{'ours img/s':>10} {'torch img/s':>11} {'ratio':>6} {'ratio IQR':>12}"
)


def format_row(r):
    mo, mt, b = r["cmr_unet_median_s"], r["pytorch_median_s"], r["batch"]
    q = r["ratio_quartiles"]
    return (
        f"{r['threads']:3d} {r['memory_format']:14} {r['case']:14} {r['pairs']:5d} "
        f"{mo * 1e3:9.2f} {mt * 1e3:9.2f} {b / mo:10.1f} {b / mt:11.1f} "
        f"{r['ratio_median']:6.2f} {q[0]:5.2f}-{q[1]:<5.2f}"
    )


def write_outputs(out_dir, doc):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "unet_bench.json"), "w") as f:
        json.dump(doc, f, indent=2)
    fields = [
        "threads", "memory_format", "case", "batch", "pairs", "cmr_unet_median_s",
        "pytorch_median_s", "cmr_unet_fastest_s", "pytorch_fastest_s", "ratio_median",
        "ratio_q1", "ratio_q3",
    ]
    with open(os.path.join(out_dir, "unet_bench.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for r in doc["rows"]:
            w.writerow(
                [r[k] for k in fields[:-2]] + [r["ratio_quartiles"][0], r["ratio_quartiles"][1]]
            )
    lines = [
        f"cmr-unet vs PyTorch {doc['pytorch']} on {doc['cpu']} ({doc['cpus']} CPUs), "
        f"load average {doc['load_average_before'][0]:.2f} before, "
        f"{doc['load_average_after'][0]:.2f} after; paired steps, ratio = PyTorch step time / "
        "cmr-unet step time (> 1: cmr-unet faster), median over pairs, quartiles in brackets."
        + (f" glibc settings for both: {doc['malloc_env']}." if doc["malloc_env"] else ""),
        "",
        "| threads | memory format | case | pairs | cmr-unet | PyTorch | ratio (IQR) |",
        "|---:|---|---|---:|---:|---:|---|",
    ]
    for r in doc["rows"]:
        mo, mt, b = r["cmr_unet_median_s"], r["pytorch_median_s"], r["batch"]
        if r["case"].startswith("train"):
            ours, theirs = f"{b / mo:.1f} img/s", f"{b / mt:.1f} img/s"
        else:
            ours, theirs = f"{mo * 1e3:.1f} ms", f"{mt * 1e3:.1f} ms"
        q = r["ratio_quartiles"]
        lines.append(
            f"| {r['threads']} | {r['memory_format']} | {r['case']} | {r['pairs']} | {ours} | "
            f"{theirs} | {r['ratio_median']:.2f} ({q[0]:.2f}-{q[1]:.2f}) |"
        )
    with open(os.path.join(out_dir, "unet_bench.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True, help="the built unet_bench example")
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--formats", default="contiguous,channels_last")
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",") if t]
    wanted = args.formats.split(",")
    formats = [f for f in FORMATS if f[0] in wanted]
    if not thread_counts or len(formats) != len(wanted):
        sys.exit(f"bad --threads {args.threads!r} or --formats {args.formats!r}")
    print(
        f"cmr-unet vs PyTorch {torch.__version__} on {cpu_model()} ({os.cpu_count()} CPUs), "
        "paired steps (ratio = PyTorch step time / cmr-unet step time; > 1.00: cmr-unet "
        "faster; median over pairs and interquartile range)"
    )
    if MALLOC_ENV:
        print(f"glibc settings for both sides: {MALLOC_ENV}")
    print(HEADER)
    before = os.getloadavg()
    rows = []
    for threads in thread_counts:
        rows += measure(args.ours, threads, args.seconds, formats)
    doc = {
        "pytorch": torch.__version__,
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "seconds_per_case": args.seconds,
        "load_average_before": before,
        "load_average_after": os.getloadavg(),
        "malloc_env": MALLOC_ENV,
        "rows": rows,
    }
    write_outputs(args.out, doc)
    print(f"written: {os.path.join(args.out, 'unet_bench.{json,csv,md}')}")


if __name__ == "__main__":
    main()

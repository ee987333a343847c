"""Times medpy 0.5.2 and MONAI 1.6.1 HD95/ASSD on the masks of the cmr-metrics criterion
benchmark (`crates/cmr-metrics/benches/distances.rs`) and prints them next to criterion's
numbers for cmr-metrics, with the speed-up ratios.

Run through `cargo xtask bench-metrics`, which runs the criterion benchmark first.
The masks are built here with the same integer formulas as in the Rust benchmark, and both
check the same checksums, so the two sides time the very same inputs.
"""

import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")

import torch  # noqa: E402
from medpy.metric import binary as mb  # noqa: E402
from monai.metrics import (  # noqa: E402
    compute_average_surface_distance,
    compute_hausdorff_distance,
)

# name, slices, scale, (prediction voxels, reference voxels, sum of prediction flat indices)
CASES = [
    ("2d_lv", 1, 1, (3173, 3201, 107309609)),
    ("3d_lv", 12, 1, (18046, 18180, 4688581552)),
    ("2d_large", 1, 3, (28563, 28805, 974782511)),
    ("3d_large", 12, 3, (162822, 164232, 42396974366)),
]


def in_ellipse(r, c, centre, a, b):
    dr, dc = r - centre[0], c - centre[1]
    return dr * dr * b * b + dc * dc * a * a <= a * a * b * b


def lv_pair(slices, scale):
    """Mirror of `lv_pair` in distances.rs (integer arithmetic, identical masks)."""
    z, r, c = np.meshgrid(np.arange(slices, dtype=np.int64), np.arange(256, dtype=np.int64),
                          np.arange(256, dtype=np.int64), indexing="ij")
    zq3 = z // 3  # z >= 0, so floor division equals Rust's truncating division
    reference = in_ellipse(r, c, (128 + zq3, 120), scale * (34 - 2 * z), scale * (30 - 2 * z))
    centre = (131, 117 + z // 4)
    a = scale * (31 - 2 * z)
    body = in_ellipse(r, c, centre, a, scale * (32 - 2 * z))
    bump = (z % 3 != 2) & in_ellipse(r, c, (centre[0] + a, centre[1]), 6 * scale, 6 * scale)
    return body | bump, reference


def checksum(p, r):
    return int(p.sum()), int(r.sum()), int(np.flatnonzero(p.ravel()).sum())


def time_call(fn, budget_s):
    """Median seconds per call over repeated calls filling about `budget_s`."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    repeats = int(min(50, max(3, budget_s / max(first, 1e-9))))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), repeats


def criterion_median_s(root, bench):
    path = os.path.join(root, "cmr_metrics", bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"] * 1e-9
    except FileNotFoundError:
        return None


def fmt_time(s):
    if s is None:
        return "-"
    return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion", default="target/criterion", help="criterion output folder")
    ap.add_argument("--values", help="JSON of the values the Rust benchmark computed (optional)")
    ap.add_argument("--checksums", action="store_true", help="print the mask checksums and exit")
    ap.add_argument("--budget", type=float, default=1.5, help="seconds of timing per peer call")
    args = ap.parse_args()
    torch.set_num_threads(1)

    expected = {name: cs for name, _, _, cs in CASES}
    ours_values = {}
    if args.values and os.path.exists(args.values):
        with open(args.values) as f:
            ours_values = json.load(f)
    rows = []
    for name, slices, scale, _ in CASES:
        p, r = lv_pair(slices, scale)
        cs = checksum(p, r)
        if args.checksums:
            print(name, cs)
            continue
        if expected[name] is not None and cs != expected[name]:
            sys.exit(f"{name}: mask checksum {cs} differs from the Rust benchmark's {expected[name]}")
        if slices == 1:
            p, r = p[0], r[0]
            spacing = [1.8, 1.8]
        else:
            spacing = [10.0, 1.8, 1.8]
        tp = torch.from_numpy(p[None, None].astype(np.float32))
        tr = torch.from_numpy(r[None, None].astype(np.float32))
        peers = {
            "hd95": {
                "medpy": lambda: mb.hd95(p, r, voxelspacing=spacing),
                "monai": lambda: compute_hausdorff_distance(tp, tr, include_background=True, percentile=95,
                                                            spacing=spacing),
            },
            "assd": {
                "medpy": lambda: mb.assd(p, r, voxelspacing=spacing),
                "monai": lambda: compute_average_surface_distance(tp, tr, include_background=True,
                                                                  symmetric=True, spacing=spacing),
            },
        }
        for metric, fns in peers.items():
            values = {k: float(fn()) for k, fn in fns.items()}
            timed = {k: time_call(fn, args.budget)[0] for k, fn in fns.items()}
            ours = criterion_median_s(args.criterion, f"{metric}_{name}")
            mine = ours_values.get(name, {})
            values["ours"] = (mine.get("hd95_medpy"), mine.get("hd95_monai")) if metric == "hd95" else (
                mine.get("assd"), mine.get("assd"))
            rows.append((name, metric, ours, timed["medpy"], timed["monai"], values))
    if args.checksums:
        return 0

    print(f"\nHD95 / ASSD, median time per call (one thread each; torch threads: {torch.get_num_threads()})")
    print(f"{'masks':<10} {'metric':<6} {'cmr-metrics':>12} {'medpy':>11} {'MONAI':>11} "
          f"{'x medpy':>8} {'x MONAI':>8}   values (mm) medpy / ours, MONAI / ours")
    worst = 0.0
    for name, metric, ours, medpy_s, monai_s, values in rows:
        ratio = (lambda s: f"{s / ours:7.1f}x") if ours else (lambda s: "      -")
        om, oo = values["ours"]
        shown = lambda v: "-" if v is None else f"{v:.6f}"  # noqa: E731
        for peer, mine in ((values["medpy"], om), (values["monai"], oo)):
            if mine is not None:
                worst = max(worst, abs(mine - peer) / abs(peer))
        print(f"{name:<10} {metric:<6} {fmt_time(ours):>12} {fmt_time(medpy_s):>11} {fmt_time(monai_s):>11} "
              f"{ratio(medpy_s):>8} {ratio(monai_s):>8}   {values['medpy']:.6f} / {shown(om)}, "
              f"{values['monai']:.6f} / {shown(oo)}")
    if ours_values:
        print(f"\nlargest relative difference of our values to the peers': {worst:.1e} "
              "(HD95 compared under each peer's convention; MONAI returns float32)")
    if any(r[2] is None for r in rows):
        print("\n(no criterion results found under", args.criterion, "- run the Rust benchmark first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

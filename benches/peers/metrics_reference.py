"""Reference values for cmr-metrics from the real implementations.

Generates >= 200 mask pairs (2-D and 3-D, random blobs, noise, ellipses, rings, squares,
single voxels, empty masks; anisotropic spacing) deterministically from a seed, computes
their metrics with medpy 0.5.2, MONAI 1.6.1 and scipy, and writes masks (bit-packed, base64)
and values to a small JSON file that `crates/cmr-metrics/tests/reference.rs` reads without
Python.

Run through `cargo xtask metrics-reference` (uses the pinned peers of the setup venv).
"""

import argparse
import base64
import json
import os
import sys
import tempfile
import warnings

import numpy as np
from scipy import ndimage

warnings.simplefilter("ignore")  # MONAI warns about empty masks; that is what we test.

import medpy  # noqa: E402
import monai  # noqa: E402
import scipy  # noqa: E402
import torch  # noqa: E402
from medpy.metric import binary as mb  # noqa: E402
from monai.metrics import (  # noqa: E402
    compute_average_surface_distance,
    compute_hausdorff_distance,
)
from monai.metrics.utils import get_edge_surface_distance  # noqa: E402

SEED = 20261125


def ellipse(shape, centre, axes):
    grids = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    acc = np.zeros(shape)
    for g, c, a in zip(grids, centre, axes):
        acc += ((g - c) / a) ** 2
    return acc <= 1.0


def blob(rng, shape, sigma, fraction):
    smooth = ndimage.gaussian_filter(rng.random(shape), sigma)
    return smooth > np.quantile(smooth, 1.0 - fraction)


def perturb(rng, mask, flips):
    out = mask.copy()
    edge = mask ^ ndimage.binary_erosion(mask)
    idx = np.flatnonzero(ndimage.binary_dilation(edge))
    if idx.size:
        pick = rng.choice(idx, size=min(flips, idx.size), replace=False)
        out.flat[pick] = ~out.flat[pick]
    return out


def spacing_for(rng, ndim):
    inplane = list(np.round(rng.uniform(0.4, 2.5, 2), 3))
    if ndim == 2:
        return inplane if rng.random() > 0.15 else [1.0, 1.0]
    return [round(float(rng.uniform(1.5, 10.0)), 3)] + inplane


def make_pair(rng, kind, ndim):
    if ndim == 2:
        shape = tuple(int(n) for n in rng.integers(8, 41, 2))
    else:
        shape = (int(rng.integers(2, 7)),) + tuple(int(n) for n in rng.integers(8, 29, 2))
    shape_a = np.array(shape, dtype=np.float64)
    if kind == "blob":
        a = blob(rng, shape, rng.uniform(1.0, 3.0), rng.uniform(0.1, 0.5))
        b = perturb(rng, a, int(rng.integers(1, 40))) if rng.random() < 0.5 else blob(
            rng, shape, rng.uniform(1.0, 3.0), rng.uniform(0.1, 0.5))
    elif kind == "noise":
        a = rng.random(shape) < rng.uniform(0.05, 0.5)
        b = rng.random(shape) < rng.uniform(0.05, 0.5)
    elif kind == "ellipse":
        def one():
            c = rng.uniform(-0.1, 1.1, ndim) * shape_a
            ax = rng.uniform(1.0, 0.6 * shape_a.max(), ndim)
            if ndim == 3:
                ax[0] = rng.uniform(0.5, shape_a[0])
            return ellipse(shape, c, ax)
        a, b = one(), one()
    elif kind == "ring":
        c = shape_a / 2 + rng.uniform(-2, 2, ndim)
        outer = rng.uniform(3, shape_a[-2:].min() / 2, 1)[0]
        inner = outer - rng.uniform(1.0, 4.0)
        def ring(cc, ro, ri):
            ax_o = [ro] * ndim
            ax_i = [max(ri, 0.5)] * ndim
            if ndim == 3:
                ax_o[0] = ax_i[0] = 1e9  # a tube through all slices
            return ellipse(shape, cc, ax_o) & ~ellipse(shape, cc, ax_i)
        a = ring(c, outer, inner)
        b = ring(c + rng.uniform(-2, 2, ndim), outer + rng.uniform(-2, 2), inner + rng.uniform(-2, 2))
        if ndim == 3:  # drop slices from either mask: the contour distance must skip them
            a[rng.random(shape[0]) < 0.3] = False
            b[rng.random(shape[0]) < 0.3] = False
    elif kind == "box":
        def box():
            lo = [int(rng.integers(0, n)) for n in shape]
            hi = [int(rng.integers(l + 1, n + 1)) for l, n in zip(lo, shape)]
            m = np.zeros(shape, bool)
            m[tuple(slice(l, h) for l, h in zip(lo, hi))] = True
            return m
        a, b = box(), box()
    elif kind == "points":
        def pts():
            m = np.zeros(shape, bool)
            m.flat[rng.choice(m.size, size=int(rng.integers(1, 5)), replace=False)] = True
            return m
        a, b = pts(), pts()
    elif kind == "empty":
        a = blob(rng, shape, 2.0, 0.3)
        b = np.zeros(shape, bool)
        r = rng.random()
        if r < 0.4:
            a, b = b, a
        elif r < 0.6:
            a = np.zeros(shape, bool)
    else:
        raise ValueError(kind)
    return a, b, spacing_for(rng, ndim)


def pack(mask):
    return base64.b64encode(np.packbits(mask.ravel()).tobytes()).decode("ascii")


def num(v):
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def monai_values(a, b, spacing):
    p = torch.from_numpy(a[None, None].astype(np.float32))
    g = torch.from_numpy(b[None, None].astype(np.float32))
    sp = [float(s) for s in spacing]
    out = {
        "hd": num(compute_hausdorff_distance(p, g, include_background=True, spacing=sp).item()),
        "hd95": num(compute_hausdorff_distance(p, g, include_background=True, percentile=95, spacing=sp).item()),
        "assd": num(compute_average_surface_distance(p, g, include_background=True, symmetric=True, spacing=sp).item()),
        "asd_pr": num(compute_average_surface_distance(p, g, include_background=True, symmetric=False, spacing=sp).item()),
    }
    if a.any() and b.any():
        # MONAI computes the quantile in float32, whose rank (n - 1) * 0.95f is off by up to
        # ~1e-7 (n - 1): a relative error of ~1e-6 when neighbouring order statistics are far
        # apart. The same distances (MONAI's own edges and KD-tree distances, the call
        # compute_hausdorff_distance makes) with the quantile taken in float64:
        _, dists, _ = get_edge_surface_distance(p[0, 0], g[0, 0], spacing=sp, symmetric=True)
        out["hd95_f64_quantile"] = num(max(torch.quantile(d.double(), 0.95).item() for d in dists))
    return out


def medpy_values(a, b, spacing):
    if not a.any() or not b.any():
        return None  # medpy raises on empty masks
    return {
        "dc": num(mb.dc(a, b)),
        "jc": num(mb.jc(a, b)),
        "hd": num(mb.hd(a, b, voxelspacing=spacing)),
        "hd95": num(mb.hd95(a, b, voxelspacing=spacing)),
        "assd": num(mb.assd(a, b, voxelspacing=spacing)),
        "asd_pr": num(mb.asd(a, b, voxelspacing=spacing)),
        "asd_rp": num(mb.asd(b, a, voxelspacing=spacing)),
        "ravd": num(mb.ravd(a, b)),
    }


def contour_values(a, b, spacing):
    """Per-slice medpy distances on 2-D slices, averaged over slices holding both masks."""
    if a.ndim == 2:
        a, b, inplane = a[None], b[None], spacing
    else:
        inplane = spacing[1:]
    mds, hds = [], []
    for sa, sb in zip(a, b):
        if sa.any() and sb.any():
            mds.append(0.5 * (mb.asd(sa, sb, voxelspacing=inplane) + mb.asd(sb, sa, voxelspacing=inplane)))
            hds.append(mb.hd(sa, sb, voxelspacing=inplane))
    if not mds:
        return {"slices": 0}
    return {"mcd": num(np.mean(mds)), "mcd_hd": num(np.mean(hds)), "slices": len(mds)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    plan = []
    for ndim, per_kind in ((2, {"blob": 25, "noise": 15, "ellipse": 25, "ring": 15, "box": 15, "points": 15}),
                           (3, {"blob": 20, "noise": 10, "ellipse": 25, "ring": 20, "box": 10, "points": 10})):
        for kind, n in per_kind.items():
            plan += [(kind, ndim)] * n
    plan += [("empty", 2)] * 8 + [("empty", 3)] * 6

    pairs = []
    for i, (kind, ndim) in enumerate(plan):
        a, b, spacing = make_pair(rng, kind, ndim)
        pairs.append({
            "id": f"{i:03d}-{kind}{ndim}d",
            "shape": list(a.shape),
            "spacing": [float(s) for s in spacing],
            "prediction": pack(a),
            "reference": pack(b),
            "voxels": [int(a.sum()), int(b.sum()), int((a & b).sum())],
            "medpy": medpy_values(a, b, spacing),
            "monai": monai_values(a, b, spacing),
            "contour": contour_values(a, b, spacing),
        })

    doc = {
        "generator": "benches/peers/metrics_reference.py",
        "seed": args.seed,
        "versions": {"medpy": medpy.__version__ if hasattr(medpy, "__version__") else "0.5.2",
                     "monai": monai.__version__, "scipy": scipy.__version__,
                     "numpy": np.__version__, "torch": torch.__version__},
        "notes": "Masks: np.packbits of the C-order raster, base64. Non-finite numbers as strings. "
                 "medpy is null where a mask is empty (medpy raises). MONAI values are float32; hd95_f64_quantile is MONAI HD95 with the quantile in float64. "
                 "contour: medpy hd/asd per 2-D slice with in-plane spacing, over slices with both masks.",
        "pairs": pairs,
    }
    out = args.out
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, out)
    print(f"wrote {len(pairs)} pairs to {out} ({os.path.getsize(out) // 1024} KiB)")


if __name__ == "__main__":
    sys.exit(main())

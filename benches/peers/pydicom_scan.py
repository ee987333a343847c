"""Times the DICOM header scan and pixel decode of `benches/dicom_scan.rs` with pydicom 3.0.2
on the same generated folder, and prints them next to criterion's numbers for cmr-geometry,
with the speed-up ratios.

Run through `cargo xtask bench-scan`, which runs the criterion benchmark first (it writes the
folder). The pydicom scan does what `cmr_geometry::dicom::scan::read_headers` does: read each
file's header without pixels (`stop_before_pixels=True`), pull out the attributes that place
the image (UIDs, description, position, orientation, spacing, size, trigger time, instance
number) and group the images by study and series. "All processes" uses a multiprocessing pool
of one worker per core, the usual way to parallelise pydicom (threads are serialised by the
GIL). Decode MB/s counts stored pixel bytes (2 per pixel), as the Rust benchmark does.
"""

import argparse
import json
import multiprocessing as mp
import os
import time
from collections import defaultdict

import numpy as np
import pydicom

DECODE_FILES = 200


def header(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    if ds.get("Modality") != "MR":
        return None
    return (
        str(ds.StudyInstanceUID),
        str(ds.SeriesInstanceUID),
        str(ds.get("SeriesDescription", "")),
        tuple(float(v) for v in ds.ImagePositionPatient),
        tuple(float(v) for v in ds.ImageOrientationPatient),
        tuple(float(v) for v in ds.PixelSpacing),
        int(ds.Rows),
        int(ds.Columns),
        float(ds.TriggerTime) if "TriggerTime" in ds else None,
        int(ds.InstanceNumber) if "InstanceNumber" in ds else None,
        path,
    )


def group(headers):
    studies = defaultdict(lambda: defaultdict(list))
    for h in headers:
        if h is not None:
            studies[h[0]][h[1]].append(h)
    return studies


def scan_serial(files):
    return group(header(f) for f in files)


def scan_pool(pool, files):
    return group(pool.map(header, files, chunksize=32))


def decode(path):
    ds = pydicom.dcmread(path)
    a = ds.pixel_array.astype(np.float32)
    slope = float(ds.get("RescaleSlope", 1.0))
    intercept = float(ds.get("RescaleIntercept", 0.0))
    return float((a * slope + intercept).sum())


def best_time(fn, repeats):
    fn()  # warm the page cache and imports
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def criterion_mean_s(criterion, group_name, bench):
    path = os.path.join(criterion, group_name, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"] * 1e-9
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folder", required=True)
    ap.add_argument("--criterion", help="criterion output folder (target/criterion)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    args = ap.parse_args()

    files = sorted(
        os.path.join(d, f)
        for d, _, names in os.walk(args.folder)
        for f in names
        if f.endswith(".dcm")
    )
    n = len(files)
    subset = files[:: max(1, n // DECODE_FILES)]
    first = pydicom.dcmread(files[0], stop_before_pixels=True)
    pixel_bytes = len(subset) * int(first.Rows) * int(first.Columns) * 2

    studies = scan_serial(files)
    images = sum(len(v) for s in studies.values() for v in s.values())
    print(f"pydicom {pydicom.__version__}: {n} files, {len(studies)} studies, {images} MR images")

    py = {}
    py["headers_1"] = n / best_time(lambda: scan_serial(files), args.repeats)
    with mp.Pool(args.processes) as pool:
        py["headers_n"] = n / best_time(lambda: scan_pool(pool, files), args.repeats)
        py["decode_n"] = pixel_bytes / 1e6 / best_time(
            lambda: pool.map(decode, subset, chunksize=8), args.repeats
        )
    py["decode_1"] = pixel_bytes / 1e6 / best_time(lambda: [decode(f) for f in subset], args.repeats)

    rust = {}
    if args.criterion:
        for key, grp, bench, scale in [
            ("headers_1", "dicom_scan", "headers_1_thread", n),
            ("headers_n", "dicom_scan", "headers_all_threads", n),
            ("decode_1", "dicom_decode", "frames_1_thread", pixel_bytes / 1e6),
            ("decode_n", "dicom_decode", "frames_all_threads", pixel_bytes / 1e6),
        ]:
            s = criterion_mean_s(args.criterion, grp, bench)
            if s:
                rust[key] = scale / s

    rows = [
        ("header scan, 1 thread / process", "headers_1", "files/s"),
        (f"header scan, all ({args.processes}) threads / processes", "headers_n", "files/s"),
        ("decode, 1 thread / process", "decode_1", "MB/s"),
        (f"decode, all ({args.processes}) threads / processes", "decode_n", "MB/s"),
    ]
    print(f"\n{'':44} {'cmr-geometry':>14} {'pydicom':>12} {'ratio':>8}")
    for label, key, unit in rows:
        r = rust.get(key)
        p = py[key]
        ratio = f"{r / p:7.1f}x" if r else "      -"
        rs = f"{r:10.0f}" if r else "         -"
        print(f"{label:44} {rs} {unit:>5} {p:8.0f} {unit:>5} {ratio}")
    if "headers_n" in rust:
        best_ratio = rust["headers_n"] / py["headers_n"]
        serial_ratio = rust["headers_1"] / py["headers_1"]
        print(
            f"\nheader scan speed-up: {serial_ratio:.1f}x on one core, {best_ratio:.1f}x on all cores "
            f"(goal: >= 10x)"
        )


if __name__ == "__main__":
    main()

//! HD95 and ASSD on LV-like masks: 256x256 slices and 12x256x256 stacks.
//!
//! Run: `cargo bench -p cmr-metrics --bench distances`, or `cargo xtask bench-metrics`, which
//! also times medpy 0.5.2 and MONAI 1.6.1 on the very same masks
//! (`benches/peers/metrics_bench.py` builds them with the same integer formulas and checks the
//! checksums below) and prints the ratios. With `CMR_METRICS_BENCH_VALUES=<file>` set (the
//! xtask sets it), the benchmark first writes its HD95 and ASSD values there, so the peer
//! script can show that all three compute the same numbers on these masks.

use cmr_metrics::{average_surface_distance, percentile_hausdorff_distance, MetricOptions};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::{Array3, ArrayD, IxDyn};
use std::hint::black_box;
use std::time::Duration;

/// `(r - cr)² b² + (c - cc)² a² <= a² b²` in integers, so Python builds the same masks.
fn in_ellipse(r: i64, c: i64, centre: (i64, i64), a: i64, b: i64) -> bool {
    let (dr, dc) = (r - centre.0, c - centre.1);
    dr * dr * b * b + dc * dc * a * a <= a * a * b * b
}

/// Reference: a tapering ellipse (LV blood pool); prediction: a shifted ellipse of another
/// shape with a bump on two of every three slices. `scale` 1 is LV-sized (~60 px across on a
/// 256 px slice), 3 fills most of the slice.
fn lv_pair(slices: usize, scale: i64) -> (Array3<bool>, Array3<bool>) {
    let shape = (slices, 256, 256);
    let reference = Array3::from_shape_fn(shape, |(z, r, c)| {
        let z = z as i64;
        in_ellipse(
            r as i64,
            c as i64,
            (128 + z / 3, 120),
            scale * (34 - 2 * z),
            scale * (30 - 2 * z),
        )
    });
    let prediction = Array3::from_shape_fn(shape, |(z, r, c)| {
        let z = z as i64;
        let (r, c) = (r as i64, c as i64);
        let centre = (131, 117 + z / 4);
        let a = scale * (31 - 2 * z);
        let body = in_ellipse(r, c, centre, a, scale * (32 - 2 * z));
        let bump = z % 3 != 2 && in_ellipse(r, c, (centre.0 + a, centre.1), 6 * scale, 6 * scale);
        body || bump
    });
    (prediction, reference)
}

/// Voxel counts and the sum of the flat indices of the prediction's voxels.
fn checksum(p: &Array3<bool>, r: &Array3<bool>) -> (usize, usize, u64) {
    let sum = p
        .iter()
        .enumerate()
        .filter(|(_, &v)| v)
        .map(|(i, _)| i as u64)
        .sum();
    (
        p.iter().filter(|&&v| v).count(),
        r.iter().filter(|&&v| v).count(),
        sum,
    )
}

struct BenchCase {
    name: &'static str,
    slices: usize,
    scale: i64,
    checksum: (usize, usize, u64),
}

const CASES: [BenchCase; 4] = [
    BenchCase {
        name: "2d_lv",
        slices: 1,
        scale: 1,
        checksum: (3173, 3201, 107309609),
    },
    BenchCase {
        name: "3d_lv",
        slices: 12,
        scale: 1,
        checksum: (18046, 18180, 4688581552),
    },
    BenchCase {
        name: "2d_large",
        slices: 1,
        scale: 3,
        checksum: (28563, 28805, 974782511),
    },
    BenchCase {
        name: "3d_large",
        slices: 12,
        scale: 3,
        checksum: (162822, 164232, 42396974366),
    },
];

/// Writes `{case: {hd95_monai, hd95_medpy, assd}}` to `path` (temp file + rename).
fn write_values(path: &str, values: &serde_json::Map<String, serde_json::Value>) {
    let tmp = format!("{path}.tmp");
    let text = serde_json::to_string_pretty(values).expect("plain numbers");
    std::fs::write(&tmp, text).expect("values file is writable");
    std::fs::rename(&tmp, path).expect("values file is writable");
}

fn bench(c: &mut Criterion) {
    let options = MetricOptions::monai();
    let values_path = std::env::var("CMR_METRICS_BENCH_VALUES").ok();
    let mut values = serde_json::Map::new();
    let mut group = c.benchmark_group("cmr_metrics");
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(30);
    for case in &CASES {
        let (p, r) = lv_pair(case.slices, case.scale);
        assert_eq!(
            checksum(&p, &r),
            case.checksum,
            "{}: masks differ from the Python peers'",
            case.name
        );
        // 2-D cases as [rows, cols] arrays with 2 spacings, 3-D with 3.
        let (p, r, spacing): (ArrayD<bool>, ArrayD<bool>, Vec<f64>) = if case.slices == 1 {
            let dims = IxDyn(&[256, 256]);
            (
                p.into_shape_with_order(dims.clone()).expect("one slice"),
                r.into_shape_with_order(dims).expect("one slice"),
                vec![1.8, 1.8],
            )
        } else {
            (p.into_dyn(), r.into_dyn(), vec![10.0, 1.8, 1.8])
        };
        if values_path.is_some() {
            let hd95 = |o: &MetricOptions| {
                percentile_hausdorff_distance(&p, &r, &spacing, o).expect("valid")
            };
            let assd = average_surface_distance(&p, &r, &spacing, &options).expect("valid");
            values.insert(
                case.name.to_string(),
                serde_json::json!({
                    "hd95_monai": hd95(&options),
                    "hd95_medpy": hd95(&MetricOptions::medpy()),
                    "assd": assd,
                }),
            );
        }
        group.bench_function(format!("hd95_{}", case.name), |b| {
            b.iter(|| {
                percentile_hausdorff_distance(black_box(&p), black_box(&r), &spacing, &options)
                    .expect("valid")
            })
        });
        group.bench_function(format!("assd_{}", case.name), |b| {
            b.iter(|| {
                average_surface_distance(black_box(&p), black_box(&r), &spacing, &options)
                    .expect("valid")
            })
        });
    }
    group.finish();
    if let Some(path) = values_path {
        write_values(&path, &values);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

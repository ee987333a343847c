//! Pixel -> world -> pixel round trips over a 192x192 grid.
//!
//! Run: `cargo bench --bench image_plane`

use cmr_ssl::geometry::ImagePlane;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let plane = ImagePlane::from_dicom(
        [-93.5, -121.3, 118.4],
        [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
        [1.8, 1.8],
        192,
        192,
    )
    .expect("valid plane");
    let mut group = c.benchmark_group("image_plane");
    group.throughput(Throughput::Elements(192 * 192));
    group.bench_function("pixel_world_round_trip_192x192", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for r in 0..192 {
                for col in 0..192 {
                    let w = plane.pixel_to_world(r as f64, col as f64);
                    let p = plane.world_to_pixel(black_box(w));
                    acc += p.row + p.col;
                }
            }
            black_box(acc)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

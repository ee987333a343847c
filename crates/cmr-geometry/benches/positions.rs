//! Anatomical position label maps per second for 192x192 short-axis images (issue goal:
//! >= 5,000/s on 2 cores), single-threaded and with rayon over a batch.
//!
//! Run: `cargo bench -p cmr-geometry --bench positions`

use cmr_geometry::positions::{example_heart, CrossLayout, LatticeLayout, PositionLayout};
use cmr_geometry::View;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rayon::prelude::*;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let planes = example_heart(192, 1.8);
    let cross = CrossLayout::default();
    let lattice = LatticeLayout::default();
    let mut group = c.benchmark_group("position_maps_192");
    group.throughput(Throughput::Elements(planes.short_axis.len() as u64));
    group.bench_function("cross_sa_stack_1_thread", |b| {
        b.iter(|| {
            for sa in &planes.short_axis {
                black_box(
                    cross
                        .label(sa, View::ShortAxis, &planes)
                        .expect("derivable"),
                );
            }
        })
    });
    group.bench_function("lattice_sa_stack_1_thread", |b| {
        b.iter(|| {
            for sa in &planes.short_axis {
                black_box(
                    lattice
                        .label(sa, View::ShortAxis, &planes)
                        .expect("derivable"),
                );
            }
        })
    });
    // 64 stacks' worth of slices per iteration, spread over the rayon pool.
    let batch: Vec<_> = (0..64)
        .flat_map(|_| planes.short_axis.iter().copied())
        .collect();
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("cross_sa_batch_rayon", |b| {
        b.iter(|| {
            batch.par_iter().for_each(|sa| {
                black_box(
                    cross
                        .label(sa, View::ShortAxis, &planes)
                        .expect("derivable"),
                );
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Criterion benchmark of subject generation in memory: the reference study (10
//! short-axis slices + 2Ch/3Ch/4Ch, 25 phases, default matrices), rayon on all cores
//! (`RAYON_NUM_THREADS` to pin). Subjects/s = 1 / time per iteration. The example
//! `phantom_speed` prints the same figure plus the cost of writing DICOM and NIfTI.

use std::time::Duration;

use cmr_phantom::{PhantomConfig, Subject};
use criterion::{criterion_group, criterion_main, Criterion};

fn generate(c: &mut Criterion) {
    let config = PhantomConfig {
        phases: 25,
        sa_slice_range: [10, 10],
        ..PhantomConfig::default()
    };
    let mut group = c.benchmark_group("phantom");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let mut index = 0;
    group.bench_function("subject_10sa_3la_25phases", |b| {
        b.iter(|| {
            index += 1;
            let study = Subject::new(&config, 1, index % 8).unwrap().render();
            std::hint::black_box(study.series.len())
        })
    });
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);

//! Generation speed of the issue's reference study: 10 short-axis slices and 3 long-axis views,
//! 25 phases, default matrices (192 x 208 SA, 208 x 192 LA), rendered in memory with rayon on
//! all cores; then the same with DICOM, and with DICOM + NIfTI, written to a temporary folder.
//!
//! ```text
//! cargo run --release -p cmr-phantom --example phantom_speed -- [SUBJECTS]
//! RAYON_NUM_THREADS=2 cargo run --release -p cmr-phantom --example phantom_speed
//! ```

use std::time::Instant;

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat` (Linux;
/// `None` elsewhere). Unlike wall time it does not grow when other jobs share the cores.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux configuration in use.
    Some(ticks / 100.0)
}

use cmr_phantom::{write_study, OutputFormats, PhantomConfig, Subject};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let subjects: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(4);
    let config = PhantomConfig {
        phases: 25,
        sa_slice_range: [10, 10],
        ..PhantomConfig::default()
    };
    println!(
        "{} threads; {subjects} subjects of 10 SA + 3 LA series x 25 phases",
        rayon::current_num_threads()
    );
    // Warm-up (page faults, thread pool).
    Subject::new(&config, 99, 0)?.render();
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let mut images = 0;
    for i in 0..subjects {
        let study = Subject::new(&config, 1, i)?.render();
        images += study.series.iter().map(|s| s.images.dim().0).sum::<usize>();
    }
    let t = start.elapsed().as_secs_f64();
    let cpu = |c0: Option<f64>| match (c0, cpu_seconds()) {
        (Some(a), Some(b)) => format!("{:.2} CPU-s/subject", (b - a) / subjects as f64),
        _ => "CPU time unavailable".to_string(),
    };
    println!(
        "in memory:       {:.2} subjects/s ({:.0} images/s), {}",
        subjects as f64 / t,
        images as f64 / t,
        cpu(cpu0)
    );
    let dir = std::env::temp_dir().join(format!("cmr-phantom-speed-{}", std::process::id()));
    for (name, formats) in [
        (
            "+ DICOM:         ",
            OutputFormats {
                dicom: true,
                nifti: false,
            },
        ),
        ("+ DICOM + NIfTI: ", OutputFormats::default()),
    ] {
        let start = Instant::now();
        let cpu0 = cpu_seconds();
        for i in 0..subjects {
            let subject = Subject::new(&config, 1, i)?;
            write_study(&subject.render(), &dir.join(subject.id()), formats)?;
        }
        let t = start.elapsed().as_secs_f64();
        println!(
            "{name} {:.2} subjects/s, {}",
            subjects as f64 / t,
            cpu(cpu0)
        );
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

//! Measures contrast, noise and heterogeneity of the default protocol's short-axis images
//! (blood pool and myocardium from the ground-truth labels, noise in air) over a few subjects.
//!
//! ```text
//! cargo run --release -p cmr-phantom --example image_statistics -- [SUBJECTS] [SEED]
//! ```

use cmr_phantom::{measure, PhantomConfig, Subject};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let subjects: u64 = args.first().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let seed: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let config = PhantomConfig::default();
    println!("subject  blood/myo  CNR   SNR(blood)  blood SD/mean  myo SD/mean");
    let mut sums = [0.0; 5];
    for index in 0..subjects {
        let subject = Subject::new(&config, seed, index)?;
        let study = subject.render();
        let s = measure(&subject, &study);
        let row = [
            s.blood_myocardium_ratio,
            s.cnr,
            s.snr_blood,
            s.blood.cv(),
            s.myocardium.cv(),
        ];
        for (a, b) in sums.iter_mut().zip(row) {
            *a += b;
        }
        println!(
            "{}  {:9.2}  {:5.1}  {:10.1}  {:13.2}  {:11.2}",
            subject.id(),
            row[0],
            row[1],
            row[2],
            row[3],
            row[4]
        );
    }
    let n = subjects as f64;
    println!(
        "mean     {:9.2}  {:5.1}  {:10.1}  {:13.2}  {:11.2}",
        sums[0] / n,
        sums[1] / n,
        sums[2] / n,
        sums[3] / n,
        sums[4] / n
    );
    Ok(())
}

//! Image statistics of rendered short-axis series, measured the way one measures a real cine:
//! within the ground-truth blood-pool and myocardium labels, and in air outside the body for
//! the noise.

use serde::{Deserialize, Serialize};

use crate::render::RAYLEIGH_SD;
use crate::subject::{Subject, SyntheticStudy};

/// Mean and spread of stored pixel values in a region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegionStats {
    /// Number of pixels.
    pub pixels: usize,
    /// Mean stored value.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
}

impl RegionStats {
    fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Self {
            pixels: values.len(),
            mean,
            sd: var.sqrt(),
        }
    }

    /// Coefficient of variation (SD / mean).
    pub fn cv(&self) -> f64 {
        self.sd / self.mean
    }
}

/// Contrast and noise of a study's short-axis images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImageStatistics {
    /// LV blood pool (label 1), every short-axis slice and phase.
    pub blood: RegionStats,
    /// LV myocardium (label 2).
    pub myocardium: RegionStats,
    /// Air outside the body (Rayleigh-distributed magnitude noise).
    pub air: RegionStats,
    /// Blood / myocardium mean ratio.
    pub blood_myocardium_ratio: f64,
    /// (blood mean - myocardium mean) / air SD.
    pub cnr: f64,
    /// Blood mean / noise sigma, where sigma = air SD / sqrt(2 - pi/2).
    pub snr_blood: f64,
}

/// Measures a rendered study of `subject` (air pixels are found from the anatomy: pixels
/// whose centre and the four points 3 mm around it are all outside the body).
pub fn measure(subject: &Subject, study: &SyntheticStudy) -> ImageStatistics {
    let (mut blood, mut myo, mut air) = (Vec::new(), Vec::new(), Vec::new());
    for s in study.short_axis() {
        let mask = subject.air_mask(&s.planned);
        for p in 0..s.images.dim().0 {
            let img = s.images.index_axis(ndarray::Axis(0), p);
            let lab = s.label(p);
            for ((&v, &l), &a) in img.iter().zip(lab.iter()).zip(mask.iter()) {
                let v = f64::from(v);
                match l {
                    1 => blood.push(v),
                    2 => myo.push(v),
                    _ if a => air.push(v),
                    _ => {}
                }
            }
        }
    }
    let (blood, myocardium, air) = (
        RegionStats::of(&blood),
        RegionStats::of(&myo),
        RegionStats::of(&air),
    );
    ImageStatistics {
        blood,
        myocardium,
        air,
        blood_myocardium_ratio: blood.mean / myocardium.mean,
        cnr: (blood.mean - myocardium.mean) / air.sd,
        snr_blood: blood.mean / (air.sd / RAYLEIGH_SD),
    }
}

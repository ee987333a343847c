//! Image formation: sub-voxel sampling of the anatomy (partial volume in-plane and through the
//! slice), a smooth coil sensitivity (bias) field, Rician noise and the per-subject intensity
//! scale, quantised to 12-bit stored values like a scanner's magnitude images.
//!
//! Speed: the torso does not move during a breath-hold, so each series is sampled once for the
//! pixels whose samples all lie outside the heart's bounding sphere, and only the remaining
//! pixels are re-sampled for every cine phase.

use cmr_geometry::Vec3;

use crate::anatomy::{Anatomy, Structure};
use crate::heart::HeartState;
use crate::heart::Hit;
use crate::params::SubjectParams;
use cmr_geometry::View;

use crate::planning::PlannedSeries;
use crate::random::{fast_gaussian_pair, mix64, rng_for, Stream};
use rand::RngCore;

/// Largest stored value (12-bit data in 16-bit words).
pub(crate) const MAX_STORED: u16 = 4095;

/// Label-mean blood/myocardium contrast as a fraction of the nominal (1 - myocardium) one,
/// measured on the default protocol (partial volume, trabeculae, papillary muscles and flow
/// lower it); used to set the noise so that the measured CNR matches the subject's target.
const CONTRAST_CALIBRATION: f64 = 0.62;

/// Standard deviation of Rayleigh-distributed background (air) magnitude, in units of the
/// per-channel Gaussian noise sigma: sqrt(2 - pi/2).
pub(crate) const RAYLEIGH_SD: f64 = 0.655_136_377_562_034_1;

/// The label value of a structure in a view (see the crate documentation for the table).
pub fn label_of(view: View, structure: Structure) -> u8 {
    match (view, structure) {
        (View::ShortAxis, Structure::LvBloodPool) => 1,
        (View::ShortAxis, Structure::LvMyocardium) => 2,
        (View::ShortAxis, Structure::RvBloodPool) => 3,
        (View::TwoChamber | View::ThreeChamber | View::FourChamber, Structure::LeftAtrium) => 1,
        (View::FourChamber, Structure::RightAtrium) => 2,
        (View::ThreeChamber, Structure::Aorta) => 2,
        _ => 0,
    }
}

/// Coil sensitivity: an anterior and a posterior surface coil whose sensitivity decays with
/// depth from the skin and laterally, normalised to 1 at the LV centre.
#[derive(Debug, Clone)]
pub(crate) struct BiasField {
    skin_ant: f64,
    skin_post: f64,
    depth_scale: f64,
    lateral_width: f64,
    centre_x: f64,
    centre_z: f64,
    posterior_gain: f64,
    norm: f64,
}

impl BiasField {
    pub(crate) fn new(p: &SubjectParams, lv_centre: Vec3) -> Self {
        let mut b = Self {
            skin_ant: -p.torso.body_semi_mm[1],
            skin_post: p.torso.body_semi_mm[1],
            depth_scale: p.contrast.coil_width_mm,
            lateral_width: 1.6 * p.contrast.coil_width_mm,
            centre_x: p.contrast.coil_offset_x_mm,
            centre_z: lv_centre.z,
            posterior_gain: p.contrast.posterior_gain,
            norm: 1.0,
        };
        b.norm = 1.0 / b.raw(lv_centre);
        b
    }

    fn raw(&self, q: Vec3) -> f64 {
        let ant = (-(q.y - self.skin_ant).max(0.0) / self.depth_scale).exp();
        let post = (-(self.skin_post - q.y).max(0.0) / self.depth_scale).exp();
        let lateral = (-((q.x - self.centre_x).powi(2) + (q.z - self.centre_z).powi(2))
            / (2.0 * self.lateral_width * self.lateral_width))
            .exp();
        (ant + self.posterior_gain * post) * (0.35 + 0.65 * lateral)
    }

    #[inline]
    pub(crate) fn at(&self, q: Vec3) -> f32 {
        (self.raw(q) * self.norm) as f32
    }
}

/// Noise level and scaling of the receiver.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    /// Gaussian noise sigma per channel, relative to nominal blood signal at the heart.
    pub(crate) sigma: f64,
    /// Stored value of nominal blood signal.
    pub(crate) scale: f64,
    pub(crate) bias: BiasField,
    pub(crate) noise: bool,
}

impl Receiver {
    pub(crate) fn new(p: &SubjectParams, lv_centre: Vec3, noise: bool) -> Self {
        let contrast = 1.0 - p.contrast.myocardium;
        Self {
            sigma: CONTRAST_CALIBRATION * contrast / (p.contrast.cnr_target * RAYLEIGH_SD),
            scale: p.contrast.intensity_scale,
            bias: BiasField::new(p, lv_centre),
            noise,
        }
    }
}

/// Sub-voxel sample offsets: `(row, col)` in pixels (within the footprint) and through-slice
/// position as a fraction of the thickness, each in `[-0.5, 0.5)` before scaling. Stratified
/// through the slice, Halton (bases 2, 3) in-plane; each pixel shifts the pattern by its own
/// random toroidal offset (Cranley-Patterson rotation) so sampling error looks like texture
/// rather than a grid.
#[derive(Debug, Clone)]
pub(crate) struct SamplePattern {
    base: Vec<[f64; 3]>,
    footprint: f64,
}

fn radical_inverse(mut i: u64, base: u64) -> f64 {
    let mut f = 1.0;
    let mut r = 0.0;
    while i > 0 {
        f /= base as f64;
        r += f * (i % base) as f64;
        i /= base;
    }
    r
}

impl SamplePattern {
    pub(crate) fn new(n: usize, footprint: f64) -> Self {
        let base = (0..n)
            .map(|i| {
                [
                    radical_inverse(i as u64 + 1, 2),
                    radical_inverse(i as u64 + 1, 3),
                    (i as f64 + 0.5) / n as f64,
                ]
            })
            .collect();
        Self { base, footprint }
    }

    /// The offsets for one pixel, written into `out`.
    #[inline]
    fn offsets(&self, pixel_key: u64, out: &mut Vec<[f64; 3]>) {
        out.clear();
        if self.base.len() == 1 {
            out.push([0.0, 0.0, 0.0]);
            return;
        }
        let h = mix64(pixel_key);
        let shift = [
            (h & 0xFFFF) as f64 / 65536.0,
            ((h >> 16) & 0xFFFF) as f64 / 65536.0,
            ((h >> 32) & 0xFFFF) as f64 / 65536.0,
        ];
        for b in &self.base {
            let o = [0, 1, 2].map(|i| (b[i] + shift[i]).fract() - 0.5);
            out.push([o[0] * self.footprint, o[1] * self.footprint, o[2]]);
        }
    }
}

/// Where a series' samples sit: plane vectors premultiplied by spacing, and the breath-hold
/// shift to undo (sample point minus shift = reference anatomy).
#[derive(Debug, Clone, Copy)]
struct SeriesGeometry {
    origin: Vec3,
    row_step: Vec3,
    col_step: Vec3,
    through: Vec3,
    rows: usize,
    cols: usize,
}

impl SeriesGeometry {
    fn new(s: &PlannedSeries) -> Self {
        let p = &s.plane;
        let shift = Vec3::from_array(s.breath_hold_shift_mm);
        Self {
            // Anatomy shifted by `shift` == planes shifted by `-shift` in the reference frame.
            origin: p.origin() - shift,
            row_step: p.col_dir() * p.spacing().between_rows,
            col_step: p.row_dir() * p.spacing().between_cols,
            through: p.normal() * s.slice_thickness_mm,
            rows: p.rows(),
            cols: p.cols(),
        }
    }

    #[inline]
    fn point(&self, r: f64, c: f64, z: f64) -> Vec3 {
        self.origin + self.row_step * r + self.col_step * c + self.through * z
    }
}

/// A sample inside the heart's hull: its local coordinates and what the torso holds there
/// (used whenever the heart does not claim it at a phase).
#[derive(Debug, Clone, Copy)]
struct HullSample {
    local: [f64; 3],
    torso: Hit,
}

/// A pixel that may change over the cycle: the signal of its samples outside the heart's
/// hull (constant), its samples inside the hull (`samples[start..start + len]`), and its
/// centre when the label may change.
#[derive(Debug, Clone, Copy)]
struct DynamicPixel {
    index: u32,
    start: u32,
    len: u8,
    static_sum: f32,
    centre: Option<HullSample>,
}

/// The part of a series that does not change over the cycle.
#[derive(Debug, Clone)]
pub(crate) struct StaticLayer {
    signal: Vec<f32>,
    labels: Vec<u8>,
    bias: Vec<f32>,
    dynamic: Vec<DynamicPixel>,
    samples: Vec<HullSample>,
    per_pixel: usize,
}

fn pixel_key(series_salt: u64, idx: usize) -> u64 {
    series_salt ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Samples everything of a series that does not depend on the phase (samples outside the
/// heart's hull, and the torso behind the samples inside it) and lists the samples to
/// re-evaluate at every phase.
pub(crate) fn render_static(
    anatomy: &Anatomy,
    series: &PlannedSeries,
    pattern: &SamplePattern,
    receiver: &Receiver,
) -> StaticLayer {
    let g = SeriesGeometry::new(series);
    let n = g.rows * g.cols;
    let salt = mix64(u64::from(series.series_number));
    let mut signal = vec![0.0f32; n];
    let mut labels = vec![0u8; n];
    let mut bias = vec![0.0f32; n];
    let mut dynamic = Vec::new();
    let mut samples = Vec::new();
    let mut offsets = Vec::with_capacity(pattern.base.len());
    for r in 0..g.rows {
        for c in 0..g.cols {
            let idx = r * g.cols + c;
            let centre = g.point(r as f64, c as f64, 0.0);
            bias[idx] = receiver.bias.at(centre);
            pattern.offsets(pixel_key(salt, idx), &mut offsets);
            let start = samples.len();
            let mut sum = 0.0f32;
            for o in &offsets {
                let p = g.point(r as f64 + o[0], c as f64 + o[1], o[2]);
                let torso = anatomy.torso_hit(p);
                match anatomy.hull_local(p) {
                    Some(local) => samples.push(HullSample { local, torso }),
                    None => sum += torso.signal,
                }
            }
            let centre_torso = anatomy.torso_hit(centre);
            labels[idx] = label_of(series.view, centre_torso.structure);
            let centre = anatomy.hull_local(centre).map(|local| HullSample {
                local,
                torso: centre_torso,
            });
            if samples.len() == start && centre.is_none() {
                // Fat samples are negative (opposed phase): the magnitude of the sum.
                signal[idx] = (sum / offsets.len() as f32).abs();
            } else {
                dynamic.push(DynamicPixel {
                    index: idx as u32,
                    start: start as u32,
                    len: (samples.len() - start) as u8,
                    static_sum: sum,
                    centre,
                });
            }
        }
    }
    StaticLayer {
        signal,
        labels,
        bias,
        dynamic,
        samples,
        per_pixel: offsets.len(),
    }
}

/// One cine frame: stored pixel values and labels, both `rows * cols` in row-major order.
pub(crate) struct RenderedFrame {
    pub(crate) pixels: Vec<u16>,
    pub(crate) labels: Vec<u8>,
}

/// Renders phase `phase` of a series.
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_frame(
    anatomy: &Anatomy,
    series: &PlannedSeries,
    receiver: &Receiver,
    layer: &StaticLayer,
    state: &HeartState,
    noise_key: (u64, u64, usize),
) -> RenderedFrame {
    let mut signal = layer.signal.clone();
    let mut labels = layer.labels.clone();
    let claim = |s: &HullSample| anatomy.heart_hit(s.local, state).unwrap_or(s.torso);
    for d in &layer.dynamic {
        let idx = d.index as usize;
        let start = d.start as usize;
        let sum = layer.samples[start..start + usize::from(d.len)]
            .iter()
            .fold(d.static_sum, |acc, s| acc + claim(s).signal);
        // Fat samples are negative (opposed phase): the magnitude of the sum.
        signal[idx] = (sum / layer.per_pixel as f32).abs();
        if let Some(centre) = &d.centre {
            labels[idx] = label_of(series.view, claim(centre).structure);
        }
    }
    let (seed, subject, phase) = noise_key;
    let mut rng = rng_for(
        seed,
        subject,
        Stream::Noise,
        &[u64::from(series.series_number), phase as u64],
    );
    let sigma = receiver.sigma as f32;
    // Each series is reconstructed on its own: a small series-specific receiver gain.
    let mut gain_rng = rng_for(
        seed,
        subject,
        Stream::Noise,
        &[u64::from(series.series_number)],
    );
    let scale = (receiver.scale * gain_rng.normal_clamped(1.0, 0.08, 0.8, 1.2)) as f32;
    let pixels = signal
        .iter()
        .zip(&layer.bias)
        .map(|(&s, &b)| {
            let clean = s * b;
            let magnitude = if receiver.noise {
                let (n1, n2) = fast_gaussian_pair(rng.0.next_u64());
                ((clean + sigma * n1).powi(2) + (sigma * n2).powi(2)).sqrt()
            } else {
                clean
            };
            // Round half up (the value is never negative) and saturate at 12 bits.
            (magnitude * scale + 0.5).min(f32::from(MAX_STORED)) as u16
        })
        .collect();
    RenderedFrame { pixels, labels }
}

/// Labels of a plane at a phase (pixel centres, no partial volume, no shift), for checks.
pub(crate) fn label_plane(
    anatomy: &Anatomy,
    view: View,
    plane: &cmr_geometry::ImagePlane,
    state: &HeartState,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(plane.rows() * plane.cols());
    for r in 0..plane.rows() {
        for c in 0..plane.cols() {
            let p = plane.pixel_to_world(r as f64, c as f64);
            out.push(label_of(view, anatomy.hit(p, state).structure));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_pattern_is_stratified_through_the_slice_and_within_the_footprint() {
        let p = SamplePattern::new(8, 1.3);
        let mut o = Vec::new();
        p.offsets(12345, &mut o);
        assert_eq!(o.len(), 8);
        assert!(o
            .iter()
            .all(|x| x[0].abs() <= 0.65 && x[1].abs() <= 0.65 && x[2].abs() <= 0.5));
        // One sample per eighth of the slab.
        let mut bins = [0; 8];
        for x in &o {
            bins[((x[2] + 0.5) * 8.0).floor().min(7.0) as usize] += 1;
        }
        assert_eq!(bins, [1; 8]);
        let single = SamplePattern::new(1, 1.0);
        single.offsets(1, &mut o);
        assert_eq!(o, vec![[0.0, 0.0, 0.0]]);
    }

    #[test]
    fn bias_field_is_one_at_the_heart_and_brighter_near_the_anterior_coil() {
        let p = SubjectParams::sample(4, 0);
        let centre = Vec3::new(20.0, -20.0, 0.0);
        let b = BiasField::new(&p, centre);
        assert!((b.at(centre) - 1.0).abs() < 1e-6);
        let skin = Vec3::new(20.0, -p.torso.body_semi_mm[1] + 5.0, 0.0);
        assert!(b.at(skin) > 1.3, "{}", b.at(skin));
    }

    #[test]
    fn labels_follow_the_view_conventions() {
        use Structure::*;
        assert_eq!(label_of(View::ShortAxis, LvBloodPool), 1);
        assert_eq!(label_of(View::ShortAxis, LvMyocardium), 2);
        assert_eq!(label_of(View::ShortAxis, RvBloodPool), 3);
        assert_eq!(label_of(View::ShortAxis, LeftAtrium), 0);
        assert_eq!(label_of(View::TwoChamber, LeftAtrium), 1);
        assert_eq!(label_of(View::TwoChamber, RightAtrium), 0);
        assert_eq!(label_of(View::TwoChamber, LvBloodPool), 0);
        assert_eq!(label_of(View::FourChamber, RightAtrium), 2);
        assert_eq!(label_of(View::ThreeChamber, Aorta), 2);
        assert_eq!(label_of(View::FourChamber, Aorta), 0);
    }
}

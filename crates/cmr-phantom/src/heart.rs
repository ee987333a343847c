//! The heart: an implicit 3-D model in a local frame attached to the LV long axis, and its
//! motion over the cardiac cycle.
//!
//! Local frame (millimetres): origin at the centre of the LV base (mitral plane) at
//! end-diastole; `w` along the long axis from base toward apex; `s` toward the RV (septal
//! direction); `t` the remaining direction, pointing anterior-ish. The LV is a truncated
//! prolate ellipsoidal shell (cavity inside myocardium) cut by the base plane; the RV is an
//! ellipsoid displaced along `s` minus the LV, which leaves a crescent wrapped around the
//! septum; the atria are ellipsoids above the base; the aortic root, RV outflow tract and
//! papillary muscles are capsules; trabeculation is thresholded texture near the wall.
//!
//! Motion: the apex stays put; the base descends toward it (long-axis shortening); the cavity
//! shrinks so that its volume follows `V_ed (1 - EF k)` with `k` the contraction (0 at
//! end-diastole, 1 at end-systole); the wall thickens so that the myocardial volume stays
//! constant (incompressible myocardium).

use cmr_geometry::Vec3;

use crate::anatomy::Structure;
use crate::params::SubjectParams;
use crate::shapes::{
    perturbed_level, truncated_ellipsoid_volume, v, AxisEllipsoid, Capsule, Harmonics, Local,
};
use crate::texture::ValueNoise;

/// The heart's local frame in patient coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeartFrame {
    /// Centre of the LV base at end-diastole (local origin).
    pub(crate) base: Vec3,
    /// Septal direction (toward the RV).
    pub(crate) s: Vec3,
    /// Anterior-ish direction, perpendicular to `s` and `u`.
    pub(crate) t: Vec3,
    /// LV long axis, base to apex.
    pub(crate) u: Vec3,
}

impl HeartFrame {
    #[inline]
    pub(crate) fn to_local(self, p: Vec3) -> Local {
        let d = p - self.base;
        [d.dot(self.s), d.dot(self.t), d.dot(self.u)]
    }

    pub(crate) fn to_world(self, q: Local) -> Vec3 {
        self.base + self.s * q[0] + self.t * q[1] + self.u * q[2]
    }

    /// Components of a patient-space direction in the local frame.
    pub(crate) fn dir_to_local(self, d: Vec3) -> Local {
        [d.dot(self.s), d.dot(self.t), d.dot(self.u)]
    }
}

fn unit(x: f64, y: f64, z: f64) -> Vec3 {
    Vec3::new(x, y, z)
        .normalized()
        .expect("constant directions are non-zero")
}

/// The frame of a subject's heart from its orientation parameters.
fn frame_of(p: &SubjectParams) -> HeartFrame {
    let h = &p.heart;
    let (sa, ca) = h.axis_azimuth_deg.to_radians().sin_cos();
    let (sb, cb) = h.axis_elevation_deg.to_radians().sin_cos();
    // Apex toward patient left (+x), anterior (-y) and feet (-z).
    let u = Vec3::new(cb * ca, -cb * sa, -sb);
    // In-plane anterior and patient-right directions (Gram-Schmidt against u).
    let ant = Vec3::new(0.0, -1.0, 0.0);
    let ant = (ant - u * ant.dot(u))
        .normalized()
        .expect("the long axis is never vertical");
    let right = Vec3::new(-1.0, 0.0, 0.0);
    let right = (right - u * right.dot(u) - ant * right.dot(ant))
        .normalized()
        .expect("the long axis is never along x");
    let (sg, cg) = h.septal_angle_deg.to_radians().sin_cos();
    let s = ant * cg + right * sg;
    let t = (ant - s * ant.dot(s))
        .normalized()
        .expect("septal angle below 90 degrees");
    let apex = Vec3::from_array(h.lv_apex_mm);
    HeartFrame {
        base: apex - u * h.lv_length_mm,
        s,
        t,
        u,
    }
}

/// Contraction `k` (0 at end-diastole, 1 at end-systole) at cycle fraction `tau` in `[0, 1)`,
/// with end-systole at `tau_es`: a raised-cosine ejection, rapid early filling to 25 % of the
/// stroke volume left, slow filling (diastasis), then the atrial kick.
pub(crate) fn contraction(tau: f64, tau_es: f64) -> f64 {
    let tau = tau.rem_euclid(1.0);
    let bump = |x: f64| 0.5 * (1.0 - (std::f64::consts::PI * x.clamp(0.0, 1.0)).cos());
    let fill_end = tau_es + 0.18;
    let kick = 0.82;
    if tau <= tau_es {
        bump(tau / tau_es)
    } else if tau <= fill_end {
        1.0 - 0.75 * bump((tau - tau_es) / 0.18)
    } else if tau <= kick {
        0.25 - 0.07 * (tau - fill_end) / (kick - fill_end)
    } else {
        0.18 * (1.0 - bump((tau - kick) / (1.0 - kick)))
    }
}

/// Volume of the epicardial truncated ellipsoid for wall thickness `t`.
fn epi_volume(a: f64, b: f64, c: f64, h: f64, t: f64, apex_fraction: f64) -> f64 {
    truncated_ellipsoid_volume(a + t, b + t, c + apex_fraction * t, h)
}

/// Textures of the heart and torso (three independent lattices).
#[derive(Debug, Clone)]
pub(crate) struct Textures {
    pub(crate) a: ValueNoise,
    pub(crate) b: ValueNoise,
    pub(crate) c: ValueNoise,
}

/// The heart of one subject: its frame, end-diastolic shape and motion parameters.
#[derive(Debug, Clone)]
pub(crate) struct Heart {
    pub(crate) frame: HeartFrame,
    // LV at end-diastole.
    a: f64,
    b: f64,
    c: f64,
    h: f64,
    length: f64,
    wall: f64,
    apex_fraction: f64,
    endo_shape: Harmonics,
    epi_shape: Harmonics,
    epi_offset: [f64; 2],
    ef: f64,
    descent: f64,
    v_ed: f64,
    v_myo: f64,
    // RV at end-diastole.
    rv_inner_s: f64,
    rv_semi: [f64; 3],
    rv_t: f64,
    rv_apex_w: f64,
    rv_contraction: f64,
    // Atria: semi-axes, in-plane centre, top of the cavity.
    la_semi: [f64; 3],
    la_centre: [f64; 2],
    la_top_w: f64,
    ra_semi: [f64; 3],
    ra_centre: [f64; 2],
    ra_top_w: f64,
    // Great vessels (local frame).
    aortic_valve: [f64; 2],
    aortic_mid: Local,
    aortic_radius: f64,
    pulmonary_valve: Local,
    pulmonary_radius: f64,
    // Details.
    papillary_radius: f64,
    trabeculation: f64,
    fat: f64,
    /// Contraction at each phase.
    pub(crate) contraction: Vec<f64>,
    /// End-systolic phase index.
    pub(crate) es_phase: usize,
    /// Patient-space direction of the ascending aorta above the root.
    pub(crate) aorta_direction: Vec3,
    /// Patient-space direction of the pulmonary trunk.
    pub(crate) pulmonary_direction: Vec3,
}

/// The heart's shape at one phase.
#[derive(Debug, Clone)]
pub(crate) struct HeartState {
    /// Contraction (0 end-diastole, 1 end-systole).
    pub(crate) k: f64,
    /// Current base plane position along `w`.
    pub(crate) w_base: f64,
    pub(crate) lv_endo: AxisEllipsoid,
    pub(crate) lv_epi: AxisEllipsoid,
    lv_len: f64,
    lv_a_ratio: f64,
    lv_b_ratio: f64,
    rv: AxisEllipsoid,
    rv_base_dw: f64,
    la: AxisEllipsoid,
    ra: AxisEllipsoid,
    aortic_root: Capsule,
    rvot: Capsule,
    moderator_band: Capsule,
    papillary: [[f64; 2]; 2],
    papillary_radius: f64,
    /// Atrioventricular valves closed (ventricular systole).
    valves_closed: bool,
    /// Offset of the flow texture, different at every phase.
    flow_offset: f64,
}

/// Radial excess (mm beyond the surface along the ray from the centre) of a point at distance
/// `r` from the centre with level `level`.
#[inline]
fn excess(r: f64, level: f64) -> f64 {
    r * (1.0 - 1.0 / level.sqrt().max(1e-9))
}

/// The union of a few grown ellipsoids and capsules (local frame) that bounds the heart.
#[derive(Debug, Clone)]
pub(crate) struct Hull {
    ellipsoids: Vec<AxisEllipsoid>,
    capsules: Vec<Capsule>,
    lo: Local,
    hi: Local,
}

impl Hull {
    fn new(ellipsoids: Vec<AxisEllipsoid>, capsules: Vec<Capsule>) -> Self {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for e in &ellipsoids {
            for i in 0..3 {
                lo[i] = lo[i].min(e.centre[i] - e.semi[i]);
                hi[i] = hi[i].max(e.centre[i] + e.semi[i]);
            }
        }
        for c in &capsules {
            for p in [c.a.to_array(), c.b.to_array()] {
                for i in 0..3 {
                    lo[i] = lo[i].min(p[i] - c.radius);
                    hi[i] = hi[i].max(p[i] + c.radius);
                }
            }
        }
        Self {
            ellipsoids,
            capsules,
            lo,
            hi,
        }
    }

    #[inline]
    pub(crate) fn contains(&self, q: Local) -> bool {
        if (0..3).any(|i| q[i] < self.lo[i] || q[i] > self.hi[i]) {
            return false;
        }
        self.ellipsoids.iter().any(|e| e.level(q) <= 1.0)
            || self.capsules.iter().any(|c| c.contains(v(q)))
    }
}

/// A classified point: which labelled structure it belongs to and its relative signal
/// (negative for fat, whose phase is opposed to water's in bSSFP).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub(crate) structure: Structure,
    pub(crate) signal: f32,
}

/// Relative signals used by the heart (blood = 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeartContrast {
    pub(crate) myocardium: f32,
    pub(crate) fat: f32,
    pub(crate) flow_modulation: f32,
}

const RV_WALL_MM: f64 = 3.5;
/// Patchy epicardial fat reaches this multiple of the subject's mean thickness.
const FAT_PATCH_MAX: f64 = 1.8;
/// Extra fat in the atrioventricular groove at the base.
const AV_GROOVE_MM: f64 = 5.0;
/// Extra fat in the interventricular grooves.
const IV_GROOVE_MM: f64 = 5.0;
/// Relative narrowing of the RV from base to the LV apex depth.
const RV_TAPER: f64 = 0.35;
/// Relative amplitude of the RV surface wobble (on the level function).
const RV_WOBBLE: f64 = 0.16;
/// Relative amplitude of the atrial surface wobble.
const ATRIAL_WOBBLE: f64 = 0.14;
/// Fat around the atria and great vessels, mm.
const ATRIAL_FAT_MM: f64 = 7.0;
/// Papillary muscles span this range of relative depth (base 0, apex 1).
const PM_TIP: f64 = 0.42;
const PM_ROOT: f64 = 0.78;
const ATRIAL_WALL_MM: f64 = 2.0;
const PERICARDIUM_MM: f64 = 1.0;
const PERICARDIUM_SIGNAL: f32 = 0.15;

impl Heart {
    /// Builds the heart of a subject for a cine of `phases` phases.
    pub(crate) fn new(p: &SubjectParams, phases: usize) -> Self {
        let h = &p.heart;
        let frame = frame_of(p);
        let a = h.lv_radius_mm;
        let b = a * h.lv_ellipticity;
        let length = h.lv_length_mm;
        let c = length / (1.0 + h.lv_base_fraction);
        let hh = length - c;
        let wall = h.lv_wall_mm;
        let v_ed = truncated_ellipsoid_volume(a, b, c, hh);
        let v_myo = epi_volume(a, b, c, hh, wall, h.lv_apex_wall_fraction) - v_ed;
        let r_epi = 0.5 * (a + b) + wall;
        let rv_semi = [
            1.15 * r_epi * h.rv_scale,
            1.5 * r_epi * h.rv_scale,
            0.85 * length * h.rv_scale.cbrt(),
        ];
        let es_phase =
            ((p.cycle.es_fraction * phases as f64).round() as usize).clamp(1, phases - 1);
        let tau_es = es_phase as f64 / phases as f64;
        let contraction = (0..phases)
            .map(|i| contraction(i as f64 / phases as f64, tau_es))
            .collect();
        let la_semi = h.la_semi_mm;
        let ra_semi = h.ra_semi_mm;
        // The atria overlap the base plane at end-diastole: the valve openings.
        let la_top_w = -(2.0 * la_semi[2] - 14.0);
        let ra_top_w = -(2.0 * ra_semi[2] - 10.0);
        let rv_centre_s = -0.25 * a + rv_semi[0];
        let (sa, ca) = h.aortic_valve_angle_deg.to_radians().sin_cos();
        let av_r = 0.55 * a + 0.35 * h.aortic_radius_mm;
        let aortic_valve = [av_r * ca, av_r * sa];
        let aorta_direction = unit(-0.3, -0.25, 1.0);
        let ad = frame.dir_to_local(aorta_direction);
        let aortic_mid = [
            aortic_valve[0] + 28.0 * ad[0],
            aortic_valve[1] + 28.0 * ad[1],
            28.0 * ad[2],
        ];
        let pulmonary_valve = [aortic_valve[0] + 12.0, aortic_valve[1] + 22.0, -16.0];
        Self {
            frame,
            a,
            b,
            c,
            h: hh,
            length,
            wall,
            apex_fraction: h.lv_apex_wall_fraction,
            endo_shape: Harmonics::new(h.lv_endo_shape),
            epi_shape: Harmonics::new(h.lv_epi_shape),
            epi_offset: h.lv_epi_offset_mm,
            ef: h.lv_ef,
            descent: h.base_descent_mm,
            v_ed,
            v_myo,
            rv_inner_s: -0.25 * a,
            rv_semi,
            rv_t: 4.0,
            rv_apex_w: 0.82 * length,
            rv_contraction: h.rv_contraction,
            la_semi,
            la_centre: [-3.0, -8.0],
            la_top_w,
            ra_semi,
            ra_centre: [0.9 * rv_centre_s + 4.0, -6.0],
            ra_top_w,
            aortic_valve,
            aortic_mid,
            aortic_radius: h.aortic_radius_mm,
            pulmonary_valve,
            pulmonary_radius: h.pulmonary_radius_mm,
            papillary_radius: h.papillary_radius_mm,
            trabeculation: h.trabeculation,
            fat: h.epicardial_fat_mm,
            contraction,
            es_phase,
            aorta_direction,
            pulmonary_direction: unit(0.45, 0.65, 0.6),
        }
    }

    /// LV cavity volume (mm^3) at contraction `k`, closed form.
    pub(crate) fn lv_cavity_volume(&self, k: f64) -> f64 {
        self.v_ed * (1.0 - self.ef * k)
    }

    /// LV myocardial volume (mm^3), constant over the cycle.
    pub(crate) fn lv_myocardial_volume(&self) -> f64 {
        self.v_myo
    }

    /// LV ejection fraction (exact by construction).
    #[cfg(test)]
    pub(crate) fn lv_ef(&self) -> f64 {
        self.ef
    }

    /// LV endocardial apex (fixed over the cycle), patient coordinates before breath-hold
    /// shifts.
    pub(crate) fn apex(&self) -> Vec3 {
        self.frame.to_world([0.0, 0.0, self.length])
    }

    /// LV epicardial apex at end-diastole.
    pub(crate) fn epicardial_apex(&self) -> Vec3 {
        self.frame
            .to_world([0.0, 0.0, self.length + self.apex_fraction * self.wall])
    }

    /// LV cavity length (base to apex) at end-diastole, mm.
    pub(crate) fn lv_length(&self) -> f64 {
        self.length
    }

    /// Direction of the aortic valve from the LV axis in the local `(s, t)` plane, radians.
    pub(crate) fn aortic_valve_angle(&self) -> f64 {
        self.aortic_valve[1].atan2(self.aortic_valve[0])
    }

    /// Patient-space end of the dynamic part of the ascending aorta.
    pub(crate) fn aortic_mid_world(&self) -> Vec3 {
        self.frame.to_world(self.aortic_mid)
    }

    /// Patient-space pulmonary valve.
    pub(crate) fn pulmonary_valve_world(&self) -> Vec3 {
        self.frame.to_world(self.pulmonary_valve)
    }

    /// Aortic and pulmonary radii.
    pub(crate) fn vessel_radii(&self) -> (f64, f64) {
        (self.aortic_radius, self.pulmonary_radius)
    }

    /// Patient-space top of the right atrium (where the SVC enters).
    pub(crate) fn ra_top_world(&self) -> Vec3 {
        self.frame
            .to_world([self.ra_centre[0], self.ra_centre[1], self.ra_top_w + 4.0])
    }

    /// The shape at contraction `k`.
    pub(crate) fn state(&self, k: f64) -> HeartState {
        let w_base = k * self.descent;
        let lv_len = self.length - w_base;
        let lambda = lv_len / self.length;
        let (ck, hk) = (self.c * lambda, self.h * lambda);
        let scale = ((1.0 - self.ef * k) / lambda).sqrt();
        let (ak, bk) = (self.a * scale, self.b * scale);
        let vk = self.lv_cavity_volume(k);
        // Wall thickness conserving myocardial volume (bisection; the volume grows with t).
        let (mut lo, mut hi) = (0.0, 60.0);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if epi_volume(ak, bk, ck, hk, mid, self.apex_fraction) - vk < self.v_myo {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let tk = 0.5 * (lo + hi);
        let centre = [0.0, 0.0, w_base + hk];
        let lv_endo = AxisEllipsoid::new(centre, [ak, bk, ck]);
        // The epicardium's axis is offset a little (within the wall), so with its own shape
        // harmonics the wall thickness varies around the circumference; neither changes the
        // truncated volume.
        let lv_epi = AxisEllipsoid::new(
            [self.epi_offset[0], self.epi_offset[1], w_base + hk],
            [ak + tk, bk + tk, ck + self.apex_fraction * tk],
        );

        let kc = k * self.rv_contraction;
        let rs = self.rv_semi[0] * (1.0 - 0.28 * kc);
        let rt = self.rv_semi[1] * (1.0 - 0.10 * kc);
        let ru = self.rv_semi[2] - 0.5 * k * self.descent;
        let rv_centre = [self.rv_inner_s + rs, self.rv_t, self.rv_apex_w - ru];
        let rv = AxisEllipsoid::new(rv_centre, [rs, rt, ru]);

        let atrium = |semi: [f64; 3], centre: [f64; 2], top: f64, overlap: f64| {
            let half = 0.5 * (w_base + overlap - top);
            let grow = 1.0 + 0.12 * k;
            AxisEllipsoid::new(
                [centre[0], centre[1], top + half],
                [semi[0] * grow, semi[1] * grow, half],
            )
        };
        let la = atrium(self.la_semi, self.la_centre, self.la_top_w, 14.0);
        let ra = atrium(self.ra_semi, self.ra_centre, self.ra_top_w, 10.0);

        let valve = [self.aortic_valve[0], self.aortic_valve[1], w_base];
        let aortic_root = Capsule {
            a: v(valve),
            b: v(self.aortic_mid),
            radius: self.aortic_radius,
        };
        let rvot = Capsule {
            a: v([rv_centre[0] - 0.1 * rs, 0.5 * rt, w_base + 20.0]),
            b: v(self.pulmonary_valve),
            radius: self.pulmonary_radius * 0.95,
        };
        let septum_rv_side = ak + tk;
        let moderator_band = Capsule {
            a: v([septum_rv_side, -4.0, w_base + 0.7 * lv_len]),
            b: v([rv_centre[0] + 0.75 * rs, -10.0, w_base + 0.62 * lv_len]),
            radius: 2.2,
        };
        let pm = |deg: f64| {
            let (s, c) = deg.to_radians().sin_cos();
            [0.68 * ak * c, 0.68 * bk * s]
        };
        HeartState {
            k,
            w_base,
            lv_endo,
            lv_epi,
            lv_len,
            lv_a_ratio: self.a / ak,
            lv_b_ratio: self.b / bk,
            rv,
            rv_base_dw: 3.0,
            la,
            ra,
            aortic_root,
            rvot,
            moderator_band,
            papillary: [pm(225.0), pm(125.0)],
            papillary_radius: self.papillary_radius * (1.0 + 0.3 * k),
            valves_closed: false,
            flow_offset: 0.0,
        }
    }

    /// The shape at phase `phase` (0-based).
    pub(crate) fn state_at_phase(&self, phase: usize) -> HeartState {
        let mut st = self.state(self.contraction[phase]);
        st.valves_closed = phase > 0 && phase <= self.es_phase;
        st.flow_offset = 0.37 * phase as f64;
        st
    }

    /// A conservative bound of every point [`Heart::classify`] can claim at any phase: the
    /// union, over end-diastole and end-systole (every shape is monotone in the contraction),
    /// of the chambers grown by their walls, fat, pericardium, surface wobble and shape
    /// harmonics, and of the moving vessel segments. Outside it the torso decides at every
    /// phase, so pixels whose samples all lie outside are rendered once per series.
    pub(crate) fn hull(&self) -> Hull {
        let fat_max = self.fat * FAT_PATCH_MAX + AV_GROOVE_MM + IV_GROOVE_MM + 2.0;
        let lv_slack = 1.0 / self.epi_shape.min_factor().sqrt();
        let mut ellipsoids = Vec::new();
        let mut capsules = Vec::new();
        for k in [0.0, 1.0] {
            let st = self.state(k);
            let e = &st.lv_epi;
            ellipsoids.push(AxisEllipsoid::new(
                e.centre,
                e.semi
                    .map(|s| s * lv_slack + fat_max + PERICARDIUM_MM + 1.0),
            ));
            // RV: untapered (the taper only shrinks it), wobble up to 1/sqrt(1 - 0.16).
            ellipsoids.push(AxisEllipsoid::new(
                st.rv.centre,
                st.rv
                    .semi
                    .map(|s| s * 1.1 + RV_WALL_MM + fat_max + PERICARDIUM_MM + 1.0),
            ));
            // Atria: wobble up to 1/sqrt(1 - 0.14), wall and surrounding fat (7 mm).
            for a in [&st.la, &st.ra] {
                ellipsoids.push(AxisEllipsoid::new(
                    a.centre,
                    a.semi
                        .map(|s| s * 1.09 + ATRIAL_WALL_MM + ATRIAL_FAT_MM + 1.0),
                ));
            }
            for c in [st.aortic_root, st.rvot] {
                capsules.push(Capsule {
                    radius: c.radius + 6.0,
                    ..c
                });
            }
        }
        Hull::new(ellipsoids, capsules)
    }

    /// Centre of the LV cavity at end-diastole (patient coordinates).
    pub(crate) fn lv_centre(&self) -> Vec3 {
        self.frame.to_world([0.0, 0.0, 0.5 * self.length])
    }

    /// Local bounding box `(low, high)` of the RV blood pool (cavity and outflow tract).
    pub(crate) fn rv_bounds(&self, st: &HeartState) -> (Local, Local) {
        // The surface wobble can push the RV out to 1/sqrt(0.84) of its semi-axes.
        let mut lo = [0, 1, 2].map(|i| st.rv.centre[i] - 1.12 * st.rv.semi[i]);
        let mut hi = [0, 1, 2].map(|i| st.rv.centre[i] + 1.12 * st.rv.semi[i]);
        for p in [st.rvot.a.to_array(), st.rvot.b.to_array()] {
            for i in 0..3 {
                lo[i] = lo[i].min(p[i] - st.rvot.radius);
                hi[i] = hi[i].max(p[i] + st.rvot.radius);
            }
        }
        (lo, hi)
    }

    /// Lowest patient z of the ventricles (with fat) at end-diastole.
    pub(crate) fn lowest_z(&self) -> f64 {
        let st = self.state(0.0);
        let down = self.frame.dir_to_local(Vec3::new(0.0, 0.0, -1.0));
        let base_z = self.frame.base.z;
        [
            st.lv_epi.grown(self.fat),
            st.rv.grown(RV_WALL_MM + self.fat),
        ]
        .iter()
        .map(|e| base_z - e.support(down))
        .fold(f64::INFINITY, f64::min)
    }

    /// Classifies a local point at a phase. `None`: not part of the heart (the torso decides).
    #[inline]
    pub(crate) fn classify(
        &self,
        q: Local,
        st: &HeartState,
        tex: &Textures,
        con: &HeartContrast,
    ) -> Option<Hit> {
        let dw = q[2] - st.w_base;
        if dw >= 0.0 {
            self.ventricles(q, dw, st, tex, con)
        } else {
            self.above_base(q, dw, st, tex, con)
        }
    }

    #[inline]
    /// Blood signal: bright, modulated by smooth flow-related variation that changes from
    /// phase to phase.
    fn blood(&self, q: Local, st: &HeartState, tex: &Textures, con: &HeartContrast) -> f32 {
        1.0 + con.flow_modulation
            * tex
                .a
                .sample(q[0] / 16.0, q[1] / 16.0 + st.flow_offset, q[2] / 16.0 + 7.3)
    }

    #[inline]
    fn myocardium(&self, q: Local, tex: &Textures, con: &HeartContrast) -> f32 {
        con.myocardium * (1.0 + 0.4 * tex.b.sample(q[0] / 4.0, q[1] / 4.0, q[2] / 4.0))
    }

    #[inline]
    /// Fat signal, negative: in bSSFP at TE = TR/2 fat and water precess to opposite phases,
    /// so a voxel mixing the two loses signal (the dark "India ink" rim at fat boundaries). The
    /// renderer sums signed samples and takes the magnitude.
    fn fat_signal(&self, q: Local, tex: &Textures, con: &HeartContrast) -> f32 {
        -con.fat * (1.0 + 0.12 * tex.c.sample(q[0] / 5.0 + 3.1, q[1] / 5.0, q[2] / 5.0))
    }

    /// Epicardial fat thickness at a point: patchy (absent over much of the free walls),
    /// thick in the atrioventricular groove near the base and in the interventricular grooves
    /// where the RV meets the LV (`lv_gap`, `rv_gap`: distances beyond the two surfaces).
    #[inline]
    fn fat_thickness(&self, q: Local, dw: f64, lv_gap: f64, rv_gap: f64, tex: &Textures) -> f64 {
        let n = tex.c.sample(q[0] / 14.0, q[1] / 14.0, q[2] / 14.0 + 13.7) as f64;
        let patchy = self.fat * (1.8 * n + 0.35).clamp(0.0, FAT_PATCH_MAX);
        let av_groove = if dw < 16.0 {
            (16.0 - dw.max(0.0)) / 16.0 * AV_GROOVE_MM
        } else {
            0.0
        };
        let iv_groove = {
            let far = lv_gap.max(rv_gap);
            if far < 12.0 {
                (12.0 - far.max(0.0)) / 12.0 * IV_GROOVE_MM
            } else {
                0.0
            }
        };
        patchy + av_groove + iv_groove
    }

    fn ventricles(
        &self,
        q: Local,
        dw: f64,
        st: &HeartState,
        tex: &Textures,
        con: &HeartContrast,
    ) -> Option<Hit> {
        let e_lv = perturbed_level(&st.lv_endo, &self.endo_shape, q);
        if e_lv <= 1.0 {
            return Some(Hit {
                structure: Structure::LvBloodPool,
                signal: self.lv_blood(q, dw, e_lv, st, tex, con),
            });
        }
        let e_epi = perturbed_level(&st.lv_epi, &self.epi_shape, q);
        if e_epi <= 1.0 {
            return Some(Hit {
                structure: Structure::LvMyocardium,
                signal: self.myocardium(q, tex, con),
            });
        }
        // The RV narrows toward its apex and its surface is irregular (level modulated by
        // smooth texture, by a factor in [1 - RV_WOBBLE, 1 + RV_WOBBLE]).
        let (raw_rv, rv_r) = self.rv_raw_level(q, dw, st);
        let lv_excess = st.lv_epi.radial_excess(q, e_epi);
        let in_rvot = st.rvot.contains(v(q));
        if !in_rvot {
            // Quick exit before any texture: beyond the thickest fat and pericardium from
            // both ventricles, even with the wobble at its largest.
            let rv_excess_min = excess(rv_r, raw_rv * (1.0 - RV_WOBBLE));
            let reach = self.fat * FAT_PATCH_MAX + AV_GROOVE_MM + IV_GROOVE_MM + PERICARDIUM_MM;
            if lv_excess.min(rv_excess_min - RV_WALL_MM) > reach {
                return None;
            }
        }
        let wobble =
            1.0 + RV_WOBBLE * tex.c.sample(q[0] / 26.0, q[1] / 26.0, q[2] / 26.0 + 21.0) as f64;
        let e_rv = raw_rv * wobble;
        let rv_excess = excess(rv_r, e_rv);
        let in_rv_cavity = dw >= st.rv_base_dw && e_rv <= 1.0;
        if in_rv_cavity || in_rvot {
            let trabecular = in_rv_cavity && {
                let rho = e_rv.sqrt();
                rho > 0.72 && {
                    let n = tex.b.sample(q[0] / 3.0 + 5.5, q[1] / 3.0, q[2] / 8.0);
                    let thr = 0.65 - 0.75 * self.trabeculation * (rho - 0.72) / 0.28;
                    n as f64 > thr
                }
            };
            let band = in_rv_cavity && st.moderator_band.contains(v(q));
            let signal = if trabecular || band {
                self.myocardium(q, tex, con)
            } else {
                self.blood(q, st, tex, con)
            };
            return Some(Hit {
                structure: Structure::RvBloodPool,
                signal,
            });
        }
        if rv_excess <= RV_WALL_MM && dw >= st.rv_base_dw - RV_WALL_MM {
            return Some(Hit {
                structure: Structure::Other,
                signal: self.myocardium(q, tex, con),
            });
        }
        let fat = self.fat_thickness(q, dw, lv_excess, rv_excess - RV_WALL_MM, tex);
        let beyond = lv_excess.min(rv_excess - RV_WALL_MM);
        if beyond <= fat {
            return Some(Hit {
                structure: Structure::Other,
                signal: self.fat_signal(q, tex, con),
            });
        }
        if beyond <= fat + PERICARDIUM_MM {
            return Some(Hit {
                structure: Structure::Other,
                signal: PERICARDIUM_SIGNAL,
            });
        }
        None
    }

    /// RV level before the surface wobble, and the distance from the (tapered) centre: the
    /// ellipsoid tapers with depth (in-plane semi-axes shrink linearly to `1 - RV_TAPER` at the
    /// LV apex depth, the septal edge staying put), so the RV is roughly triangular in the 4Ch
    /// view.
    #[inline]
    fn rv_raw_level(&self, q: Local, dw: f64, st: &HeartState) -> (f64, f64) {
        let e = &st.rv;
        let tau = 1.0 - RV_TAPER * (dw / st.lv_len).clamp(0.0, 1.0);
        let cs = e.centre[0] - e.semi[0] * (1.0 - tau);
        let d = [q[0] - cs, q[1] - e.centre[1], q[2] - e.centre[2]];
        let x = d[0] / (e.semi[0] * tau);
        let y = d[1] / (e.semi[1] * tau);
        let z = d[2] / e.semi[2];
        let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        (x * x + y * y + z * z, r)
    }

    fn lv_blood(
        &self,
        q: Local,
        dw: f64,
        e_lv: f64,
        st: &HeartState,
        tex: &Textures,
        con: &HeartContrast,
    ) -> f32 {
        let wn = dw / st.lv_len;
        // Papillary muscles: vertical columns in the lateral half of the cavity.
        // Papillary muscles: columns from the apical wall toward the base, thinning to a
        // point (the chordae) at their basal tip.
        if (PM_TIP..=PM_ROOT).contains(&wn) {
            let taper = ((wn - PM_TIP) / (PM_ROOT - PM_TIP)).sqrt();
            let r = st.papillary_radius * taper;
            for c in &st.papillary {
                let ds = q[0] - c[0];
                let dt = q[1] - c[1];
                if ds * ds + dt * dt <= r * r {
                    return self.myocardium(q, tex, con);
                }
            }
        }
        // Trabeculae: thresholded, long-axis-stretched texture in a band along the wall,
        // attached to the wall (material coordinates follow the contraction).
        let rho = e_lv.sqrt();
        let rho0 = 0.74 - 0.16 * wn;
        if rho > rho0 {
            let m = [
                q[0] * st.lv_a_ratio / 3.2,
                q[1] * st.lv_b_ratio / 3.2,
                dw * self.length / st.lv_len / 9.0,
            ];
            let n = tex.b.fractal(m[0] + 17.0, m[1], m[2]) as f64;
            let thr = 0.62 - 0.8 * self.trabeculation * (rho - rho0) / (1.0 - rho0);
            if n > thr {
                return self.myocardium(q, tex, con);
            }
        }
        // Slow flow toward the apex is a little darker; fast, turbulent outflow near the base
        // in systole loses signal.
        let apical = 0.14 * wn * wn;
        let outflow = 0.35 * st.k * (-dw / 14.0).exp();
        self.blood(q, st, tex, con) * (1.0 - (apical + outflow) as f32)
    }

    fn above_base(
        &self,
        q: Local,
        dw: f64,
        st: &HeartState,
        tex: &Textures,
        con: &HeartContrast,
    ) -> Option<Hit> {
        let p = v(q);
        if st.aortic_root.contains(p) {
            return Some(Hit {
                structure: Structure::Aorta,
                signal: self.blood(q, st, tex, con) * 1.05,
            });
        }
        let (la_raw, ra_raw) = (st.la.level(q), st.ra.level(q));
        let near_vessel = st.aortic_root.axis_distance(p) <= st.aortic_root.radius + 5.0
            || st.rvot.axis_distance(p) <= st.rvot.radius + 5.0;
        if !near_vessel && dw <= -14.0 {
            // Quick exit before any texture: farther than the surrounding fat from both atria
            // even with the wobble at its largest (the vessels and the AV groove are far too).
            let lowest = 1.0 - ATRIAL_WOBBLE;
            let la_min = st.la.radial_excess(q, la_raw * lowest);
            let ra_min = st.ra.radial_excess(q, ra_raw * lowest);
            if la_min > ATRIAL_FAT_MM && ra_min > ATRIAL_FAT_MM {
                return None;
            }
        }
        let wobble =
            1.0 + ATRIAL_WOBBLE * tex.c.sample(q[0] / 24.0 + 7.0, q[1] / 24.0, q[2] / 24.0) as f64;
        let la = la_raw * wobble;
        let ra = ra_raw * wobble;
        if la <= 1.0 || ra <= 1.0 {
            // Interatrial septum where the two cavities meet.
            if la <= 1.0 && ra <= 1.0 && (la.sqrt() - ra.sqrt()).abs() < 0.08 {
                return Some(Hit {
                    structure: Structure::Other,
                    signal: self.myocardium(q, tex, con),
                });
            }
            let structure = if la <= ra {
                Structure::LeftAtrium
            } else {
                Structure::RightAtrium
            };
            // Closed mitral/tricuspid leaflets: a thin dark sheet just above the base.
            let signal = if st.valves_closed && dw > -1.6 {
                self.myocardium(q, tex, con)
            } else {
                self.blood(q, st, tex, con)
            };
            return Some(Hit { structure, signal });
        }
        if st.rvot.contains(p) {
            return Some(Hit {
                structure: Structure::RvBloodPool,
                signal: self.blood(q, st, tex, con),
            });
        }
        let la_x = st.la.radial_excess(q, la);
        let ra_x = st.ra.radial_excess(q, ra);
        if la_x <= ATRIAL_WALL_MM || ra_x <= ATRIAL_WALL_MM {
            return Some(Hit {
                structure: Structure::Other,
                signal: self.myocardium(q, tex, con),
            });
        }
        // Atrioventricular groove fat and the fat between the great vessels and atria.
        if dw > -14.0 {
            let e_epi = st.lv_epi.level(q);
            let e_rv = st.rv.level(q);
            let lv_gap = st.lv_epi.radial_excess(q, e_epi);
            let rv_gap = st.rv.radial_excess(q, e_rv) - RV_WALL_MM;
            let reach = self.fat * FAT_PATCH_MAX + AV_GROOVE_MM + IV_GROOVE_MM + 2.0;
            let gap = lv_gap.min(rv_gap);
            if gap <= reach && gap <= self.fat_thickness(q, 0.0, lv_gap, rv_gap, tex) + 2.0 {
                return Some(Hit {
                    structure: Structure::Other,
                    signal: self.fat_signal(q, tex, con),
                });
            }
        }
        if near_vessel || la_x <= ATRIAL_FAT_MM || ra_x <= ATRIAL_FAT_MM {
            return Some(Hit {
                structure: Structure::Other,
                signal: self.fat_signal(q, tex, con) * 0.85,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn heart(seed: u64) -> Heart {
        Heart::new(&SubjectParams::sample(seed, 0), 25)
    }

    #[test]
    fn frame_is_orthonormal_and_points_the_apex_left_anterior_inferior() {
        for seed in 0..20 {
            let f = heart(seed).frame;
            for (a, b) in [(f.s, f.t), (f.s, f.u), (f.t, f.u)] {
                assert!(a.dot(b).abs() < 1e-12);
            }
            for d in [f.s, f.t, f.u] {
                assert_relative_eq!(d.norm(), 1.0, epsilon = 1e-12);
            }
            assert!(f.u.x > 0.3 && f.u.y < -0.2 && f.u.z < -0.2, "{:?}", f.u);
            // The RV lies anterior and to the patient's right of the LV.
            assert!(f.s.y < 0.0 && f.s.x < 0.0, "{:?}", f.s);
        }
    }

    #[test]
    fn contraction_curve_peaks_once_at_end_systole_and_is_continuous() {
        let tau_es = 0.36;
        assert_eq!(contraction(0.0, tau_es), 0.0);
        assert_relative_eq!(contraction(tau_es, tau_es), 1.0);
        let n = 10_000;
        let ks: Vec<f64> = (0..n)
            .map(|i| contraction(i as f64 / n as f64, tau_es))
            .collect();
        let (imax, _) =
            ks.iter().enumerate().fold(
                (0, f64::MIN),
                |(bi, bv), (i, &k)| if k > bv { (i, k) } else { (bi, bv) },
            );
        assert_eq!(imax, (tau_es * n as f64).round() as usize);
        assert!(ks.windows(2).all(|w| (w[1] - w[0]).abs() < 2e-3));
        assert!(ks.iter().all(|k| (0.0..=1.0).contains(k)));
        // Ends where it began.
        assert!(contraction(1.0 - 1e-9, tau_es) < 1e-6);
    }

    #[test]
    fn cavity_volume_follows_ef_and_myocardium_is_conserved_and_thickens() {
        let h = heart(5);
        let ed = h.state(0.0);
        let es = h.state(1.0);
        let vol = |st: &HeartState, e: &AxisEllipsoid| {
            truncated_ellipsoid_volume(e.semi[0], e.semi[1], e.semi[2], e.centre[2] - st.w_base)
        };
        assert_relative_eq!(
            vol(&ed, &ed.lv_endo),
            h.lv_cavity_volume(0.0),
            max_relative = 1e-9
        );
        assert_relative_eq!(
            vol(&es, &es.lv_endo) / vol(&ed, &ed.lv_endo),
            1.0 - h.lv_ef(),
            max_relative = 1e-9
        );
        for st in [&ed, &es, &h.state(0.5)] {
            assert_relative_eq!(
                vol(st, &st.lv_epi) - vol(st, &st.lv_endo),
                h.lv_myocardial_volume(),
                max_relative = 1e-6
            );
        }
        let wall = |st: &HeartState| st.lv_epi.semi[0] - st.lv_endo.semi[0];
        assert!(
            wall(&es) > 1.3 * wall(&ed),
            "{} -> {}",
            wall(&ed),
            wall(&es)
        );
        // The apex stays, the base descends.
        let apex = |st: &HeartState| st.lv_endo.centre[2] + st.lv_endo.semi[2];
        assert_relative_eq!(apex(&ed), apex(&es), epsilon = 1e-9);
        assert!(es.w_base > 5.0);
    }
}

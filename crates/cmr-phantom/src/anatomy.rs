//! The whole body model: the moving heart inside a static torso (fat, chest wall, lungs,
//! liver, stomach, spine, great vessels), and the labelled structures.
//!
//! Relative signals follow bSSFP cine contrast at 1.5 T (blood and fat bright, myocardium,
//! liver and skeletal muscle dark-grey, lung and cortical bone nearly black, CSF brightest);
//! the blood/myocardium ratio is set per subject and the measured image statistics are in the
//! crate documentation.

use cmr_geometry::Vec3;
use serde::{Deserialize, Serialize};

use crate::heart::{Heart, HeartContrast, HeartState, Hit, Hull, Textures};
use crate::params::SubjectParams;
use crate::random::{rng_for, Stream};
use crate::shapes::Capsule;
use crate::texture::ValueNoise;

/// The anatomical structures that carry ground-truth labels (everything else is `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Structure {
    /// Background tissue or air.
    Other,
    /// LV blood pool, including papillary muscles and trabeculae (UK Biobank convention).
    LvBloodPool,
    /// LV myocardium.
    LvMyocardium,
    /// RV blood pool, including trabeculae, the moderator band and the outflow tract below the
    /// pulmonary valve.
    RvBloodPool,
    /// Left atrium (cavity).
    LeftAtrium,
    /// Right atrium (cavity).
    RightAtrium,
    /// Aortic root and ascending aorta.
    Aorta,
}

/// The static torso around the heart, in patient coordinates (before breath-hold shifts).
#[derive(Debug, Clone)]
pub(crate) struct Torso {
    body: [f64; 2],
    subcutaneous: [f64; 2],
    inner_x: f64,
    inner_y_ant: f64,
    inner_y_post: f64,
    vertebra: [f64; 3],
    canal: [f64; 3],
    esophagus: [f64; 3],
    descending_aorta: [f64; 3],
    arch_top_z: f64,
    /// Ascending aorta above the moving root (labelled aorta on 3Ch).
    ascending: Capsule,
    /// Arch, pulmonary trunk, superior vena cava.
    vessels: [Capsule; 3],
    diaphragm_z0: f64,
    diaphragm_radius: f64,
    heart_z: f64,
    right_dome: f64,
    liver: f32,
    muscle: f32,
    fat: f32,
    flow_modulation: f32,
}

const LUNG: f32 = 0.035;
const CORTEX: f32 = 0.06;
const MARROW: f32 = 0.5;
const CSF: f32 = 1.15;
const STOMACH: f32 = 0.42;
const SPLEEN: f32 = 0.48;
const RIB_PERIOD_MM: f64 = 34.0;
const RIB_FRACTION: f64 = 0.3;

impl Torso {
    fn new(p: &SubjectParams, heart: &Heart) -> Self {
        let t = &p.torso;
        let [xb, yb] = t.body_semi_mm;
        let sub = [xb - t.subcutaneous_fat_mm, yb - t.subcutaneous_fat_mm];
        let inner_x = sub[0] - t.chest_wall_mm;
        let inner_y_ant = sub[1] - t.chest_wall_mm;
        let inner_y_post = inner_y_ant - 22.0;
        let vertebra = [0.0, inner_y_post - 12.0, 16.0];
        let canal = [0.0, inner_y_post + 12.0, 7.5];
        let descending_aorta = [
            t.descending_aorta_x_mm,
            inner_y_post - 30.0,
            t.descending_aorta_radius_mm,
        ];
        let esophagus = [-3.0, inner_y_post - 42.0, 6.5];
        let (ao_r, pa_r) = heart.vessel_radii();
        let mid = heart.aortic_mid_world();
        let top = mid + heart.aorta_direction * 45.0;
        let arch_top_z = top.z;
        let arch_end = Vec3::new(descending_aorta[0], descending_aorta[1], arch_top_z);
        let pv = heart.pulmonary_valve_world();
        let svc_base = heart.ra_top_world();
        // Diaphragm: the domes sit just below the ventricles.
        let apex = heart.apex();
        let r_d = t.diaphragm_radius_mm;
        let dome = |x: f64, y: f64| {
            t.right_dome_mm / (1.0 + (x / 30.0).exp())
                - (x * x + (y - 15.0) * (y - 15.0)) / (2.0 * r_d)
        };
        let diaphragm_z0 = heart.lowest_z() - 3.0 - dome(apex.x, apex.y);
        Self {
            body: [xb, yb],
            subcutaneous: sub,
            inner_x,
            inner_y_ant,
            inner_y_post,
            vertebra,
            canal,
            esophagus,
            descending_aorta,
            arch_top_z,
            ascending: Capsule {
                a: mid,
                b: top,
                radius: ao_r,
            },
            vessels: [
                Capsule {
                    a: top,
                    b: arch_end,
                    radius: ao_r * 0.9,
                },
                Capsule {
                    a: pv,
                    b: pv + heart.pulmonary_direction * 40.0,
                    radius: pa_r,
                },
                Capsule {
                    a: svc_base,
                    b: svc_base + Vec3::new(0.0, 0.0, 120.0),
                    radius: 9.0,
                },
            ],
            diaphragm_z0,
            diaphragm_radius: r_d,
            heart_z: heart.lv_centre().z,
            right_dome: t.right_dome_mm,
            liver: p.contrast.liver as f32,
            muscle: p.contrast.muscle as f32,
            fat: p.contrast.fat as f32,
            flow_modulation: p.contrast.flow_modulation as f32,
        }
    }

    fn diaphragm_z(&self, x: f64, y: f64) -> f64 {
        self.diaphragm_z0 + self.right_dome / (1.0 + (x / 30.0).exp())
            - (x * x + (y - 15.0) * (y - 15.0)) / (2.0 * self.diaphragm_radius)
    }

    #[inline]
    fn at(&self, q: Vec3, tex: &Textures) -> Hit {
        let other = |signal: f32| Hit {
            structure: Structure::Other,
            signal,
        };
        let (x, y, z) = (q.x, q.y, q.z);
        let e_body = (x / self.body[0]).powi(2) + (y / self.body[1]).powi(2);
        if e_body > 1.0 {
            return other(0.0);
        }
        let n = |sx: f64, ox: f64| tex.c.sample(x / sx + ox, y / sx, z / sx);
        let blood = || 1.0 + self.flow_modulation * tex.a.sample(x / 25.0, y / 25.0, z / 25.0);
        // Great vessels.
        let circle = |c: [f64; 3]| ((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt() - c[2];
        if z <= self.arch_top_z && circle(self.descending_aorta) <= 0.0 {
            return other(blood());
        }
        if self.ascending.contains(q) {
            return Hit {
                structure: Structure::Aorta,
                signal: blood() * 1.05,
            };
        }
        if self.vessels.iter().any(|c| c.contains(q)) {
            return other(blood());
        }
        // Spine.
        let dv = circle(self.vertebra);
        if dv <= 0.0 {
            return other(if dv > -2.0 {
                CORTEX
            } else {
                -MARROW * (1.0 + 0.12 * n(6.0, 40.0))
            });
        }
        if circle(self.canal) <= 0.0 {
            return other(CSF);
        }
        // Body wall: subcutaneous fat, then muscle.
        let inner_y = if y < 0.0 {
            self.inner_y_ant
        } else {
            self.inner_y_post
        };
        if (x / self.inner_x).powi(2) + (y / inner_y).powi(2) > 1.0 {
            let e_sub = (x / self.subcutaneous[0]).powi(2) + (y / self.subcutaneous[1]).powi(2);
            if e_sub > 1.0 {
                return other(-self.fat * (1.0 + 0.08 * n(6.0, 10.0)));
            }
            // Ribs: oval bars in the middle of the muscle layer, sloping down toward the
            // front; dark cortex around grey marrow.
            if y < 60.0 {
                let phase = ((z - 0.35 * y) / RIB_PERIOD_MM).rem_euclid(1.0);
                if phase < RIB_FRACTION {
                    // Radial position across the muscle layer: 0 inner, 1 outer.
                    let e_in = (x / self.inner_x).powi(2) + (y / inner_y).powi(2);
                    // Along the ray from the centre: inner boundary at r / sqrt(e_in), outer
                    // at r / sqrt(e_sub).
                    let (inner, outer) = (e_in.sqrt().recip(), e_sub.sqrt().recip());
                    let depth = ((1.0 - inner) / (outer - inner).max(1e-9)).clamp(0.0, 1.0);
                    let u = (phase / RIB_FRACTION - 0.5) * 2.0;
                    let v = (depth - 0.55) / 0.3;
                    let r2 = u * u + v * v;
                    if r2 < 1.0 {
                        return other(if r2 > 0.45 { CORTEX } else { -MARROW * 0.9 });
                    }
                }
            }
            return other(self.muscle * (1.0 + 0.12 * n(5.0, 20.0)));
        }
        // Abdomen below the diaphragm.
        let zd = self.diaphragm_z(x, y);
        if z < zd {
            if z > zd - 4.0 {
                return other(self.muscle * 0.9);
            }
            let liver_edge = 30.0 - 0.35 * y;
            return other(if x < liver_edge {
                let vessel = tex.a.sample(x / 9.0 + 3.0, y / 9.0, z / 9.0);
                if vessel > 0.7 {
                    0.8
                } else {
                    self.liver * (1.0 + 0.1 * n(7.0, 30.0))
                }
            } else if y > 20.0 {
                SPLEEN * (1.0 + 0.08 * n(7.0, 50.0))
            } else {
                STOMACH * (1.0 + 0.35 * n(12.0, 60.0))
            });
        }
        if circle(self.esophagus) <= 0.0 {
            return other(self.muscle);
        }
        // Mediastinal fat behind and in front of the heart.
        let ellipse = |cx: f64, cy: f64, ax: f64, ay: f64| {
            ((x - cx) / ax).powi(2) + ((y - cy) / ay).powi(2) <= 1.0
        };
        let posterior_mediastinum = ellipse(4.0, self.inner_y_post - 35.0, 30.0, 48.0);
        // Anterior mediastinal fat: a pad in front of the heart, limited in height.
        let anterior_mediastinum = ((x - 8.0) / 48.0).powi(2)
            + ((y + self.inner_y_ant - 12.0) / 24.0).powi(2)
            + ((z - self.heart_z) / 80.0).powi(2)
            <= 1.0;
        if posterior_mediastinum || anterior_mediastinum {
            return other(-self.fat * 0.8 * (1.0 + 0.15 * n(8.0, 70.0)));
        }
        // Lung with bright vessels.
        let vessel = tex.a.fractal(x / 7.0 + 9.0, y / 7.0, z / 7.0);
        other(if vessel > 0.6 {
            0.45
        } else {
            LUNG * (1.0 + vessel)
        })
    }
}

/// The anatomy of one subject: heart, torso and textures.
#[derive(Debug, Clone)]
pub(crate) struct Anatomy {
    pub(crate) heart: Heart,
    torso: Torso,
    tex: Textures,
    contrast: HeartContrast,
    hull: Hull,
}

impl Anatomy {
    pub(crate) fn new(params: &SubjectParams, phases: usize, seed: u64, index: u64) -> Self {
        let heart = Heart::new(params, phases);
        let torso = Torso::new(params, &heart);
        let mut r = rng_for(seed, index, Stream::Texture, &[]);
        let tex = Textures {
            a: ValueNoise::new(&mut r),
            b: ValueNoise::new(&mut r),
            c: ValueNoise::new(&mut r),
        };
        let hull = heart.hull();
        Self {
            contrast: HeartContrast {
                myocardium: params.contrast.myocardium as f32,
                fat: params.contrast.fat as f32,
                flow_modulation: params.contrast.flow_modulation as f32,
            },
            heart,
            torso,
            tex,
            hull,
        }
    }

    /// Structure and relative signal at a point (reference frame, no breath-hold shift).
    #[inline]
    pub(crate) fn hit(&self, q: Vec3, st: &HeartState) -> Hit {
        let local = self.heart.frame.to_local(q);
        if self.hull.contains(local) {
            if let Some(h) = self.heart.classify(local, st, &self.tex, &self.contrast) {
                return h;
            }
        }
        self.torso.at(q, &self.tex)
    }

    /// The point in the heart's local frame, when it lies inside the hull.
    #[inline]
    pub(crate) fn hull_local(&self, q: Vec3) -> Option<[f64; 3]> {
        let local = self.heart.frame.to_local(q);
        self.hull.contains(local).then_some(local)
    }

    /// The heart's claim on a local point at a phase (`None`: the torso decides).
    #[inline]
    pub(crate) fn heart_hit(&self, local: [f64; 3], st: &HeartState) -> Option<Hit> {
        self.heart.classify(local, st, &self.tex, &self.contrast)
    }

    /// The torso's structure and signal at a point outside the heart's hull.
    #[inline]
    pub(crate) fn torso_hit(&self, q: Vec3) -> Hit {
        self.torso.at(q, &self.tex)
    }

    /// Volume (mm^3) of a labelled heart structure at a phase by midpoint-rule quadrature over
    /// the local box `[lo, hi]` with cubic cells of side `step` mm. The cells along the long
    /// axis start at the base plane: the chambers are cut by planes parallel to it (at the base
    /// and 3 mm below for the RV, so `step` should divide 3 mm), and a cut through the middle
    /// of a cell would cost an error of up to half a cell times the cut area.
    pub(crate) fn local_volume(
        &self,
        st: &HeartState,
        structure: Structure,
        mut lo: [f64; 3],
        hi: [f64; 3],
        step: f64,
    ) -> f64 {
        lo[2] = st.w_base - ((st.w_base - lo[2]) / step).ceil() * step;
        let n = [0, 1, 2].map(|i| ((hi[i] - lo[i]) / step).ceil().max(1.0) as usize);
        let mut count = 0usize;
        for i in 0..n[0] {
            let s = lo[0] + (i as f64 + 0.5) * step;
            for j in 0..n[1] {
                let t = lo[1] + (j as f64 + 0.5) * step;
                for k in 0..n[2] {
                    let w = lo[2] + (k as f64 + 0.5) * step;
                    let hit = self
                        .heart
                        .classify([s, t, w], st, &self.tex, &self.contrast);
                    if hit.is_some_and(|h| h.structure == structure) {
                        count += 1;
                    }
                }
            }
        }
        count as f64 * step.powi(3)
    }

    /// Centre of the LV cavity at end-diastole (patient coordinates).
    pub(crate) fn lv_centre(&self) -> Vec3 {
        self.heart.lv_centre()
    }

    /// Checks the hull against `classify` at random points (tests).
    #[cfg(test)]
    pub(crate) fn hull_misses(&self, states: &[HeartState], points: usize) -> usize {
        use rand::Rng;
        let mut r = rng_for(1, 2, Stream::Texture, &[99]);
        let mut misses = 0;
        for _ in 0..points {
            let q = [
                r.0.random_range(-120.0..160.0),
                r.0.random_range(-140.0..140.0),
                r.0.random_range(-120.0..160.0),
            ];
            for st in states {
                let claimed = self
                    .heart
                    .classify(q, st, &self.tex, &self.contrast)
                    .is_some();
                if claimed && !self.hull.contains(q) {
                    misses += 1;
                }
            }
        }
        misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hull_contains_every_heart_point_at_every_phase() {
        for index in 0..3 {
            let params = SubjectParams::sample(8, index);
            let a = Anatomy::new(&params, 10, 8, index);
            let states: Vec<_> = (0..10).map(|p| a.heart.state_at_phase(p)).collect();
            assert_eq!(a.hull_misses(&states, 40_000), 0);
        }
    }

    #[test]
    fn anatomy_has_the_expected_tissues_in_the_expected_places() {
        let params = SubjectParams::sample(21, 0);
        let a = Anatomy::new(&params, 10, 21, 0);
        let st = a.heart.state_at_phase(0);
        let f = a.heart.frame;
        // Along the LV axis at mid-ventricle: cavity; 1 mm inside the epicardium at the lateral
        // wall: myocardium.
        let mid = f.base + f.u * 40.0;
        assert_eq!(a.hit(mid, &st).structure, Structure::LvBloodPool);
        let lateral = -f.s;
        let mut r = 0.0;
        while a.hit(mid + lateral * r, &st).structure == Structure::LvBloodPool {
            r += 0.25;
        }
        let endo = r;
        while a.hit(mid + lateral * r, &st).structure == Structure::LvMyocardium {
            r += 0.25;
        }
        let thickness = r - endo;
        assert!(
            (thickness - params.heart.lv_wall_mm).abs() < 1.5,
            "wall {thickness} vs {}",
            params.heart.lv_wall_mm
        );
        // Toward the RV from the septum: RV blood.
        let mut r = 0.0;
        while a.hit(mid + f.s * r, &st).structure != Structure::RvBloodPool && r < 80.0 {
            r += 0.5;
        }
        assert!(r < 80.0, "no RV along the septal direction");
        // Above the base on the axis: left atrium.
        assert_eq!(
            a.hit(f.base - f.u * 15.0 + f.t * -8.0, &st).structure,
            Structure::LeftAtrium
        );
        // Far outside the body: air, zero signal.
        let air = a.hit(Vec3::new(0.0, -400.0, 0.0), &st);
        assert_eq!(air.signal, 0.0);
        // Lateral to the heart at the level of the LV: dark lung.
        let lung = a.hit(Vec3::new(-90.0, 10.0, mid.z + 30.0), &st);
        assert!(lung.signal < 0.5, "{lung:?}");
    }
}

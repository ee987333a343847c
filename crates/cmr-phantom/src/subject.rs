//! One synthetic subject: parameters, anatomy, planning and rendering to images and labels in
//! memory.

use cmr_geometry::{ImagePlane, Vec3, View};
use ndarray::{Array2, Array3, ArrayView2};
use rayon::prelude::*;

use crate::anatomy::{Anatomy, Structure};
use crate::config::PhantomConfig;
use crate::heart::HeartState;
use crate::manifest::{
    label_table, AxisCrossing, LvAxis, Manifest, SeriesRecord, Volumes, MANIFEST_FORMAT,
};
use crate::params::SubjectParams;
use crate::planning::{plan, Plan, PlannedSeries};
use crate::random::{key, mix64, Stream};
use crate::render::{label_plane, render_frame, render_static, Receiver, SamplePattern};
use crate::PhantomError;

/// Grid step of the RV volume quadrature, mm.
const RV_QUADRATURE_STEP_MM: f64 = 1.5;
/// Myocardial density, g/ml.
const MYOCARDIAL_DENSITY: f64 = 1.05;

/// A DICOM UID under the `2.25` root (PS3.5 B.2: the decimal form of a 128-bit UUID), derived
/// deterministically from the cohort seed, subject and purpose, with the UUID version-4 and
/// variant bits set.
pub(crate) fn uid(seed: u64, index: u64, kind: u64, n: u64) -> String {
    let hi = key(&[seed, index, Stream::Uid as u64, kind, n]);
    let lo = mix64(hi ^ 0xA5A5_5A5A_DEAD_BEEF);
    let mut v = (u128::from(hi) << 64) | u128::from(lo);
    v &= !(0xF_u128 << 76);
    v |= 0x4_u128 << 76;
    v &= !(0x3_u128 << 62);
    v |= 0x2_u128 << 62;
    format!("2.25.{v}")
}

/// SOPInstanceUID of one image.
pub(crate) fn instance_uid(seed: u64, index: u64, series_number: u32, phase: usize) -> String {
    uid(
        seed,
        index,
        4,
        (u64::from(series_number) << 20) | phase as u64,
    )
}

/// A cine series rendered in memory: every phase of one slice position.
#[derive(Debug, Clone)]
pub struct CineSeries {
    /// Planning: view, description, plane, thickness, breath-hold shift.
    pub planned: PlannedSeries,
    /// SeriesInstanceUID.
    pub series_instance_uid: String,
    /// Stored pixel values `[phase, row, column]` (12-bit range).
    pub images: Array3<u16>,
    /// Ground-truth labels `[phase, row, column]` (values per view: see the crate docs).
    pub labels: Array3<u8>,
}

impl CineSeries {
    /// The image plane.
    pub fn plane(&self) -> &ImagePlane {
        &self.planned.plane
    }

    /// The view.
    pub fn view(&self) -> View {
        self.planned.view
    }

    /// One phase as `f32` `[rows, cols]`.
    pub fn image_f32(&self, phase: usize) -> Array2<f32> {
        self.images
            .index_axis(ndarray::Axis(0), phase)
            .mapv(f32::from)
    }

    /// The labels of one phase `[rows, cols]`.
    pub fn label(&self, phase: usize) -> ArrayView2<'_, u8> {
        self.labels.index_axis(ndarray::Axis(0), phase)
    }
}

/// A whole synthetic study in memory.
#[derive(Debug, Clone)]
pub struct SyntheticStudy {
    /// The manifest (true geometry, volumes, UIDs, file names as they would be written).
    pub manifest: Manifest,
    /// Every series, long-axis views first, then the short-axis stack base to apex.
    pub series: Vec<CineSeries>,
}

impl SyntheticStudy {
    /// The short-axis slices, base first.
    pub fn short_axis(&self) -> impl Iterator<Item = &CineSeries> {
        self.series.iter().filter(|s| s.view() == View::ShortAxis)
    }

    /// The series of a long-axis view.
    pub fn long_axis(&self, view: View) -> Option<&CineSeries> {
        self.series.iter().find(|s| s.view() == view)
    }
}

/// One synthetic subject, ready to render.
///
/// ```
/// use cmr_phantom::{PhantomConfig, Subject, View};
/// let config = PhantomConfig::small(2);
/// let subject = Subject::new(&config, 42, 0)?;
/// let study = subject.render();
/// let mid = study.short_axis().nth(4).unwrap();
/// // LV blood pool, myocardium and RV are all labelled on a mid-ventricular slice.
/// for value in 1..=3u8 {
///     assert!(mid.label(0).iter().any(|&l| l == value));
/// }
/// assert!(study.long_axis(View::FourChamber).is_some());
/// assert!(study.manifest.volumes.lv_ef > 0.3);
/// # Ok::<(), cmr_phantom::PhantomError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Subject {
    config: PhantomConfig,
    seed: u64,
    index: u64,
    params: SubjectParams,
    anatomy: Anatomy,
    plan: Plan,
    receiver: Receiver,
    states: Vec<HeartState>,
}

impl Subject {
    /// Draws subject `index` of the cohort with seed `seed` and plans its acquisition.
    ///
    /// # Errors
    /// [`PhantomError::InvalidConfig`] for a bad configuration; [`PhantomError::Geometry`]
    /// if planning produced an invalid plane (an extreme configuration).
    pub fn new(config: &PhantomConfig, seed: u64, index: u64) -> Result<Self, PhantomError> {
        config.validate()?;
        let params = SubjectParams::sample(seed, index);
        let anatomy = Anatomy::new(&params, config.phases, seed, index);
        let plan = plan(&anatomy.heart, config, seed, index)?;
        let receiver = Receiver::new(&params, anatomy.lv_centre(), config.noise);
        let states = (0..config.phases)
            .map(|p| anatomy.heart.state_at_phase(p))
            .collect();
        Ok(Self {
            config: config.clone(),
            seed,
            index,
            params,
            anatomy,
            plan,
            receiver,
            states,
        })
    }

    /// Subject identifier, also the folder name: `PH` and the index.
    pub fn id(&self) -> String {
        format!("PH{:05}", self.index)
    }

    /// The subject's parameters.
    pub fn params(&self) -> &SubjectParams {
        &self.params
    }

    /// The protocol.
    pub fn config(&self) -> &PhantomConfig {
        &self.config
    }

    /// The planned series, in SeriesNumber order (long axis first, then the stack).
    pub fn planned_series(&self) -> &[PlannedSeries] {
        &self.plan.series
    }

    /// Index of the end-systolic phase.
    pub fn es_phase(&self) -> usize {
        self.anatomy.heart.es_phase
    }

    /// TriggerTime of each phase, ms.
    pub fn trigger_times_ms(&self) -> Vec<f64> {
        let n = self.config.phases as f64;
        (0..self.config.phases)
            .map(|i| i as f64 * self.params.cycle.rr_ms / n)
            .collect()
    }

    /// The labelled structure at a point in the reference position (no breath-hold shift) at
    /// a phase.
    pub fn structure_at(&self, p: Vec3, phase: usize) -> Structure {
        self.anatomy.hit(p, &self.states[phase]).structure
    }

    /// Labels of `view` sampled at the pixel centres of any plane at a phase (reference
    /// position, no partial volume), e.g. for dense volume checks.
    pub fn labels_on(&self, plane: &ImagePlane, view: View, phase: usize) -> Array2<u8> {
        let v = label_plane(&self.anatomy, view, plane, &self.states[phase]);
        Array2::from_shape_vec((plane.rows(), plane.cols()), v)
            .expect("label_plane returns rows * cols values")
    }

    /// Pixels of a planned series that lie in air outside the body (the centre and the four
    /// points 3 mm around it), where only noise is measured.
    pub fn air_mask(&self, s: &PlannedSeries) -> Array2<bool> {
        let shift = Vec3::from_array(s.breath_hold_shift_mm);
        let st = &self.states[0];
        let (row, col) = (s.plane.row_dir() * 3.0, s.plane.col_dir() * 3.0);
        let around = [Vec3::default(), row, -row, col, -col];
        Array2::from_shape_fn((s.plane.rows(), s.plane.cols()), |(r, c)| {
            let p = s.plane.pixel_to_world(r as f64, c as f64) - shift;
            around.iter().all(|d| {
                let h = self.anatomy.hit(p + *d, st);
                h.structure == Structure::Other && h.signal == 0.0
            })
        })
    }

    fn series_uid(&self, s: &PlannedSeries) -> String {
        uid(self.seed, self.index, 3, u64::from(s.series_number))
    }

    /// Relative path of the DICOM file of one image.
    pub(crate) fn dicom_path(s: &PlannedSeries, phase: usize) -> String {
        format!(
            "dicom/{:02}_{}/IM_{:04}.dcm",
            s.series_number,
            s.description,
            phase + 1
        )
    }

    /// The manifest: true geometry, volumes and what will be written.
    pub fn manifest(&self) -> Manifest {
        let heart = &self.anatomy.heart;
        let f = heart.frame;
        let ed = &self.states[0];
        let es = &self.states[self.es_phase()];
        let rv_volume = |st: &HeartState| {
            let (lo, hi) = heart.rv_bounds(st);
            self.anatomy
                .local_volume(st, Structure::RvBloodPool, lo, hi, RV_QUADRATURE_STEP_MM)
                / 1000.0
        };
        let (rv_edv, rv_esv) = (rv_volume(ed), rv_volume(es));
        let lv_edv = heart.lv_cavity_volume(ed.k) / 1000.0;
        let lv_esv = heart.lv_cavity_volume(es.k) / 1000.0;
        let myo = heart.lv_myocardial_volume() / 1000.0;
        let series = self
            .plan
            .series
            .iter()
            .map(|s| {
                let shift = Vec3::from_array(s.breath_hold_shift_mm);
                let crossing = (s.view == View::ShortAxis).then(|| {
                    let n = s.plane.normal();
                    let b = f.base + shift;
                    let lambda = (s.plane.origin() - b).dot(n) / f.u.dot(n);
                    let w = b + f.u * lambda;
                    let px = s.plane.world_to_pixel(w);
                    AxisCrossing {
                        world_mm: w.to_array(),
                        pixel: [px.row, px.col],
                    }
                });
                SeriesRecord {
                    view: s.view,
                    slice_index: s.slice_index,
                    description: s.description.clone(),
                    series_number: s.series_number,
                    series_instance_uid: self.series_uid(s),
                    image_position_patient: s.image_position,
                    image_orientation_patient: s.image_orientation,
                    pixel_spacing_mm: [
                        s.plane.spacing().between_rows,
                        s.plane.spacing().between_cols,
                    ],
                    rows: s.plane.rows(),
                    columns: s.plane.cols(),
                    slice_thickness_mm: s.slice_thickness_mm,
                    breath_hold_shift_mm: s.breath_hold_shift_mm,
                    lv_axis_crossing: crossing,
                    dicom_files: (0..self.config.phases)
                        .map(|p| Self::dicom_path(s, p))
                        .collect(),
                }
            })
            .collect();
        Manifest {
            format: MANIFEST_FORMAT.to_string(),
            subject_id: self.id(),
            patient_id: format!("CMRPHANTOM-{}-{:05}", self.seed, self.index),
            seed: self.seed,
            index: self.index,
            study_instance_uid: uid(self.seed, self.index, 1, 0),
            frame_of_reference_uid: uid(self.seed, self.index, 2, 0),
            phases: self.config.phases,
            rr_ms: self.params.cycle.rr_ms,
            trigger_times_ms: self.trigger_times_ms(),
            ed_phase: 0,
            es_phase: self.es_phase(),
            lv_axis: LvAxis {
                base_centre_mm: f.base.to_array(),
                apex_mm: heart.apex().to_array(),
                epicardial_apex_mm: heart.epicardial_apex().to_array(),
                direction: f.u.to_array(),
                length_mm: heart.lv_length(),
                base_descent_mm: self.states.iter().map(|st| st.w_base).collect(),
            },
            volumes: Volumes {
                lv_edv_ml: lv_edv,
                lv_esv_ml: lv_esv,
                lv_ef: (lv_edv - lv_esv) / lv_edv,
                lv_myocardial_volume_ml: myo,
                lv_mass_g: myo * MYOCARDIAL_DENSITY,
                rv_edv_ml: rv_edv,
                rv_esv_ml: rv_esv,
                rv_ef: (rv_edv - rv_esv) / rv_edv,
                lv_volume_per_phase_ml: self
                    .states
                    .iter()
                    .map(|st| heart.lv_cavity_volume(st.k) / 1000.0)
                    .collect(),
            },
            planning: self.plan.record.clone(),
            labels: label_table(),
            series,
            params: self.params.clone(),
            config: self.config.clone(),
        }
    }

    /// Renders every series at every phase (in parallel with rayon) and builds the manifest.
    pub fn render(&self) -> SyntheticStudy {
        let pattern = SamplePattern::new(self.config.samples_per_pixel, self.config.footprint_px);
        let phases = self.config.phases;
        let layers: Vec<_> = self
            .plan
            .series
            .par_iter()
            .map(|s| render_static(&self.anatomy, s, &pattern, &self.receiver))
            .collect();
        let jobs: Vec<(usize, usize)> = (0..self.plan.series.len())
            .flat_map(|i| (0..phases).map(move |p| (i, p)))
            .collect();
        let frames: Vec<_> = jobs
            .par_iter()
            .map(|&(i, p)| {
                render_frame(
                    &self.anatomy,
                    &self.plan.series[i],
                    &self.receiver,
                    &layers[i],
                    &self.states[p],
                    (self.seed, self.index, p),
                )
            })
            .collect();
        let mut frames = frames.into_iter();
        let series = self
            .plan
            .series
            .iter()
            .map(|s| {
                let (rows, cols) = (s.plane.rows(), s.plane.cols());
                let mut images = Array3::<u16>::zeros((phases, rows, cols));
                let mut labels = Array3::<u8>::zeros((phases, rows, cols));
                for p in 0..phases {
                    let f = frames.next().expect("one frame per (series, phase) job");
                    images
                        .index_axis_mut(ndarray::Axis(0), p)
                        .as_slice_mut()
                        .expect("fresh arrays are contiguous")
                        .copy_from_slice(&f.pixels);
                    labels
                        .index_axis_mut(ndarray::Axis(0), p)
                        .as_slice_mut()
                        .expect("fresh arrays are contiguous")
                        .copy_from_slice(&f.labels);
                }
                CineSeries {
                    planned: s.clone(),
                    series_instance_uid: self.series_uid(s),
                    images,
                    labels,
                }
            })
            .collect();
        SyntheticStudy {
            manifest: self.manifest(),
            series,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_valid_distinct_and_reproducible() {
        let a = uid(1, 2, 3, 4);
        assert_eq!(a, uid(1, 2, 3, 4));
        assert_ne!(a, uid(1, 2, 3, 5));
        assert_ne!(a, uid(2, 2, 3, 4));
        for u in [a, uid(0, 0, 0, 0), uid(u64::MAX, 7, 1, 0)] {
            assert!(u.len() <= 64, "{u}");
            assert!(u.starts_with("2.25."));
            let digits = &u[5..];
            assert!(digits.chars().all(|c| c.is_ascii_digit()));
            assert!(!digits.starts_with('0'));
        }
    }
}

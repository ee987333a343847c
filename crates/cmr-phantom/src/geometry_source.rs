//! The phantom seen through cmr-geometry's study model: a rendered study becomes a
//! [`Study`] in a [`MemorySource`] (so everything downstream that takes a
//! [`StudySource`](cmr_geometry::StudySource) takes the phantom directly), and is written as
//! UK Biobank-style NIfTI with cmr-geometry's writer.

use std::path::{Path, PathBuf};

use cmr_geometry::{
    write_ukbb_study, CardiacPhase, Frame, MemorySource, Series, Slice, Study, UkbbWriteOptions,
    View,
};

use crate::planning::LONG_AXIS_VIEWS;
use crate::subject::{CineSeries, SyntheticStudy};
use crate::PhantomError;

fn frames(
    source: &mut MemorySource,
    s: &CineSeries,
    trigger_times: &[f64],
    es_phase: usize,
) -> Vec<Frame> {
    (0..s.images.dim().0)
        .map(|p| {
            let mut f = Frame::new(source.push_image(s.image_f32(p)));
            f.label = Some(source.push_label(s.label(p).to_owned()));
            f.trigger_time_ms = Some(trigger_times[p]);
            f.instance_number = Some(p as i64 + 1);
            f.phase = if p == 0 {
                Some(CardiacPhase::EndDiastole)
            } else if p == es_phase {
                Some(CardiacPhase::EndSystole)
            } else {
                None
            };
            f
        })
        .collect()
}

impl SyntheticStudy {
    /// This study as cmr-geometry sees a loaded one: one [`Study`] whose short-axis slices are
    /// merged into one stack (as cmr-geometry merges UK Biobank's one series per slice), plus
    /// 2Ch, 3Ch and 4Ch, every frame labelled, ED and ES tagged, pixels and labels in memory.
    ///
    /// ```
    /// use cmr_geometry::{StudySource, View};
    /// use cmr_phantom::{PhantomConfig, Subject};
    /// let study = Subject::new(&PhantomConfig::small(2), 3, 0)?.render();
    /// let source = study.to_memory_source();
    /// let sa = source.studies()[0].view(View::ShortAxis).unwrap();
    /// assert_eq!(sa.slices.len(), study.short_axis().count());
    /// let frame = &sa.slices[0].frames[1];
    /// assert_eq!(source.load_image(&frame.image)?.dim(), (112, 112));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_memory_source(&self) -> MemorySource {
        let m = &self.manifest;
        let mut source = MemorySource::default();
        let mut series = Vec::new();
        let sa: Vec<&CineSeries> = self.short_axis().collect();
        if let Some(first) = sa.first() {
            let slices = sa
                .iter()
                .map(|s| Slice {
                    plane: *s.plane(),
                    frames: frames(&mut source, s, &m.trigger_times_ms, m.es_phase),
                })
                .collect();
            let mut stack = Series::new(
                View::ShortAxis,
                first.series_instance_uid.clone(),
                "CINE_segmented_SAX",
                slices,
            );
            stack.source_uids = sa.iter().map(|s| s.series_instance_uid.clone()).collect();
            series.push(stack);
        }
        for view in LONG_AXIS_VIEWS {
            if let Some(s) = self.long_axis(view) {
                let slice = Slice {
                    plane: *s.plane(),
                    frames: frames(&mut source, s, &m.trigger_times_ms, m.es_phase),
                };
                series.push(Series::new(
                    view,
                    s.series_instance_uid.clone(),
                    s.planned.description.clone(),
                    vec![slice],
                ));
            }
        }
        source.push_study(Study {
            uid: m.study_instance_uid.clone(),
            patient_id: Some(m.patient_id.clone()),
            series,
            dropped: Vec::new(),
        });
        source
    }
}

/// Writes a study as UK Biobank-style NIfTI into `dir` with cmr-geometry's writer:
/// `sa.nii.gz` (4-D cine), `sa_ED/ES.nii.gz`, `label_sa_ED/ES.nii.gz`, `label_sa.nii.gz` (every
/// frame), and the same for `la_2ch`, `la_3ch`, `la_4ch`. Returns the files written.
///
/// # Errors
/// [`PhantomError::Geometry`] when cmr-geometry cannot write a file.
pub fn write_nifti(study: &SyntheticStudy, dir: &Path) -> Result<Vec<PathBuf>, PhantomError> {
    let source = study.to_memory_source();
    let la_thickness = study
        .series
        .iter()
        .find(|s| s.view() != View::ShortAxis)
        .map_or(6.0, |s| s.planned.slice_thickness_mm);
    let studies = cmr_geometry::StudySource::studies(&source);
    write_ukbb_study(
        dir,
        &studies[0],
        &source,
        &UkbbWriteOptions {
            single_slice_step_mm: la_thickness,
        },
    )
    .map_err(|source| PhantomError::Geometry {
        what: format!("NIfTI files in {}", dir.display()),
        source,
    })
}

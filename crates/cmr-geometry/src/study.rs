//! The study model every source produces: a [`Study`] holds [`Series`] (one per cardiac view,
//! plus others), a series holds [`Slice`]s (one [`ImagePlane`] each, sorted along the normal for
//! stacks), a slice holds cine [`Frame`]s (ordered by trigger time, then instance number), and
//! a frame points at its pixels and, optionally, at a ground-truth label map.
//!
//! Pixels are not held here: a [`PixelRef`] says where they are, and the
//! [`StudySource`](crate::StudySource) that produced the study loads them.
//!
//! ```
//! use cmr_geometry::{Frame, ImagePlane, PixelRef, Series, Slice, Study, View};
//! let plane = ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.5, 1.5], 8, 8)?;
//! let frames = (0..3).map(|t| Frame::new(PixelRef::Memory { index: t })).collect();
//! let series = Series::new(View::FourChamber, "1.2.3", "CINE_segmented_LAX_4Ch", vec![Slice { plane, frames }]);
//! let study = Study { uid: "1.2".into(), patient_id: None, series: vec![series], dropped: vec![] };
//! assert_eq!(study.view(View::FourChamber).unwrap().frames_per_slice(), Some(3));
//! assert!(study.view(View::ShortAxis).is_none());
//! # Ok::<(), cmr_geometry::GeometryError>(())
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{ImagePlane, Vec3};

/// The standard cardiac MR views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum View {
    /// Short-axis stack (SA): parallel slices across both ventricles.
    ShortAxis,
    /// Long-axis 2-chamber view (2Ch, vertical long axis): LV and LA.
    TwoChamber,
    /// Long-axis 3-chamber view (3Ch, LVOT): LV, LA, aortic outflow.
    ThreeChamber,
    /// Long-axis 4-chamber view (4Ch, horizontal long axis): all four chambers.
    FourChamber,
    /// Anything else (localisers, flow, other planes).
    Other,
}

impl View {
    /// The four cardiac views, in the order studies list them.
    pub const CARDIAC: [View; 4] = [
        View::ShortAxis,
        View::TwoChamber,
        View::ThreeChamber,
        View::FourChamber,
    ];

    /// The UK Biobank-style file stem: `sa`, `la_2ch`, `la_3ch`, `la_4ch`, or `other`.
    pub fn file_stem(self) -> &'static str {
        match self {
            View::ShortAxis => "sa",
            View::TwoChamber => "la_2ch",
            View::ThreeChamber => "la_3ch",
            View::FourChamber => "la_4ch",
            View::Other => "other",
        }
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            View::ShortAxis => "SA",
            View::TwoChamber => "2Ch",
            View::ThreeChamber => "3Ch",
            View::FourChamber => "4Ch",
            View::Other => "other",
        })
    }
}

/// A tagged phase of the cardiac cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CardiacPhase {
    /// End-diastole (largest ventricular volume).
    EndDiastole,
    /// End-systole (smallest ventricular volume).
    EndSystole,
}

impl CardiacPhase {
    /// `"ED"` or `"ES"`, as UK Biobank file names spell them.
    pub fn short_name(self) -> &'static str {
        match self {
            CardiacPhase::EndDiastole => "ED",
            CardiacPhase::EndSystole => "ES",
        }
    }
}

/// Where the pixels of one 2-D image are; the [`StudySource`](crate::StudySource) that made
/// the reference knows how to load it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixelRef {
    /// Frame `frame` (0-based; 0 for single-frame files) of a DICOM file.
    Dicom {
        /// The file.
        path: PathBuf,
        /// 0-based frame number within the file.
        frame: u32,
    },
    /// Slice `slice` (third NIfTI axis) at time `time` (fourth axis, 0 for 3-D files) of a
    /// NIfTI file.
    Nifti {
        /// The file.
        path: PathBuf,
        /// Index along the third axis.
        slice: usize,
        /// Index along the fourth axis.
        time: usize,
    },
    /// An image held by an in-memory source, by index.
    Memory {
        /// Index into the source's image (or label) list.
        index: usize,
    },
}

impl std::fmt::Display for PixelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PixelRef::Dicom { path, frame } => write!(f, "{} frame {frame}", path.display()),
            PixelRef::Nifti { path, slice, time } => {
                write!(f, "{} slice {slice} time {time}", path.display())
            }
            PixelRef::Memory { index } => write!(f, "in-memory image {index}"),
        }
    }
}

/// One image of a cine series: one cardiac phase at one slice position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The image's pixels.
    pub image: PixelRef,
    /// The ground-truth label map for this image, when there is one.
    pub label: Option<PixelRef>,
    /// Time after the R wave, ms (DICOM TriggerTime or the functional-group equivalent).
    pub trigger_time_ms: Option<f64>,
    /// DICOM InstanceNumber, when known.
    pub instance_number: Option<i64>,
    /// ED/ES tag, when the source knows it.
    pub phase: Option<CardiacPhase>,
}

impl Frame {
    /// An untagged, unlabelled frame with no timing.
    pub fn new(image: PixelRef) -> Self {
        Self {
            image,
            label: None,
            trigger_time_ms: None,
            instance_number: None,
            phase: None,
        }
    }
}

/// One slice position of a series: a fixed image plane seen over the cardiac cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// The plane every frame of this slice lies in.
    pub plane: ImagePlane,
    /// Cine frames, ordered by trigger time, then instance number.
    pub frames: Vec<Frame>,
}

/// Slice spacing of a stack, measured from the slice positions along the stack normal (not
/// from SliceThickness).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackSpacing {
    /// Median distance between neighbouring slices, mm.
    pub median_mm: f64,
    /// Smallest distance between neighbours, mm.
    pub min_mm: f64,
    /// Largest distance between neighbours, mm.
    pub max_mm: f64,
    /// Indices `i` where the step from slice `i` to `i + 1` is more than 1.5 times the median
    /// (a missing slice).
    pub gaps_after: Vec<usize>,
    /// True when any step differs from the median by more than
    /// [`STACK_SPACING_TOLERANCE_MM`]; gaps count as irregular.
    pub irregular: bool,
}

/// Two neighbour steps of a stack closer than this (mm) count as the same spacing.
pub const STACK_SPACING_TOLERANCE_MM: f64 = 0.1;

impl StackSpacing {
    /// Spacing statistics from slice positions along the normal (sorted ascending); `None` for
    /// fewer than two slices.
    pub fn from_positions(positions: &[f64]) -> Option<Self> {
        if positions.len() < 2 {
            return None;
        }
        let steps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
        let mut sorted = steps.clone();
        sorted.sort_by(f64::total_cmp);
        let median_mm = sorted[sorted.len() / 2];
        let min_mm = sorted[0];
        let max_mm = sorted[sorted.len() - 1];
        let gaps_after = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 1.5 * median_mm)
            .map(|(i, _)| i)
            .collect();
        let irregular = steps
            .iter()
            .any(|s| (s - median_mm).abs() > STACK_SPACING_TOLERANCE_MM);
        Some(Self {
            median_mm,
            min_mm,
            max_mm,
            gaps_after,
            irregular,
        })
    }
}

/// A series: one view of the heart, as one or more parallel slices over the cardiac cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Which view this is.
    pub view: View,
    /// An identifier: the SeriesInstanceUID for DICOM (the first one when several series were
    /// merged into one stack), the file stem for NIfTI.
    pub uid: String,
    /// SeriesDescription (or the file name for NIfTI).
    pub description: String,
    /// Every source series merged into this one (UK Biobank writes one series per SA slice);
    /// just `[uid]` when nothing was merged.
    pub source_uids: Vec<String>,
    /// The slices; for stacks, sorted by position along the first slice's normal.
    pub slices: Vec<Slice>,
    /// Slice spacing, for stacks of two or more slices.
    pub spacing: Option<StackSpacing>,
    /// Anything unusual found while assembling the series (slices that are not parallel,
    /// unequal frame counts, duplicate positions), one sentence each.
    pub notes: Vec<String>,
}

impl Series {
    /// A series from slices, which are sorted along the normal here and their spacing
    /// measured.
    pub fn new(
        view: View,
        uid: impl Into<String>,
        description: impl Into<String>,
        slices: Vec<Slice>,
    ) -> Self {
        let uid = uid.into();
        let mut series = Self {
            view,
            source_uids: vec![uid.clone()],
            uid,
            description: description.into(),
            slices,
            spacing: None,
            notes: Vec::new(),
        };
        series.sort_slices();
        series
    }

    /// The stack normal: the first slice's plane normal (`None` when there are no slices).
    pub fn normal(&self) -> Option<Vec3> {
        self.slices.first().map(|s| s.plane.normal())
    }

    /// Sorts the slices by position along the normal of the first slice and recomputes
    /// [`Series::spacing`].
    pub fn sort_slices(&mut self) {
        let Some(n) = self.normal() else {
            self.spacing = None;
            return;
        };
        self.slices
            .sort_by(|a, b| a.plane.origin().dot(n).total_cmp(&b.plane.origin().dot(n)));
        let positions: Vec<f64> = self
            .slices
            .iter()
            .map(|s| s.plane.origin().dot(n))
            .collect();
        self.spacing = StackSpacing::from_positions(&positions);
    }

    /// The number of frames per slice when every slice has the same number, else `None`.
    pub fn frames_per_slice(&self) -> Option<usize> {
        let first = self.slices.first()?.frames.len();
        self.slices
            .iter()
            .all(|s| s.frames.len() == first)
            .then_some(first)
    }

    /// The frame index tagged with `phase`, when every slice tags the same index.
    pub fn phase_index(&self, phase: CardiacPhase) -> Option<usize> {
        let mut found = None;
        for s in &self.slices {
            let i = s.frames.iter().position(|f| f.phase == Some(phase))?;
            if found.is_some_and(|j| j != i) {
                return None;
            }
            found = Some(i);
        }
        found
    }

    /// Every frame of every slice, slice-major.
    pub fn frames(&self) -> impl Iterator<Item = (&Slice, &Frame)> {
        self.slices
            .iter()
            .flat_map(|s| s.frames.iter().map(move |f| (s, f)))
    }
}

/// A series that was not kept because another series claimed the same view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedSeries {
    /// Its identifier.
    pub uid: String,
    /// Its description.
    pub description: String,
    /// The view it claimed.
    pub view: View,
    /// The identifier of the series kept instead.
    pub kept_uid: String,
    /// Why the kept one won.
    pub reason: String,
}

/// One imaging study of one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// StudyInstanceUID for DICOM; the folder name for NIfTI.
    pub uid: String,
    /// PatientID, when known.
    pub patient_id: Option<String>,
    /// The series: at most one per cardiac view (SA, 2Ch, 3Ch, 4Ch), any number of
    /// [`View::Other`].
    pub series: Vec<Series>,
    /// Series that claimed a cardiac view already taken, and why they were dropped.
    pub dropped: Vec<DroppedSeries>,
}

impl Study {
    /// The series of a cardiac view, if the study has it (the first one for
    /// [`View::Other`]).
    pub fn view(&self, view: View) -> Option<&Series> {
        self.series.iter().find(|s| s.view == view)
    }

    /// The cardiac views ([`View::CARDIAC`]) this study lacks, e.g. a missing long-axis
    /// view, which limits what can be derived from it (position labels need 2Ch and 4Ch).
    pub fn missing_views(&self) -> Vec<View> {
        View::CARDIAC
            .into_iter()
            .filter(|v| self.view(*v).is_none())
            .collect()
    }

    /// The cardiac views present, in [`View::CARDIAC`] order.
    pub fn views(&self) -> Vec<View> {
        View::CARDIAC
            .into_iter()
            .filter(|v| self.view(*v).is_some())
            .collect()
    }

    /// Total number of frames (2-D images) over all series.
    pub fn frame_count(&self) -> usize {
        self.series.iter().map(|s| s.frames().count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice_at(z: f64) -> Slice {
        Slice {
            plane: ImagePlane::from_dicom(
                [0.0, 0.0, z],
                [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [1.0, 1.0],
                4,
                4,
            )
            .unwrap(),
            frames: vec![Frame::new(PixelRef::Memory { index: 0 })],
        }
    }

    #[test]
    fn series_sorts_along_the_normal_and_measures_spacing() {
        let s = Series::new(
            View::ShortAxis,
            "u",
            "d",
            [20.0, 0.0, 10.0, 30.0, 50.0]
                .into_iter()
                .map(slice_at)
                .collect(),
        );
        let z: Vec<f64> = s.slices.iter().map(|s| s.plane.origin().z).collect();
        assert_eq!(z, vec![0.0, 10.0, 20.0, 30.0, 50.0]);
        let sp = s.spacing.unwrap();
        assert_eq!(sp.median_mm, 10.0);
        assert_eq!(sp.max_mm, 20.0);
        assert_eq!(sp.gaps_after, vec![3]);
        assert!(sp.irregular);
        let regular = Series::new(
            View::ShortAxis,
            "u",
            "d",
            vec![slice_at(8.0), slice_at(0.0)],
        );
        assert!(!regular.spacing.unwrap().irregular);
        assert!(Series::new(View::TwoChamber, "u", "d", vec![slice_at(0.0)])
            .spacing
            .is_none());
    }

    #[test]
    fn phase_index_requires_agreement_across_slices() {
        let mut s = Series::new(
            View::ShortAxis,
            "u",
            "d",
            vec![slice_at(0.0), slice_at(8.0)],
        );
        for sl in &mut s.slices {
            sl.frames.push(Frame::new(PixelRef::Memory { index: 1 }));
            sl.frames[1].phase = Some(CardiacPhase::EndSystole);
        }
        assert_eq!(s.phase_index(CardiacPhase::EndSystole), Some(1));
        assert_eq!(s.phase_index(CardiacPhase::EndDiastole), None);
        s.slices[1].frames[1].phase = None;
        s.slices[1].frames[0].phase = Some(CardiacPhase::EndSystole);
        assert_eq!(s.phase_index(CardiacPhase::EndSystole), None);
        assert_eq!(s.frames_per_slice(), Some(2));
    }
}

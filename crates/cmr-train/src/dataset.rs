//! Which images a run uses: [`Dataset`] lists images of a [`StudySource`] (by study, view,
//! slice and frame), with the segmentation label set of each view ([`LabelSets`]), and splits
//! by subject.

use std::sync::Arc;

use cmr_geometry::positions::ViewPlanes;
use cmr_geometry::{CardiacPhase, MemorySource, PixelRef, Study, StudySource, View};
use cmr_unet::HeadSpec;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// The segmentation classes of one view, trained by one network head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSet {
    /// The view whose label maps use these values.
    pub view: View,
    /// Name of the network head (`seg_sa`, ...).
    pub head: String,
    /// Names of label values `1..=K` in order (0 is background).
    pub classes: Vec<String>,
}

impl LabelSet {
    /// A label set.
    pub fn new(view: View, head: impl Into<String>, classes: &[&str]) -> Self {
        Self {
            view,
            head: head.into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// Output channels of the head: background + classes.
    pub fn channels(&self) -> i64 {
        self.classes.len() as i64 + 1
    }

    /// The largest valid label value.
    pub fn max_label(&self) -> u8 {
        self.classes.len() as u8
    }

    /// The name of label value `v` (`background` for 0).
    pub fn class_name(&self, v: u8) -> &str {
        match v {
            0 => "background",
            v => self
                .classes
                .get(usize::from(v) - 1)
                .map_or("unknown", String::as_str),
        }
    }
}

/// The label sets of every segmented view: the data says what is segmented; the training loop
/// only follows it. [`LabelSets::default`] is the project convention (SA: LV blood pool, LV
/// myocardium, RV blood pool; 2Ch: left atrium; 4Ch: left and right atria; 3Ch unsegmented).
///
/// ```
/// use cmr_train::LabelSets;
/// use cmr_geometry::View;
/// let sets = LabelSets::default();
/// let (index, sa) = sets.for_view(View::ShortAxis).unwrap();
/// assert_eq!((index, sa.head.as_str(), sa.channels()), (0, "seg_sa", 4));
/// assert!(sets.for_view(View::ThreeChamber).is_none());
/// assert_eq!(sets.head_specs().len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSets(pub Vec<LabelSet>);

impl Default for LabelSets {
    fn default() -> Self {
        Self(vec![
            LabelSet::new(
                View::ShortAxis,
                "seg_sa",
                &["LV blood pool", "LV myocardium", "RV blood pool"],
            ),
            LabelSet::new(View::TwoChamber, "seg_2ch", &["left atrium"]),
            LabelSet::new(
                View::FourChamber,
                "seg_4ch",
                &["left atrium", "right atrium"],
            ),
        ])
    }
}

impl LabelSets {
    /// The label set of a view and its index.
    pub fn for_view(&self, view: View) -> Option<(usize, &LabelSet)> {
        self.0.iter().enumerate().find(|(_, s)| s.view == view)
    }

    /// One head per label set.
    pub fn head_specs(&self) -> Vec<HeadSpec> {
        self.0
            .iter()
            .map(|s| HeadSpec::new(s.head.clone(), s.channels()))
            .collect()
    }

    /// Only the label sets of these views (in the original order).
    pub fn restricted_to(&self, views: &[View]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|s| views.contains(&s.view))
                .cloned()
                .collect(),
        )
    }

    /// Checks head names and uniqueness of views and heads.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<(), TrainError> {
        for (i, s) in self.0.iter().enumerate() {
            let bad = |reason: String| TrainError::Invalid {
                what: "label sets",
                reason,
            };
            if s.classes.is_empty() || s.classes.len() > 254 {
                return Err(bad(format!("{} has {} classes", s.head, s.classes.len())));
            }
            HeadSpec::new(s.head.clone(), s.channels())
                .validate()
                .map_err(|e| bad(e.to_string()))?;
            if self.0[..i]
                .iter()
                .any(|o| o.view == s.view || o.head == s.head)
            {
                return Err(bad(format!(
                    "view {} or head {} appears twice",
                    s.view, s.head
                )));
            }
        }
        Ok(())
    }
}

/// Which cine frames of each slice a dataset takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "frames", rename_all = "snake_case")]
pub enum FrameSelection {
    /// Every frame.
    All,
    /// Frames tagged ED or ES (UK Biobank's labelled phases); the first frame where a slice
    /// tags none.
    EdEs,
    /// Every `n`-th frame, starting with the first.
    EveryNth {
        /// The step.
        n: usize,
    },
    /// Frames that have a label map.
    Labelled,
}

/// How a [`Dataset`] is built from a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetOptions {
    /// Views to take images from.
    pub views: Vec<View>,
    /// Frames to take.
    pub frames: FrameSelection,
    /// Whether label maps are used (false: every image is unlabelled, e.g. a pretraining pool).
    pub use_labels: bool,
    /// Label sets of the segmented views.
    pub label_sets: LabelSets,
}

impl Default for DatasetOptions {
    /// SA, 2Ch, 3Ch and 4Ch images, every frame, labels used where a label set exists.
    fn default() -> Self {
        Self {
            views: View::CARDIAC.to_vec(),
            frames: FrameSelection::All,
            use_labels: true,
            label_sets: LabelSets::default(),
        }
    }
}

/// One 2-D image of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageItem {
    /// Index of the study in the source.
    pub study: usize,
    /// Its view.
    pub view: View,
    /// Slice index in the series.
    pub slice: usize,
    /// Frame index in the slice.
    pub frame: usize,
    /// ED/ES tag, if any.
    pub phase: Option<CardiacPhase>,
    /// Whether its label map is used (index into the label sets).
    pub label_set: Option<usize>,
}

/// A list of images of a [`StudySource`] with the geometry their targets need, cheap to
/// clone and split (the source is borrowed, the planes shared).
#[derive(Clone)]
pub struct Dataset<'a> {
    source: &'a (dyn StudySource + Sync),
    items: Vec<ImageItem>,
    planes: Arc<Vec<ViewPlanes>>,
    label_sets: LabelSets,
}

impl std::fmt::Debug for Dataset<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("studies", &self.source.studies().len())
            .field("items", &self.items.len())
            .field("labelled", &self.labelled_count())
            .finish()
    }
}

/// The pixels of `image` from `source`, the image named in the error.
pub(crate) fn load_pixels<S: StudySource + ?Sized>(
    source: &S,
    image: &PixelRef,
) -> Result<Array2<f32>, TrainError> {
    source.load_image(image).map_err(|e| TrainError::Load {
        what: "pixels",
        image: image.to_string(),
        source: Box::new(e),
    })
}

/// The label map `label` from `source`, the map named in the error.
pub(crate) fn load_label_map<S: StudySource + ?Sized>(
    source: &S,
    label: &PixelRef,
) -> Result<Array2<u8>, TrainError> {
    source.load_label(label).map_err(|e| TrainError::Load {
        what: "labels",
        image: label.to_string(),
        source: Box::new(e),
    })
}

/// The subject identifier of a study: its PatientID, else its UID.
pub fn subject_id(study: &Study) -> String {
    study
        .patient_id
        .clone()
        .unwrap_or_else(|| study.uid.clone())
}

impl<'a> Dataset<'a> {
    /// Lists the images of `source` that `options` selects (from headers only; no pixels are
    /// read).
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for bad label sets, no view, or `EveryNth { n: 0 }`.
    pub fn new(
        source: &'a (dyn StudySource + Sync),
        options: &DatasetOptions,
    ) -> Result<Self, TrainError> {
        options.label_sets.validate()?;
        if options.views.is_empty() {
            return Err(TrainError::Invalid {
                what: "dataset views",
                reason: "no view selected".into(),
            });
        }
        if options.frames == (FrameSelection::EveryNth { n: 0 }) {
            return Err(TrainError::Invalid {
                what: "frame selection",
                reason: "every 0th frame".into(),
            });
        }
        let studies = source.studies();
        let mut items = Vec::new();
        for (si, study) in studies.iter().enumerate() {
            for series in &study.series {
                if !options.views.contains(&series.view) || series.view == View::Other {
                    continue;
                }
                let set = options.label_sets.for_view(series.view).map(|(i, _)| i);
                for (sl, slice) in series.slices.iter().enumerate() {
                    let tagged: Vec<usize> = slice
                        .frames
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.phase.is_some())
                        .map(|(i, _)| i)
                        .collect();
                    for (fi, frame) in slice.frames.iter().enumerate() {
                        let take = match options.frames {
                            FrameSelection::All => true,
                            FrameSelection::EdEs => {
                                tagged.contains(&fi) || (tagged.is_empty() && fi == 0)
                            }
                            FrameSelection::EveryNth { n } => fi % n == 0,
                            FrameSelection::Labelled => frame.label.is_some(),
                        };
                        if !take {
                            continue;
                        }
                        let label_set = set.filter(|_| options.use_labels && frame.label.is_some());
                        items.push(ImageItem {
                            study: si,
                            view: series.view,
                            slice: sl,
                            frame: fi,
                            phase: frame.phase,
                            label_set,
                        });
                    }
                }
            }
        }
        let planes = studies.iter().map(ViewPlanes::from_study).collect();
        Ok(Self {
            source,
            items,
            planes: Arc::new(planes),
            label_sets: options.label_sets.clone(),
        })
    }

    /// The source.
    pub fn source(&self) -> &'a (dyn StudySource + Sync) {
        self.source
    }

    /// The images.
    pub fn items(&self) -> &[ImageItem] {
        &self.items
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of images whose labels are used.
    pub fn labelled_count(&self) -> usize {
        self.items.iter().filter(|i| i.label_set.is_some()).count()
    }

    /// The label sets.
    pub fn label_sets(&self) -> &LabelSets {
        &self.label_sets
    }

    /// The label sets some labelled image of this dataset uses (the heads a fine-tuned network
    /// needs), in label-set order.
    pub fn used_label_sets(&self) -> LabelSets {
        LabelSets(
            self.label_sets
                .0
                .iter()
                .enumerate()
                .filter(|(i, _)| self.items.iter().any(|it| it.label_set == Some(*i)))
                .map(|(_, s)| s.clone())
                .collect(),
        )
    }

    /// The view planes of a study (for pretext targets).
    pub fn planes(&self, study: usize) -> &ViewPlanes {
        &self.planes[study]
    }

    /// The study an item belongs to.
    pub fn study(&self, item: &ImageItem) -> &'a Study {
        &self.source.studies()[item.study]
    }

    /// The frame of an item.
    pub fn frame(&self, item: &ImageItem) -> Option<&'a cmr_geometry::Frame> {
        self.study(item)
            .view(item.view)?
            .slices
            .get(item.slice)?
            .frames
            .get(item.frame)
    }

    /// The plane of an item.
    pub fn plane(&self, item: &ImageItem) -> Option<&'a cmr_geometry::ImagePlane> {
        Some(
            &self
                .study(item)
                .view(item.view)?
                .slices
                .get(item.slice)?
                .plane,
        )
    }

    /// The study indices that have images here, ascending.
    pub fn studies(&self) -> Vec<usize> {
        let mut s: Vec<usize> = self.items.iter().map(|i| i.study).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// The subject identifier of a study index.
    pub fn subject_id(&self, study: usize) -> String {
        subject_id(&self.source.studies()[study])
    }

    /// The images that `keep` accepts.
    pub fn filter(&self, keep: impl Fn(&ImageItem) -> bool) -> Self {
        Self {
            items: self.items.iter().copied().filter(|i| keep(i)).collect(),
            ..self.clone()
        }
    }

    /// The images of these studies (by index), in dataset order.
    pub fn with_studies(&self, studies: &[usize]) -> Self {
        self.filter(|i| studies.contains(&i.study))
    }

    /// The same images with labels dropped (an unlabelled pool).
    pub fn without_labels(&self) -> Self {
        let mut d = self.clone();
        for i in &mut d.items {
            i.label_set = None;
        }
        d
    }

    /// Only the images whose labels are used.
    pub fn labelled_only(&self) -> Self {
        self.filter(|i| i.label_set.is_some())
    }
}

/// The study indices in an order drawn from `seed` (for subject splits: take the first `n`
/// as labelled, the next as validation, ...; the same seed gives the same split).
///
/// ```
/// use cmr_train::shuffle_studies;
/// let a = shuffle_studies(&[0, 1, 2, 3, 4, 5], 7);
/// assert_eq!(a, shuffle_studies(&[0, 1, 2, 3, 4, 5], 7));
/// let mut sorted = a.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
/// ```
pub fn shuffle_studies(studies: &[usize], seed: u64) -> Vec<usize> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut v = studies.to_vec();
    v.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
        crate::seeds::derive_seed(&[seed, 0x5B17]),
    ));
    v
}

/// Copies the studies, images and labels of several sources into one [`MemorySource`] (for
/// example a phantom cohort rendered one subject at a time), rewriting the pixel references.
///
/// # Errors
/// [`TrainError::Load`] when a source cannot load one of its own images or labels.
pub fn merge_into_memory<S: StudySource>(
    sources: impl IntoIterator<Item = S>,
) -> Result<MemorySource, TrainError> {
    let mut merged = MemorySource::default();
    for source in sources {
        for study in source.studies() {
            let mut study = study.clone();
            for series in &mut study.series {
                for slice in &mut series.slices {
                    for frame in &mut slice.frames {
                        let image = load_pixels(&source, &frame.image)?;
                        frame.image = merged.push_image(image);
                        if let Some(label) = &frame.label {
                            let l = load_label_map(&source, label)?;
                            frame.label = Some(merged.push_label(l));
                        }
                    }
                }
            }
            merged.push_study(study);
        }
    }
    Ok(merged)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cmr_geometry::{Frame, ImagePlane, Series, Slice};
    use ndarray::Array2;

    /// A source with one study: `sa` SA slices of 3 frames (frame 0 ED, 2 ES), labelled; one
    /// 4Ch slice of 3 frames, unlabelled.
    pub(crate) fn toy_source(uid: &str, sa: usize) -> MemorySource {
        let mut s = MemorySource::default();
        let plane = |z: f64| {
            ImagePlane::from_dicom(
                [0.0, 0.0, z],
                [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [1.0, 1.0],
                8,
                8,
            )
            .unwrap()
        };
        let mut slices = Vec::new();
        for k in 0..sa {
            let mut frames = Vec::new();
            for t in 0..3 {
                let mut f =
                    Frame::new(s.push_image(Array2::from_elem((8, 8), (k * 10 + t) as f32)));
                f.label = Some(s.push_label(Array2::from_elem((8, 8), (t % 4) as u8)));
                f.phase = match t {
                    0 => Some(CardiacPhase::EndDiastole),
                    2 => Some(CardiacPhase::EndSystole),
                    _ => None,
                };
                frames.push(f);
            }
            slices.push(Slice {
                plane: plane(10.0 * k as f64),
                frames,
            });
        }
        let la_plane = ImagePlane::from_dicom(
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [1.0, 1.0],
            8,
            8,
        )
        .unwrap();
        let la_frames = (0..3)
            .map(|_| Frame::new(s.push_image(Array2::zeros((8, 8)))))
            .collect();
        s.push_study(Study {
            uid: uid.into(),
            patient_id: None,
            series: vec![
                Series::new(View::ShortAxis, "sa", "sa", slices),
                Series::new(
                    View::FourChamber,
                    "4ch",
                    "4ch",
                    vec![Slice {
                        plane: la_plane,
                        frames: la_frames,
                    }],
                ),
            ],
            dropped: vec![],
        });
        s
    }

    #[test]
    fn selections_and_splits_count_what_they_should() {
        let merged = merge_into_memory([toy_source("a", 2), toy_source("b", 3)]).unwrap();
        assert_eq!(merged.studies().len(), 2);
        // The second study's images were renumbered and still load their own pixels.
        let f = &merged.studies()[1].series[0].slices[2].frames[1];
        assert_eq!(merged.load_image(&f.image).unwrap()[[0, 0]], 21.0);
        assert_eq!(
            merged.load_label(f.label.as_ref().unwrap()).unwrap()[[0, 0]],
            1
        );

        let all = Dataset::new(&merged, &DatasetOptions::default()).unwrap();
        // (2 + 3) SA slices x 3 frames + 2 x 3 4Ch frames.
        assert_eq!(all.len(), 15 + 6);
        assert_eq!(all.labelled_count(), 15);
        assert_eq!(all.studies(), vec![0, 1]);
        assert_eq!(all.subject_id(1), "b");
        assert_eq!(all.used_label_sets().0.len(), 1);
        let ed_es = Dataset::new(
            &merged,
            &DatasetOptions {
                frames: FrameSelection::EdEs,
                ..DatasetOptions::default()
            },
        )
        .unwrap();
        // SA: frames 0 and 2; 4Ch tags nothing, so frame 0.
        assert_eq!(ed_es.len(), 10 + 2);
        let nth = Dataset::new(
            &merged,
            &DatasetOptions {
                frames: FrameSelection::EveryNth { n: 2 },
                views: vec![View::ShortAxis],
                ..DatasetOptions::default()
            },
        )
        .unwrap();
        assert_eq!(nth.len(), 10);
        assert!(nth.items().iter().all(|i| i.frame % 2 == 0));
        assert_eq!(all.with_studies(&[1]).len(), 9 + 3);
        assert_eq!(all.without_labels().labelled_count(), 0);
        assert_eq!(all.labelled_only().len(), 15);
        let unlabelled = Dataset::new(
            &merged,
            &DatasetOptions {
                use_labels: false,
                ..DatasetOptions::default()
            },
        )
        .unwrap();
        assert_eq!(unlabelled.labelled_count(), 0);
        assert!(Dataset::new(
            &merged,
            &DatasetOptions {
                frames: FrameSelection::EveryNth { n: 0 },
                ..DatasetOptions::default()
            }
        )
        .is_err());
        let mut dup = LabelSets::default();
        dup.0.push(LabelSet::new(View::ShortAxis, "x", &["y"]));
        assert!(dup.validate().is_err());
    }
}

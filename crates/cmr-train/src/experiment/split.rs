//! Dividing subjects between the roles of an experiment, and the labelled draws.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::{shuffle_studies, subject_id};
use crate::experiment::config::SplitConfig;
use crate::seeds::derive_seed;
use crate::TrainError;
use cmr_geometry::StudySource;

/// The studies (source indices) of each role. Studies of one subject (same PatientID) always
/// share a role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubjectSplit {
    /// Held-out test studies.
    pub test: Vec<usize>,
    /// Validation studies.
    pub validation: Vec<usize>,
    /// The labelled pool: labelled training sets are drawn from it.
    pub labelled_pool: Vec<usize>,
    /// The unlabelled pool.
    pub unlabelled: Vec<usize>,
}

/// One subject: its id and studies.
#[derive(Debug, Clone)]
struct Group {
    studies: Vec<usize>,
    labelled: bool,
}

impl SubjectSplit {
    /// Splits the studies of `source`: subjects with labels (some study in `labelled`) are
    /// shuffled by `seed` and dealt to test, validation and the labelled pool in this order;
    /// the subjects left (labelled or not) are shuffled and form the unlabelled pool (its
    /// first `unlabelled_subjects`).
    ///
    /// # Errors
    /// [`TrainError::Invalid`] when there are fewer labelled subjects than test + validation +
    /// one for the pool, or no unlabelled subject is left.
    pub fn new(
        source: &dyn StudySource,
        labelled: &[usize],
        config: &SplitConfig,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let studies = source.studies();
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for (i, s) in studies.iter().enumerate() {
            let id = subject_id(s);
            let g = groups.entry(id.clone()).or_insert_with(|| {
                order.push(id);
                Group {
                    studies: Vec::new(),
                    labelled: false,
                }
            });
            g.studies.push(i);
            g.labelled |= labelled.contains(&i);
        }
        let with_labels: Vec<&String> = order.iter().filter(|id| groups[*id].labelled).collect();
        let needed = config.test_subjects + config.validation_subjects + 1;
        if with_labels.len() < needed {
            return Err(TrainError::Invalid {
                what: "subject split",
                reason: format!(
                    "{} subjects have labels; {} test + {} validation + at least 1 labelled \
                     training subject are needed",
                    with_labels.len(),
                    config.test_subjects,
                    config.validation_subjects
                ),
            });
        }
        let shuffled: Vec<&String> =
            shuffle_studies(&(0..with_labels.len()).collect::<Vec<_>>(), seed)
                .into_iter()
                .map(|k| with_labels[k])
                .collect();
        let (test, rest) = shuffled.split_at(config.test_subjects);
        let (validation, rest) = rest.split_at(config.validation_subjects);
        let pool_n = config.labelled_pool.unwrap_or(rest.len()).min(rest.len());
        let (pool, _) = rest.split_at(pool_n);
        let taken: Vec<&String> = test.iter().chain(validation).chain(pool).copied().collect();
        let left: Vec<&String> = order.iter().filter(|id| !taken.contains(id)).collect();
        let left: Vec<&String> = shuffle_studies(
            &(0..left.len()).collect::<Vec<_>>(),
            derive_seed(&[seed, 0x0B0E]),
        )
        .into_iter()
        .map(|k| left[k])
        .collect();
        let unlabelled_n = config
            .unlabelled_subjects
            .unwrap_or(left.len())
            .min(left.len());
        if unlabelled_n == 0 {
            return Err(TrainError::Invalid {
                what: "subject split",
                reason: format!(
                    "no subject is left for the unlabelled pool ({} subjects: {} test, {} \
                     validation, {} labelled pool); use more subjects or a smaller labelled pool",
                    order.len(),
                    test.len(),
                    validation.len(),
                    pool.len()
                ),
            });
        }
        let studies_of = |ids: &[&String]| -> Vec<usize> {
            let mut v: Vec<usize> = ids
                .iter()
                .flat_map(|id| groups[*id].studies.iter().copied())
                .collect();
            v.sort_unstable();
            v
        };
        Ok(Self {
            test: studies_of(test),
            validation: studies_of(validation),
            labelled_pool: studies_of(pool),
            unlabelled: studies_of(&left[..unlabelled_n]),
        })
    }

    /// The labelled training studies of draw `draw` of `n` subjects: the first `n` of the
    /// labelled pool shuffled by `(seed, n, draw)`, in pool order. Every strategy gets the
    /// same draw.
    pub fn draw(&self, n: usize, draw: usize, seed: u64) -> Vec<usize> {
        let shuffled = shuffle_studies(
            &self.labelled_pool,
            derive_seed(&[seed, 0xD4A3, n as u64, draw as u64]),
        );
        let mut picked: Vec<usize> = shuffled.into_iter().take(n).collect();
        picked.sort_unstable();
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::tests::toy_source;
    use cmr_geometry::MemorySource;

    fn source(subjects: usize) -> MemorySource {
        let mut s = toy_source("p0", 1);
        let study = s.studies()[0].clone();
        for i in 1..subjects {
            let mut st = study.clone();
            st.uid = format!("uid{i}");
            st.patient_id = Some(format!("p{i}"));
            s.push_study(st);
        }
        // A second study of subject p3.
        let mut st = study;
        st.uid = "uid-p3-followup".into();
        st.patient_id = Some("p3".into());
        s.push_study(st);
        s
    }

    #[test]
    fn roles_are_disjoint_and_subjects_stay_together() {
        let src = source(12);
        let labelled: Vec<usize> = (0..13).filter(|&i| i != 5).collect();
        let config = SplitConfig {
            test_subjects: 3,
            validation_subjects: 2,
            labelled_pool: Some(4),
            unlabelled_subjects: None,
        };
        let split = SubjectSplit::new(&src, &labelled, &config, 1).unwrap();
        let mut all: Vec<usize> = [
            &split.test,
            &split.validation,
            &split.labelled_pool,
            &split.unlabelled,
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect();
        all.sort_unstable();
        assert_eq!(all, (0..13).collect::<Vec<_>>());
        let subjects = |v: &[usize]| -> Vec<String> {
            v.iter().map(|&i| subject_id(&src.studies()[i])).collect()
        };
        // Study 5 (no labels) is only ever unlabelled; p3's two studies share their role.
        assert!(split.unlabelled.contains(&5));
        for role in [&split.test, &split.validation, &split.labelled_pool] {
            let ids = subjects(role);
            assert_eq!(
                ids.contains(&"p3".to_string()),
                role.contains(&12),
                "{ids:?}"
            );
        }
        // 11 labelled subjects: 3 + 2 + 4 taken, 2 labelled + 1 unlabelled left.
        let unl = subjects(&split.unlabelled);
        let mut unique = unl.clone();
        unique.dedup();
        assert_eq!(unique.len(), 3, "{unl:?}");
        // The same seed gives the same split; another seed another one.
        assert_eq!(
            split,
            SubjectSplit::new(&src, &labelled, &config, 1).unwrap()
        );
        assert_ne!(
            split,
            SubjectSplit::new(&src, &labelled, &config, 2).unwrap()
        );
        // Draws: n subjects of the pool, reproducible, different between draws.
        let d = split.draw(2, 0, 7);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|s| split.labelled_pool.contains(s)));
        assert_eq!(d, split.draw(2, 0, 7));
        let draws: std::collections::BTreeSet<Vec<usize>> =
            (0..6).map(|k| split.draw(2, k, 7)).collect();
        assert!(draws.len() > 1);
    }

    #[test]
    fn too_few_subjects_is_an_error() {
        let src = source(4);
        let labelled: Vec<usize> = (0..5).collect();
        let config = SplitConfig {
            test_subjects: 3,
            validation_subjects: 1,
            labelled_pool: None,
            unlabelled_subjects: None,
        };
        let e = SubjectSplit::new(&src, &labelled, &config, 1).unwrap_err();
        assert!(e.to_string().contains("4 subjects have labels"), "{e}");
        let config = SplitConfig {
            test_subjects: 1,
            validation_subjects: 1,
            labelled_pool: None,
            unlabelled_subjects: None,
        };
        let e = SubjectSplit::new(&src, &labelled, &config, 1).unwrap_err();
        assert!(e.to_string().contains("unlabelled pool"), "{e}");
    }
}

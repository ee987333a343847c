//! Cross-crate: anatomical position labels derived from the geometry of phantom studies land on
//! the anatomy the phantom's ground truth says they should.

use cmr_ssl::geometry::positions::{label_study, CrossLayout, PositionLayout, ViewPlanes};
use cmr_ssl::geometry::{CardiacPhase, StudySource, View};
use cmr_ssl::phantom::{PhantomConfig, Subject};

const LV_BLOOD_POOL: u8 = 1;

/// On every mid-ventricular SA slice (the middle third of the slices that show LV blood pool at
/// ED), the LV centre where the 2Ch and 4Ch lines cross lies inside the true LV blood pool, at
/// ED and at ES, for several subjects with planning errors and breath-hold misregistration.
#[test]
fn lv_centre_lies_in_the_true_lv_blood_pool_on_mid_slices() {
    let config = PhantomConfig::small(4);
    for index in 0..3 {
        let subject = Subject::new(&config, 2024, index).expect("valid phantom");
        let source = subject.render().to_memory_source();
        let study = &source.studies()[0];
        let sa = study.view(View::ShortAxis).expect("SA stack");
        let maps = label_study(study, &CrossLayout::default());
        let ed = sa
            .phase_index(CardiacPhase::EndDiastole)
            .expect("ED tagged");
        let es = sa.phase_index(CardiacPhase::EndSystole).expect("ES tagged");
        let label_of = |k: usize, phase: usize| {
            let frame = &sa.slices[k].frames[phase];
            source
                .load_label(frame.label.as_ref().expect("labelled"))
                .unwrap()
        };
        let with_lv: Vec<usize> = (0..sa.slices.len())
            .filter(|&k| label_of(k, ed).iter().any(|&v| v == LV_BLOOD_POOL))
            .collect();
        assert!(with_lv.len() >= 6, "subject {index}: {with_lv:?}");
        let third = with_lv.len() / 3;
        for &k in &with_lv[third..with_lv.len() - third] {
            let map = maps
                .iter()
                .find(|m| m.view == View::ShortAxis && m.slice == k)
                .unwrap()
                .map
                .as_ref()
                .expect("SA positions derivable");
            let c = map.centre.expect("centre");
            let (r, col) = (c.row.round() as usize, c.col.round() as usize);
            for phase in [ed, es] {
                assert_eq!(
                    label_of(k, phase)[[r, col]],
                    LV_BLOOD_POOL,
                    "subject {index} slice {k} phase {phase}: centre ({r}, {col})"
                );
            }
            // The centre tile covers mostly blood pool at ED.
            let labels = label_of(k, ed);
            let in_tile: Vec<u8> = map
                .labels
                .indexed_iter()
                .filter(|(_, &v)| v == 1)
                .map(|((r, c), _)| labels[[r, c]])
                .collect();
            let blood = in_tile.iter().filter(|&&v| v == LV_BLOOD_POOL).count();
            assert!(
                blood * 2 > in_tile.len(),
                "subject {index} slice {k}: centre tile {blood}/{} blood pool",
                in_tile.len()
            );
        }
    }
}

/// The "toward the RV" tiles of the 4Ch line land on the septum/RV side: across the mid slices,
/// the far RV-side tile (label 3) overlaps the true RV blood pool far more than the far
/// lateral tile (label 5) does.
#[test]
fn rv_side_tiles_point_at_the_right_ventricle() {
    const RV_BLOOD_POOL: u8 = 3;
    let config = PhantomConfig::small(2);
    let layout = CrossLayout::default();
    let (mut rv_side, mut lateral) = (0usize, 0usize);
    for index in 0..3 {
        let subject = Subject::new(&config, 77, index).expect("valid phantom");
        let source = subject.render().to_memory_source();
        let study = &source.studies()[0];
        let refs = ViewPlanes::from_study(study);
        let sa = study.view(View::ShortAxis).unwrap();
        let mid = sa.slices.len() / 2;
        for k in mid - 1..=mid + 1 {
            let slice = &sa.slices[k];
            let map = layout.label(&slice.plane, View::ShortAxis, &refs).unwrap();
            let truth = source
                .load_label(slice.frames[0].label.as_ref().unwrap())
                .unwrap();
            for ((r, c), &v) in map.labels.indexed_iter() {
                if truth[[r, c]] == RV_BLOOD_POOL {
                    rv_side += usize::from(v == 3);
                    lateral += usize::from(v == 5);
                }
            }
        }
    }
    assert!(
        rv_side > 20 * (lateral + 1),
        "RV side {rv_side}, lateral {lateral}"
    );
}

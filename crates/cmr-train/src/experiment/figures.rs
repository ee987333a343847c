//! Example overlays of an experiment: for every n, the first draw's networks on one evaluated
//! subject (mid short-axis slice at ED and ES, 2Ch and 4Ch at ED), one row per strategy under
//! a row of the reference labels.

use std::path::{Path, PathBuf};

use cmr_geometry::{CardiacPhase, View};
use cmr_unet::UNet;
use image::RgbImage;
use ndarray::Array2;

use crate::dataset::{load_label_map, load_pixels};
use crate::dataset::{Dataset, ImageItem};
use crate::evaluate::predict_on_original;
use crate::experiment::config::{strategy_label, ExperimentConfig};
use crate::experiment::runner::{PlannedRun, RunKind};
use crate::overlay::{panel_grid, render_labels, save_png, LabelOverlayStyle};
use crate::preprocess::prepare;
use crate::TrainError;

/// The images shown: (column title, item).
fn chosen_items(data: &Dataset<'_>, study: usize) -> Vec<(String, ImageItem)> {
    let items: Vec<&ImageItem> = data.items().iter().filter(|i| i.study == study).collect();
    let mut out = Vec::new();
    let mut sa_slices: Vec<usize> = items
        .iter()
        .filter(|i| i.view == View::ShortAxis)
        .map(|i| i.slice)
        .collect();
    sa_slices.sort_unstable();
    sa_slices.dedup();
    if let Some(&mid) = sa_slices.get(sa_slices.len() / 2) {
        for phase in [CardiacPhase::EndDiastole, CardiacPhase::EndSystole] {
            if let Some(i) = items
                .iter()
                .find(|i| i.view == View::ShortAxis && i.slice == mid && i.phase == Some(phase))
            {
                out.push((format!("SA slice {mid} {}", phase.short_name()), **i));
            }
        }
        if out.is_empty() {
            if let Some(i) = items
                .iter()
                .find(|i| i.view == View::ShortAxis && i.slice == mid)
            {
                out.push((format!("SA slice {mid} frame {}", i.frame), **i));
            }
        }
    }
    for view in [View::TwoChamber, View::FourChamber] {
        let of_view: Vec<&&ImageItem> = items.iter().filter(|i| i.view == view).collect();
        let pick = of_view
            .iter()
            .find(|i| i.phase == Some(CardiacPhase::EndDiastole))
            .or_else(|| of_view.first());
        if let Some(i) = pick {
            out.push((
                format!("{view} {}", i.phase.map_or("", |p| p.short_name())),
                ***i,
            ));
        }
    }
    out
}

fn load_pair(
    data: &Dataset<'_>,
    item: &ImageItem,
) -> Result<(Array2<f32>, Array2<u8>), TrainError> {
    let frame = data.frame(item).ok_or_else(|| TrainError::BadImage {
        image: format!("{item:?}"),
        reason: "not in its study".into(),
    })?;
    let image = load_pixels(data.source(), &frame.image)?;
    let label = frame.label.as_ref().ok_or_else(|| TrainError::BadImage {
        image: frame.image.to_string(),
        reason: "no label map".into(),
    })?;
    let labels = load_label_map(data.source(), label)?;
    Ok((image, labels))
}

/// Writes `overlays/n<NNN>_<subject>.png` for every n; returns the files.
pub(crate) fn write_overlays(
    out: &Path,
    config: &ExperimentConfig,
    runs: &[PlannedRun],
    evaluated: &Dataset<'_>,
) -> Result<Vec<PathBuf>, TrainError> {
    let Some(&study) = evaluated.studies().first() else {
        return Ok(Vec::new());
    };
    let subject: String = evaluated
        .subject_id(study)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let items = chosen_items(evaluated, study);
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let dir = out.join("overlays");
    std::fs::create_dir_all(&dir).map_err(TrainError::io(&dir))?;
    let style = LabelOverlayStyle::default();
    let pp = &config.finetune.preprocess;
    let sets = evaluated.label_sets();
    let pairs = items
        .iter()
        .map(|(_, i)| load_pair(evaluated, i))
        .collect::<Result<Vec<_>, _>>()?;
    let reference_row: Vec<Option<RgbImage>> = pairs
        .iter()
        .map(|(img, lab)| {
            render_labels(img.view(), Some(lab.view()), Some(lab.view()), style).map(Some)
        })
        .collect::<Result<_, _>>()?;
    let titles: Vec<String> = items.iter().map(|(t, _)| t.clone()).collect();
    let device = config.finetune.device.device();
    let mut ns: Vec<usize> = runs
        .iter()
        .filter_map(|r| match r.kind {
            RunKind::Finetune { n, .. } => Some(n),
            RunKind::Pretrain => None,
        })
        .collect();
    ns.dedup();
    let mut written = Vec::new();
    for n in ns {
        let mut rows = vec![(
            format!("reference labels ({subject})"),
            reference_row.clone(),
        )];
        for run in runs
            .iter()
            .filter(|r| matches!(r.kind, RunKind::Finetune { n: m, draw: 0, .. } if m == n))
        {
            let RunKind::Finetune { strategy, .. } = run.kind else {
                continue;
            };
            let net = UNet::from_checkpoint(out.join(&run.id).join("best.safetensors"), device)?;
            let mut panels = Vec::new();
            for ((_, item), (img, lab)) in items.iter().zip(&pairs) {
                let set = item.label_set.and_then(|s| sets.0.get(s)).ok_or_else(|| {
                    TrainError::BadImage {
                        image: format!("{item:?}"),
                        reason: "no label set".into(),
                    }
                })?;
                let sample = prepare(evaluated, item, pp, None)?;
                let pred = predict_on_original(&net, &[&sample], &set.head, pp.crop)?
                    .pop()
                    .ok_or(TrainError::Invalid {
                        what: "prediction",
                        reason: "empty".into(),
                    })?;
                panels.push(Some(render_labels(
                    img.view(),
                    Some(pred.view()),
                    Some(lab.view()),
                    style,
                )?));
            }
            rows.push((
                format!(
                    "{} (n = {n}, draw 0): prediction filled, reference outlined",
                    strategy_label(&strategy)
                ),
                panels,
            ));
        }
        let grid = panel_grid(&rows, &titles, 22, 6);
        let path = dir.join(format!("n{n:03}_{subject}.png"));
        save_png(&path, &grid)?;
        written.push(path);
    }
    Ok(written)
}

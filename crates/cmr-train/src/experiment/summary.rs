//! `summary.md`: the paper-style tables, the paired comparisons with the baseline, and a
//! plain statement of what the numbers say.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use cmr_geometry::View;
use cmr_pretext::TransferStrategy;

use crate::experiment::config::{strategy_label, EvaluationSet, ExperimentConfig};
use crate::experiment::runner::{Provenance, SplitSummary, Timings};
use crate::experiment::scores::{RunRecord, Scores, ViewGroup};
use crate::machine::MachineInfo;

/// Everything the summary is written from.
pub(crate) struct SummaryInput<'a> {
    pub config: &'a ExperimentConfig,
    pub provenance: &'a Provenance,
    pub split: &'a SplitSummary,
    pub skipped_counts: &'a [usize],
    pub records: &'a [RunRecord],
    pub scores: &'a Scores,
    pub overlays: &'a [PathBuf],
    pub plot_has_text: bool,
    pub machine: &'a MachineInfo,
    pub timings: &'a Timings,
}

fn p_value(p: f64) -> String {
    if p.is_nan() {
        "n/a".into()
    } else if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

fn group_title(g: ViewGroup) -> &'static str {
    match g {
        ViewGroup::ShortAxis => {
            "Short axis: mean Dice of LV blood pool, LV myocardium and RV blood pool"
        }
        ViewGroup::LongAxis => {
            "Long axis: mean Dice of the atria (2Ch left atrium, 4Ch left and right atrium)"
        }
    }
}

fn counts(input: &SummaryInput<'_>) -> Vec<usize> {
    let mut ns: Vec<usize> = input.records.iter().map(|r| r.n).collect();
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// The mean +- sd table of one group, best mean per row in bold.
fn table(input: &SummaryInput<'_>, group: ViewGroup, out: &mut String) {
    let strategies = &input.config.strategies;
    let _ = writeln!(out, "\n### {}\n", group_title(group));
    let _ = write!(out, "| n |");
    for s in strategies {
        let _ = write!(out, " {} |", strategy_label(s));
    }
    let _ = write!(out, "\n|---:|");
    for _ in strategies {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    for n in counts(input) {
        let cells: Vec<Option<&crate::experiment::scores::Cell>> = strategies
            .iter()
            .map(|s| input.scores.cell(n, *s, group))
            .collect();
        let best = cells
            .iter()
            .flatten()
            .map(|c| c.mean)
            .fold(f64::NEG_INFINITY, f64::max);
        let _ = write!(out, "| {n} |");
        for c in &cells {
            match c {
                Some(c) if c.mean == best => {
                    let _ = write!(out, " **{:.3} ± {:.3}** |", c.mean, c.sd);
                }
                Some(c) => {
                    let _ = write!(out, " {:.3} ± {:.3} |", c.mean, c.sd);
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
}

fn comparisons(input: &SummaryInput<'_>, out: &mut String) {
    let Some(base) = input.config.baseline() else {
        out.push_str("\nNo Scratch runs: no paired comparison.\n");
        return;
    };
    let _ = writeln!(
        out,
        "\n## Paired comparison with {}\n\nΔ = Dice(strategy) − Dice({}) of the same draw (same \
         labelled subjects, same seed of initialisation, data order and augmentation). \
         *draws better*: draws where the strategy's mean Dice is higher; *paired t*: two-sided \
         paired t-test over the draws ({} draws, {} degrees of freedom: little power, so read \
         the sign and the size of Δ as much as p); *volumes better*: matched evaluated volumes \
         (draw × subject × view × frame) where the strategy's mean Dice over the structures is \
         higher, ties left out; *sign test*: two-sided exact sign test over those volumes \
         (volumes of one run are not independent, so this p-value is optimistic).\n",
        strategy_label(&base),
        strategy_label(&base),
        input.config.draws,
        input.config.draws.saturating_sub(1)
    );
    out.push_str("| n | view | strategy | Δ mean ± sd | draws better | paired t p | volumes better | sign test p |\n|---:|---|---|---|---|---|---|---|\n");
    for n in counts(input) {
        for group in ViewGroup::ALL {
            for s in input.config.strategies.iter().filter(|s| **s != base) {
                let Some(c) = input.scores.comparison(n, *s, group) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "| {n} | {} | {} | {} ± {:.3} | {}/{} | {} | {}/{} | {} |",
                    group.short_name(),
                    strategy_label(s),
                    signed(c.mean_difference),
                    c.sd_difference,
                    c.better_draws,
                    c.draws,
                    p_value(c.t_p),
                    c.better_volumes,
                    c.volumes - c.tied_volumes,
                    p_value(c.sign_p)
                );
            }
        }
    }
}

fn per_structure(input: &SummaryInput<'_>, out: &mut String) {
    // (n, strategy) -> structure -> (dice values over runs, hd95 values over volumes)
    let mut structures: Vec<(View, String)> = Vec::new();
    let mut dice: BTreeMap<(usize, String, View, String), Vec<f64>> = BTreeMap::new();
    let mut hd: BTreeMap<(usize, String, View, String), Vec<f64>> = BTreeMap::new();
    for r in input.records {
        for ((view, name), d) in r.structure_dice() {
            if !structures.contains(&(view, name.clone())) {
                structures.push((view, name.clone()));
            }
            dice.entry((r.n, r.strategy.to_string(), view, name))
                .or_default()
                .push(d);
        }
        for row in &r.rows {
            hd.entry((r.n, r.strategy.to_string(), row.view, row.structure.clone()))
                .or_default()
                .push(row.hd95_mm);
        }
    }
    structures.sort_by_key(|(v, _)| match v {
        View::ShortAxis => 0,
        View::TwoChamber => 1,
        View::ThreeChamber => 2,
        View::FourChamber => 3,
        View::Other => 4,
    });
    let header = |out: &mut String, what: &str| {
        let _ = write!(out, "\n### {what}\n\n| n | strategy |");
        for (v, s) in &structures {
            let _ = write!(out, " {v} {s} |");
        }
        out.push_str("\n|---:|---|");
        for _ in &structures {
            out.push_str("---:|");
        }
        out.push('\n');
    };
    out.push_str("\n## Per structure\n");
    header(out, "Dice, mean over draws");
    for n in counts(input) {
        for s in &input.config.strategies {
            let _ = write!(out, "| {n} | {} |", strategy_label(s));
            for (v, name) in &structures {
                match dice.get(&(n, s.to_string(), *v, name.clone())) {
                    Some(d) => {
                        let _ = write!(out, " {:.3} |", d.iter().sum::<f64>() / d.len() as f64);
                    }
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
    header(
        out,
        "HD95 (mm), median over evaluated volumes and draws (inf: the structure was missed)",
    );
    for n in counts(input) {
        for s in &input.config.strategies {
            let _ = write!(out, "| {n} | {} |", strategy_label(s));
            for (v, name) in &structures {
                match hd.get(&(n, s.to_string(), *v, name.clone())) {
                    Some(d) if !d.is_empty() => {
                        let mut d: Vec<f64> = d.iter().copied().filter(|x| !x.is_nan()).collect();
                        d.sort_by(f64::total_cmp);
                        let med = if d.is_empty() {
                            f64::NAN
                        } else if d.len() % 2 == 1 {
                            d[d.len() / 2]
                        } else {
                            (d[d.len() / 2 - 1] + d[d.len() / 2]) / 2.0
                        };
                        let _ = write!(out, " {med:.1} |");
                    }
                    _ => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
}

/// What the baseline gap does from the smallest n (`g_lo`, standard error `se_lo` over the
/// draws) to the largest (`g_hi`, `se_hi`). "Closes" only when the narrowing exceeds twice the
/// standard error of the difference of the two gaps; a smaller narrowing is within
/// draw-to-draw noise and is said to be so.
fn gap_trend(g_lo: f64, se_lo: f64, g_hi: f64, se_hi: f64) -> String {
    let noise = 2.0 * se_lo.hypot(se_hi);
    if g_lo <= 0.0 {
        "there is no SSL advantage at the smallest n to close".to_string()
    } else if g_hi < g_lo - noise {
        "the gap closes as n grows".to_string()
    } else if g_hi < g_lo {
        format!(
            "the gap narrows by {:.3}, less than twice its standard error ({noise:.3}): not a \
             clear closing",
            g_lo - g_hi
        )
    } else {
        "the gap does not close as n grows".to_string()
    }
}

/// The plain statements: does an SSL strategy beat the baseline at small n across draws,
/// does the gap close at large n, is the baseline saturated.
fn verdicts(input: &SummaryInput<'_>, out: &mut String) {
    let Some(base) = input.config.baseline() else {
        return;
    };
    let ns = counts(input);
    let ssl: Vec<TransferStrategy> = input
        .config
        .strategies
        .iter()
        .copied()
        .filter(|s| *s != base)
        .collect();
    out.push_str("\n## What the numbers say\n\n");
    let small: Vec<usize> = {
        let v: Vec<usize> = ns.iter().copied().filter(|n| [1, 5].contains(n)).collect();
        if v.is_empty() {
            ns.iter().copied().take(2).collect()
        } else {
            v
        }
    };
    let draws = input.config.draws;
    for group in ViewGroup::ALL {
        if !input.scores.cells.iter().any(|c| c.group == group) {
            continue;
        }
        for &n in &small {
            let Some(b) = input.scores.cell(n, base, group) else {
                continue;
            };
            let mut winners = Vec::new();
            let mut parts = Vec::new();
            for s in &ssl {
                let (Some(c), Some(k)) = (
                    input.scores.cell(n, *s, group),
                    input.scores.comparison(n, *s, group),
                ) else {
                    continue;
                };
                if k.better_draws == k.draws && k.draws > 0 {
                    winners.push(strategy_label(s));
                }
                parts.push(format!(
                    "{} {:.3} (Δ {}, better in {}/{} draws, paired t p = {})",
                    strategy_label(s),
                    c.mean,
                    signed(k.mean_difference),
                    k.better_draws,
                    k.draws,
                    p_value(k.t_p)
                ));
            }
            let _ = writeln!(
                out,
                "- **{}, n = {n}**: {} {:.3} ± {:.3}; {}. {}",
                group.short_name(),
                strategy_label(&base),
                b.mean,
                b.sd,
                parts.join("; "),
                if winners.is_empty() {
                    format!(
                        "No SSL strategy beats {} in all {draws} draws.",
                        strategy_label(&base)
                    )
                } else {
                    format!(
                        "Better than {} in all {draws} draws: {}.",
                        strategy_label(&base),
                        winners.join(", ")
                    )
                }
            );
        }
        // The gap at the smallest and the largest n.
        if let (Some(&lo), Some(&hi)) = (ns.first(), ns.last()) {
            if lo != hi {
                // The best strategy's mean difference at `n`, its name and its standard
                // error over the draws.
                let gap = |n: usize| -> Option<(f64, String, f64)> {
                    ssl.iter()
                        .filter_map(|s| {
                            input.scores.comparison(n, *s, group).map(|c| {
                                let se = if c.draws > 1 {
                                    c.sd_difference / (c.draws as f64).sqrt()
                                } else {
                                    f64::INFINITY
                                };
                                (c.mean_difference, strategy_label(s), se)
                            })
                        })
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                };
                if let (Some((g_lo, s_lo, se_lo)), Some((g_hi, s_hi, se_hi))) = (gap(lo), gap(hi)) {
                    let trend = gap_trend(g_lo, se_lo, g_hi, se_hi);
                    let _ = writeln!(
                        out,
                        "- **{}, gap**: best SSL strategy − {} is {} at n = {lo} ({s_lo}) and {} at \
                         n = {hi} ({s_hi}): {trend}.",
                        group.short_name(),
                        strategy_label(&base),
                        signed(g_lo),
                        signed(g_hi)
                    );
                }
            }
        }
    }
    let check_n = if ns.contains(&5) {
        Some(5)
    } else {
        ns.first().copied()
    };
    if let Some(n) = check_n {
        if let Some(b) = input.scores.cell(n, base, ViewGroup::ShortAxis) {
            let _ = writeln!(
                out,
                "- **Saturation check**: {} at n = {n} reaches SA Dice {:.3} ± {:.3}{}.",
                strategy_label(&base),
                b.mean,
                b.sd,
                if b.mean > 0.95 {
                    ": saturated, the data are too easy to show a difference"
                } else {
                    ", well below 1: not saturated"
                }
            );
        }
    }
    out.push_str(
        "- **Reference**: Bai et al. (MICCAI 2019) report, on UK Biobank with 5 labelled \
         subjects, mean short-axis Dice 0.811 for a U-Net trained from scratch and 0.852 with \
         anatomical-position pretraining, and a gap that narrows as labelled subjects are \
         added.\n",
    );
}

fn setup(input: &SummaryInput<'_>, out: &mut String) {
    let c = input.config;
    let f = &c.finetune;
    let p = &c.pretrain;
    let s = input.split;
    out.push_str("\n## Setup\n\n");
    let _ = writeln!(out, "- **Data**: {}.", input.provenance.data);
    let _ = writeln!(
        out,
        "- **Subjects**: {} test, {} validation, {} in the labelled pool, {} unlabelled \
         ({} images used for pretraining); no subject has two roles. Evaluated on the {} \
         subjects ({} labelled images: ED and ES, every labelled view).",
        s.test.len(),
        s.validation.len(),
        s.labelled_pool.len(),
        s.unlabelled.len(),
        s.unlabelled_images,
        match c.evaluate_on {
            EvaluationSet::Test => "test",
            EvaluationSet::Validation => "validation (tuning mode, not a test result)",
        },
        s.evaluated_images
    );
    if !input.skipped_counts.is_empty() {
        let _ = writeln!(
            out,
            "- **Skipped**: n = {:?} (larger than the labelled pool).",
            input.skipped_counts
        );
    }
    let _ = writeln!(
        out,
        "- **Runs**: n ∈ {:?} × {} draws × {} strategies; a draw fixes the labelled subjects \
         and the seed, shared by the strategies.",
        counts(input),
        c.draws,
        c.strategies.len()
    );
    let _ = writeln!(
        out,
        "- **Network**: U-Net, {} levels, {} channels at the first level; input {} × {} px of \
         {} mm, centred on the LV from the view geometry.",
        c.network.levels,
        c.network.base_channels,
        f.preprocess.crop,
        f.preprocess.crop,
        f.preprocess.spacing_mm
    );
    let _ = writeln!(
        out,
        "- **Pretraining** (anatomical positions, once): {} steps of {} images, Adam {:.0e}, \
         {:?} schedule.",
        p.steps, p.batch_size, p.optimizer.lr, p.schedule
    );
    let _ = writeln!(
        out,
        "- **Fine-tuning** (every run, every strategy the same): {} steps of {} short-axis{} \
         labelled images (ED and ES frames){}, Adam {:.0e}, {:?} schedule, validation Dice \
         on the validation subjects every {} steps, the best checkpoint evaluated. \
         Hyper-parameters were fixed before the test results were seen.",
        f.steps,
        f.batch_size,
        f.long_axis_per_batch
            .map_or(String::new(), |k| format!(" + {k} long-axis")),
        if c.strategies.iter().any(|s| s.pretext_weight().is_some()) {
            format!(
                "; the multi-task strategy adds {} unlabelled images per step",
                f.unlabelled_per_batch
            )
        } else {
            String::new()
        },
        f.optimizer.lr,
        f.schedule,
        f.epoch_steps.map_or("pass".into(), |e| e.to_string())
    );
    let _ = writeln!(
        out,
        "- **Evaluation**: each prediction mapped back to the original image grid; Dice, \
         HD95, ASSD and mean contour distance per structure and volume (SA stacks in 3-D with \
         the slice spacing, LA images in 2-D), all in `results.csv`."
    );
    let t = input.timings;
    let _ = writeln!(
        out,
        "- **Machine**: {}; {} run(s) at a time, {} libtorch thread(s) per run.",
        input.machine.describe(),
        c.execution.parallel_runs,
        c.execution
            .torch_threads
            .map_or("default".into(), |t| t.to_string())
    );
    let _ = writeln!(
        out,
        "- **Time** (this call, {} run(s) trained now): {:.0} s wall-clock{}; pretraining {:.0} s, \
         fine-tuning {:.0} s, reports {:.0} s.",
        t.trained_now,
        t.wall_s,
        t.cpu_s
            .map_or(String::new(), |c| format!(", {c:.0} CPU-seconds")),
        t.pretrain_s,
        t.finetune_s,
        t.report_s
    );
    if let Some(cmd) = &input.provenance.command {
        let _ = writeln!(out, "- **Command**: `{cmd}`");
    }
    for (k, v) in &input.provenance.extra {
        let _ = writeln!(out, "- **{k}**: {v}");
    }
}

fn files(input: &SummaryInput<'_>, out: &mut String) {
    out.push_str("\n## Files\n\n");
    out.push_str("- `results.csv`: one row per run, evaluated volume and structure (Dice, HD95, ASSD, MCD).\n");
    let _ = writeln!(
        out,
        "- `dice_vs_n.png`: mean Dice against n, one line per strategy, error bars ± sd over \
         draws{}.",
        if input.plot_has_text {
            String::new()
        } else {
            format!(
                " (drawn without text: no TrueType font was found; set {} to a .ttf file)",
                crate::text::FONT_ENV
            )
        }
    );
    for o in input.overlays {
        let name = o
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- `overlays/{name}`: the first draw's networks on one evaluated subject; \
             prediction filled, reference outlined (SA: red LV blood pool, green myocardium, \
             blue RV; LA: red left atrium, green right atrium)."
        );
    }
    out.push_str("- `runs/<run>/`: checkpoints, training logs, `test_metrics.csv`, `result.json`; `pretrain/`: the pretrained network; `run.json`: configuration, split, machine, timings, scores.\n");
}

/// The whole summary.
pub(crate) fn markdown(input: &SummaryInput<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Few-shot segmentation with anatomical-position pretraining ({} preset)\n",
        input.config.preset
    );
    let _ = writeln!(
        out,
        "{} runs; Dice on the {} subjects, mean ± sd over {} draws of the labelled subjects; \
         best mean per row in bold.",
        input.records.len(),
        match input.config.evaluate_on {
            EvaluationSet::Test => "held-out test",
            EvaluationSet::Validation => "validation",
        },
        input.config.draws
    );
    verdicts(input, &mut out);
    out.push_str("\n## Mean Dice\n");
    for g in ViewGroup::ALL {
        if input.scores.cells.iter().any(|c| c.group == g) {
            table(input, g, &mut out);
        }
    }
    comparisons(input, &mut out);
    per_structure(input, &mut out);
    setup(input, &mut out);
    files(input, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::gap_trend;

    #[test]
    fn a_gap_closes_only_beyond_its_noise() {
        // Bai et al.'s picture: +0.30 at n = 1 down to +0.02 at n = 100, tight draws.
        assert_eq!(
            gap_trend(0.30, 0.02, 0.02, 0.01),
            "the gap closes as n grows"
        );
        // The quick preset's SA numbers: +0.332 (sd 0.063) to +0.295 (sd 0.232) over 3 draws.
        let s3 = 3f64.sqrt();
        let t = gap_trend(0.332, 0.063 / s3, 0.295, 0.232 / s3);
        assert!(t.starts_with("the gap narrows by 0.037"), "{t}");
        assert!(t.contains("not a clear closing"), "{t}");
        assert_eq!(
            gap_trend(0.2, 0.01, 0.4, 0.01),
            "the gap does not close as n grows"
        );
        assert!(gap_trend(-0.1, 0.01, 0.0, 0.01).starts_with("there is no SSL advantage"));
        // One draw: no standard error, so no narrowing counts as closing.
        assert!(gap_trend(0.3, f64::INFINITY, 0.0, f64::INFINITY).contains("not a clear"));
    }
}

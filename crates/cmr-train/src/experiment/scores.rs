//! From metric rows to the numbers of the summary: per-run scores, mean +- sd per (n,
//! strategy), and paired comparisons against the baseline.

use std::collections::BTreeMap;

use cmr_geometry::View;
use cmr_pretext::TransferStrategy;
use serde::{Deserialize, Serialize};

use crate::experiment::results::MetricRow;
use crate::experiment::stats::{mean_sd, paired_t_test, sign_test_p};

/// Short axis or long axis: the two halves of every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewGroup {
    /// SA stacks: LV blood pool, LV myocardium, RV blood pool.
    ShortAxis,
    /// 2Ch and 4Ch images: left atrium (both), right atrium (4Ch).
    LongAxis,
}

impl ViewGroup {
    /// Both groups.
    pub const ALL: [ViewGroup; 2] = [ViewGroup::ShortAxis, ViewGroup::LongAxis];

    /// The group of a view.
    pub fn of(view: View) -> Self {
        if view == View::ShortAxis {
            Self::ShortAxis
        } else {
            Self::LongAxis
        }
    }

    /// `SA` or `LA`.
    pub fn short_name(self) -> &'static str {
        match self {
            Self::ShortAxis => "SA",
            Self::LongAxis => "LA",
        }
    }
}

/// One finished fine-tuning run and its test metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id (`n005-d1-ssl-all`), also its folder under `runs/`.
    pub id: String,
    /// Labelled subjects.
    pub n: usize,
    /// Draw index.
    pub draw: usize,
    /// Strategy.
    pub strategy: TransferStrategy,
    /// The run's seed (initialisation, data order, augmentation).
    pub seed: u64,
    /// The labelled subjects of the draw.
    pub subjects: Vec<String>,
    /// Metrics per test volume and structure.
    #[serde(skip)]
    pub rows: Vec<MetricRow>,
}

impl RunRecord {
    /// Mean Dice over every structure and volume of a view group (`None` without rows).
    pub fn dice(&self, group: ViewGroup) -> Option<f64> {
        let d: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| ViewGroup::of(r.view) == group)
            .map(|r| r.dice)
            .collect();
        (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
    }

    /// Mean Dice over the structures of each volume `(subject, view, frame)` of a group.
    pub fn volume_dice(&self, group: ViewGroup) -> BTreeMap<(String, View, usize), f64> {
        let mut sums: BTreeMap<(String, View, usize), (f64, usize)> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| ViewGroup::of(r.view) == group) {
            let e = sums
                .entry((r.subject.clone(), r.view, r.frame))
                .or_default();
            e.0 += r.dice;
            e.1 += 1;
        }
        sums.into_iter()
            .map(|(k, (s, n))| (k, s / n as f64))
            .collect()
    }

    /// Mean Dice per structure (`"<view> <structure>"`).
    pub fn structure_dice(&self) -> BTreeMap<(View, String), f64> {
        let mut sums: BTreeMap<(View, String), (f64, usize)> = BTreeMap::new();
        for r in &self.rows {
            let e = sums.entry((r.view, r.structure.clone())).or_default();
            e.0 += r.dice;
            e.1 += 1;
        }
        sums.into_iter()
            .map(|(k, (s, n))| (k, s / n as f64))
            .collect()
    }
}

/// Mean +- sd over draws of one (n, strategy, group).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Labelled subjects.
    pub n: usize,
    /// Strategy.
    pub strategy: TransferStrategy,
    /// View group.
    pub group: ViewGroup,
    /// Mean over draws of the runs' mean Dice.
    pub mean: f64,
    /// Sample standard deviation over draws.
    pub sd: f64,
    /// Draws.
    pub draws: usize,
}

/// A strategy against the baseline at one n, paired by draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Labelled subjects.
    pub n: usize,
    /// The strategy compared with the baseline.
    pub strategy: TransferStrategy,
    /// View group.
    pub group: ViewGroup,
    /// Matched draws.
    pub draws: usize,
    /// Mean of `Dice(strategy) - Dice(baseline)` over the draws.
    pub mean_difference: f64,
    /// Its sample standard deviation.
    pub sd_difference: f64,
    /// Draws where the strategy scored higher.
    pub better_draws: usize,
    /// Two-sided paired t-test over the draws (`draws - 1` degrees of freedom).
    pub t_p: f64,
    /// Matched test volumes (draw x subject x view x frame).
    pub volumes: usize,
    /// Volumes where the strategy scored higher (ties left out of the sign test).
    pub better_volumes: usize,
    /// Volumes where the two scored the same.
    pub tied_volumes: usize,
    /// Two-sided exact sign test over the matched volumes.
    pub sign_p: f64,
}

/// Everything the summary reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Mean +- sd per n, strategy and group.
    pub cells: Vec<Cell>,
    /// Paired comparisons against the baseline (empty without one).
    pub comparisons: Vec<Comparison>,
}

impl Scores {
    /// Aggregates finished runs.
    pub fn new(records: &[RunRecord], baseline: Option<TransferStrategy>) -> Self {
        let mut by_key: BTreeMap<(usize, String), Vec<&RunRecord>> = BTreeMap::new();
        let mut strategies: Vec<TransferStrategy> = Vec::new();
        for r in records {
            if !strategies.contains(&r.strategy) {
                strategies.push(r.strategy);
            }
            by_key
                .entry((r.n, r.strategy.to_string()))
                .or_default()
                .push(r);
        }
        let mut ns: Vec<usize> = records.iter().map(|r| r.n).collect();
        ns.sort_unstable();
        ns.dedup();
        let mut cells = Vec::new();
        let mut comparisons = Vec::new();
        for &n in &ns {
            for s in &strategies {
                let Some(runs) = by_key.get(&(n, s.to_string())) else {
                    continue;
                };
                for group in ViewGroup::ALL {
                    let values: Vec<f64> = runs.iter().filter_map(|r| r.dice(group)).collect();
                    if values.is_empty() {
                        continue;
                    }
                    let (mean, sd) = mean_sd(&values);
                    cells.push(Cell {
                        n,
                        strategy: *s,
                        group,
                        mean,
                        sd,
                        draws: values.len(),
                    });
                }
            }
            let Some(base) = baseline else { continue };
            let Some(base_runs) = by_key.get(&(n, base.to_string())) else {
                continue;
            };
            for s in strategies.iter().filter(|s| **s != base) {
                let Some(runs) = by_key.get(&(n, s.to_string())) else {
                    continue;
                };
                for group in ViewGroup::ALL {
                    if let Some(c) = compare(n, *s, group, runs, base_runs) {
                        comparisons.push(c);
                    }
                }
            }
        }
        Self { cells, comparisons }
    }

    /// The cell of (n, strategy, group).
    pub fn cell(&self, n: usize, s: TransferStrategy, group: ViewGroup) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.n == n && c.strategy == s && c.group == group)
    }

    /// The comparison of (n, strategy, group) with the baseline.
    pub fn comparison(
        &self,
        n: usize,
        s: TransferStrategy,
        group: ViewGroup,
    ) -> Option<&Comparison> {
        self.comparisons
            .iter()
            .find(|c| c.n == n && c.strategy == s && c.group == group)
    }
}

fn compare(
    n: usize,
    strategy: TransferStrategy,
    group: ViewGroup,
    runs: &[&RunRecord],
    base: &[&RunRecord],
) -> Option<Comparison> {
    let mut diffs = Vec::new();
    let (mut volumes, mut better, mut tied) = (0, 0, 0);
    for r in runs {
        let Some(b) = base.iter().find(|b| b.draw == r.draw) else {
            continue;
        };
        let (Some(x), Some(y)) = (r.dice(group), b.dice(group)) else {
            continue;
        };
        diffs.push(x - y);
        let bv = b.volume_dice(group);
        for (k, v) in r.volume_dice(group) {
            if let Some(w) = bv.get(&k) {
                volumes += 1;
                if v > *w {
                    better += 1;
                } else if v == *w {
                    tied += 1;
                }
            }
        }
    }
    if diffs.is_empty() {
        return None;
    }
    let (mean, sd) = mean_sd(&diffs);
    Some(Comparison {
        n,
        strategy,
        group,
        draws: diffs.len(),
        mean_difference: mean,
        sd_difference: sd,
        better_draws: diffs.iter().filter(|d| **d > 0.0).count(),
        t_p: paired_t_test(&diffs).p,
        volumes,
        better_volumes: better,
        tied_volumes: tied,
        sign_p: sign_test_p(better, volumes - tied),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(subject: &str, view: View, frame: usize, label: u8, dice: f64) -> MetricRow {
        MetricRow {
            subject: subject.into(),
            view,
            frame,
            phase: None,
            structure: format!("s{label}"),
            label,
            dice,
            hd95_mm: 1.0,
            assd_mm: 1.0,
            mcd_mm: 1.0,
        }
    }

    fn run(draw: usize, strategy: TransferStrategy, sa: [f64; 2], la: f64) -> RunRecord {
        RunRecord {
            id: format!("{draw}{strategy}"),
            n: 1,
            draw,
            strategy,
            seed: 0,
            subjects: vec![],
            rows: vec![
                row("a", View::ShortAxis, 0, 1, sa[0]),
                row("a", View::ShortAxis, 0, 2, sa[1]),
                row("b", View::ShortAxis, 0, 1, sa[1]),
                row("b", View::ShortAxis, 0, 2, sa[1]),
                row("a", View::FourChamber, 0, 1, la),
            ],
        }
    }

    #[test]
    fn cells_and_paired_comparisons_by_hand() {
        let s = TransferStrategy::Scratch;
        let m = TransferStrategy::SslMultiTask { lambda: 1.0 };
        let records = vec![
            run(0, s, [0.5, 0.5], 0.2),
            run(1, s, [0.6, 0.6], 0.2),
            run(0, m, [0.7, 0.5], 0.1),
            run(1, m, [0.6, 0.9], 0.3),
        ];
        // SA means: scratch 0.5, 0.6; multitask (0.7+0.5*3)/4 = 0.55, (0.6+0.9*3)/4 = 0.825.
        let scores = Scores::new(&records, Some(s));
        let c = scores.cell(1, m, ViewGroup::ShortAxis).unwrap();
        assert!((c.mean - 0.6875).abs() < 1e-12);
        assert!((c.sd - (2.0f64 * 0.1375f64.powi(2)).sqrt()).abs() < 1e-12);
        let k = scores.comparison(1, m, ViewGroup::ShortAxis).unwrap();
        // Differences 0.05 and 0.225.
        assert!((k.mean_difference - 0.1375).abs() < 1e-12);
        assert_eq!((k.draws, k.better_draws), (2, 2));
        // Volumes: draw 0 a: 0.6 vs 0.5 better, b: 0.5 vs 0.5 tie; draw 1 a: 0.75 vs 0.6,
        // b: 0.9 vs 0.6 better.
        assert_eq!((k.volumes, k.better_volumes, k.tied_volumes), (4, 3, 1));
        assert!((k.sign_p - 0.25).abs() < 1e-12);
        let la = scores.comparison(1, m, ViewGroup::LongAxis).unwrap();
        assert_eq!(la.better_draws, 1);
        assert!(la.mean_difference.abs() < 1e-12);
        assert!(scores.comparison(1, s, ViewGroup::ShortAxis).is_none());
    }
}

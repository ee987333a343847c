//! The rows of `results.csv`: one per run, test volume and structure; written and read back
//! exactly (floats in their shortest round-trip form, `inf`/`NaN` spelled out).

use cmr_geometry::{CardiacPhase, View};
use serde::{Deserialize, Serialize};

use crate::evaluate::EvalRecord;
use crate::TrainError;

/// The metrics of one structure in one evaluated volume (an SA stack at one frame, or one LA
/// image) of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// Subject identifier.
    pub subject: String,
    /// View.
    pub view: View,
    /// Cine frame.
    pub frame: usize,
    /// ED/ES tag.
    pub phase: Option<CardiacPhase>,
    /// Structure name.
    pub structure: String,
    /// Label value.
    pub label: u8,
    /// Dice.
    pub dice: f64,
    /// 95th-percentile Hausdorff distance, mm (`inf` when one mask is empty).
    pub hd95_mm: f64,
    /// Average symmetric surface distance, mm.
    pub assd_mm: f64,
    /// Mean contour distance (2-D per slice), mm.
    pub mcd_mm: f64,
}

impl From<&EvalRecord> for MetricRow {
    fn from(r: &EvalRecord) -> Self {
        Self {
            subject: r.subject.clone(),
            view: r.view,
            frame: r.frame,
            phase: r.phase,
            structure: r.structure.clone(),
            label: r.label,
            dice: r.metrics.dice,
            hd95_mm: r.metrics.hausdorff_percentile,
            assd_mm: r.metrics.assd,
            mcd_mm: r.metrics.mean_contour_distance,
        }
    }
}

/// Header of a run's `test_metrics.csv`.
pub(crate) const METRIC_HEADER: &str =
    "subject,view,frame,phase,structure,label,dice,hd95_mm,assd_mm,mcd_mm";

/// Header of `results.csv`: the run's columns, then [`METRIC_HEADER`].
pub(crate) const RESULTS_HEADER: &str = "run,n,draw,strategy,seed,subjects";

/// Commas and line breaks would break the columns; names never need them.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, ',' | '\n' | '\r') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn view_name(v: View) -> String {
    v.to_string()
}

fn parse_view(s: &str) -> Option<View> {
    Some(match s {
        "SA" => View::ShortAxis,
        "2Ch" => View::TwoChamber,
        "3Ch" => View::ThreeChamber,
        "4Ch" => View::FourChamber,
        "other" => View::Other,
        _ => return None,
    })
}

impl MetricRow {
    /// The row in [`METRIC_HEADER`] order.
    pub(crate) fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{}",
            clean(&self.subject),
            view_name(self.view),
            self.frame,
            self.phase.map_or("", |p| p.short_name()),
            clean(&self.structure),
            self.label,
            self.dice,
            self.hd95_mm,
            self.assd_mm,
            self.mcd_mm
        )
    }

    /// Parses a row written by [`MetricRow::csv`].
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 10 {
            return None;
        }
        Some(Self {
            subject: f[0].to_string(),
            view: parse_view(f[1])?,
            frame: f[2].parse().ok()?,
            phase: match f[3] {
                "" => None,
                "ED" => Some(CardiacPhase::EndDiastole),
                "ES" => Some(CardiacPhase::EndSystole),
                _ => return None,
            },
            structure: f[4].to_string(),
            label: f[5].parse().ok()?,
            dice: f[6].parse().ok()?,
            hd95_mm: f[7].parse().ok()?,
            assd_mm: f[8].parse().ok()?,
            mcd_mm: f[9].parse().ok()?,
        })
    }
}

/// A run's `test_metrics.csv`.
pub(crate) fn metrics_csv(rows: &[MetricRow]) -> String {
    let mut s = format!("{METRIC_HEADER}\n");
    for r in rows {
        s.push_str(&r.csv());
        s.push('\n');
    }
    s
}

/// Reads a run's `test_metrics.csv`.
pub(crate) fn parse_metrics_csv(
    text: &str,
    path: &std::path::Path,
) -> Result<Vec<MetricRow>, TrainError> {
    let mut lines = text.lines();
    let bad = |reason: String| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
    };
    if lines.next() != Some(METRIC_HEADER) {
        return Err(bad("unexpected header".into()));
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| MetricRow::parse(l).ok_or_else(|| bad(format!("bad row {}: {l}", i + 2))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_exactly() {
        let rows = vec![
            MetricRow {
                subject: "PH,01".into(),
                view: View::ShortAxis,
                frame: 3,
                phase: Some(CardiacPhase::EndSystole),
                structure: "LV myocardium".into(),
                label: 2,
                dice: 0.1 + 0.2,
                hd95_mm: f64::INFINITY,
                assd_mm: 1.0 / 3.0,
                mcd_mm: f64::NAN,
            },
            MetricRow {
                subject: "PH02".into(),
                view: View::FourChamber,
                frame: 0,
                phase: None,
                structure: "right atrium".into(),
                label: 2,
                dice: 1.0,
                hd95_mm: 0.0,
                assd_mm: 2.5e-7,
                mcd_mm: 12.0,
            },
        ];
        let text = metrics_csv(&rows);
        let back = parse_metrics_csv(&text, std::path::Path::new("x.csv")).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].subject, "PH_01"); // the comma is replaced
        assert_eq!(back[0].dice, 0.1 + 0.2);
        assert_eq!(back[0].assd_mm, 1.0 / 3.0);
        assert!(back[0].hd95_mm.is_infinite() && back[0].mcd_mm.is_nan());
        assert_eq!(back[1], rows[1]);
        assert!(parse_metrics_csv("a,b\n", std::path::Path::new("x.csv")).is_err());
        let broken = text.replace("4Ch", "5Ch");
        assert!(parse_metrics_csv(&broken, std::path::Path::new("x.csv")).is_err());
    }
}

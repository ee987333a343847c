//! `dice_vs_n.png`: mean Dice against the number of labelled subjects, one line per strategy
//! with error bars (sd over draws), one panel per view group.

use std::path::Path;

use image::RgbImage;
use plotters::prelude::*;

use crate::experiment::config::strategy_label;
use crate::experiment::scores::{Scores, ViewGroup};
use crate::TrainError;

/// Line colours of the strategies, in the order of the configuration.
const COLOURS: [RGBColor; 6] = [
    RGBColor(90, 90, 90),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

fn plot_error(e: impl std::fmt::Display, path: &Path) -> TrainError {
    TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("drawing the plot: {e}")),
    }
}

/// Draws the plot into `path` (PNG, written atomically). Returns whether text (titles, axis
/// labels, legend) could be drawn: without a font (see [`crate::figure_font`]) only the
/// lines, error bars and grid are.
///
/// # Errors
/// [`TrainError::Io`] when drawing or writing fails.
pub(crate) fn dice_vs_n(
    path: &Path,
    scores: &Scores,
    strategies: &[cmr_pretext::TransferStrategy],
    title: &str,
) -> Result<bool, TrainError> {
    let text = crate::text::figure_font().is_some();
    let groups: Vec<ViewGroup> = ViewGroup::ALL
        .into_iter()
        .filter(|g| scores.cells.iter().any(|c| c.group == *g))
        .collect();
    let (panel_w, h) = (620u32, 460u32);
    let w = panel_w * groups.len().max(1) as u32;
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(e, path))?;
        let root = if text {
            root.titled(title, (crate::text::FAMILY, 18))
                .map_err(|e| plot_error(e, path))?
        } else {
            root
        };
        let panels = root.split_evenly((1, groups.len().max(1)));
        let mut ns: Vec<usize> = scores.cells.iter().map(|c| c.n).collect();
        ns.sort_unstable();
        ns.dedup();
        let (lo, hi) = (
            *ns.first().unwrap_or(&1) as f64 / 1.4,
            // Room on the right, past the largest n, for the legend.
            *ns.last().unwrap_or(&1) as f64 * 6.0,
        );
        for (panel, group) in panels.iter().zip(&groups) {
            let cells: Vec<_> = scores.cells.iter().filter(|c| c.group == *group).collect();
            let y_lo = cells
                .iter()
                .map(|c| c.mean - c.sd)
                .fold(1.0f64, f64::min)
                .clamp(0.0, 1.0);
            let y_lo = ((y_lo - 0.05) * 10.0).floor().max(0.0) / 10.0;
            let mut builder = ChartBuilder::on(panel);
            builder.margin(12);
            if text {
                builder
                    .caption(
                        match group {
                            ViewGroup::ShortAxis => "short axis: LV, myocardium, RV",
                            ViewGroup::LongAxis => "long axis: atria (2Ch, 4Ch)",
                        },
                        (crate::text::FAMILY, 16),
                    )
                    .x_label_area_size(40)
                    .y_label_area_size(50);
            }
            let mut chart = builder
                .build_cartesian_2d((lo..hi).log_scale(), y_lo..1.0f64)
                .map_err(|e| plot_error(e, path))?;
            if text {
                chart
                    .configure_mesh()
                    .x_desc("labelled subjects n (log scale)")
                    .y_desc("mean Dice")
                    // Light lines of a log axis crowd every decade's end; major lines suffice.
                    .light_line_style(TRANSPARENT)
                    .x_label_formatter(&|v| format!("{}", v.round()))
                    .label_style((crate::text::FAMILY, 13))
                    .draw()
                    .map_err(|e| plot_error(e, path))?;
            } else {
                chart
                    .configure_mesh()
                    .x_labels(0)
                    .y_labels(0)
                    .draw()
                    .map_err(|e| plot_error(e, path))?;
            }
            let k = strategies.len().max(1) as f64;
            for (i, s) in strategies.iter().enumerate() {
                let colour = COLOURS[i % COLOURS.len()];
                // Strategies are shifted a little along x so that error bars do not overlap.
                let shift = 1.0 + 0.05 * (i as f64 - (k - 1.0) / 2.0);
                let points: Vec<(f64, f64, f64)> = ns
                    .iter()
                    .filter_map(|&n| {
                        scores
                            .cell(n, *s, *group)
                            .map(|c| (n as f64 * shift, c.mean, c.sd))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let style = ShapeStyle::from(&colour).stroke_width(2);
                let series = chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|&(x, y, _)| (x, y)),
                        style,
                    ))
                    .map_err(|e| plot_error(e, path))?;
                if text {
                    let label = strategy_label(s);
                    series.label(label).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
                }
                chart
                    .draw_series(points.iter().map(|&(x, y, sd)| {
                        ErrorBar::new_vertical(x, y - sd, y, y + sd, colour.filled(), 8)
                    }))
                    .map_err(|e| plot_error(e, path))?;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&(x, y, _)| Circle::new((x, y), 3, colour.filled())),
                    )
                    .map_err(|e| plot_error(e, path))?;
            }
            if text {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font((crate::text::FAMILY, 13))
                    .draw()
                    .map_err(|e| plot_error(e, path))?;
            }
        }
        root.present().map_err(|e| plot_error(e, path))?;
    }
    let picture = RgbImage::from_raw(w, h, buffer)
        .ok_or_else(|| plot_error("buffer size does not match the picture", path))?;
    crate::overlay::save_png(path, &picture)?;
    Ok(text)
}

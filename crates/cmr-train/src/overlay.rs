//! Pictures of segmentations: an image with the predicted labels filled in colour and the
//! reference labels outlined in the same colours, so that agreement and misses show at a
//! glance; panels composed into grids with captions.

use std::path::Path;

use image::{Rgb, RgbImage};
use ndarray::ArrayView2;

use cmr_geometry::positions::overlay::{display_range, write_png};

use crate::TrainError;

/// Colours of label values 1, 2, 3, ... (red, green, blue, orange, purple, cyan): on short
/// axis LV blood pool, LV myocardium, RV blood pool; on 4Ch left atrium, right atrium.
pub const LABEL_COLOURS: [[u8; 3]; 6] = [
    [230, 40, 40],
    [40, 200, 60],
    [50, 110, 255],
    [255, 150, 0],
    [170, 60, 200],
    [0, 210, 210],
];

fn colour(label: u8) -> [u8; 3] {
    LABEL_COLOURS[(usize::from(label).max(1) - 1) % LABEL_COLOURS.len()]
}

/// How a label overlay is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelOverlayStyle {
    /// Output pixels per image pixel.
    pub scale: u32,
    /// Opacity of the prediction fill, `0..=1`.
    pub fill_alpha: f32,
}

impl Default for LabelOverlayStyle {
    fn default() -> Self {
        Self {
            scale: 2,
            fill_alpha: 0.45,
        }
    }
}

/// Renders `image` (`[rows, cols]`, shown between its 1st and 99th percentiles) with
/// `prediction` filled and `reference` outlined (one-pixel lines along the borders between
/// pixels of different reference labels), both in [`LABEL_COLOURS`].
///
/// ```
/// use cmr_train::{render_labels, LabelOverlayStyle};
/// use ndarray::Array2;
/// let image = Array2::from_shape_fn((8, 8), |(r, c)| (r + c) as f32);
/// let truth = Array2::from_shape_fn((8, 8), |(r, c)| u8::from((2..6).contains(&r) && (2..6).contains(&c)));
/// let png = render_labels(image.view(), Some(truth.view()), Some(truth.view()), LabelOverlayStyle::default())?;
/// assert_eq!(png.dimensions(), (16, 16));
/// # Ok::<(), cmr_train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::Invalid`] when a label map's shape differs from the image's.
pub fn render_labels(
    image: ArrayView2<f32>,
    prediction: Option<ArrayView2<u8>>,
    reference: Option<ArrayView2<u8>>,
    style: LabelOverlayStyle,
) -> Result<RgbImage, TrainError> {
    let dims = [
        ("prediction", prediction.as_ref().map(|m| m.dim())),
        ("reference", reference.as_ref().map(|m| m.dim())),
    ];
    for (what, dim) in dims {
        if let Some(d) = dim.filter(|d| *d != image.dim()) {
            return Err(TrainError::Invalid {
                what: "overlay labels",
                reason: format!("{what} is {d:?}, the image {:?}", image.dim()),
            });
        }
    }
    let s = style.scale.max(1);
    let (rows, cols) = image.dim();
    let (lo, hi) = display_range(image);
    let alpha = style.fill_alpha.clamp(0.0, 1.0);
    let mut out = RgbImage::new(cols as u32 * s, rows as u32 * s);
    for ((r, c), &v) in image.indexed_iter() {
        let g = if hi > lo && v.is_finite() {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0
        } else {
            0.0
        };
        let label = prediction.as_ref().map_or(0, |p| p[[r, c]]);
        let rgb = if label > 0 {
            colour(label).map(|ch| ((1.0 - alpha) * g + alpha * f32::from(ch)) as u8)
        } else {
            [g as u8; 3]
        };
        for dy in 0..s {
            for dx in 0..s {
                out.put_pixel(c as u32 * s + dx, r as u32 * s + dy, Rgb(rgb));
            }
        }
    }
    if let Some(truth) = reference {
        // Borders between horizontally and vertically adjacent pixels of different labels, in
        // the colour of the higher label.
        for r in 0..rows {
            for c in 0..cols {
                let here = truth[[r, c]];
                if c + 1 < cols && truth[[r, c + 1]] != here {
                    let col = colour(here.max(truth[[r, c + 1]]));
                    let x = (c as u32 + 1) * s;
                    for y in r as u32 * s..(r as u32 + 1) * s {
                        out.put_pixel(x.min(out.width() - 1), y, Rgb(col));
                    }
                }
                if r + 1 < rows && truth[[r + 1, c]] != here {
                    let col = colour(here.max(truth[[r + 1, c]]));
                    let y = (r as u32 + 1) * s;
                    for x in c as u32 * s..(c as u32 + 1) * s {
                        out.put_pixel(x, y.min(out.height() - 1), Rgb(col));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Places panels in a grid (`rows[i][j]` at row `i`, column `j`; missing or smaller panels
/// leave background), with a caption band of `caption_px` above each row (its text drawn
/// when a font is found, see [`crate::figure_font`]) and `gap` pixels between panels.
pub fn panel_grid(
    rows: &[(String, Vec<Option<RgbImage>>)],
    column_titles: &[String],
    caption_px: u32,
    gap: u32,
) -> RgbImage {
    let ncols = rows.iter().map(|(_, r)| r.len()).max().unwrap_or(0) as u32;
    let cell_w = rows
        .iter()
        .flat_map(|(_, r)| r.iter().flatten().map(|p| p.width()))
        .max()
        .unwrap_or(1);
    let cell_h = rows
        .iter()
        .flat_map(|(_, r)| r.iter().flatten().map(|p| p.height()))
        .max()
        .unwrap_or(1);
    let title_h = if column_titles.is_empty() {
        0
    } else {
        caption_px
    };
    let width = ncols * cell_w + (ncols + 1) * gap;
    let height = title_h + rows.len() as u32 * (caption_px + cell_h + gap) + gap;
    let mut out = RgbImage::from_pixel(width.max(1), height.max(1), Rgb([20, 20, 20]));
    let text_size = f64::from(caption_px) * 0.7;
    for (j, t) in column_titles.iter().enumerate() {
        let x = gap + j as u32 * (cell_w + gap);
        crate::text::draw_text(
            &mut out,
            (x as i32, (caption_px / 6) as i32),
            t,
            text_size,
            [235, 235, 235],
        );
    }
    for (i, (caption, panels)) in rows.iter().enumerate() {
        let top = title_h + i as u32 * (caption_px + cell_h + gap);
        crate::text::draw_text(
            &mut out,
            (gap as i32, (top + caption_px / 6) as i32),
            caption,
            text_size,
            [255, 220, 120],
        );
        for (j, panel) in panels.iter().enumerate() {
            let Some(p) = panel else { continue };
            let x0 = gap + j as u32 * (cell_w + gap);
            let y0 = top + caption_px;
            image::imageops::replace(&mut out, p, i64::from(x0), i64::from(y0));
        }
    }
    out
}

/// Writes a PNG atomically (temporary file in the same folder, then rename), through
/// [`cmr_geometry::positions::overlay::write_png`].
///
/// # Errors
/// [`TrainError::Geometry`] when encoding or writing fails.
pub fn save_png(path: &Path, picture: &RgbImage) -> Result<(), TrainError> {
    write_png(path, picture).map_err(|e| TrainError::Geometry {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn fill_follows_the_prediction_and_outlines_the_reference() {
        let image = Array2::<f32>::zeros((6, 6));
        let mut pred = Array2::<u8>::zeros((6, 6));
        pred[[1, 1]] = 2;
        let mut truth = Array2::<u8>::zeros((6, 6));
        truth[[3, 3]] = 1;
        let style = LabelOverlayStyle {
            scale: 4,
            fill_alpha: 1.0,
        };
        let out =
            render_labels(image.view(), Some(pred.view()), Some(truth.view()), style).unwrap();
        // Predicted pixel (1, 1): filled green across its 4 x 4 block.
        assert_eq!(out.get_pixel(5, 5).0, LABEL_COLOURS[1]);
        // Reference pixel (3, 3): red outline on the borders at x = 12 and x = 16 (its
        // right neighbour's first column), interior black.
        assert_eq!(out.get_pixel(16, 13).0, LABEL_COLOURS[0]);
        assert_eq!(out.get_pixel(12, 13).0, LABEL_COLOURS[0]);
        assert_eq!(out.get_pixel(14, 14).0, [0, 0, 0]);
        let bad = Array2::<u8>::zeros((5, 6));
        assert!(render_labels(image.view(), Some(bad.view()), None, style).is_err());
    }

    #[test]
    fn grid_places_panels_in_cells() {
        let red = RgbImage::from_pixel(4, 3, Rgb([255, 0, 0]));
        let rows = vec![
            ("a".to_string(), vec![Some(red.clone()), None]),
            ("b".to_string(), vec![None, Some(red)]),
        ];
        let g = panel_grid(&rows, &[], 2, 1);
        // 2 columns of 4 + 3 gaps; 2 rows of (2 caption + 3 + 1 gap) + 1.
        assert_eq!(g.dimensions(), (11, 13));
        assert_eq!(g.get_pixel(1, 3).0, [255, 0, 0]); // row 0, column 0
        assert_eq!(g.get_pixel(6, 3).0, [20, 20, 20]); // row 0, column 1: empty
        assert_eq!(g.get_pixel(6, 9).0, [255, 0, 0]); // row 1, column 1
    }
}

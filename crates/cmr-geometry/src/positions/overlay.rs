//! Pictures of position maps: the image, the reference lines and the coloured tiles, so a person
//! can check at a glance that the lines cross on the LV and the tiles sit on the heart.

use std::path::Path;

use image::{Rgb, RgbImage};
use ndarray::ArrayView2;

use super::PositionMap;
use crate::error::GeometryError;
use crate::{ImagePlane, PixelPoint, View};

/// Tile colours for labels 1..=9 (a qualitative palette, ColorBrewer "Set1" then "Dark2").
const PALETTE: [[u8; 3]; 9] = [
    [228, 26, 28],
    [55, 126, 184],
    [77, 175, 74],
    [152, 78, 163],
    [255, 127, 0],
    [255, 255, 51],
    [166, 86, 40],
    [247, 129, 191],
    [27, 158, 119],
];

/// Colour of the line of each view.
fn line_colour(view: View) -> [u8; 3] {
    match view {
        View::TwoChamber => [255, 215, 0],
        View::ThreeChamber => [255, 0, 255],
        View::FourChamber => [0, 255, 255],
        View::ShortAxis => [0, 255, 0],
        View::Other => [255, 255, 255],
    }
}

/// How an overlay is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayStyle {
    /// Each image pixel becomes `scale x scale` output pixels.
    pub scale: u32,
    /// Tile fill opacity in `0..=1`.
    pub tile_alpha: f32,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            scale: 3,
            tile_alpha: 0.4,
        }
    }
}

/// Renders `image` (`[rows, cols]`, any intensity range: shown between its 1st and 99th
/// percentiles) with the tiles of `map` filled in colour, tile outlines, the reference lines
/// and a cross on the LV centre.
///
/// # Errors
/// [`GeometryError::ShapeMismatch`] when the image and the map differ in shape.
pub fn render(
    image: ArrayView2<f32>,
    map: &PositionMap,
    plane: &ImagePlane,
    style: OverlayStyle,
) -> Result<RgbImage, GeometryError> {
    if image.dim() != map.labels.dim() {
        return Err(GeometryError::ShapeMismatch {
            what: "overlay image vs position map".into(),
            expected: vec![map.labels.nrows(), map.labels.ncols()],
            found: vec![image.nrows(), image.ncols()],
        });
    }
    let s = style.scale.max(1);
    let (rows, cols) = image.dim();
    let (lo, hi) = display_range(image);
    let mut out = RgbImage::new(cols as u32 * s, rows as u32 * s);
    let alpha = style.tile_alpha.clamp(0.0, 1.0);
    for ((r, c), &v) in image.indexed_iter() {
        let g = if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0
        } else {
            0.0
        };
        let label = map.labels[[r, c]];
        let rgb = match PALETTE.get(usize::from(label).wrapping_sub(1)) {
            Some(col) => col.map(|ch| ((1.0 - alpha) * g + alpha * f32::from(ch)) as u8),
            None => [g as u8; 3],
        };
        for dy in 0..s {
            for dx in 0..s {
                out.put_pixel(c as u32 * s + dx, r as u32 * s + dy, Rgb(rgb));
            }
        }
    }
    let to_out = |p: PixelPoint| {
        (
            (p.col as f32 + 0.5) * s as f32,
            (p.row as f32 + 0.5) * s as f32,
        )
    };
    for tile in &map.tiles {
        let colour = PALETTE[usize::from(tile.label.clamp(1, 9)) - 1];
        let corners = tile.corners(plane).map(to_out);
        for k in 0..4 {
            draw_line(&mut out, corners[k], corners[(k + 1) % 4], colour);
        }
    }
    for line in &map.lines {
        if let Some((a, b)) = line.segment {
            draw_line(&mut out, to_out(a), to_out(b), line_colour(line.view));
        }
    }
    if let Some(c) = map.centre {
        let (x, y) = to_out(c);
        let arm = 3.0 * s as f32;
        draw_line(&mut out, (x - arm, y), (x + arm, y), [255, 0, 0]);
        draw_line(&mut out, (x, y - arm), (x, y + arm), [255, 0, 0]);
    }
    Ok(out)
}

/// Renders as [`render`] and writes a PNG, atomically (temporary file, then rename).
///
/// # Errors
/// As [`render`], plus [`GeometryError::Io`] when the file cannot be written.
pub fn save_png(
    path: &Path,
    image: ArrayView2<f32>,
    map: &PositionMap,
    plane: &ImagePlane,
    style: OverlayStyle,
) -> Result<(), GeometryError> {
    write_png(path, &render(image, map, plane, style)?)
}

/// Writes any picture as a PNG, atomically (temporary file, fsync, rename); the one PNG
/// writer of the workspace's figures.
///
/// # Errors
/// [`GeometryError::Io`] when the picture cannot be encoded or the file written.
pub fn write_png(path: &Path, picture: &RgbImage) -> Result<(), GeometryError> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| GeometryError::Io {
            action: "encoding PNG",
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
    crate::atomic::write_bytes(path, bytes.get_ref())
}

/// The display window of an image: the 1st and 99th percentiles of its finite values
/// (`(0, 0)` when there are none), so that a few extreme pixels do not wash out the picture.
///
/// ```
/// use cmr_geometry::positions::overlay::display_range;
/// let image = ndarray::Array2::from_shape_fn((10, 10), |(r, c)| (r * 10 + c) as f32);
/// assert_eq!(display_range(image.view()), (1.0, 98.0));
/// ```
pub fn display_range(image: ArrayView2<f32>) -> (f32, f32) {
    let mut v: Vec<f32> = image.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_by(f32::total_cmp);
    let at = |q: f32| v[((v.len() - 1) as f32 * q).round() as usize];
    (at(0.01), at(0.99))
}

/// A line of single pixels from `a` to `b` (output coordinates), clipped to the picture.
fn draw_line(out: &mut RgbImage, a: (f32, f32), b: (f32, f32), colour: [u8; 3]) {
    let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as usize;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let x = a.0 + (b.0 - a.0) * t;
        let y = a.1 + (b.1 - a.1) * t;
        if x >= 0.0 && y >= 0.0 && (x as u32) < out.width() && (y as u32) < out.height() {
            out.put_pixel(x as u32, y as u32, Rgb(colour));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::positions::{demo_geometry, CrossLayout, PositionLayout, ViewPlanes};

    #[test]
    fn overlay_shows_tiles_lines_and_centre_and_round_trips_through_png() {
        let (sa, two, four) = demo_geometry();
        let refs = ViewPlanes {
            two_chamber: Some(two),
            four_chamber: Some(four),
            ..ViewPlanes::default()
        };
        let map = CrossLayout::default()
            .label(&sa, View::ShortAxis, &refs)
            .unwrap();
        let img = ndarray::Array2::from_shape_fn(map.labels.dim(), |(r, c)| (r + c) as f32);
        let style = OverlayStyle {
            scale: 2,
            tile_alpha: 1.0,
        };
        let pic = render(img.view(), &map, &sa, style).unwrap();
        assert_eq!(pic.dimensions(), (320, 320));
        // With full opacity, a pixel deep inside tile 3 has exactly tile 3's colour.
        let t3 = map.tiles.iter().find(|t| t.label == 3).unwrap();
        let (x, y) = (
            (t3.centre.col * 2.0 + 1.0) as u32 + 4,
            (t3.centre.row * 2.0 + 1.0) as u32 + 4,
        );
        assert_eq!(pic.get_pixel(x, y).0, PALETTE[2]);
        // The centre cross is red.
        let c = map.centre.unwrap();
        let (x, y) = ((c.col * 2.0 + 1.0) as u32, (c.row * 2.0 + 1.0) as u32);
        assert_eq!(pic.get_pixel(x, y).0, [255, 0, 0]);

        let dir = std::env::temp_dir().join(format!("cmr-overlay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sa.png");
        save_png(&path, img.view(), &map, &sa, style).unwrap();
        let back = image::open(&path).unwrap().to_rgb8();
        assert_eq!(back, pic);
        // Shape mismatch is a typed error; an unwritable path too.
        let small = ndarray::Array2::<f32>::zeros((3, 3));
        assert!(render(small.view(), &map, &sa, style).is_err());
        let bad = dir.join("missing-folder").join("x.png");
        assert!(matches!(
            save_png(&bad, img.view(), &map, &sa, style),
            Err(GeometryError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

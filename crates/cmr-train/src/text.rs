//! Text in figures. Plots and overlay captions are drawn by plotters through `ab_glyph`,
//! which needs a TrueType/OpenType font at run time but no font library at build time. The
//! font is the file named by `CMR_SSL_FONT`, else the first of a few usual system paths;
//! without one, figures are drawn without text (and say so where they are described).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::RgbImage;
use plotters::prelude::*;

/// The environment variable naming a `.ttf`/`.otf` font file for figure text.
pub const FONT_ENV: &str = "CMR_SSL_FONT";

/// Where fonts usually are (Debian/Ubuntu, Fedora, Arch, macOS, Windows).
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// The family name fonts are registered under.
pub(crate) const FAMILY: &str = "sans-serif";

static FONT: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Finds a font (see the module documentation), registers it with plotters once per
/// process, and returns its path; `None` when no usable font was found.
pub fn figure_font() -> Option<&'static Path> {
    FONT.get_or_init(|| {
        let from_env = std::env::var_os(FONT_ENV).map(PathBuf::from);
        from_env
            .into_iter()
            .chain(CANDIDATES.iter().map(PathBuf::from))
            .find_map(|path| {
                let bytes = std::fs::read(&path).ok()?;
                // plotters keeps fonts for the life of the process; this runs once.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).ok()?;
                Some(path)
            })
    })
    .as_deref()
}

/// Draws `text` with its top-left corner at `(x, y)`, `size` pixels high. Returns false (and
/// draws nothing) without a font.
pub(crate) fn draw_text(
    image: &mut RgbImage,
    (x, y): (i32, i32),
    text: &str,
    size: f64,
    colour: [u8; 3],
) -> bool {
    if figure_font().is_none() {
        return false;
    }
    let (w, h) = image.dimensions();
    let root = BitMapBackend::with_buffer(image, (w, h)).into_drawing_area();
    let style = (FAMILY, size)
        .into_font()
        .color(&RGBColor(colour[0], colour[1], colour[2]));
    root.draw(&Text::new(text.to_string(), (x, y), style))
        .is_ok()
        && root.present().is_ok()
}

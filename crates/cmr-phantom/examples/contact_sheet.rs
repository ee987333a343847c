//! Contact sheets of synthetic subjects: short-axis base, mid and apex, 2Ch, 3Ch and 4Ch, at
//! end-diastole and end-systole, each shown plain and with the ground-truth label outlines.
//!
//! ```text
//! cargo run --release -p cmr-phantom --example contact_sheet -- OUT_DIR [SEED] [SUBJECTS...]
//! ```
//! writes `OUT_DIR/contact_sheet_<subject>.png` (defaults: seed 1, subjects 0 and 1).

use std::path::PathBuf;

use cmr_phantom::{CineSeries, PhantomConfig, Subject};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{Rgb, RgbImage};

const CELL: u32 = 212;

/// Label outline colours: value 1 red, 2 green, 3 blue-ish.
fn colour(label: u8) -> Rgb<u8> {
    match label {
        1 => Rgb([255, 60, 60]),
        2 => Rgb([60, 230, 60]),
        3 => Rgb([70, 150, 255]),
        _ => Rgb([255, 255, 0]),
    }
}

fn window(series: &[&CineSeries]) -> f32 {
    let mut v: Vec<u16> = series
        .iter()
        .flat_map(|s| s.images.iter().copied())
        .collect();
    v.sort_unstable();
    f32::from(v[(v.len() as f64 * 0.995) as usize]).max(1.0)
}

fn draw(
    sheet: &mut RgbImage,
    s: &CineSeries,
    phase: usize,
    white: f32,
    cx: u32,
    cy: u32,
    outline: bool,
) {
    let img = s.image_f32(phase);
    let lab = s.label(phase);
    let (rows, cols) = img.dim();
    let (ox, oy) = (
        cx * CELL + (CELL - cols as u32) / 2,
        cy * CELL + (CELL - rows as u32) / 2,
    );
    for r in 0..rows {
        for c in 0..cols {
            let g = (img[[r, c]] / white * 255.0).clamp(0.0, 255.0) as u8;
            let mut px = Rgb([g, g, g]);
            if outline {
                let l = lab[[r, c]];
                let edge = l != 0
                    && [(0i64, 1i64), (1, 0), (0, -1), (-1, 0)]
                        .iter()
                        .any(|(dr, dc)| {
                            let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                            rr < 0
                                || cc < 0
                                || rr >= rows as i64
                                || cc >= cols as i64
                                || lab[[rr as usize, cc as usize]] != l
                        });
                if edge {
                    px = colour(l);
                }
            }
            sheet.put_pixel(ox + c as u32, oy + r as u32, px);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().map(String::as_str).unwrap_or("docs/phantom"));
    let seed: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let subjects: Vec<u64> = if args.len() > 2 {
        args[2..]
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?
    } else {
        vec![0, 1]
    };
    std::fs::create_dir_all(&out)?;
    let config = PhantomConfig::default();
    for index in subjects {
        let subject = Subject::new(&config, seed, index)?;
        let study = subject.render();
        let sa: Vec<&CineSeries> = study.short_axis().collect();
        let n = sa.len();
        let picks = [sa[1], sa[n / 2], sa[n - 2]];
        let la: Vec<&CineSeries> = cmr_phantom::LONG_AXIS_VIEWS
            .iter()
            .filter_map(|v| study.long_axis(*v))
            .collect();
        let white = window(&study.series.iter().collect::<Vec<_>>());
        let es = study.manifest.es_phase;
        let mut sheet = RgbImage::new(CELL * 6, CELL * 4);
        for (row, (phase, outline)) in [(0, false), (0, true), (es, false), (es, true)]
            .into_iter()
            .enumerate()
        {
            for (col, s) in picks.iter().chain(la.iter()).enumerate() {
                draw(&mut sheet, s, phase, white, col as u32, row as u32, outline);
            }
        }
        let path = out.join(format!("contact_sheet_{}.png", subject.id()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let encoder =
            PngEncoder::new_with_quality(file, CompressionType::Best, FilterType::Adaptive);
        sheet.write_with_encoder(encoder)?;
        let m = &study.manifest;
        println!(
            "{}: {} SA slices, ES phase {}, LV EDV {:.0} ml ESV {:.0} ml EF {:.2}, RV EDV {:.0} ml EF {:.2} -> {}",
            subject.id(),
            n,
            es,
            m.volumes.lv_edv_ml,
            m.volumes.lv_esv_ml,
            m.volumes.lv_ef,
            m.volumes.rv_edv_ml,
            m.volumes.rv_ef,
            path.display()
        );
    }
    Ok(())
}

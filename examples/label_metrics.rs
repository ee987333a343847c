//! Compare two label volumes structure by structure: Dice, HD95 and ASSD (cmr-metrics), per
//! frame of two NIfTI label files in the same geometry, e.g. a `cmr-ssl segment` output
//! against a reference segmentation.
//!
//! ```text
//! cargo run --release --example label_metrics -- PREDICTION.nii.gz REFERENCE.nii.gz
//! cargo run --release --example label_metrics    # a phantom study's SA labels vs a shifted copy
//! ```
//!
//! Without arguments the reference is the short-axis ground truth of phantom subject 0 at
//! end-diastole and the "prediction" the same labels shifted by 2 columns (3.6 mm): Dice falls
//! below 1 by the structures' thinness, and HD95 comes out at 3.6 mm or just above
//! (structures whose border moves along the shift).

use std::path::Path;

use cmr_ssl::geometry::nifti_file::read_volume;
use cmr_ssl::geometry::{StudySource, View};
use cmr_ssl::metrics::{evaluate_labels, MetricOptions};
use cmr_ssl::phantom::{PhantomConfig, Subject};
use ndarray::{s, Array3, Array4, Axis};

/// A label volume `[frames, slices, rows, cols]` and its spacing `[slice, row, col]` in mm.
struct LabelVolume {
    labels: Array4<u8>,
    spacing: [f64; 3],
}

fn read_labels(path: &Path) -> Result<LabelVolume, Box<dyn std::error::Error>> {
    let (geometry, data) = read_volume(path)?;
    if data
        .iter()
        .any(|&v| v.fract() != 0.0 || !(0.0..=255.0).contains(&v))
    {
        return Err(format!("{}: values are not labels 0..=255", path.display()).into());
    }
    let planes = geometry.planes()?;
    let sp = planes[0].spacing();
    let slice = match planes.get(1) {
        Some(p) => (p.origin() - planes[0].origin())
            .dot(planes[0].normal())
            .abs(),
        None => 1.0,
    };
    Ok(LabelVolume {
        labels: data.mapv(|v| v as u8),
        spacing: [slice, sp.between_rows, sp.between_cols],
    })
}

/// The SA ground truth of phantom subject 0 at end-diastole, and a copy shifted by 2 columns.
fn phantom_pair() -> Result<(LabelVolume, LabelVolume), Box<dyn std::error::Error>> {
    let config = PhantomConfig::small(2);
    let source = Subject::new(&config, 0, 0)?.render().to_memory_source();
    let study = &source.studies()[0];
    let series = study.view(View::ShortAxis).ok_or("no SA series")?;
    let first = &series.slices[0].plane;
    let mut truth = Array3::<u8>::zeros((series.slices.len(), first.rows(), first.cols()));
    for (k, slice) in series.slices.iter().enumerate() {
        let label = slice.frames[0].label.as_ref().ok_or("unlabelled slice")?;
        truth
            .index_axis_mut(Axis(0), k)
            .assign(&source.load_label(label)?);
    }
    let mut shifted = Array3::<u8>::zeros(truth.dim());
    shifted
        .slice_mut(s![.., .., 2..])
        .assign(&truth.slice(s![.., .., ..-2]));
    let sp = first.spacing();
    let spacing = [
        series.spacing.as_ref().map_or(1.0, |s| s.median_mm),
        sp.between_rows,
        sp.between_cols,
    ];
    let frame = |v: Array3<u8>| LabelVolume {
        labels: v.insert_axis(Axis(0)),
        spacing,
    };
    Ok((frame(shifted), frame(truth)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (prediction, reference) = match args.as_slice() {
        [] => {
            println!("phantom subject 0, SA at ED: ground truth shifted by 2 columns vs itself");
            phantom_pair()?
        }
        [p, r] => (read_labels(Path::new(p))?, read_labels(Path::new(r))?),
        _ => return Err("usage: label_metrics [PREDICTION.nii.gz REFERENCE.nii.gz]".into()),
    };
    if prediction.labels.dim() != reference.labels.dim() {
        return Err(format!(
            "shapes differ: {:?} vs {:?}",
            prediction.labels.dim(),
            reference.labels.dim()
        )
        .into());
    }
    let difference = prediction
        .spacing
        .iter()
        .zip(&reference.spacing)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    if difference > 1e-3 {
        return Err(format!(
            "spacings differ: {:?} vs {:?} mm",
            prediction.spacing, reference.spacing
        )
        .into());
    }
    let max = reference.labels.iter().copied().max().unwrap_or(0);
    let labels: Vec<u8> = (1..=max).collect();
    println!(
        "{} frame(s) of {} slice(s), spacing {:?} mm",
        reference.labels.len_of(Axis(0)),
        reference.labels.len_of(Axis(1)),
        reference.spacing
    );
    println!("frame  label   Dice   HD95 mm   ASSD mm");
    for (f, (p, r)) in prediction
        .labels
        .axis_iter(Axis(0))
        .zip(reference.labels.axis_iter(Axis(0)))
        .enumerate()
    {
        let metrics = evaluate_labels(
            &p,
            &r,
            &labels,
            &reference.spacing,
            &MetricOptions::default(),
        )?;
        for m in metrics {
            println!(
                "{f:5}  {:5}  {:5.3}  {:8.2}  {:8.2}",
                m.label, m.metrics.dice, m.metrics.hausdorff_percentile, m.metrics.assd
            );
        }
    }
    Ok(())
}

//! `cmr-ssl`: the command-line front end of the cmr-ssl crates.

mod demo;
mod experiment;
mod finetune;
mod labels;
mod phantom;
mod pretrain;
mod segment;
mod training_common;

use clap::{Parser, Subcommand};

/// Self-supervised cardiac MR segmentation: anatomical position pretraining and few-shot
/// fine-tuning.
#[derive(Debug, Parser)]
#[command(name = "cmr-ssl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a small U-Net on synthetic slices end to end and report Dice (runs in seconds).
    Demo(demo::DemoArgs),
    /// Generate a synthetic cine CMR cohort (DICOM, NIfTI, truth manifests).
    Phantom(phantom::PhantomArgs),
    /// Derive anatomical position labels for every study (NIfTI volumes + overlay PNGs).
    Labels(Box<labels::LabelsArgs>),
    /// Pretrain a U-Net on anatomical positions (no labels needed).
    Pretrain(Box<pretrain::PretrainArgs>),
    /// Fine-tune for segmentation on N labelled subjects with a transfer strategy.
    Finetune(Box<finetune::FinetuneArgs>),
    /// The few-shot experiment: pretrain once, fine-tune every n x draw x strategy, evaluate,
    /// write results.csv, summary.md, dice_vs_n.png and overlays (resumes when rerun).
    Experiment(Box<experiment::ExperimentArgs>),
    /// Segment new studies with a fine-tuned run: NIfTI label volumes, overlays, and LV/RV
    /// volumes, ejection fractions and LV mass (report.json, report.csv).
    Segment(Box<segment::SegmentArgs>),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Phantom(args) => phantom::run(&args),
        Command::Labels(args) => labels::run(&args),
        Command::Pretrain(args) => pretrain::run(&args),
        Command::Finetune(args) => finetune::run(&args),
        Command::Experiment(args) => experiment::run(&args),
        Command::Segment(args) => segment::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole context chain on one line, without a backtrace: these are user errors
            // (bad paths, bad options, broken input), not program bugs.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

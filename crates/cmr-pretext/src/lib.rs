//! Self-supervised pretext tasks for cardiac MR segmentation, their losses, and the transfer
//! strategies that turn a pretext-trained U-Net into a segmentation network.
//!
//! - [`PretextTask`]: derive a label-free target for any image plane from the study's view
//!   geometry, say how wide the head is, score the head. Two implementations:
//!   [`PositionTask`] (anatomical position classification, Bai et al., MICCAI 2019; the
//!   default) and [`LineHeatmapTask`] (regression of Gaussian ridges on the long-axis lines,
//!   after Zhang et al., 2024).
//! - Targets: [`PretextTarget`] per image (ndarray), [`PretextBatch`] per batch (tensors).
//! - Losses: [`masked_cross_entropy`] (class weights, ignore mask; also the segmentation
//!   loss), [`masked_mse`], and [`ClassCounts`] for Dice over batches.
//! - [`TransferStrategy`]: `Scratch`, `SslDecoder`, `SslAll`, `SslMultiTask { lambda }`, with
//!   what each loads, freezes and re-initialises ([`TransferStrategy::apply`]).
//!
//! ```
//! use cmr_pretext::{PositionTask, PretextTask, TransferStrategy};
//! let task = PositionTask::default();
//! assert_eq!((task.name(), task.output_channels()), ("positions", 10));
//! assert!(TransferStrategy::SslDecoder.freezes_encoder());
//! ```

#![warn(missing_docs)]

mod error;
mod loss;
mod strategy;
mod target;
mod task;

pub use error::PretextError;
pub use loss::{masked_cross_entropy, masked_mse, ClassCounts};
pub use strategy::TransferStrategy;
pub use target::{PretextBatch, PretextTarget};
pub use task::{LineHeatmapTask, PositionTask, PretextTask};

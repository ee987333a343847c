//! Pretext targets: per image (ndarray, on the image's own grid) and per batch (tensors).

use ndarray::{Array2, Array3};
use tch::{Device, Kind, Tensor};

use crate::PretextError;

/// The label-free target of one image, on that image's pixel grid. Resampling code treats
/// the two kinds differently: class labels with nearest neighbour, channels linearly.
#[derive(Debug, Clone, PartialEq)]
pub enum PretextTarget {
    /// One class per pixel (`0` background, `1..=n`), and the pixels whose class is unknown.
    Classes {
        /// `[rows, cols]` class labels.
        labels: Array2<u8>,
        /// `[rows, cols]`: true where the class is unknown (no loss).
        ignore: Array2<bool>,
    },
    /// Real-valued channels (for example heatmaps), and which channels are defined.
    Channels {
        /// `[channels, rows, cols]`.
        maps: Array3<f32>,
        /// Per channel: false when the channel holds nothing for this image (no loss).
        present: Vec<bool>,
    },
}

impl PretextTarget {
    /// `"classes"` or `"channels"`, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Classes { .. } => "classes",
            Self::Channels { .. } => "channels",
        }
    }

    /// `(rows, cols)` of the grid.
    pub fn dim(&self) -> (usize, usize) {
        match self {
            Self::Classes { labels, .. } => labels.dim(),
            Self::Channels { maps, .. } => {
                let (_, r, c) = maps.dim();
                (r, c)
            }
        }
    }
}

/// The pretext targets of a batch as tensors, ready for [`crate::PretextTask::loss`].
#[derive(Debug)]
pub struct PretextBatch {
    /// Classes: `[N, H, W]` int64. Channels: `[N, C, H, W]` float.
    pub target: Tensor,
    /// `[N, H, W]` bool: pixels that do not count (unknown class, outside the field of view, or
    /// every pixel of an image without a target).
    pub ignore: Tensor,
    /// Channels only: `[N, C]` bool, which channels count.
    pub present: Option<Tensor>,
}

impl PretextBatch {
    /// Stacks per-image targets of one kind. `None` entries (images without a target) get
    /// zeros and count nowhere; `valid[i]` (`[H, W]`, optional) marks the pixels of image `i`
    /// inside its field of view, the others are ignored too.
    ///
    /// ```
    /// use cmr_pretext::{PretextBatch, PretextTarget};
    /// use ndarray::Array2;
    /// let t = PretextTarget::Classes {
    ///     labels: Array2::from_elem((2, 3), 4),
    ///     ignore: Array2::from_elem((2, 3), false),
    /// };
    /// let b = PretextBatch::stack(&[Some(&t), None], &[None, None], tch::Device::Cpu)?;
    /// assert_eq!(b.target.size(), [2, 2, 3]);
    /// assert_eq!(b.ignore.int64_value(&[1, 0, 0]), 1); // the missing target is ignored
    /// # Ok::<(), cmr_pretext::PretextError>(())
    /// ```
    ///
    /// # Errors
    /// [`PretextError::Shape`] for an empty batch, mixed kinds, grids or channel counts.
    pub fn stack(
        targets: &[Option<&PretextTarget>],
        valid: &[Option<&Array2<bool>>],
        device: Device,
    ) -> Result<Self, PretextError> {
        let first = targets.iter().flatten().next();
        let n = targets.len();
        if n == 0 || valid.len() != n {
            return Err(PretextError::Shape {
                what: "pretext batch",
                got: vec![n as i64, valid.len() as i64],
                expected: "at least one target and one validity mask per target".into(),
            });
        }
        let Some(first) = first else {
            return Err(PretextError::Shape {
                what: "pretext batch",
                got: vec![n as i64],
                expected: "at least one image with a target".into(),
            });
        };
        let (h, w) = first.dim();
        let mismatch = |i: usize, t: &PretextTarget| PretextError::Shape {
            what: "pretext target",
            got: vec![i as i64, t.dim().0 as i64, t.dim().1 as i64],
            expected: format!("{} targets of {h} x {w}", first.kind_name()),
        };
        let mut ignore = Vec::with_capacity(n * h * w);
        for (i, (t, v)) in targets.iter().zip(valid).enumerate() {
            if let Some(v) = v {
                if v.dim() != (h, w) {
                    return Err(PretextError::Shape {
                        what: "validity mask",
                        got: vec![i as i64, v.nrows() as i64, v.ncols() as i64],
                        expected: format!("{h} x {w}"),
                    });
                }
            }
            let inside = |r: usize, c: usize| v.is_none_or(|v| v[[r, c]]);
            match t {
                None => ignore.extend(std::iter::repeat_n(true, h * w)),
                Some(t) if t.dim() != (h, w) => return Err(mismatch(i, t)),
                Some(PretextTarget::Classes { ignore: ig, .. }) => {
                    ignore.extend(ig.indexed_iter().map(|((r, c), &x)| x || !inside(r, c)))
                }
                Some(PretextTarget::Channels { .. }) => {
                    ignore.extend((0..h * w).map(|k| !inside(k / w, k % w)))
                }
            }
        }
        let ignore = Tensor::from_slice(&ignore)
            .view([n as i64, h as i64, w as i64])
            .to_device(device);
        match first {
            PretextTarget::Classes { .. } => {
                let mut labels = Vec::with_capacity(n * h * w);
                for (i, t) in targets.iter().enumerate() {
                    match t {
                        None => labels.extend(std::iter::repeat_n(0i64, h * w)),
                        Some(PretextTarget::Classes { labels: l, .. }) => {
                            labels.extend(l.iter().map(|&v| i64::from(v)))
                        }
                        Some(other) => return Err(mismatch(i, other)),
                    }
                }
                Ok(Self {
                    target: Tensor::from_slice(&labels)
                        .view([n as i64, h as i64, w as i64])
                        .to_device(device),
                    ignore,
                    present: None,
                })
            }
            PretextTarget::Channels { maps, .. } => {
                let c = maps.dim().0;
                let mut data = Vec::with_capacity(n * c * h * w);
                let mut present = Vec::with_capacity(n * c);
                for (i, t) in targets.iter().enumerate() {
                    match t {
                        None => {
                            data.extend(std::iter::repeat_n(0f32, c * h * w));
                            present.extend(std::iter::repeat_n(false, c));
                        }
                        Some(PretextTarget::Channels { maps, present: p })
                            if maps.dim().0 == c && p.len() == c =>
                        {
                            data.extend(maps.iter().copied());
                            present.extend(p.iter().copied());
                        }
                        Some(other) => return Err(mismatch(i, other)),
                    }
                }
                Ok(Self {
                    target: Tensor::from_slice(&data)
                        .view([n as i64, c as i64, h as i64, w as i64])
                        .to_device(device),
                    ignore,
                    present: Some(
                        Tensor::from_slice(&present)
                            .view([n as i64, c as i64])
                            .to_device(device),
                    ),
                })
            }
        }
    }

    /// The rows `indices` of this batch (for losses over a subset of images).
    ///
    /// # Errors
    /// [`PretextError::Torch`] when an index is out of range.
    pub fn select(&self, indices: &Tensor) -> Result<Self, PretextError> {
        let torch = |source| PretextError::Torch {
            context: "selecting pretext targets".into(),
            source,
        };
        Ok(Self {
            target: self.target.f_index_select(0, indices).map_err(torch)?,
            ignore: self.ignore.f_index_select(0, indices).map_err(torch)?,
            present: self
                .present
                .as_ref()
                .map(|p| p.f_index_select(0, indices))
                .transpose()
                .map_err(torch)?,
        })
    }

    /// Whether any pixel counts at all.
    pub fn any_counted(&self) -> bool {
        let pixels = self.ignore.logical_not().any().int64_value(&[]) != 0;
        match &self.present {
            None => pixels,
            Some(p) => pixels && p.any().int64_value(&[]) != 0,
        }
    }

    /// Number of images.
    pub fn len(&self) -> i64 {
        self.target.size()[0]
    }

    /// Whether the batch holds no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind of the target tensor (`Int64` for classes, `Float` for channels).
    pub fn target_kind(&self) -> Kind {
        self.target.kind()
    }
}

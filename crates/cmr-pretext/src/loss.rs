//! Masked losses shared by the pretext and segmentation tasks.

use tch::{Kind, Tensor};

use crate::PretextError;

fn shape_err(what: &'static str, got: Vec<i64>, expected: String) -> PretextError {
    PretextError::Shape {
        what,
        got,
        expected,
    }
}

/// Weighted pixel-wise cross-entropy averaged over the pixels not ignored, normalised like
/// PyTorch's `cross_entropy(weight=w)`: `sum(w[t] * ce) / sum(w[t])`. Returns 0 (with a
/// gradient of 0) when every pixel is ignored.
///
/// `logits` `[N, classes, H, W]`, `target` `[N, H, W]` (any integer kind), `ignore` `[N, H, W]`
/// (bool, true = no contribution).
///
/// ```
/// use cmr_pretext::masked_cross_entropy;
/// use tch::{Device, Kind, Tensor};
/// // Uniform logits over 4 classes: ln(4) whatever the target.
/// let logits = Tensor::zeros([2, 4, 3, 3], (Kind::Float, Device::Cpu));
/// let target = Tensor::zeros([2, 3, 3], (Kind::Int64, Device::Cpu));
/// let loss = masked_cross_entropy(&logits, &target, None, 4, None)?;
/// assert!((loss.double_value(&[]) - 4f64.ln()).abs() < 1e-6);
/// # Ok::<(), cmr_pretext::PretextError>(())
/// ```
///
/// # Errors
/// [`PretextError::Shape`] when the shapes do not fit together.
pub fn masked_cross_entropy(
    logits: &Tensor,
    target: &Tensor,
    ignore: Option<&Tensor>,
    classes: i64,
    class_weights: Option<&[f64]>,
) -> Result<Tensor, PretextError> {
    let ls = logits.size();
    if ls.len() != 4 || ls[1] != classes {
        return Err(shape_err("logits", ls, format!("[N, {classes}, H, W]")));
    }
    let expected = [ls[0], ls[2], ls[3]];
    if target.size() != expected {
        return Err(shape_err("target", target.size(), format!("{expected:?}")));
    }
    if let Some(m) = ignore {
        if m.size() != expected {
            return Err(shape_err("ignore mask", m.size(), format!("{expected:?}")));
        }
    }
    if let Some(w) = class_weights {
        if w.len() as i64 != classes {
            return Err(shape_err(
                "class weights",
                vec![w.len() as i64],
                format!("[{classes}]"),
            ));
        }
    }
    let target = target.to_kind(Kind::Int64).clamp(0, classes - 1);
    let per_pixel = -logits
        .log_softmax(1, Kind::Float)
        .gather(1, &target.unsqueeze(1), false)
        .squeeze_dim(1);
    let mut weight = match class_weights {
        Some(w) => Tensor::from_slice(w)
            .to_kind(Kind::Float)
            .to_device(logits.device())
            .index_select(0, &target.flatten(0, -1))
            .view(expected),
        None => per_pixel.ones_like().detach(),
    };
    if let Some(m) = ignore {
        weight *= m.logical_not().to_kind(Kind::Float);
    }
    Ok((per_pixel * &weight).sum(Kind::Float) / weight.sum(Kind::Float).clamp_min(1e-12))
}

/// Mean squared error over the channels and pixels that count: `output` and `target`
/// `[N, C, H, W]`, `ignore` `[N, H, W]` (true = pixel does not count), `present` `[N, C]`
/// (false = channel does not count). 0 when nothing counts.
///
/// ```
/// use cmr_pretext::masked_mse;
/// use tch::{Device, Kind, Tensor};
/// let out = Tensor::from_slice(&[1.0f32, 3.0]).view([1, 2, 1, 1]);
/// let target = Tensor::zeros([1, 2, 1, 1], (Kind::Float, Device::Cpu));
/// let present = Tensor::from_slice(&[true, false]).view([1, 2]);
/// let loss = masked_mse(&out, &target, None, Some(&present))?;
/// assert_eq!(loss.double_value(&[]), 1.0); // only the first channel counts
/// # Ok::<(), cmr_pretext::PretextError>(())
/// ```
///
/// # Errors
/// [`PretextError::Shape`] when the shapes do not fit together.
pub fn masked_mse(
    output: &Tensor,
    target: &Tensor,
    ignore: Option<&Tensor>,
    present: Option<&Tensor>,
) -> Result<Tensor, PretextError> {
    let os = output.size();
    if os.len() != 4 {
        return Err(shape_err("output", os, "[N, C, H, W]".into()));
    }
    if target.size() != os {
        return Err(shape_err("target", target.size(), format!("{os:?}")));
    }
    let mut weight = output.ones_like().detach();
    if let Some(m) = ignore {
        let expected = [os[0], os[2], os[3]];
        if m.size() != expected {
            return Err(shape_err("ignore mask", m.size(), format!("{expected:?}")));
        }
        weight *= m.logical_not().to_kind(Kind::Float).unsqueeze(1);
    }
    if let Some(p) = present {
        if p.size() != [os[0], os[1]] {
            return Err(shape_err(
                "present",
                p.size(),
                format!("[{}, {}]", os[0], os[1]),
            ));
        }
        weight *= p.to_kind(Kind::Float).view([os[0], os[1], 1, 1]);
    }
    let sq = (output - target.to_kind(output.kind())).square();
    Ok((sq * &weight).sum(Kind::Float) / weight.sum(Kind::Float).clamp_min(1e-12))
}

/// Per-class overlap counts of predicted and reference class maps, accumulated over batches:
/// the Dice of class `k` is `2 |P ∩ R| / (|P| + |R|)` over every pixel seen.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassCounts {
    /// Pixels predicted and labelled `k`.
    pub intersection: Vec<f64>,
    /// Pixels predicted `k`.
    pub predicted: Vec<f64>,
    /// Pixels labelled `k`.
    pub reference: Vec<f64>,
}

impl ClassCounts {
    /// Zero counts for `classes` classes (background included).
    pub fn new(classes: usize) -> Self {
        Self {
            intersection: vec![0.0; classes],
            predicted: vec![0.0; classes],
            reference: vec![0.0; classes],
        }
    }

    /// Adds the counts of `prediction` vs `reference` (`[N, H, W]`, integer) over the pixels
    /// not `ignore`d (`[N, H, W]` bool).
    ///
    /// # Errors
    /// [`PretextError::Shape`] when the shapes differ.
    pub fn add(
        &mut self,
        prediction: &Tensor,
        reference: &Tensor,
        ignore: Option<&Tensor>,
    ) -> Result<(), PretextError> {
        if prediction.size() != reference.size() {
            return Err(shape_err(
                "prediction",
                prediction.size(),
                format!("{:?}", reference.size()),
            ));
        }
        let keep = match ignore {
            Some(m) if m.size() == reference.size() => m.logical_not(),
            Some(m) => {
                return Err(shape_err(
                    "ignore mask",
                    m.size(),
                    format!("{:?}", reference.size()),
                ))
            }
            None => reference.ones_like().to_kind(Kind::Bool),
        };
        let p = prediction.to_kind(Kind::Int64);
        let r = reference.to_kind(Kind::Int64);
        for k in 0..self.intersection.len() {
            let pk = p.eq(k as i64).logical_and(&keep);
            let rk = r.eq(k as i64).logical_and(&keep);
            self.intersection[k] += pk.logical_and(&rk).sum(Kind::Float).double_value(&[]);
            self.predicted[k] += pk.sum(Kind::Float).double_value(&[]);
            self.reference[k] += rk.sum(Kind::Float).double_value(&[]);
        }
        Ok(())
    }

    /// Dice per class (NaN for a class neither predicted nor present).
    pub fn dice(&self) -> Vec<f64> {
        (0..self.intersection.len())
            .map(|k| {
                let d = self.predicted[k] + self.reference[k];
                if d > 0.0 {
                    2.0 * self.intersection[k] / d
                } else {
                    f64::NAN
                }
            })
            .collect()
    }

    /// Mean Dice over classes `1..` (background excluded) that are present in the reference.
    pub fn mean_foreground_dice(&self) -> f64 {
        let d = self.dice();
        let v: Vec<f64> = (1..d.len())
            .filter(|&k| self.reference[k] > 0.0)
            .map(|k| d[k])
            .collect();
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn scalar(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    #[test]
    fn hand_computed_two_pixel_loss_with_ignore_and_weights() {
        // Two pixels, 2 classes. Pixel 0 logits (0, ln 3): p(class1) = 3/4. Pixel 1 (0, 0): 1/2.
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 3f32.ln(), 0.0]).view([1, 2, 1, 2]);
        let target = Tensor::from_slice(&[1i64, 0]).view([1, 1, 2]);
        let both = scalar(&masked_cross_entropy(&logits, &target, None, 2, None).unwrap());
        let expected = (-(0.75f64).ln() - (0.5f64).ln()) / 2.0;
        assert!((both - expected).abs() < 1e-6, "{both} vs {expected}");
        let ignore_second = Tensor::from_slice(&[false, true]).view([1, 1, 2]);
        let first =
            scalar(&masked_cross_entropy(&logits, &target, Some(&ignore_second), 2, None).unwrap());
        assert!((first + 0.75f64.ln()).abs() < 1e-6);
        // Weights 1 (bg) and 3 (class 1): (3 * -ln .75 + 1 * -ln .5) / 4.
        let w =
            scalar(&masked_cross_entropy(&logits, &target, None, 2, Some(&[1.0, 3.0])).unwrap());
        let expected = (3.0 * -(0.75f64).ln() - (0.5f64).ln()) / 4.0;
        assert!((w - expected).abs() < 1e-6);
    }

    #[test]
    fn all_ignored_gives_zero_and_gradients_flow() {
        let logits =
            Tensor::randn([2, 10, 3, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let target = Tensor::randint(10, [2, 3, 3], (Kind::Int64, Device::Cpu));
        let all = Tensor::ones([2, 3, 3], (Kind::Bool, Device::Cpu));
        let zero = masked_cross_entropy(&logits, &target, Some(&all), 10, None).unwrap();
        assert_eq!(scalar(&zero), 0.0);
        masked_cross_entropy(&logits, &target, None, 10, None)
            .unwrap()
            .backward();
        assert!(scalar(&logits.grad().abs().sum(Kind::Float)) > 0.0);
    }

    #[test]
    fn shape_errors_name_the_tensor() {
        let logits = Tensor::zeros([1, 4, 2, 2], (Kind::Float, Device::Cpu));
        let target = Tensor::zeros([1, 2, 2], (Kind::Int64, Device::Cpu));
        assert!(matches!(
            masked_cross_entropy(&logits, &target, None, 10, None),
            Err(PretextError::Shape { what: "logits", .. })
        ));
        let bad_target = Tensor::zeros([1, 2, 3], (Kind::Int64, Device::Cpu));
        assert!(matches!(
            masked_cross_entropy(&logits, &bad_target, None, 4, None),
            Err(PretextError::Shape { what: "target", .. })
        ));
        assert!(matches!(
            masked_cross_entropy(&logits, &target, None, 4, Some(&[1.0])),
            Err(PretextError::Shape {
                what: "class weights",
                ..
            })
        ));
    }

    #[test]
    fn mse_counts_only_present_channels_and_kept_pixels() {
        // [1, 2, 1, 2]: channel 0 errors (1, 2), channel 1 errors (3, 4).
        let out = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([1, 2, 1, 2]);
        let zero = out.zeros_like();
        let all = scalar(&masked_mse(&out, &zero, None, None).unwrap());
        assert!((all - (1.0 + 4.0 + 9.0 + 16.0) / 4.0).abs() < 1e-6);
        let ignore = Tensor::from_slice(&[false, true]).view([1, 1, 2]);
        let present = Tensor::from_slice(&[false, true]).view([1, 2]);
        let one = scalar(&masked_mse(&out, &zero, Some(&ignore), Some(&present)).unwrap());
        assert!((one - 9.0).abs() < 1e-6);
        assert!(masked_mse(&out, &zero, None, Some(&ignore)).is_err());
    }

    #[test]
    fn class_counts_give_hand_computed_dice() {
        let p = Tensor::from_slice(&[0i64, 1, 1, 2]).view([1, 2, 2]);
        let r = Tensor::from_slice(&[0i64, 1, 2, 2]).view([1, 2, 2]);
        let mut c = ClassCounts::new(3);
        c.add(&p, &r, None).unwrap();
        let d = c.dice();
        assert_eq!(d, vec![1.0, 2.0 / 3.0, 2.0 / 3.0]);
        assert!((c.mean_foreground_dice() - 2.0 / 3.0).abs() < 1e-12);
        // Ignoring the disputed pixel makes both perfect.
        let ignore = Tensor::from_slice(&[false, false, true, false]).view([1, 2, 2]);
        let mut c = ClassCounts::new(3);
        c.add(&p, &r, Some(&ignore)).unwrap();
        assert_eq!(c.dice(), vec![1.0, 1.0, 1.0]);
    }
}

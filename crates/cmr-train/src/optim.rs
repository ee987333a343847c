//! Adam with its whole state in named tensors (so a checkpoint can hold it and a resumed run
//! continues bit for bit), and the learning-rate schedules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::TrainError;

/// Adam hyper-parameters (Kingma & Ba, 2015; the defaults are theirs and PyTorch's, with the
/// learning rate Bai et al. used).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// L2 penalty added to the gradient (PyTorch `Adam(weight_decay=)`); 0 by default.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let ok = self.lr.is_finite()
            && self.lr > 0.0
            && (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps.is_finite()
            && self.eps > 0.0
            && self.weight_decay.is_finite()
            && self.weight_decay >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(TrainError::Invalid {
                what: "Adam configuration",
                reason: format!("{self:?}"),
            })
        }
    }
}

/// The optimiser: step count and the two moment tensors of every parameter it has updated,
/// by parameter name.
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    step: u64,
    first: BTreeMap<String, Tensor>,
    second: BTreeMap<String, Tensor>,
}

impl Adam {
    /// A fresh optimiser.
    pub fn new(config: AdamConfig) -> Self {
        Self {
            config,
            step: 0,
            first: BTreeMap::new(),
            second: BTreeMap::new(),
        }
    }

    /// Updates taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every parameter in `params` that has a gradient, at learning rate `lr`
    /// (PyTorch's `torch.optim.Adam` arithmetic), then clears the gradients.
    ///
    /// ```
    /// use cmr_train::{Adam, AdamConfig};
    /// use std::collections::BTreeMap;
    /// use tch::{Kind, Tensor};
    /// // Minimise (x - 3)^2 from x = 0.
    /// let x = Tensor::zeros([1], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
    /// let params = BTreeMap::from([("x".to_string(), x.shallow_clone())]);
    /// let mut adam = Adam::new(AdamConfig { lr: 0.1, ..AdamConfig::default() });
    /// for _ in 0..200 {
    ///     (&x - 3.0).square().sum(Kind::Float).backward();
    ///     adam.step(&params, 0.1)?;
    /// }
    /// assert!((x.double_value(&[0]) - 3.0).abs() < 0.05);
    /// # Ok::<(), cmr_train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::Torch`] when a tensor operation fails.
    pub fn step(&mut self, params: &BTreeMap<String, Tensor>, lr: f64) -> Result<(), TrainError> {
        self.step += 1;
        let t = self.step as i32;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        tch::no_grad(|| -> Result<(), TrainError> {
            for (name, p) in params {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let torch = TrainError::torch(format!("Adam update of {name}"));
                let g = if c.weight_decay > 0.0 {
                    g.f_add(&(p * c.weight_decay)).map_err(torch)?
                } else {
                    g
                };
                let m = self
                    .first
                    .entry(name.clone())
                    .or_insert_with(|| g.zeros_like());
                *m *= c.beta1;
                *m += &g * (1.0 - c.beta1);
                let v = self
                    .second
                    .entry(name.clone())
                    .or_insert_with(|| g.zeros_like());
                *v *= c.beta2;
                *v += &g * &g * (1.0 - c.beta2);
                let denom = v.sqrt() / bias2_sqrt + c.eps;
                let update = &self.first[name] / denom * (lr / bias1);
                let mut p = p.shallow_clone();
                p -= update;
            }
            Ok(())
        })?;
        for p in params.values() {
            let mut p = p.shallow_clone();
            p.zero_grad();
        }
        Ok(())
    }

    /// The state as named tensors (`m.<param>`, `v.<param>`) and the step count.
    pub fn state(&self) -> (u64, BTreeMap<String, Tensor>) {
        let mut out = BTreeMap::new();
        for (n, t) in &self.first {
            out.insert(format!("m.{n}"), t.shallow_clone());
        }
        for (n, t) in &self.second {
            out.insert(format!("v.{n}"), t.shallow_clone());
        }
        (self.step, out)
    }

    /// Restores [`Adam::state`] (tensors moved to `device`).
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for a name that is neither `m.*` nor `v.*`.
    pub fn restore(
        &mut self,
        step: u64,
        tensors: BTreeMap<String, Tensor>,
        device: tch::Device,
    ) -> Result<(), TrainError> {
        self.step = step;
        self.first.clear();
        self.second.clear();
        for (name, t) in tensors {
            let t = t.to_device(device);
            if let Some(n) = name.strip_prefix("m.") {
                self.first.insert(n.to_string(), t);
            } else if let Some(n) = name.strip_prefix("v.") {
                self.second.insert(n.to_string(), t);
            } else {
                return Err(TrainError::Invalid {
                    what: "optimiser state",
                    reason: format!("unexpected tensor {name}"),
                });
            }
        }
        Ok(())
    }
}

/// The learning rate over a run, as a factor of the peak rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schedule", rename_all = "snake_case")]
pub enum LrSchedule {
    /// The peak rate throughout.
    Constant,
    /// Linear warm-up over `warmup_steps`, then cosine decay to `final_factor` at the last step.
    Cosine {
        /// Warm-up steps.
        warmup_steps: u64,
        /// Factor at the end.
        final_factor: f64,
    },
    /// Multiplied by `gamma` every `every` steps.
    Step {
        /// Steps between decays.
        every: u64,
        /// Decay factor.
        gamma: f64,
    },
}

impl Default for LrSchedule {
    fn default() -> Self {
        Self::Cosine {
            warmup_steps: 0,
            final_factor: 0.05,
        }
    }
}

impl LrSchedule {
    /// The factor at 0-based `step` of `total`.
    ///
    /// ```
    /// use cmr_train::LrSchedule;
    /// let s = LrSchedule::Cosine { warmup_steps: 10, final_factor: 0.0 };
    /// assert_eq!(s.factor(0, 110), 0.1);
    /// assert_eq!(s.factor(10, 110), 1.0);
    /// assert!(s.factor(109, 110) < 1e-3);
    /// assert_eq!(LrSchedule::Step { every: 5, gamma: 0.5 }.factor(12, 100), 0.25);
    /// ```
    pub fn factor(&self, step: u64, total: u64) -> f64 {
        match *self {
            Self::Constant => 1.0,
            Self::Cosine {
                warmup_steps,
                final_factor,
            } => {
                if step < warmup_steps {
                    return (step + 1) as f64 / warmup_steps as f64;
                }
                let span = total.saturating_sub(warmup_steps + 1).max(1) as f64;
                let t = ((step - warmup_steps) as f64 / span).min(1.0);
                final_factor + (1.0 - final_factor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Self::Step { every, gamma } => gamma.powi((step / every.max(1)) as i32),
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for factors outside `[0, 1]`.
    pub fn validate(&self) -> Result<(), TrainError> {
        let ok = match *self {
            Self::Constant => true,
            Self::Cosine { final_factor, .. } => (0.0..=1.0).contains(&final_factor),
            Self::Step { every, gamma } => every > 0 && (0.0..=1.0).contains(&gamma),
        };
        if ok {
            Ok(())
        } else {
            Err(TrainError::Invalid {
                what: "learning-rate schedule",
                reason: format!("{self:?}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn matches_hand_computed_first_steps() {
        // With a constant gradient g, m_t / (1 - b1^t) = g and v_t / (1 - b2^t) = g^2, so every
        // step moves the parameter by lr * g / (|g| + eps) = lr * sign(g) (up to eps).
        let x = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let params = BTreeMap::from([("x".to_string(), x.shallow_clone())]);
        let mut adam = Adam::new(AdamConfig::default());
        for k in 1..=3 {
            (&x * Tensor::from_slice(&[2.0f32, -0.5]))
                .sum(Kind::Float)
                .backward();
            adam.step(&params, 0.01).unwrap();
            assert!((x.double_value(&[0]) - (1.0 - 0.01 * k as f64)).abs() < 1e-6);
            assert!((x.double_value(&[1]) - (-2.0 + 0.01 * k as f64)).abs() < 1e-6);
            // Gradients were cleared.
            assert_eq!(x.grad().abs().sum(Kind::Float).double_value(&[]), 0.0);
        }
        assert_eq!(adam.steps(), 3);
    }

    #[test]
    fn saved_and_restored_state_continues_bitwise() {
        let run = |split: Option<usize>| {
            let x = Tensor::from_slice(&[0.3f32, -0.7, 1.1]).set_requires_grad(true);
            let params = BTreeMap::from([("x".to_string(), x.shallow_clone())]);
            let mut adam = Adam::new(AdamConfig::default());
            for k in 0..10 {
                if Some(k) == split {
                    let (step, state) = adam.state();
                    let copied = state
                        .into_iter()
                        .map(|(n, t)| (n, t.detach().copy()))
                        .collect();
                    adam = Adam::new(AdamConfig::default());
                    adam.restore(step, copied, Device::Cpu).unwrap();
                }
                (&x * &x * &x).sum(Kind::Float).backward();
                adam.step(&params, 0.05).unwrap();
            }
            x.detach()
        };
        assert!(run(None).equal(&run(Some(4))));
        let mut a = Adam::new(AdamConfig::default());
        assert!(a
            .restore(
                1,
                BTreeMap::from([(
                    "z.x".to_string(),
                    Tensor::zeros([1], (Kind::Float, Device::Cpu))
                )]),
                Device::Cpu
            )
            .is_err());
        assert!(AdamConfig {
            lr: -1.0,
            ..AdamConfig::default()
        }
        .validate()
        .is_err());
        assert!(LrSchedule::Step {
            every: 0,
            gamma: 0.5
        }
        .validate()
        .is_err());
    }
}

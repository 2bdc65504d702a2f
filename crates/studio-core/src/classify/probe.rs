//! A linear classifier on fixed sentence vectors (multinomial logistic regression with
//! L2, fitted full-batch): the fast model of the labelling loop, the `head` mode's
//! classifier and the learning curve's classifier. It lives with the classifiers so that
//! training and active learning both use it without importing each other.

use crate::{Result, StudioError};
use candle_core::{Device, Tensor, D};

/// A linear classifier on fixed vectors (multinomial logistic regression with L2),
/// trained full-batch: the fast model of the labelling loop.
pub struct LinearProbe {
    w: Tensor,
    b: Tensor,
}

/// How a [`LinearProbe`] is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeOptions {
    /// 1/C of a logistic regression on unit-length rows (scaled to the rows' length).
    pub l2: f64,
    /// Full-batch optimiser steps.
    pub iterations: usize,
    /// Weights each example by `n / (classes · count of its label)` (sklearn's
    /// "balanced"). Why: with few labels the L2 keeps the weights small, so an unweighted
    /// fit lets the bias vote for whichever label has more examples. In the labelling loop
    /// the labels come in the order a strategy asks, not in the data's proportions, and a
    /// probe on 4 + 4 labels plus 8 more of one label then called most texts that label.
    pub balanced: bool,
}

impl ProbeOptions {
    /// The labelling loop's probe: C = 1, 300 steps, balanced.
    pub const LOOP: Self = Self {
        l2: 1.0,
        iterations: 300,
        balanced: true,
    };
}

impl LinearProbe {
    /// Fits on `x [n, d]` with labels `y`.
    pub fn fit(x: &Tensor, y: &[usize], n_classes: usize, opts: &ProbeOptions) -> Result<Self> {
        Ok(Self::fit_traced(x, y, n_classes, opts)?.0)
    }

    /// Like [`LinearProbe::fit`], also returning the loss of every iteration.
    pub fn fit_traced(
        x: &Tensor,
        y: &[usize],
        n_classes: usize,
        opts: &ProbeOptions,
    ) -> Result<(Self, Vec<f32>)> {
        Self::fit_with_prior(x, y, n_classes, opts, None)
    }

    /// Like [`LinearProbe::fit_traced`], with the weights pulled towards `prior`
    /// (`[k, d]`, e.g. [`crate::classify::prior::LabelPrior`]'s) instead of towards zero:
    /// the logits are `x·(prior + w)ᵀ + b` and the L2 penalty falls on `w` alone.
    ///
    /// Why a prior rather than extra examples: with 8 labels per class the data barely
    /// outweighs the penalty, so where the weights shrink to matters more than any other
    /// setting; shrinking to what the label names mean instead of to "no opinion" is worth
    /// several points of accuracy, and the pull fades as labels accumulate because the
    /// penalty is divided by their number. With no rows at all the probe is the prior.
    pub fn fit_with_prior(
        x: &Tensor,
        y: &[usize],
        n_classes: usize,
        opts: &ProbeOptions,
        prior: Option<&Tensor>,
    ) -> Result<(Self, Vec<f32>)> {
        let ProbeOptions {
            l2,
            iterations,
            balanced,
        } = *opts;
        let (n, d) = x.dims2()?;
        if let Some(p) = prior {
            if p.dims2()? != (n_classes, d) {
                return Err(StudioError::InvalidSetting(format!(
                    "a label-name prior of shape {:?} does not fit {n_classes} labels of {d} features",
                    p.dims()
                )));
            }
            if n == 0 && n_classes >= 2 {
                let b = Tensor::zeros(n_classes, candle_core::DType::F32, x.device())?;
                return Ok((Self { w: p.clone(), b }, Vec::new()));
            }
        }
        if n == 0 || n_classes < 2 {
            return Err(StudioError::TooFewExamples {
                what: "a classifier needs labelled examples of at least two labels".into(),
            });
        }
        let dev = x.device();
        let offset = prior.map(|p| x.matmul(&p.t()?)).transpose()?;
        let mean_sq = x.sqr()?.sum(D::Minus1)?.mean_all()?.to_scalar::<f32>()? as f64;
        let coef = l2 * mean_sq.max(1e-12) / n as f64;
        // Fit on centred rows and fold the mean into the bias afterwards. The bias is not
        // penalised, so the optimum is the same; but sentence vectors of one model share a
        // large common direction, and without centring Adam's first large steps along it
        // sent the loss from ln 2 to several times that before it settled.
        let mean = x.mean_keepdim(0)?;
        let xc = x.broadcast_sub(&mean)?;
        let w = candle_core::Var::zeros((n_classes, d), candle_core::DType::F32, dev)?;
        let b = candle_core::Var::zeros(n_classes, candle_core::DType::F32, dev)?;
        let targets = Tensor::from_vec(y.iter().map(|&c| c as u32).collect::<Vec<_>>(), n, dev)?;
        let mut opt = crate::classify::train::optim::AdamW::new(
            vec![
                ("probe.weight".into(), w.clone()),
                ("probe.bias".into(), b.clone()),
            ],
            0.0,
        )?;
        let class_weights = if balanced {
            Some(Tensor::from_vec(
                balanced_weights(y, n_classes),
                n_classes,
                dev,
            )?)
        } else {
            None
        };
        let mut trace = Vec::with_capacity(iterations);
        for it in 0..iterations {
            let logits = xc
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            let logits = match &offset {
                Some(o) => (logits + o)?,
                None => logits,
            };
            let ce =
                crate::classify::train::cross_entropy(&logits, &targets, class_weights.as_ref())?;
            let loss = (ce + (w.as_tensor().sqr()?.sum_all()? * (0.5 * coef))?)?;
            trace.push(loss.to_scalar::<f32>()?);
            let grads = loss.backward()?;
            opt.step(&grads, probe_lr(it, iterations, d))?;
        }
        // w·(x − μ) + b + p·x = (w + p)·x + (b − w·μ).
        let w = w.as_tensor().detach();
        let b = (b.as_tensor().detach() - mean.matmul(&w.t()?)?.squeeze(0)?)?;
        let w = match prior {
            Some(p) => (w + p)?,
            None => w,
        };
        Ok((Self { w, b }, trace))
    }

    /// Class probabilities for `x [n, d]`, one row per input.
    pub fn predict_proba(&self, x: &Tensor) -> Result<Vec<Vec<f32>>> {
        let logits = x.matmul(&self.w.t()?)?.broadcast_add(&self.b)?;
        Ok(candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec2::<f32>()?)
    }

    /// Raw scores for `x [n, d]`, one row per input.
    pub fn logits(&self, x: &Tensor) -> Result<Vec<Vec<f32>>> {
        Ok(x.matmul(&self.w.t()?)?
            .broadcast_add(&self.b)?
            .to_vec2::<f32>()?)
    }

    /// The weights `[k, d]` and bias `[k]`.
    pub fn parts(&self) -> (&Tensor, &Tensor) {
        (&self.w, &self.b)
    }
}

/// sklearn's "balanced" class weights, `n / (classes · count)`; 0 for an absent class.
pub fn balanced_weights(y: &[usize], n_classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; n_classes];
    for &c in y {
        counts[c] += 1;
    }
    counts
        .iter()
        .map(|&c| {
            if c > 0 {
                y.len() as f32 / (n_classes * c) as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// The probe's step size at iteration `it` of `iterations` on `d` features. Adam moves
/// every weight by about the step size at first, whatever the gradient's scale, so a
/// logit moves by about `lr · Σ|x|`: the peak is scaled by 1/√d (0.05 at 384 features,
/// the value tuned first) and warmed up over the first tenth, then decays linearly.
fn probe_lr(it: usize, iterations: usize, d: usize) -> f64 {
    let peak = 0.05 * (384.0 / d.max(1) as f64).sqrt();
    let warm = (iterations / 10).max(1);
    if it < warm {
        peak * (it + 1) as f64 / warm as f64
    } else {
        peak * (1.0 - it as f64 / iterations as f64) + 1e-3
    }
}

/// Rows `idx` of a matrix given as rows, as a tensor on `device`.
pub fn rows_tensor(rows: &[Vec<f32>], idx: &[usize], device: &Device) -> Result<Tensor> {
    let d = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = idx.iter().flat_map(|&i| rows[i].iter().copied()).collect();
    Ok(Tensor::from_vec(flat, (idx.len(), d), device)?)
}

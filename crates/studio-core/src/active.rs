//! Model-in-the-loop labelling: how sure a model is, which texts to label next, and a
//! fast classifier on cached sentence vectors that can be retrained after every few
//! labels.
//!
//! The pure functions here work on plain vectors so the project store, the app and the
//! active-learning simulation (`studio report active`) all pick texts the same way.

use crate::{Result, StudioError};
use candle_core::{Device, Tensor, D};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Difference between the two largest probabilities: small means unsure.
pub fn margin(probs: &[f32]) -> f32 {
    let mut top = [f32::NEG_INFINITY; 2];
    for &p in probs {
        if p > top[0] {
            top = [p, top[0]];
        } else if p > top[1] {
            top[1] = p;
        }
    }
    if top[1].is_finite() {
        top[0] - top[1]
    } else {
        1.0
    }
}

/// Shannon entropy (nats) of a distribution: large means unsure.
pub fn entropy(probs: &[f32]) -> f32 {
    -probs
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| p * p.ln())
        .sum::<f32>()
}

/// Greedy farthest-first selection of `n` vectors by cosine distance, starting from the
/// first: each pick is the vector least similar to everything picked so far. Returns
/// indices into `vecs`.
pub fn farthest_first(vecs: &[Vec<f32>], n: usize) -> Vec<usize> {
    if vecs.is_empty() || n == 0 {
        return Vec::new();
    }
    let unit: Vec<Vec<f32>> = vecs
        .iter()
        .map(|v| {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter().map(|x| x / norm).collect()
        })
        .collect();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut chosen = vec![0usize];
    let mut taken = vec![false; unit.len()];
    taken[0] = true;
    let mut nearest: Vec<f32> = unit.iter().map(|v| 1.0 - dot(v, &unit[0])).collect();
    while chosen.len() < n.min(unit.len()) {
        let Some(best) = (0..unit.len())
            .filter(|&i| !taken[i])
            .max_by(|&a, &b| nearest[a].total_cmp(&nearest[b]).then(b.cmp(&a)))
        else {
            break;
        };
        chosen.push(best);
        taken[best] = true;
        for (i, v) in unit.iter().enumerate() {
            nearest[i] = nearest[i].min(1.0 - dot(v, &unit[best]));
        }
    }
    chosen
}

/// How to choose the next texts in a simulation or from in-memory candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pick {
    /// Uniformly at random.
    Random,
    /// Smallest margin first.
    Uncertain,
    /// Farthest-first in embedding space, ignoring the model.
    Diverse,
    /// Farthest-first among the most uncertain 10×n: unsure, but not twenty
    /// near-identical texts (what `studio project next --strategy diverse` does).
    UncertainDiverse,
}

/// Picks `n` of `candidates` (indices into `probs` / `vecs`).
pub fn pick(
    how: Pick,
    candidates: &[usize],
    probs: &[Vec<f32>],
    vecs: &[Vec<f32>],
    n: usize,
    seed: u64,
) -> Vec<usize> {
    let by_margin = || {
        let mut c = candidates.to_vec();
        c.sort_by(|&a, &b| {
            margin(&probs[a])
                .total_cmp(&margin(&probs[b]))
                .then(a.cmp(&b))
        });
        c
    };
    match how {
        Pick::Random => {
            let mut c = candidates.to_vec();
            c.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            c.truncate(n);
            c
        }
        Pick::Uncertain => {
            let mut c = by_margin();
            c.truncate(n);
            c
        }
        Pick::Diverse => {
            let sub: Vec<Vec<f32>> = candidates.iter().map(|&i| vecs[i].clone()).collect();
            farthest_first(&sub, n)
                .into_iter()
                .map(|k| candidates[k])
                .collect()
        }
        Pick::UncertainDiverse => {
            let mut pool = by_margin();
            pool.truncate((n * 10).max(n));
            let sub: Vec<Vec<f32>> = pool.iter().map(|&i| vecs[i].clone()).collect();
            farthest_first(&sub, n)
                .into_iter()
                .map(|k| pool[k])
                .collect()
        }
    }
}

/// A linear classifier on fixed vectors (multinomial logistic regression with L2),
/// trained full-batch: the fast model of the labelling loop.
pub struct LinearProbe {
    w: Tensor,
    b: Tensor,
}

impl LinearProbe {
    /// Fits on `x [n, d]` with labels `y`; `l2` is 1/C of a logistic regression on
    /// unit-length rows (scaled to the rows' actual length).
    pub fn fit(
        x: &Tensor,
        y: &[usize],
        n_classes: usize,
        l2: f64,
        iterations: usize,
    ) -> Result<Self> {
        Ok(Self::fit_traced(x, y, n_classes, l2, iterations)?.0)
    }

    /// Like [`LinearProbe::fit`], also returning the loss of every iteration.
    pub fn fit_traced(
        x: &Tensor,
        y: &[usize],
        n_classes: usize,
        l2: f64,
        iterations: usize,
    ) -> Result<(Self, Vec<f32>)> {
        let (n, d) = x.dims2()?;
        if n == 0 || n_classes < 2 {
            return Err(StudioError::TooFewExamples {
                what: "a classifier needs labelled examples of at least two labels".into(),
            });
        }
        let dev = x.device();
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
        let mut opt = crate::train::optim::AdamW::new(
            vec![
                ("probe.weight".into(), w.clone()),
                ("probe.bias".into(), b.clone()),
            ],
            0.0,
        )?;
        let mut trace = Vec::with_capacity(iterations);
        for it in 0..iterations {
            let logits = xc
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            let ce = crate::train::cross_entropy(&logits, &targets, None)?;
            let loss = (ce + (w.as_tensor().sqr()?.sum_all()? * (0.5 * coef))?)?;
            trace.push(loss.to_scalar::<f32>()?);
            let grads = loss.backward()?;
            opt.step(&grads, probe_lr(it, iterations, d))?;
        }
        // w·(x − μ) + b = w·x + (b − w·μ).
        let w = w.as_tensor().detach();
        let b = (b.as_tensor().detach() - mean.matmul(&w.t()?)?.squeeze(0)?)?;
        Ok((Self { w, b }, trace))
    }

    /// Class probabilities for `x [n, d]`, one row per input.
    pub fn predict_proba(&self, x: &Tensor) -> Result<Vec<Vec<f32>>> {
        let logits = x.matmul(&self.w.t()?)?.broadcast_add(&self.b)?;
        Ok(candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec2::<f32>()?)
    }

    /// Weight `[classes, d]` and bias `[classes]`.
    pub fn parts(&self) -> (&Tensor, &Tensor) {
        (&self.w, &self.b)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_and_entropy() {
        assert!((margin(&[0.7, 0.2, 0.1]) - 0.5).abs() < 1e-6);
        assert!(margin(&[0.5, 0.5]) < 1e-6);
        assert!(entropy(&[0.5, 0.5]) > entropy(&[0.9, 0.1]));
        assert_eq!(entropy(&[1.0, 0.0]), 0.0);
    }

    /// Candidates in three tight clusters; the two most uncertain texts sit in the same
    /// cluster. Pure uncertainty takes both; uncertainty mixed with diversity takes one
    /// per cluster; diversity alone spreads too; random differs by seed.
    #[test]
    fn strategies_order_a_constructed_case() {
        let vecs = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.99, 0.01, 0.0],
            vec![0.98, 0.0, 0.02],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.99, 0.01],
            vec![0.0, 0.0, 1.0],
        ];
        let probs = vec![
            vec![0.51, 0.49], // most unsure, cluster A
            vec![0.52, 0.48], // second most unsure, cluster A
            vec![0.95, 0.05],
            vec![0.60, 0.40], // cluster B
            vec![0.99, 0.01],
            vec![0.70, 0.30], // cluster C
        ];
        let all: Vec<usize> = (0..6).collect();
        assert_eq!(
            pick(Pick::Uncertain, &all, &probs, &vecs, 3, 0),
            vec![0, 1, 3]
        );
        let mut ud = pick(Pick::UncertainDiverse, &all, &probs, &vecs, 3, 0);
        assert_eq!(ud[0], 0);
        ud.sort_unstable();
        assert_eq!(ud, vec![0, 3, 5]);
        let d = pick(Pick::Diverse, &all, &probs, &vecs, 3, 0);
        let clusters: std::collections::BTreeSet<usize> =
            d.iter().map(|&i| [0, 0, 0, 1, 1, 2][i]).collect();
        assert_eq!(clusters.len(), 3);
        let r1 = pick(Pick::Random, &all, &probs, &vecs, 3, 1);
        assert_eq!(r1, pick(Pick::Random, &all, &probs, &vecs, 3, 1));
        assert_eq!(r1.len(), 3);
    }

    #[test]
    fn probe_separates_separable_data() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[2f32, 0.1], [1.5, -0.2], [-2.0, 0.3], [-1.7, 0.0]], &dev).unwrap();
        let p = LinearProbe::fit(&x, &[1, 1, 0, 0], 2, 1.0, 200).unwrap();
        let probs = p.predict_proba(&x).unwrap();
        assert!(probs[0][1] > 0.6 && probs[2][0] > 0.6, "{probs:?}");
    }

    /// Sentence-vector-like features (384 dims, a weak class signal): the loss must fall
    /// from the start, not jump far above ln 2 while Adam's steps are large (the Train
    /// pane plots this trace as the quick preset's loss).
    #[test]
    fn probe_loss_never_spikes_above_its_start() {
        use rand::{Rng, SeedableRng};
        let dev = Device::Cpu;
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        // Few rows, and a large direction shared by every row (mean-pooled vectors of one
        // model all lean the same way): the case where the quick preset's chart spiked.
        let (n, d) = (18, 384);
        let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let common: Vec<f32> = (0..d).map(|_| rng.random_range(-0.5f32..0.5)).collect();
        let rows: Vec<f32> = (0..n * d)
            .map(|j| {
                let (i, k) = (j / d, j % d);
                let signal = if k < 8 {
                    if y[i] == 1 {
                        0.2
                    } else {
                        -0.2
                    }
                } else {
                    0.0
                };
                common[k] + signal + rng.random_range(-0.3f32..0.3)
            })
            .collect();
        let x = Tensor::from_vec(rows, (n, d), &dev).unwrap();
        let (_, trace) = LinearProbe::fit_traced(&x, &y, 2, 1.0, 500).unwrap();
        let worst = trace.iter().copied().fold(f32::MIN, f32::max);
        assert!(worst <= trace[0] * 1.1, "start {} worst {worst}", trace[0]);
        assert!(trace[trace.len() - 1] < trace[0]);
    }
}

//! AdamW with per-weight decay, gradient clipping and the learning-rate schedule.
//!
//! candle-nn's AdamW decays every weight; transformers does not decay biases and
//! LayerNorm weights. This one keeps a decay flag per weight. Update rule (decoupled,
//! as torch.optim.AdamW):
//! `θ ← θ·(1 − lr·wd) − lr · m̂ / (√v̂ + ε)`.

use crate::arch::kernels;
use crate::Result;
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use std::sync::Mutex;

/// The moment estimates of one weight.
enum Moments {
    /// On the CPU: plain buffers, updated with the weight in one fused pass.
    Host { m: Vec<f32>, v: Vec<f32> },
    /// Elsewhere: tensors, updated with tensor ops.
    Device { m: Tensor, v: Tensor },
}

struct Slot {
    var: Var,
    decay: bool,
    moments: Moments,
}

/// AdamW over a fixed set of weights.
pub struct AdamW {
    slots: Vec<Slot>,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    step: i32,
}

/// Whether the fused CPU update serves this weight.
fn fused_update(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && t.is_contiguous()
}

/// Whether a weight takes weight decay: not biases, not LayerNorm (transformers' rule).
pub fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm") || name.contains("layer_norm"))
}

impl AdamW {
    /// An optimizer for `vars` (name, var); `weight_decay` applies to those [`decays`] picks.
    pub fn new(vars: Vec<(String, Var)>, weight_decay: f64) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let t = var.as_tensor();
                let moments = if fused_update(t) {
                    Moments::Host {
                        m: vec![0.0; t.elem_count()],
                        v: vec![0.0; t.elem_count()],
                    }
                } else {
                    Moments::Device {
                        m: t.zeros_like()?,
                        v: t.zeros_like()?,
                    }
                };
                Ok(Slot {
                    decay: decays(&name),
                    moments,
                    var,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            step: 0,
        })
    }

    /// One update with learning rate `lr`. Weights without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.step += 1;
        let bc1 = 1.0 - self.beta1.powi(self.step);
        let bc2 = 1.0 - self.beta2.powi(self.step);
        for s in &mut self.slots {
            let Some(g) = grads.get(s.var.as_tensor()) else {
                continue;
            };
            let wd = if s.decay { self.weight_decay } else { 0.0 };
            let (m, v) = match &mut s.moments {
                Moments::Host { m, v } if g.dtype() == DType::F32 && g.device().is_cpu() => {
                    // θ, m and v in one pass over memory, in place.
                    let op = kernels::AdamWUpdate {
                        m: Mutex::new(m.as_mut_slice()),
                        v: Mutex::new(v.as_mut_slice()),
                        lr: lr as f32,
                        beta1: self.beta1 as f32,
                        beta2: self.beta2 as f32,
                        eps: self.eps as f32,
                        bc1: bc1 as f32,
                        bc2: bc2 as f32,
                        weight_decay: wd as f32,
                        grad_scale: 1.0,
                    };
                    s.var.as_tensor().inplace_op2(&g.contiguous()?, &op)?;
                    continue;
                }
                Moments::Host { .. } => {
                    return Err(crate::StudioError::InvalidSetting(
                        "AdamW: a gradient is not an f32 CPU tensor like its weight".into(),
                    ))
                }
                Moments::Device { m, v } => (m, v),
            };
            *m = ((&*m * self.beta1)? + (g * (1.0 - self.beta1))?)?;
            *v = ((&*v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let m_hat = (&*m / bc1)?;
            let v_hat = (&*v / bc2)?;
            let update = (m_hat / (v_hat.sqrt()? + self.eps)?)?;
            let theta = s.var.as_tensor();
            let decayed = if wd > 0.0 {
                (theta * (1.0 - lr * wd))?
            } else {
                theta.clone()
            };
            s.var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(())
    }
}

/// Scales gradients so their global L2 norm is at most `max_norm` (torch's
/// `clip_grad_norm_`); returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    let mut total = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            total += if g.device().is_cpu() {
                kernels::sum_squares(g)?
            } else {
                g.sqr()?
                    .sum_all()?
                    .to_dtype(DType::F64)?
                    .to_scalar::<f64>()?
            };
        }
    }
    let norm = total.sqrt();
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 {
        for v in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let clipped = (g * scale)?;
                grads.insert(v.as_tensor(), clipped);
            }
        }
    }
    Ok(norm)
}

/// Linear warmup from 0 to `peak` over `warmup` steps, then linear decay to 0 at `total`
/// (transformers' `get_linear_schedule_with_warmup`). `step` counts from 0.
pub fn linear_schedule(step: usize, warmup: usize, total: usize, peak: f64) -> f64 {
    if step < warmup {
        peak * (step as f64 + 1.0) / (warmup as f64 + 1.0)
    } else {
        let left = total.saturating_sub(step) as f64;
        let span = total.saturating_sub(warmup).max(1) as f64;
        peak * (left / span).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn adamw_matches_torch() {
        // torch.optim.AdamW([p], lr=0.1, weight_decay=0.1) with p = [1, -2, 3] and the
        // loss sum(p²)/2 (gradient p), three steps:
        //   p = torch.tensor([1., -2., 3.], requires_grad=True)
        //   opt = torch.optim.AdamW([p], lr=0.1, weight_decay=0.1)
        //   for _ in range(3): opt.zero_grad(); (p.pow(2).sum()/2).backward(); opt.step()
        // → tensor([ 0.6751, -1.6444,  2.6144]) (rounded to 4 decimals)
        let var = Var::new(&[1f32, -2., 3.], &Device::Cpu).unwrap();
        let mut opt = AdamW::new(vec![("w".into(), var.clone())], 0.1).unwrap();
        for _ in 0..3 {
            let loss = (var.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap();
            let grads = loss.backward().unwrap();
            opt.step(&grads, 0.1).unwrap();
        }
        let got = var.as_tensor().to_vec1::<f32>().unwrap();
        let want = [0.6751f32, -1.6444, 2.6144];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 2e-4, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn clipping_bounds_the_norm() {
        let var = Var::new(&[3f32, 4.], &Device::Cpu).unwrap();
        let loss = (var.as_tensor() * var.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap();
        let mut grads = loss.backward().unwrap(); // grad = [6, 8], norm 10
        let norm = clip_grad_norm(&mut grads, std::slice::from_ref(&var), 1.0).unwrap();
        assert!((norm - 10.0).abs() < 1e-5);
        let g = grads
            .get(var.as_tensor())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
    }

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        assert!(linear_schedule(0, 10, 100, 1.0) > 0.0);
        assert!((linear_schedule(10, 10, 100, 1.0) - 1.0).abs() < 1e-9);
        assert!(linear_schedule(55, 10, 100, 1.0) < 1.0);
        assert_eq!(linear_schedule(100, 10, 100, 1.0), 0.0);
    }

    #[test]
    fn biases_and_norms_do_not_decay() {
        assert!(decays("bert.encoder.layer.0.attention.self.query.weight"));
        assert!(!decays("bert.encoder.layer.0.attention.self.query.bias"));
        assert!(!decays("bert.embeddings.LayerNorm.weight"));
        assert!(!decays(
            "distilbert.transformer.layer.0.sa_layer_norm.weight"
        ));
    }
}

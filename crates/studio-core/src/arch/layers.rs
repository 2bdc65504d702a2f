//! Building blocks with a backward pass for every op: linear (with optional LoRA),
//! LayerNorm, dropout and activations.

use super::kernels;
use super::names::{self, LinearNames};
use super::params::{dropout_mask, MaskRng};
use super::{Activation, ParamStore};
use crate::Result;
use candle_core::{DType, Tensor, D};
use std::cell::RefCell;

/// Whether a forward pass trains (dropout on) and where its dropout masks come from.
pub struct ForwardCtx {
    /// Training mode: dropout is applied.
    pub train: bool,
    rng: RefCell<Option<MaskRng>>,
}

impl ForwardCtx {
    /// Inference: no dropout.
    pub fn eval() -> Self {
        Self {
            train: false,
            rng: RefCell::new(None),
        }
    }

    /// Training with dropout masks drawn from `rng` (seeded, so runs repeat).
    pub fn train(rng: MaskRng) -> Self {
        Self {
            train: true,
            rng: RefCell::new(Some(rng)),
        }
    }

    /// Gives the generator back (to carry its state to the next step).
    pub fn into_rng(self) -> Option<MaskRng> {
        self.rng.into_inner()
    }

    /// Inverted dropout with probability `p` in training, identity otherwise.
    pub fn dropout(&self, x: &Tensor, p: f32) -> Result<Tensor> {
        if !self.train || p <= 0.0 {
            return Ok(x.clone());
        }
        let mut guard = self.rng.borrow_mut();
        let Some(rng) = guard.as_mut() else {
            return Ok(x.clone());
        };
        let mask = dropout_mask(rng, x.dims(), p, x.device())?;
        if kernels::fused_available(x.device()) {
            return Ok(kernels::mask_mul_const(x, &mask)?);
        }
        Ok(x.mul(&mask)?)
    }
}

/// Low-rank adapter: `x · Aᵀ · Bᵀ · scale` added to a frozen linear layer.
#[derive(Clone)]
pub struct Lora {
    /// `[r, in]`.
    pub a: Tensor,
    /// `[out, r]`.
    pub b: Tensor,
    /// `alpha / r`.
    pub scale: f64,
}

/// `y = x Wᵀ + b`, plus a LoRA term when present.
#[derive(Clone)]
pub struct Linear {
    /// `[out, in]`, as transformers stores it.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Option<Tensor>,
    /// Optional adapter.
    pub lora: Option<Lora>,
}

impl Linear {
    /// Loads `<base>.weight` / `<base>.bias` (and LoRA matrices if the store has them).
    pub fn load(store: &ParamStore, n: &LinearNames, lora_scale: f64) -> Result<Self> {
        let (la, lb) = names::lora(n);
        let lora = match (store.get_opt(&la)?, store.get_opt(&lb)?) {
            (Some(a), Some(b)) => Some(Lora {
                a,
                b,
                scale: lora_scale,
            }),
            _ => None,
        };
        Ok(Self {
            weight: store.get(&n.weight())?,
            bias: store.get_opt(&n.bias())?,
            lora,
        })
    }

    /// Applies the layer to `[.., in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (true, Some(b)) = (kernels::fused_available(x.device()), &self.bias) {
            if b.dtype() == x.dtype() && self.weight.dtype() == x.dtype() {
                let y = kernels::linear(x, &self.weight, b)?;
                return Ok(match &self.lora {
                    Some(l) => {
                        let in_dim = x.dim(D::Minus1)?;
                        let x2 = x.reshape((x.elem_count() / in_dim.max(1), in_dim))?;
                        let low = x2.matmul(&l.a.t()?)?.matmul(&(l.b.t()? * l.scale)?)?;
                        {
                            let shape = y.shape().clone();
                            (y + low.reshape(shape)?)?
                        }
                    }
                    None => y,
                });
            }
        }
        let dims = x.dims().to_vec();
        let in_dim = *dims.last().unwrap_or(&0);
        let rows = x.elem_count() / in_dim.max(1);
        let x2 = x.reshape((rows, in_dim))?;
        let mut y = x2.matmul(&self.weight.t()?)?;
        if let Some(b) = &self.bias {
            y = y.broadcast_add(b)?;
        }
        if let Some(l) = &self.lora {
            let low = x2.matmul(&l.a.t()?)?.matmul(&l.b.t()?)?;
            y = (y + (low * l.scale)?)?;
        }
        let mut out_dims = dims;
        *out_dims.last_mut().unwrap_or(&mut 0) = self.weight.dim(0)?;
        Ok(y.reshape(out_dims)?)
    }

    /// The weight with the adapter folded in: `W + scale · B A`.
    pub fn merged_weight(&self) -> Result<Tensor> {
        Ok(match &self.lora {
            Some(l) => (&self.weight + (l.b.matmul(&l.a)? * l.scale)?)?,
            None => self.weight.clone(),
        })
    }
}

/// LayerNorm over the last dimension, written with differentiable ops.
#[derive(Clone)]
pub struct LayerNorm {
    /// γ.
    pub weight: Tensor,
    /// β.
    pub bias: Tensor,
    /// ε.
    pub eps: f64,
}

impl LayerNorm {
    /// Loads `<base>.weight` / `<base>.bias`.
    pub fn load(store: &ParamStore, n: &LinearNames, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: store.get(&n.weight())?,
            bias: store.get(&n.bias())?,
            eps,
        })
    }

    /// Normalises `x` and applies γ, β: one fused pass (forward and backward) on the CPU,
    /// differentiable composite ops elsewhere.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if kernels::fused_available(x.device()) && self.weight.dtype() == x.dtype() {
            return Ok(kernels::layer_norm(x, &self.weight, &self.bias, self.eps)?);
        }
        let normed = normalize(x, self.eps)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

/// `(x − mean) / sqrt(var + eps)` over the last dimension, without γ and β.
pub fn normalize(x: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(centered.broadcast_div(&(var + eps)?.sqrt()?)?)
}

/// Applies an activation.
pub fn activate(x: &Tensor, act: Activation) -> Result<Tensor> {
    Ok(match act {
        Activation::GeluErf if kernels::fused_available(x.device()) => kernels::gelu_erf(x)?,
        Activation::GeluErf => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
        Activation::Tanh => x.tanh()?,
    })
}

/// Mean of `hidden [b, s, h]` over the positions where `mask [b, s]` is 1.
pub fn masked_mean(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    Ok(sum.broadcast_div(&count)?)
}

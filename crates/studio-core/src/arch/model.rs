//! The encoder and its classification head.

use super::kernels;
pub use super::layers::ForwardCtx;
use super::layers::{activate, masked_mean, normalize, LayerNorm, Linear};
use super::names;
use super::{Activation, EncoderConfig, Family, ParamStore};
use crate::Result;
use candle_core::{DType, Tensor, D};

/// How a text's vector is taken from the encoder's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The first token through the family's head (transformers' own classifier head).
    Cls,
    /// The mean over real tokens, normalised, then a linear classifier. What
    /// sentence-transformers models were trained for; exported through an extra layer
    /// that computes this mean at position 0 (see `export`).
    Mean,
}

struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    norm: LayerNorm,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: LayerNorm,
}

enum Head {
    /// dense → activation → out, with the family's dropout placement.
    Family {
        dense: Linear,
        act: Activation,
        out: Linear,
        dropout_before_dense: bool,
    },
    /// One linear layer on normalised mean-pooled features.
    Mean { out: Linear },
}

/// A transformer encoder with a sequence-classification head.
pub struct Classifier {
    cfg: EncoderConfig,
    pooling: Pooling,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    head: Head,
}

impl Classifier {
    /// Builds the model from `store`, which must hold every weight (use
    /// [`Classifier::add_missing_head`] first for a fresh head).
    pub fn load(
        store: &ParamStore,
        cfg: &EncoderConfig,
        pooling: Pooling,
        lora_scale: f64,
    ) -> Result<Self> {
        let f = cfg.family;
        let eps = cfg.layer_norm_eps;
        let embeddings = Embeddings {
            word: store.get(&names::word_embeddings(f))?,
            position: store.get(&names::position_embeddings(f))?,
            token_type: match names::token_type_embeddings(f) {
                Some(n) => store.get_opt(&n)?,
                None => None,
            },
            norm: LayerNorm::load(store, &names::embeddings_norm(f), eps)?,
        };
        let layers = (0..cfg.layers)
            .map(|i| {
                let n = names::layer(f, i);
                Ok(Layer {
                    query: Linear::load(store, &n.query, lora_scale)?,
                    key: Linear::load(store, &n.key, lora_scale)?,
                    value: Linear::load(store, &n.value, lora_scale)?,
                    attn_out: Linear::load(store, &n.attn_out, lora_scale)?,
                    attn_norm: LayerNorm::load(store, &n.attn_norm, eps)?,
                    ffn_in: Linear::load(store, &n.ffn_in, lora_scale)?,
                    ffn_out: Linear::load(store, &n.ffn_out, lora_scale)?,
                    ffn_norm: LayerNorm::load(store, &n.ffn_norm, eps)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let head = match pooling {
            Pooling::Cls => Head::Family {
                dense: Linear::load(store, &names::head_dense(f), 1.0)?,
                // BERT's pooler and XLM-R's classifier.dense use tanh; DistilBERT's
                // pre-classifier ReLU.
                act: if f == Family::DistilBert {
                    Activation::Relu
                } else {
                    Activation::Tanh
                },
                out: Linear::load(store, &names::head_out(f), 1.0)?,
                dropout_before_dense: f == Family::XlmRoberta,
            },
            Pooling::Mean => Head::Mean {
                out: Linear::load(store, &names::mean_head(), 1.0)?,
            },
        };
        Ok(Self {
            cfg: cfg.clone(),
            pooling,
            embeddings,
            layers,
            head,
        })
    }

    /// Adds a new, seeded head for `n_labels` classes to `store` where it has none (and
    /// BERT's pooler where the checkpoint lacks it). Returns the names added.
    pub fn add_missing_head(
        store: &mut ParamStore,
        cfg: &EncoderConfig,
        pooling: Pooling,
        n_labels: usize,
        seed: u64,
    ) -> Result<Vec<String>> {
        let h = cfg.hidden;
        let std = cfg.initializer_range;
        let mut added = Vec::new();
        let mut add = |store: &mut ParamStore, n: names::LinearNames, out: usize| -> Result<()> {
            if !store.contains(&n.weight()) {
                store.insert_normal(&n.weight(), &[out, h], std, seed, true)?;
                store.insert_zeros(&n.bias(), &[out], true)?;
                added.push(n.base.clone());
            }
            Ok(())
        };
        match pooling {
            Pooling::Cls => {
                add(store, names::head_dense(cfg.family), h)?;
                add(store, names::head_out(cfg.family), n_labels)?;
            }
            Pooling::Mean => add(store, names::mean_head(), n_labels)?,
        }
        Ok(added)
    }

    /// The configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// The pooling.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Runs the encoder: `ids [b, s]` (u32), `mask [b, s]` (1 = real token) → `[b, s, h]`.
    pub fn encode(&self, ids: &Tensor, mask: &Tensor, ctx: &ForwardCtx) -> Result<Tensor> {
        let (b, s) = ids.dims2()?;
        let h = self.cfg.hidden;
        let dev = ids.device();
        let e = &self.embeddings;
        let mut x = e
            .word
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, s, h))?;
        let off = self.cfg.position_offset as u32;
        let pos_ids = Tensor::arange(off, off + s as u32, dev)?;
        x = x.broadcast_add(&e.position.index_select(&pos_ids, 0)?.unsqueeze(0)?)?;
        if let Some(tt) = &e.token_type {
            x = x.broadcast_add(&tt.narrow(0, 0, 1)?.unsqueeze(0)?)?;
        }
        x = ctx.dropout(&e.norm.forward(&x)?, self.cfg.hidden_dropout)?;
        // Additive mask: 0 where attended, a large negative number on padding.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, s))?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &bias, ctx)?;
        }
        Ok(x)
    }

    fn layer_forward(
        &self,
        l: &Layer,
        x: &Tensor,
        bias: &Tensor,
        ctx: &ForwardCtx,
    ) -> Result<Tensor> {
        let (b, s, h) = x.dims3()?;
        let nh = self.cfg.heads;
        let hd = h / nh;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, s, nh, hd))?.transpose(1, 2)?.contiguous()?)
        };
        let scale = 1.0 / (hd as f64).sqrt();
        let fused = kernels::fused_available(x.device());
        let probs = if fused {
            // Scale, key mask and softmax in one pass (and one in the backward).
            let q = split(l.query.forward(x)?)?;
            let k = split(l.key.forward(x)?)?;
            let scores = q.matmul(&k.t()?)?;
            kernels::masked_softmax(&scores, &bias.reshape((b, s))?, scale)?
        } else {
            let q = split((l.query.forward(x)? * scale)?)?;
            let k = split(l.key.forward(x)?)?;
            let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
            candle_nn::ops::softmax(&scores, D::Minus1)?
        };
        let v = split(l.value.forward(x)?)?;
        let probs = ctx.dropout(&probs, self.cfg.attention_dropout)?;
        let attn = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, s, h))?;
        let attn = ctx.dropout(&l.attn_out.forward(&attn)?, self.cfg.hidden_dropout)?;
        let x1 = l.attn_norm.forward(&(attn + x)?)?;
        let ff = activate(&l.ffn_in.forward(&x1)?, self.cfg.activation)?;
        let ff = ctx.dropout(&l.ffn_out.forward(&ff)?, self.cfg.hidden_dropout)?;
        l.ffn_norm.forward(&(ff + x1)?)
    }

    /// The vector the head reads: the first token for `Cls`, the normalised masked mean
    /// for `Mean`. `[b, h]`.
    pub fn pool(&self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match self.pooling {
            Pooling::Cls => Ok(hidden.narrow(1, 0, 1)?.squeeze(1)?),
            Pooling::Mean => normalize(&masked_mean(hidden, mask)?, self.cfg.layer_norm_eps),
        }
    }

    /// Logits from pooled features `[b, h]` → `[b, n_labels]`.
    pub fn head(&self, features: &Tensor, ctx: &ForwardCtx) -> Result<Tensor> {
        let p = self.cfg.classifier_dropout;
        match &self.head {
            Head::Mean { out } => out.forward(&ctx.dropout(features, p)?),
            Head::Family {
                dense,
                act,
                out,
                dropout_before_dense,
            } => {
                let x = if *dropout_before_dense {
                    ctx.dropout(features, p)?
                } else {
                    features.clone()
                };
                let x = activate(&dense.forward(&x)?, *act)?;
                out.forward(&ctx.dropout(&x, p)?)
            }
        }
    }

    /// Ids and mask to logits.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, ctx: &ForwardCtx) -> Result<Tensor> {
        let hidden = self.encode(ids, mask, ctx)?;
        self.head(&self.pool(&hidden, mask)?, ctx)
    }

    /// Linear layers by weight name, for merging LoRA into the export.
    pub fn linear_layers(&self) -> Vec<(String, &Linear)> {
        let f = self.cfg.family;
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let n = names::layer(f, i);
            out.push((n.query.weight(), &l.query));
            out.push((n.key.weight(), &l.key));
            out.push((n.value.weight(), &l.value));
            out.push((n.attn_out.weight(), &l.attn_out));
        }
        out
    }
}

//! Few-shot training, the SetFit recipe (arXiv 2209.11055): first fine-tune the encoder
//! contrastively on pairs of labelled texts (same label: cosine pulled towards 1;
//! different labels: towards 0), then train the head on the tuned encoder's vectors.
//!
//! Pairs are drawn per example, `iterations` rounds of one positive and one negative
//! partner each, so their number grows linearly with the data (SetFit's default of 20
//! rounds), capped at `max_pairs`.

use super::{optim, Plan};
use crate::arch::layers::masked_mean;
use crate::arch::params::MaskRng;
use crate::arch::{Classifier, ForwardCtx};
use crate::models::TextTokenizer;
use crate::progress::{CancelToken, Event, Observer, StepInfo};
use crate::{Result, StudioError};
use candle_core::{Device, Tensor, Var, D};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use std::collections::HashMap;
use std::time::Instant;

/// One training pair: two example indices and the target cosine (1 same label, 0 not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// First example.
    pub a: usize,
    /// Second example.
    pub b: usize,
    /// Target cosine similarity.
    pub target: f32,
}

/// Draws SetFit-style pairs among `indices`: for each round and each example, one partner
/// with the same label (if its class has another example) and one with a different label.
/// At most `max_pairs`, shuffled.
pub fn sample_pairs<R: Rng>(
    labels: &[usize],
    indices: &[usize],
    iterations: usize,
    max_pairs: usize,
    rng: &mut R,
) -> Vec<Pair> {
    let mut by_class: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in indices {
        by_class.entry(labels[i]).or_default().push(i);
    }
    let others: Vec<usize> = indices.to_vec();
    let mut pairs = Vec::with_capacity(2 * iterations * indices.len());
    for _ in 0..iterations {
        for &i in indices {
            let same = &by_class[&labels[i]];
            if same.len() > 1 {
                let mut j = i;
                while j == i {
                    j = *same.choose(rng).unwrap_or(&i);
                }
                pairs.push(Pair {
                    a: i,
                    b: j,
                    target: 1.0,
                });
            }
            if by_class.len() > 1 {
                // Rejection sampling: cheap while no single class dominates.
                for _ in 0..64 {
                    let j = *others.choose(rng).unwrap_or(&i);
                    if labels[j] != labels[i] {
                        pairs.push(Pair {
                            a: i,
                            b: j,
                            target: 0.0,
                        });
                        break;
                    }
                }
            }
        }
    }
    pairs.shuffle(rng);
    pairs.truncate(max_pairs);
    pairs
}

/// Everything the contrastive phase needs.
pub(crate) struct Contrastive<'a> {
    pub model: &'a Classifier,
    pub body_vars: Vec<(String, Var)>,
    pub tokenizer: &'a TextTokenizer,
    pub seqs: &'a [Vec<u32>],
    pub labels: &'a [usize],
    pub train: &'a [usize],
    pub plan: &'a Plan,
    pub device: &'a Device,
}

/// Runs the contrastive phase; returns the loss of every step.
pub(crate) fn train_body<R: Rng>(
    c: Contrastive<'_>,
    shuffle: &mut R,
    mask_rng: &mut MaskRng,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Vec<f32>> {
    let pairs = sample_pairs(
        c.labels,
        c.train,
        c.plan.pair_iterations,
        c.plan.max_pairs,
        shuffle,
    );
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let vars: Vec<Var> = c.body_vars.iter().map(|(_, v)| v.clone()).collect();
    let mut opt = optim::AdamW::new(c.body_vars, c.plan.weight_decay)?;
    let bs = c.plan.batch_size.max(2);
    let total = pairs.len().div_ceil(bs);
    let warmup = (total as f64 * c.plan.warmup_ratio).round() as usize;
    observer.on_event(&Event::Phase {
        name: "contrastive".into(),
        total: Some(total as u64),
    });
    let started = Instant::now();
    let mut losses = Vec::with_capacity(total);
    for (step, chunk) in pairs.chunks(bs).enumerate() {
        cancel.check()?;
        // Encode each distinct text of the chunk once, shortest-padding order.
        let mut uniq: Vec<usize> = chunk.iter().flat_map(|p| [p.a, p.b]).collect();
        uniq.sort_unstable();
        uniq.dedup();
        let pos: HashMap<usize, u32> = uniq
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, k as u32))
            .collect();
        let refs: Vec<&[u32]> = uniq.iter().map(|&i| c.seqs[i].as_slice()).collect();
        let b = c.tokenizer.batch(&refs, c.device)?;
        let ctx = ForwardCtx::train(mask_rng.clone());
        let hidden = c.model.encode(&b.ids, &b.mask, &ctx)?;
        if let Some(r) = ctx.into_rng() {
            *mask_rng = r;
        }
        let emb = masked_mean(&hidden, &b.mask)?;
        let pick = |f: fn(&Pair) -> usize| -> Result<Tensor> {
            let idx: Vec<u32> = chunk.iter().map(|p| pos[&f(p)]).collect();
            Ok(emb.index_select(&Tensor::from_vec(idx, chunk.len(), c.device)?, 0)?)
        };
        let (u, v) = (pick(|p| p.a)?, pick(|p| p.b)?);
        let cos = (u.mul(&v)?.sum(D::Minus1)?
            / (u.sqr()?.sum(D::Minus1)?.sqrt()? * v.sqr()?.sum(D::Minus1)?.sqrt()?)?
                .clamp(1e-8, f64::MAX)?)?;
        let target = Tensor::from_vec(
            chunk.iter().map(|p| p.target).collect::<Vec<_>>(),
            chunk.len(),
            c.device,
        )?;
        let loss = (cos - target)?.sqr()?.mean_all()?;
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            return Err(StudioError::Diverged {
                value: value.to_string(),
                step: step + 1,
                suggestion: c.plan.body_lr / 10.0,
            });
        }
        let mut grads = loss.backward()?;
        if c.plan.max_grad_norm > 0.0 {
            optim::clip_grad_norm(&mut grads, &vars, c.plan.max_grad_norm)?;
        }
        let lr = optim::linear_schedule(step, warmup, total, c.plan.body_lr);
        opt.step(&grads, lr)?;
        losses.push(value);
        let elapsed = started.elapsed().as_secs_f64();
        observer.on_event(&Event::Step(StepInfo {
            step: step + 1,
            total_steps: total,
            epoch: 0,
            loss: value,
            lr,
            eta_secs: elapsed / (step + 1) as f64 * (total - step - 1) as f64,
            elapsed_secs: elapsed,
        }));
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn pairs_are_linear_balanced_and_correctly_labelled() {
        let labels: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let idx: Vec<usize> = (0..60).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let pairs = sample_pairs(&labels, &idx, 5, usize::MAX, &mut rng);
        assert_eq!(pairs.len(), 2 * 5 * 60);
        for p in &pairs {
            assert_ne!(p.a, p.b);
            assert_eq!(p.target == 1.0, labels[p.a] == labels[p.b]);
        }
        let pos = pairs.iter().filter(|p| p.target == 1.0).count();
        assert_eq!(pos, 5 * 60);
        // Twice the data, twice the pairs.
        let labels2: Vec<usize> = (0..120).map(|i| i % 3).collect();
        let idx2: Vec<usize> = (0..120).collect();
        assert_eq!(
            sample_pairs(&labels2, &idx2, 5, usize::MAX, &mut rng).len(),
            2 * pairs.len()
        );
        // The cap holds; a singleton class gets no positive pair.
        assert_eq!(sample_pairs(&labels, &idx, 5, 100, &mut rng).len(), 100);
        let p = sample_pairs(&[0, 1, 1], &[0, 1, 2], 1, usize::MAX, &mut rng);
        assert!(p.iter().all(|x| !(x.a == 0 && x.target == 1.0)));
    }
}

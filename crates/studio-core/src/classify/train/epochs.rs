//! The epoch loop of full, LoRA and (without the probe) head training: AdamW steps over
//! length-bucketed batches, validation after every epoch, and early stopping that keeps
//! the weights of the best validation macro-F1.
//!
//! Why its own module: [`super::train`] prepares the weights, features and optimiser for
//! every mode; only this part loops, and it is where a step's cost lives.

use super::{batches, cross_entropy, optim, score, Fitted, Plan};
use crate::arch::params::MaskRng;
use crate::arch::{Classifier, ForwardCtx, ParamStore};
use crate::classify::eval::Metrics;
use crate::classify::infer::logits_for;
use crate::data::{LabeledData, Split};
use crate::models::TextTokenizer;
use crate::progress::{CancelToken, EpochInfo, Event, NoteCode, Observer, StepInfo};
use crate::{Result, StudioError};
use candle_core::{Device, Tensor, Var};
use rand::rngs::StdRng;
use std::time::Instant;

/// Everything the loop reads, prepared by [`super::train`].
pub(super) struct EpochLoop<'a> {
    /// The classifier over `store`'s weights (frozen ones detached).
    pub model: &'a Classifier,
    /// The weights; the best epoch's trainable ones are restored into it at the end.
    pub store: &'a ParamStore,
    /// The trainable weights, for gradient clipping.
    pub vars: &'a [Var],
    /// The optimiser over the trainable weights.
    pub opt: &'a mut optim::AdamW,
    /// The tokenizer, for batches of `seqs`.
    pub tokenizer: &'a TextTokenizer,
    /// Token ids of every text.
    pub seqs: &'a [Vec<u32>],
    /// Token counts of every text, for length bucketing.
    pub lengths: &'a [usize],
    /// Head mode: every text's pooled features, computed once; the encoder is skipped.
    pub features: Option<&'a Tensor>,
    /// The labelled texts.
    pub data: &'a LabeledData,
    /// Train and validation indices into `data`.
    pub split: &'a Split,
    /// The settings.
    pub plan: &'a Plan,
    /// Per-class loss weights, when the plan balances classes.
    pub class_weights: Option<&'a Tensor>,
    /// L2 coefficient and the head weights it applies to.
    pub l2: Option<&'a (f64, Vec<Tensor>)>,
    /// Where the tensors live.
    pub device: &'a Device,
}

/// Runs the epochs and leaves the best epoch's weights in the store.
pub(super) fn run(
    l: EpochLoop<'_>,
    shuffle_rng: &mut StdRng,
    mask_rng: &mut MaskRng,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Fitted> {
    let EpochLoop {
        model,
        store,
        vars,
        opt,
        tokenizer,
        seqs,
        lengths,
        features,
        data,
        split,
        plan,
        class_weights,
        l2,
        device,
    } = l;
    let steps_per_epoch = split.train.len().div_ceil(plan.batch_size);
    let total_steps = steps_per_epoch * plan.epochs;
    let warmup = (total_steps as f64 * plan.warmup_ratio).round() as usize;
    let val_truth: Vec<usize> = split.validation.iter().map(|&i| data.labels[i]).collect();

    observer.on_event(&Event::Phase {
        name: "train".into(),
        total: Some(total_steps as u64),
    });
    let train_started = Instant::now();
    let mut step = 0usize;
    let mut history = Vec::new();
    let mut step_losses = Vec::new();
    let mut best: Option<Best> = None;
    let mut since_best = 0;
    let mut overfit_told = false;
    for epoch in 1..=plan.epochs {
        let mut epoch_loss = 0f64;
        let mut epoch_batches = 0usize;
        for batch in batches::bucketed(&split.train, lengths, plan.batch_size, shuffle_rng) {
            cancel.check()?;
            let lr = optim::linear_schedule(step, warmup, total_steps, plan.lr);
            let targets = Tensor::from_vec(
                batch
                    .iter()
                    .map(|&i| data.labels[i] as u32)
                    .collect::<Vec<_>>(),
                batch.len(),
                device,
            )?;
            let ctx = ForwardCtx::train(mask_rng.clone());
            let logits = match features {
                Some(f) => {
                    let rows = Tensor::from_vec(
                        batch.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                        batch.len(),
                        device,
                    )?;
                    model.head(&f.index_select(&rows, 0)?, &ctx)?
                }
                None => {
                    let refs: Vec<&[u32]> = batch.iter().map(|&i| seqs[i].as_slice()).collect();
                    let b = tokenizer.batch(&refs, device)?;
                    model.forward(&b.ids, &b.mask, &ctx)?
                }
            };
            if let Some(r) = ctx.into_rng() {
                *mask_rng = r;
            }
            let mut loss = cross_entropy(&logits, &targets, class_weights)?;
            if let Some((coef, weights)) = l2 {
                // Logistic-regression-style L2 on the head: as sklearn's C on unit-length
                // features, scaled to our features' length (√hidden) and data size.
                let mut pen = Tensor::zeros((), candle_core::DType::F32, device)?;
                for w in weights {
                    pen = (pen + w.sqr()?.sum_all()?)?;
                }
                loss = (loss + (pen * (0.5 * coef))?)?;
            }
            let loss_value = loss.to_scalar::<f32>()?;
            step += 1;
            if !loss_value.is_finite() {
                return Err(StudioError::Diverged {
                    value: format!("{loss_value}"),
                    step,
                    suggestion: plan.lr / 10.0,
                });
            }
            let mut grads = loss.backward()?;
            if plan.max_grad_norm > 0.0 {
                optim::clip_grad_norm(&mut grads, vars, plan.max_grad_norm)?;
            }
            opt.step(&grads, lr)?;
            epoch_loss += loss_value as f64;
            epoch_batches += 1;
            step_losses.push(loss_value);
            let elapsed = train_started.elapsed().as_secs_f64();
            observer.on_event(&Event::Step(StepInfo {
                step,
                total_steps,
                epoch,
                loss: loss_value,
                lr,
                eta_secs: elapsed / step as f64 * (total_steps - step) as f64,
                elapsed_secs: elapsed,
            }));
        }
        // Validate.
        let val_logits = match features {
            Some(f) => {
                let rows = Tensor::from_vec(
                    split
                        .validation
                        .iter()
                        .map(|&i| i as u32)
                        .collect::<Vec<_>>(),
                    split.validation.len(),
                    device,
                )?;
                model
                    .head(&f.index_select(&rows, 0)?, &ForwardCtx::eval())?
                    .detach()
                    .to_vec2::<f32>()?
            }
            None => {
                let val_seqs: Vec<Vec<u32>> =
                    split.validation.iter().map(|&i| seqs[i].clone()).collect();
                logits_for(model, tokenizer, &val_seqs, device, 64, cancel)?
            }
        };
        let (metrics, val_loss) = score(&val_logits, &val_truth, &data.label_names);
        let better = match &best {
            None => true,
            Some(b) => {
                metrics.macro_f1 > b.macro_f1 + 1e-9
                    || (metrics.macro_f1 >= b.macro_f1 - 1e-9 && val_loss < b.val_loss)
            }
        };
        if better {
            best = Some(Best {
                macro_f1: metrics.macro_f1,
                val_loss,
                weights: store.snapshot_trainable()?,
                metrics: metrics.clone(),
            });
            since_best = 0;
        } else {
            since_best += 1;
        }
        let info = EpochInfo {
            epoch,
            epochs: plan.epochs,
            train_loss: (epoch_loss / epoch_batches.max(1) as f64) as f32,
            val_loss,
            val_accuracy: metrics.accuracy,
            val_macro_f1: metrics.macro_f1,
            best: better,
        };
        observer.on_event(&Event::Epoch(info.clone()));
        history.push(info);
        if !overfit_told {
            if let Some(o) = crate::progress::Overfitting::detect(&history) {
                observer.on_event(&Event::Overfitting(o));
                overfit_told = true;
            }
        }
        if since_best >= plan.patience {
            observer.on_event(&Event::note(
                NoteCode::StoppedEarly,
                format!(
                    "stopping early after epoch {epoch}: validation macro-F1 has not improved for {} epochs",
                    plan.patience
                ),
                vec![
                    ("epoch", epoch.to_string()),
                    ("patience", plan.patience.to_string()),
                ],
            ));
            break;
        }
    }
    let Best {
        weights: snapshot,
        metrics: validation,
        ..
    } = best.ok_or_else(|| StudioError::TooFewExamples {
        what: "no epoch finished".into(),
    })?;
    store.restore(&snapshot)?;
    Ok(Fitted {
        history,
        step_losses,
        validation,
    })
}

/// The best epoch so far: its scores and a copy of its trainable weights.
struct Best {
    macro_f1: f64,
    val_loss: f32,
    weights: Vec<(String, Tensor)>,
    metrics: Metrics,
}

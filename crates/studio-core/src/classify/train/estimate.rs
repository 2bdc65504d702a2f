//! How long a run will take, measured before it starts.
//!
//! Why measured rather than looked up: a fixed "texts per second" per model is off by
//! several times between a laptop and a server, and between ten-word and hundred-word
//! texts. So [`estimate`] plans the run exactly as [`super::train`] will (same split, same
//! mode choice), times the encoder's forward pass on a sample of the user's own texts on
//! the device training will use, and scales that by what each mode does per text.

use super::{split_and_plan, Mode, Plan, SplitPlan, Target, TrainOptions};
use crate::arch::{Classifier, ParamStore};
use crate::classify::infer::features_for;
use crate::data::LabeledData;
use crate::models::ModelFolder;
use crate::progress::CancelToken;
use crate::Result;
use serde::Serialize;
use std::time::Instant;

/// Texts timed for the estimate: enough to average over lengths, few enough to take
/// about a second with a small model on a CPU.
const SAMPLE_TEXTS: usize = 48;

/// Cost of one training step per text, in forward passes of that text (forward with
/// dropout, backward through every layer, the optimizer). Calibrated with this repo's CPU
/// kernels and all-MiniLM-L6-v2 on the 128 movie sentences of `train_64.csv`, 3 epochs:
/// with 3.5 the estimate said 16 s for a full run that took 18.8 s, and 4 min 31 s for a
/// few-shot run that took 5 min 13 s; 4.0 closes both gaps.
const FULL_STEP_FORWARDS: f64 = 4.0;
/// LoRA skips the weight gradients of the frozen matrices: `scripts/bench` measures a
/// LoRA step at 0.6 of a full step.
const LORA_STEP_FORWARDS: f64 = 2.4;
/// Fitting the probe head on cached vectors: about a second whatever the model.
const PROBE_FIT_SECS: f64 = 1.0;

/// What a run will do and roughly how long it will take.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// The settings the run will use (mode, epochs, and why).
    pub plan: Plan,
    /// Texts it will train on.
    pub train_texts: usize,
    /// Texts it will hold out for validation.
    pub validation_texts: usize,
    /// Measured seconds of one forward pass per text on this device.
    pub forward_secs_per_text: f64,
    /// Seconds to load the model, measured.
    pub load_secs: f64,
    /// Seconds for the whole run if it uses every epoch (early stopping may end sooner).
    pub seconds: f64,
}

/// What one measurement of the model on this device found; depends on the model, the
/// device, the texts, and the plan's `max_len` and `batch_size` only, so a caller may
/// keep it and pass it to [`estimate_with`] while those stay the same.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speed {
    /// Seconds of one forward pass per text.
    pub forward_secs_per_text: f64,
    /// Seconds to load the model.
    pub load_secs: f64,
}

/// Plans a run of `base` on `data` and measures how long it will take on `target`.
pub fn estimate(
    base: &ModelFolder,
    data: &LabeledData,
    opts: &TrainOptions,
    target: Target<'_>,
    cancel: &CancelToken,
) -> Result<Estimate> {
    estimate_with(base, data, opts, target.kind, |plan| {
        measure_speed(base, data, plan, target, cancel)
    })
}

/// Plans a run like [`estimate`], taking the speed from `speed` (a measurement, or one
/// kept from an earlier call with the same `max_len` and `batch_size`).
pub fn estimate_with(
    base: &ModelFolder,
    data: &LabeledData,
    opts: &TrainOptions,
    device_kind: &str,
    speed: impl FnOnce(&Plan) -> Result<Speed>,
) -> Result<Estimate> {
    let SplitPlan { split, plan, .. } = split_and_plan(base, data, opts, device_kind)?;
    let Speed {
        forward_secs_per_text,
        load_secs,
    } = speed(&plan)?;
    let seconds = load_secs
        + run_seconds(
            &plan,
            split.train.len(),
            split.validation.len(),
            forward_secs_per_text,
        );
    Ok(Estimate {
        train_texts: split.train.len(),
        validation_texts: split.validation.len(),
        forward_secs_per_text,
        load_secs,
        seconds,
        plan,
    })
}

/// Loads `base` on `target` and times its forward pass on up to 48 of `data`'s texts,
/// truncated and batched as `plan` says.
pub fn measure_speed(
    base: &ModelFolder,
    data: &LabeledData,
    plan: &Plan,
    target: Target<'_>,
    cancel: &CancelToken,
) -> Result<Speed> {
    let loaded = Instant::now();
    let mut store = ParamStore::from_tensors(base.load_tensors(target.device)?, target.device)?;
    Classifier::add_missing_head(
        &mut store,
        &base.config,
        plan.pooling,
        data.label_names.len(),
        plan.seed,
    )?;
    let model = Classifier::load(&store, &base.config, plan.pooling, 1.0)?;
    let load_secs = loaded.elapsed().as_secs_f64();

    let tokenizer = base.tokenizer(plan.max_len)?;
    let sample: Vec<String> = spread_sample(data.len(), SAMPLE_TEXTS)
        .into_iter()
        .map(|i| data.texts[i].clone())
        .collect();
    let seqs = tokenizer.encode_all(&sample)?;
    let batch = plan.batch_size.min(seqs.len()).max(1);
    // The first pass pays for allocation and lazy initialisation; time the second.
    features_for(
        &model,
        &tokenizer,
        &seqs[..batch],
        target.device,
        batch,
        cancel,
        |_| {},
    )?;
    let timed = Instant::now();
    features_for(
        &model,
        &tokenizer,
        &seqs,
        target.device,
        batch,
        cancel,
        |_| {},
    )?;
    Ok(Speed {
        forward_secs_per_text: timed.elapsed().as_secs_f64() / seqs.len().max(1) as f64,
        load_secs,
    })
}

/// Seconds a run of `plan` takes with `n_train` training and `n_validation` validation
/// texts, when one forward pass costs `forward` seconds per text, if every epoch runs.
pub fn run_seconds(plan: &Plan, n_train: usize, n_validation: usize, forward: f64) -> f64 {
    let (n_train, n_val) = (n_train as f64, n_validation as f64);
    let embed_all = (n_train + n_val) * forward;
    match plan.mode {
        Mode::Head => embed_all + PROBE_FIT_SECS,
        Mode::Fewshot => {
            let pairs = (2.0 * plan.pair_iterations as f64 * n_train).min(plan.max_pairs as f64);
            pairs * 2.0 * forward * FULL_STEP_FORWARDS + embed_all + PROBE_FIT_SECS
        }
        Mode::Full | Mode::Lora => {
            let per_step = if plan.mode == Mode::Full {
                FULL_STEP_FORWARDS
            } else {
                LORA_STEP_FORWARDS
            };
            plan.epochs as f64 * (n_train * forward * per_step + n_val * forward)
        }
    }
}

/// Up to `k` indices spread evenly over `0..n` (files are often sorted by label or
/// length, so the first `k` rows would be a biased sample).
fn spread_sample(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|i| i * n / k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Pooling;
    use crate::classify::train::make_plan;

    fn plan(mode: Mode, epochs: usize) -> Plan {
        let opts = TrainOptions {
            mode: Some(mode),
            epochs: Some(epochs),
            ..TrainOptions::default()
        };
        make_plan(&opts, Pooling::Mean, 100, 50, "cpu").unwrap()
    }

    #[test]
    fn full_costs_more_than_lora_and_head() {
        let f = 0.01;
        let full = run_seconds(&plan(Mode::Full, 3), 100, 20, f);
        let lora = run_seconds(&plan(Mode::Lora, 3), 100, 20, f);
        let head = run_seconds(&plan(Mode::Head, 3), 100, 20, f);
        assert!(full > lora && lora > head, "{full} {lora} {head}");
        // 3 epochs × (100 × 4 + 20) forwards of 10 ms.
        assert!((full - 3.0 * (400.0 + 20.0) * f).abs() < 1e-9);
        // Head: every text once, plus the probe fit.
        assert!((head - (120.0 * f + PROBE_FIT_SECS)).abs() < 1e-9);
    }

    #[test]
    fn fewshot_cost_stops_growing_at_the_pair_cap() {
        let p = plan(Mode::Fewshot, 1);
        let small = run_seconds(&p, 10, 0, 0.01);
        let capped_a = run_seconds(&p, 10_000, 0, 0.01) - 10_000.0 * 0.01;
        let capped_b = run_seconds(&p, 20_000, 0, 0.01) - 20_000.0 * 0.01;
        assert!(small < capped_a);
        assert!((capped_a - capped_b).abs() < 1e-9);
    }

    #[test]
    fn spread_sample_covers_the_whole_file() {
        assert_eq!(spread_sample(3, 5), vec![0, 1, 2]);
        let s = spread_sample(1000, 4);
        assert_eq!(s, vec![0, 250, 500, 750]);
    }
}

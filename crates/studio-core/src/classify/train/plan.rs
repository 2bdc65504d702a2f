//! Turning a preset and the user's overrides into concrete settings.

use crate::arch::Pooling;
use crate::{Result, StudioError};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every weight.
    Full,
    /// Low-rank adapters on the attention projections, plus the head.
    Lora,
    /// The head only, on frozen features computed once.
    Head,
    /// Contrastive fine-tuning of the encoder on pairs of labelled texts, then the head
    /// (the SetFit recipe): the most from few labels.
    Fewshot,
}

impl std::fmt::Display for Mode {
    /// The mode's name as the CLI takes it and the run records store it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Lora => "lora",
            Self::Head => "head",
            Self::Fewshot => "fewshot",
        })
    }
}

impl FromStr for Mode {
    type Err = StudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "lora" => Ok(Self::Lora),
            "head" => Ok(Self::Head),
            "fewshot" | "few-shot" | "setfit" => Ok(Self::Fewshot),
            _ => Err(StudioError::InvalidSetting(format!(
                "unknown mode \"{s}\"; use full, lora, head or fewshot"
            ))),
        }
    }
}

/// One-word choice of how much time to spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Seconds to a minute: a classifier on frozen features. The default of both faces:
    /// a first real model while the user waits at the screen.
    #[default]
    Quick,
    /// Fine-tunes the whole model for a few epochs.
    Balanced,
    /// More epochs, longer inputs, more patience.
    Best,
}

impl FromStr for Preset {
    type Err = StudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "quick" => Ok(Self::Quick),
            "balanced" => Ok(Self::Balanced),
            "best" => Ok(Self::Best),
            _ => Err(StudioError::InvalidSetting(format!(
                "unknown preset \"{s}\"; use quick, balanced or best"
            ))),
        }
    }
}

/// Why a run uses the mode it uses, for a front end to put in the user's language (the
/// plan's `why` is the English sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// The user chose the mode.
    #[default]
    Asked,
    /// The rarest label has at most [`FEW_LABELS`] examples: few-shot training.
    FewLabels,
    /// The quick preset: the head on frozen features.
    Quick,
    /// The balanced preset: a full fine-tune.
    Balanced,
    /// The best preset: a longer full fine-tune.
    Best,
}

/// At or below this many examples of the rarest label, the balanced and best presets
/// choose few-shot training.
pub const FEW_LABELS: usize = 64;

/// What the user asked for; `None` means "let the preset choose".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Preset.
    pub preset: Preset,
    /// Training mode.
    pub mode: Option<Mode>,
    /// Passes over the training data (an upper bound with early stopping).
    pub epochs: Option<usize>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// Examples per step.
    pub batch_size: Option<usize>,
    /// Longest input in tokens.
    pub max_len: Option<usize>,
    /// Pooling; default: the model's own (mean for sentence-transformers models).
    pub pooling: Option<Pooling>,
    /// Epochs without a better validation macro-F1 before stopping.
    pub patience: Option<usize>,
    /// Seed for the split, shuffling, dropout and new weights.
    pub seed: u64,
    /// Share of the labelled data held out for validation.
    pub val_fraction: f64,
    /// Weigh the loss by inverse class frequency (for imbalanced data).
    pub class_weights: bool,
    /// LoRA rank.
    pub lora_rank: usize,
    /// LoRA alpha (scale = alpha / rank).
    pub lora_alpha: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of steps spent warming the learning rate up.
    pub warmup_ratio: f64,
    /// Gradient norm clip.
    pub max_grad_norm: f64,
    /// Head mode: L2 penalty strength on the head's weights, as `1/C` of a logistic
    /// regression on unit-length features (`None`: 1.0).
    pub head_l2: Option<f64>,
    /// Few-shot mode: learning rate of the contrastive phase.
    pub body_lr: Option<f64>,
    /// Few-shot mode: rounds of pair sampling (pairs ≈ 2 × rounds × examples).
    pub pair_iterations: usize,
    /// Few-shot mode: at most this many pairs.
    pub max_pairs: usize,
    /// Head and few-shot modes with mean pooling: how strongly the label names pull the
    /// classifier (see [`crate::classify::prior`]); 0 turns the prior off. `None`:
    /// [`crate::classify::prior::DEFAULT_STRENGTH`].
    #[serde(default)]
    pub label_prior: Option<f64>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            preset: Preset::Quick,
            mode: None,
            epochs: None,
            lr: None,
            batch_size: None,
            max_len: None,
            pooling: None,
            patience: None,
            seed: 42,
            val_fraction: 0.15,
            class_weights: false,
            lora_rank: 8,
            lora_alpha: 16.0,
            weight_decay: 0.01,
            warmup_ratio: 0.1,
            max_grad_norm: 1.0,
            head_l2: None,
            body_lr: None,
            pair_iterations: 20,
            max_pairs: 3000,
            label_prior: None,
        }
    }
}

/// The settings a run actually uses, with the reason, written to `training_args.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Preset it came from.
    pub preset: Preset,
    /// Training mode.
    pub mode: Mode,
    /// Maximum epochs.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per step.
    pub batch_size: usize,
    /// Longest input in tokens.
    pub max_len: usize,
    /// Pooling.
    pub pooling: Pooling,
    /// Early-stopping patience in epochs.
    pub patience: usize,
    /// Seed.
    pub seed: u64,
    /// Validation share.
    pub val_fraction: f64,
    /// Class-weighted loss.
    pub class_weights: bool,
    /// LoRA rank (LoRA mode only).
    pub lora_rank: usize,
    /// LoRA alpha.
    pub lora_alpha: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Warmup share.
    pub warmup_ratio: f64,
    /// Gradient clip.
    pub max_grad_norm: f64,
    /// Head mode: L2 penalty (1/C); 0 elsewhere.
    pub head_l2: f64,
    /// Few-shot: contrastive-phase learning rate.
    pub body_lr: f64,
    /// Few-shot: pair-sampling rounds.
    pub pair_iterations: usize,
    /// Few-shot: pair cap.
    pub max_pairs: usize,
    /// Strength of the label-name prior on the head; 0 when it does not apply (other
    /// modes, `Cls` pooling) or was turned off.
    #[serde(default)]
    pub label_prior: f64,
    /// One sentence on why these settings, for the user.
    pub why: String,
    /// The same as a code, for front ends that translate it.
    #[serde(default)]
    pub reason: Reason,
    /// Examples of the rarest label in the training split (what [`Reason::FewLabels`]
    /// refers to).
    #[serde(default)]
    pub rarest_label_count: usize,
}

/// Chooses settings for `n_train` training examples on a device of kind `device_kind`
/// ("cpu", "cuda", "metal"), honouring every override in `opts`.
pub fn make_plan(
    opts: &TrainOptions,
    natural_pooling: Pooling,
    n_train: usize,
    min_per_class: usize,
    device_kind: &str,
) -> Result<Plan> {
    let gpu = device_kind != "cpu";
    let few = min_per_class <= FEW_LABELS;
    let (mode, reason, why) = match (opts.mode, opts.preset) {
        (Some(m), _) => (
            m,
            Reason::Asked,
            format!("{m:?} mode, as asked").to_lowercase(),
        ),
        (None, Preset::Balanced | Preset::Best) if few => (
            Mode::Fewshot,
            Reason::FewLabels,
            format!(
                "few labels ({min_per_class} for the rarest label): few-shot training (contrastive pairs, then a classifier) gets more from them than plain fine-tuning"
            ),
        ),
        (None, Preset::Quick) => (
            Mode::Head,
            Reason::Quick,
            "quick: trains a small classifier on frozen features, seconds to a minute on any machine".to_string(),
        ),
        (None, Preset::Balanced) => (
            Mode::Full,
            Reason::Balanced,
            format!(
                "balanced: fine-tunes every weight for a few epochs{}",
                if gpu { " on the GPU" } else { "; on a CPU expect minutes per thousand texts" }
            ),
        ),
        (None, Preset::Best) => (
            Mode::Full,
            Reason::Best,
            "best: fine-tunes every weight with more epochs, longer inputs and more patience".to_string(),
        ),
    };
    let batch_size = opts
        .batch_size
        .unwrap_or(if mode == Mode::Head { 32 } else { 16 });
    if batch_size == 0 {
        return Err(StudioError::InvalidSetting(
            "batch size must be at least 1".into(),
        ));
    }
    let steps_per_epoch = n_train.div_ceil(batch_size).max(1);
    // Aim at a number of optimizer steps, then bound the epochs.
    let (target_steps, min_e, max_e): (usize, usize, usize) = match (mode, opts.preset) {
        (Mode::Head | Mode::Fewshot, _) => (1500, 10, 300),
        (_, Preset::Best) => (600, 3, 20),
        (_, Preset::Quick) => (150, 1, 10),
        (_, Preset::Balanced) => (300, 2, 15),
    };
    let epochs = opts
        .epochs
        .unwrap_or_else(|| target_steps.div_ceil(steps_per_epoch).clamp(min_e, max_e));
    if epochs == 0 {
        return Err(StudioError::InvalidSetting(
            "epochs must be at least 1".into(),
        ));
    }
    let lr = opts.lr.unwrap_or(match mode {
        Mode::Full => 5e-5,
        Mode::Lora => 5e-4,
        Mode::Head | Mode::Fewshot => 3e-3,
    });
    if !(lr > 0.0 && lr < 1.0) {
        return Err(StudioError::InvalidSetting(format!(
            "learning rate {lr} is out of range; use a value like 5e-5"
        )));
    }
    let patience = opts.patience.unwrap_or(match (mode, opts.preset) {
        (Mode::Head | Mode::Fewshot, _) => 20,
        (_, Preset::Best) => 3,
        _ => 2,
    });
    let max_len = opts.max_len.unwrap_or(if opts.preset == Preset::Best {
        256
    } else {
        128
    });
    if !(0.0..0.9).contains(&opts.val_fraction) {
        return Err(StudioError::InvalidSetting(
            "the validation share must be between 0 and 0.9".into(),
        ));
    }
    let mut plan = Plan {
        preset: opts.preset,
        mode,
        epochs,
        lr,
        batch_size,
        max_len,
        pooling: if mode == Mode::Fewshot {
            if opts.pooling == Some(Pooling::Cls) {
                return Err(StudioError::InvalidSetting(
                    "few-shot training compares mean-pooled sentence vectors; drop --pooling cls or pick another mode".into(),
                ));
            }
            Pooling::Mean
        } else {
            opts.pooling.unwrap_or(natural_pooling)
        },
        patience,
        seed: opts.seed,
        val_fraction: opts.val_fraction,
        class_weights: opts.class_weights,
        lora_rank: opts.lora_rank,
        lora_alpha: opts.lora_alpha,
        weight_decay: opts.weight_decay,
        warmup_ratio: opts.warmup_ratio,
        max_grad_norm: opts.max_grad_norm,
        head_l2: if matches!(mode, Mode::Head | Mode::Fewshot) {
            opts.head_l2.unwrap_or(1.0)
        } else {
            0.0
        },
        body_lr: opts.body_lr.unwrap_or(2e-5),
        pair_iterations: opts.pair_iterations,
        max_pairs: opts.max_pairs,
        label_prior: 0.0,
        why,
        reason,
        rarest_label_count: min_per_class,
    };
    if matches!(plan.mode, Mode::Head | Mode::Fewshot) && plan.pooling == Pooling::Mean {
        let strength = opts
            .label_prior
            .unwrap_or(crate::classify::prior::DEFAULT_STRENGTH);
        if !(strength.is_finite() && strength >= 0.0) {
            return Err(StudioError::InvalidSetting(format!(
                "the label-name prior's strength must be 0 (off) or more, not {strength}"
            )));
        }
        plan.label_prior = strength;
    }
    Ok(plan)
}

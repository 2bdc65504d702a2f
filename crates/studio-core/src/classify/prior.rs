//! The label-name prior: what the labels' names mean to the encoder, as classifier
//! weights that training starts from and shrinks towards.
//!
//! Why: a user's labels already say what they mean ("positive", "negative"), and a
//! sentence encoder places "The sentiment is positive." near positive texts. Measured on
//! 1,000 movie sentences with all-MiniLM-L6-v2 and no labelled example at all, the nearest
//! label sentence is right 67% of the time, more than SetFit reaches with 8 labelled
//! sentences per class; as the prior of a logistic-regression head it adds 5 to 9 points
//! at 2 to 16 labels per class (see `docs/results/2026-12-label-name-prior/`).
//!
//! The prior only applies to mean pooling, whose features are standardised (zero mean,
//! unit variance per row): then `x·l / d` is the cosine of the two texts, linear in `x`,
//! and the prior folds into an ordinary linear head that any runtime loads.

use super::infer::features_for;
use crate::arch::Classifier;
use crate::models::TextTokenizer;
use crate::progress::CancelToken;
use crate::Result;
use candle_core::{Device, Tensor};

/// How strongly the label names pull the head by default: the logit a text gets for a
/// label is this times its cosine with the label's sentence. Measured on movie sentences
/// and Chinese reviews, 20 to 40 did best from 2 to 16 labels per class.
pub const DEFAULT_STRENGTH: f64 = 50.0;

/// The sentence embedded for a label: its description where the user wrote one, else a
/// short sentence around its name (in Chinese for a Chinese name).
pub fn label_sentence(label: &str, description: Option<&str>) -> String {
    if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
        return d.to_string();
    }
    let name = label.replace(['_', '-'], " ");
    let name = name.trim();
    if name.chars().any(is_cjk) {
        format!("这段文字的情感是{name}。")
    } else {
        format!("The sentiment is {name}.")
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ffff}')
}

/// Classifier weights `[labels, features]` from the labels' sentences.
#[derive(Debug, Clone)]
pub struct LabelPrior {
    weight: Tensor,
}

impl LabelPrior {
    /// From the standardised pooled features of the label sentences, one row per label.
    pub fn from_features(features: &Tensor, strength: f64) -> Result<Self> {
        let d = features.dim(1)?;
        Ok(Self {
            weight: (features * (strength / d as f64))?,
        })
    }

    /// Embeds each label's sentence ([`label_sentence`]) with `model` (mean pooling).
    pub fn embed(
        model: &Classifier,
        tokenizer: &TextTokenizer,
        labels: &[String],
        strength: f64,
        device: &Device,
        cancel: &CancelToken,
    ) -> Result<Self> {
        let sentences: Vec<String> = labels.iter().map(|l| label_sentence(l, None)).collect();
        let seqs = tokenizer.encode_all(&sentences)?;
        let features = features_for(model, tokenizer, &seqs, device, 32, cancel, |_| {})?;
        Self::from_features(&features, strength)
    }

    /// The weights `[labels, features]`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::probe::{LinearProbe, ProbeOptions};

    #[test]
    fn label_sentences_use_the_description_or_the_name_in_its_language() {
        assert_eq!(
            label_sentence("positive", None),
            "The sentiment is positive."
        );
        assert_eq!(
            label_sentence("very_bad", Some("  ")),
            "The sentiment is very bad."
        );
        assert_eq!(label_sentence("好评", None), "这段文字的情感是好评。");
        assert_eq!(
            label_sentence("billing", Some("A question about an invoice")),
            "A question about an invoice"
        );
    }

    /// Rows standardised as mean pooling makes them.
    fn standardise(rows: &[[f32; 4]]) -> Tensor {
        let x = Tensor::from_vec(
            rows.iter().flatten().copied().collect::<Vec<_>>(),
            (rows.len(), 4),
            &Device::Cpu,
        )
        .unwrap();
        crate::arch::layers::normalize(&x, 1e-12).unwrap()
    }

    #[test]
    fn with_no_labels_the_prior_predicts_the_nearest_label_and_labels_can_overrule_it() {
        // Label sentences: "negative" points along dimension 0, "positive" along 1.
        let labels = standardise(&[[3.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]);
        let prior = LabelPrior::from_features(&labels, DEFAULT_STRENGTH).unwrap();
        let texts = standardise(&[[2.0, 0.5, 0.0, 0.1], [0.2, 2.0, 0.3, 0.0]]);
        let empty = Tensor::zeros((0, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let opts = ProbeOptions {
            l2: 1.0,
            iterations: 300,
            balanced: true,
        };
        let (zero_shot, _) =
            LinearProbe::fit_with_prior(&empty, &[], 2, &opts, Some(prior.weight())).unwrap();
        let p = zero_shot.predict_proba(&texts).unwrap();
        assert!(p[0][0] > 0.9 && p[1][1] > 0.9, "{p:?}");
        // Without a prior there is no model without labels.
        assert!(LinearProbe::fit_traced(&empty, &[], 2, &opts).is_err());
        // Labelled texts along dimension 2 (negative) and 3 (positive), many of them: the
        // data decides texts the label sentences say nothing about.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..40 {
            let s = 1.0 + (i % 5) as f32 * 0.1;
            rows.push([0.0, 0.0, 2.0 * s, 0.0]);
            y.push(0);
            rows.push([0.0, 0.0, 0.0, 2.0 * s]);
            y.push(1);
        }
        let (fitted, _) =
            LinearProbe::fit_with_prior(&standardise(&rows), &y, 2, &opts, Some(prior.weight()))
                .unwrap();
        let q = fitted
            .predict_proba(&standardise(&[[0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 2.0]]))
            .unwrap();
        assert!(q[0][0] > 0.5 && q[1][1] > 0.5, "{q:?}");
        // ... and the prior still decides along its own dimensions.
        let r = fitted.predict_proba(&texts).unwrap();
        assert!(r[0][0] > 0.5 && r[1][1] > 0.5, "{r:?}");
    }

    #[test]
    fn a_prior_of_the_wrong_shape_is_refused() {
        let x = Tensor::zeros((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let wrong = Tensor::zeros((3, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let opts = ProbeOptions::LOOP;
        assert!(LinearProbe::fit_with_prior(&x, &[0, 1], 2, &opts, Some(&wrong)).is_err());
    }
}

//! Calibrated confidence: temperature scaling, expected calibration error and the
//! reliability diagram's bins.
//!
//! A fine-tuned classifier's softmax is usually over-confident (and a probe fitted with
//! strong regularisation under-confident). Dividing every logit by one temperature `T`,
//! fitted to minimise the negative log-likelihood of held-out texts, fixes most of that
//! without changing a single predicted label (Guo et al., 2017). Because the head's last
//! layer is linear, `T` folds into its weights and bias, so the exported folder's
//! probabilities are calibrated in transformers too.

use crate::classify::infer::{argmax, softmax};
use serde::{Deserialize, Serialize};

/// Bins of the expected calibration error and the reliability diagram.
pub const ECE_BINS: usize = 15;

/// Below this top probability a prediction is called "unsure" unless the user picks
/// another threshold. With calibrated probabilities it means: of such predictions,
/// roughly one in three or more is wrong.
pub const DEFAULT_UNSURE_BELOW: f32 = 0.7;

/// Smallest and largest temperature considered (log-spaced search between them).
const T_RANGE: (f64, f64) = (0.05, 20.0);

/// Mean negative log-likelihood of `truth` under `logits / t`.
pub fn nll_at(logits: &[Vec<f32>], truth: &[usize], t: f64) -> f64 {
    let n = logits.len().max(1) as f64;
    logits
        .iter()
        .zip(truth)
        .map(|(l, &y)| {
            let scaled: Vec<f64> = l.iter().map(|&x| x as f64 / t).collect();
            let m = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + scaled.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
            lse - scaled[y]
        })
        .sum::<f64>()
        / n
}

/// The temperature that minimises the held-out negative log-likelihood: golden-section
/// search on `ln T` (the NLL is unimodal in `1/T` for fixed logits). `None` when there
/// is nothing to fit on, or when every held-out prediction is right and the NLL would drive
/// `T` to zero (a perfectly separated set says nothing about how sure to be), or when the
/// held-out predictions are right no more often than always naming the most common
/// label: then the NLL falls all the way to the uniform distribution (`T` at its upper
/// bound), which says the held-out models had no skill, not how sure the final model
/// should be (it happens with a few labels split into even smaller folds).
pub fn fit_temperature(logits: &[Vec<f32>], truth: &[usize]) -> Option<f64> {
    if logits.is_empty() {
        return None;
    }
    let right = logits
        .iter()
        .zip(truth)
        .filter(|(l, &y)| argmax(l) == y)
        .count();
    if right == logits.len() || right <= majority_count(truth) {
        return None;
    }
    let (mut a, mut b) = (T_RANGE.0.ln(), T_RANGE.1.ln());
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let f = |x: f64| nll_at(logits, truth, x.exp());
    let (mut c, mut d) = (b - phi * (b - a), a + phi * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..80 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    Some(((a + b) / 2.0).exp())
}

/// Texts of the most common label in `truth`.
fn majority_count(truth: &[usize]) -> usize {
    let mut counts = std::collections::BTreeMap::new();
    for &y in truth {
        *counts.entry(y).or_insert(0usize) += 1;
    }
    counts.values().copied().max().unwrap_or(0)
}

/// One bin of the reliability diagram: predictions whose top probability falls in
/// `[low, high)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin.
    pub low: f64,
    /// Upper edge of the bin.
    pub high: f64,
    /// Predictions in the bin.
    pub count: usize,
    /// Their mean top probability (0 for an empty bin).
    pub confidence: f64,
    /// The share of them that is right (0 for an empty bin).
    pub accuracy: f64,
}

/// How well the stated confidence matches the accuracy on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Expected calibration error of the model as exported (temperature applied), over
    /// [`ECE_BINS`] equal-width bins of the top probability.
    pub ece: f64,
    /// The same before the temperature was applied.
    pub ece_uncalibrated: f64,
    /// The temperature folded into the classifier.
    pub temperature: f64,
    /// The reliability diagram of the exported model.
    pub bins: Vec<ReliabilityBin>,
}

impl Calibration {
    /// The reliability diagram as SVG, in `style`'s words and colours.
    pub fn chart_svg(&self, style: &crate::charts::ChartStyle) -> String {
        let bins: Vec<(f64, f64, f64, usize)> = self
            .bins
            .iter()
            .map(|b| (b.low, b.high, b.accuracy, b.count))
            .collect();
        crate::charts::reliability_chart_svg(&bins, style)
    }

    /// Measures calibration from the exported model's logits on labelled texts, undoing
    /// the temperature for the "before" figure.
    pub fn measure(logits: &[Vec<f32>], truth: &[usize], temperature: f64) -> Self {
        let probs: Vec<Vec<f32>> = logits.iter().map(|l| softmax(l)).collect();
        let before: Vec<Vec<f32>> = logits
            .iter()
            .map(|l| {
                let raw: Vec<f32> = l.iter().map(|&x| (x as f64 * temperature) as f32).collect();
                softmax(&raw)
            })
            .collect();
        Self {
            ece: expected_calibration_error(&probs, truth),
            ece_uncalibrated: expected_calibration_error(&before, truth),
            temperature,
            bins: reliability_bins(&probs, truth),
        }
    }
}

/// The reliability diagram: top probability against accuracy in [`ECE_BINS`] bins.
pub fn reliability_bins(probs: &[Vec<f32>], truth: &[usize]) -> Vec<ReliabilityBin> {
    let mut count = [0usize; ECE_BINS];
    let mut conf = [0f64; ECE_BINS];
    let mut right = [0usize; ECE_BINS];
    for (p, &y) in probs.iter().zip(truth) {
        let top = argmax(p);
        let c = p[top] as f64;
        let bin = ((c * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        count[bin] += 1;
        conf[bin] += c;
        right[bin] += usize::from(top == y);
    }
    (0..ECE_BINS)
        .map(|b| ReliabilityBin {
            low: b as f64 / ECE_BINS as f64,
            high: (b + 1) as f64 / ECE_BINS as f64,
            count: count[b],
            confidence: if count[b] > 0 {
                conf[b] / count[b] as f64
            } else {
                0.0
            },
            accuracy: if count[b] > 0 {
                right[b] as f64 / count[b] as f64
            } else {
                0.0
            },
        })
        .collect()
}

/// Expected calibration error: the bin-size-weighted mean gap between confidence and
/// accuracy over [`ECE_BINS`] equal-width bins of the top probability.
pub fn expected_calibration_error(probs: &[Vec<f32>], truth: &[usize]) -> f64 {
    let n = probs.len();
    if n == 0 {
        return 0.0;
    }
    reliability_bins(probs, truth)
        .iter()
        .map(|b| b.count as f64 / n as f64 * (b.confidence - b.accuracy).abs())
        .sum()
}

/// Whether a prediction with top probability `top` is below the user's threshold.
pub fn is_unsure(top: f32, threshold: f32) -> bool {
    top < threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Logits whose true temperature is `t`: labels drawn from softmax(z), logits z·t.
    fn sample(t: f64, n: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (mut logits, mut truth) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let z: Vec<f32> = (0..3).map(|_| rng.random_range(-3.0..3.0)).collect();
            let p = softmax(&z);
            let u: f32 = rng.random();
            let y = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            logits.push(z.iter().map(|&x| (x as f64 * t) as f32).collect());
            truth.push(y);
        }
        (logits, truth)
    }

    #[test]
    fn the_fitted_temperature_recovers_the_one_that_made_the_logits() {
        for t in [0.5, 1.0, 3.0] {
            let (logits, truth) = sample(t, 20_000);
            let fitted = fit_temperature(&logits, &truth).unwrap();
            assert!((fitted / t - 1.0).abs() < 0.08, "true {t}, fitted {fitted}");
            // And it is a minimum of the NLL.
            let at = nll_at(&logits, &truth, fitted);
            assert!(at <= nll_at(&logits, &truth, fitted * 1.2));
            assert!(at <= nll_at(&logits, &truth, fitted / 1.2));
        }
    }

    #[test]
    fn held_out_predictions_without_skill_leave_the_temperature_at_one() {
        // Right on 2 of 6 with three of each label: worse than naming one label always,
        // so the NLL alone would flatten everything (T at the top of its range).
        let logits = vec![
            vec![2.0, 0.0],
            vec![0.0, 2.0],
            vec![0.0, 2.0],
            vec![0.0, 2.0],
            vec![2.0, 0.0],
            vec![2.0, 0.0],
        ];
        let truth = vec![0, 0, 0, 1, 1, 1];
        assert!(nll_at(&logits, &truth, 19.0) < nll_at(&logits, &truth, 1.0));
        assert_eq!(fit_temperature(&logits, &truth), None);
    }

    #[test]
    fn temperature_scaling_lowers_the_ece_of_over_confident_logits() {
        let (logits, truth) = sample(4.0, 5_000);
        let t = fit_temperature(&logits, &truth).unwrap();
        let scaled: Vec<Vec<f32>> = logits
            .iter()
            .map(|l| l.iter().map(|&x| (x as f64 / t) as f32).collect())
            .collect();
        let c = Calibration::measure(&scaled, &truth, t);
        assert!(
            c.ece < c.ece_uncalibrated / 3.0,
            "after {} before {}",
            c.ece,
            c.ece_uncalibrated
        );
        assert_eq!(c.bins.len(), ECE_BINS);
        assert_eq!(c.bins.iter().map(|b| b.count).sum::<usize>(), 5_000);
    }

    #[test]
    fn ece_of_a_known_set() {
        // Two predictions at 0.9, one right; two at 0.6, both right.
        let probs = vec![
            vec![0.9, 0.1],
            vec![0.9, 0.1],
            vec![0.4, 0.6],
            vec![0.4, 0.6],
        ];
        let truth = [0, 1, 1, 1];
        // Bin of 0.9: conf 0.9, acc 0.5 → gap 0.4; bin of 0.6: conf 0.6, acc 1 → 0.4.
        let e = expected_calibration_error(&probs, &truth);
        assert!((e - 0.4).abs() < 1e-6, "{e}");
        assert_eq!(fit_temperature(&[], &[]), None);
        // All right: nothing to learn about confidence.
        assert_eq!(fit_temperature(&[vec![2.0, 0.0]], &[0]), None);
    }
}

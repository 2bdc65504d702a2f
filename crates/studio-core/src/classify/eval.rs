//! Classification metrics: accuracy, per-class precision/recall/F1, macro-F1 and the
//! confusion matrix.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Of the texts predicted as this class, the share that are.
    pub precision: f64,
    /// Of the texts of this class, the share found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Texts of this class in the data.
    pub support: usize,
}

/// Metrics over one labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Share of texts predicted right.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 over classes present in the data.
    pub macro_f1: f64,
    /// Per-class figures, by label name.
    pub per_class: BTreeMap<String, ClassMetrics>,
    /// `confusion[true][predicted]`, rows and columns in `labels` order.
    pub confusion: Vec<Vec<usize>>,
    /// Label names in id order.
    pub labels: Vec<String>,
    /// Texts evaluated.
    pub n: usize,
    /// 95% interval of the accuracy (Wilson's score interval: right at small n and
    /// near 0 or 1, where the normal approximation is not), `[low, high]`.
    #[serde(default)]
    pub accuracy_ci: [f64; 2],
    /// 95% interval of the macro-F1 (percentile bootstrap over the evaluated texts,
    /// 1,000 resamples, seeded: the same texts give the same interval).
    #[serde(default)]
    pub macro_f1_ci: [f64; 2],
    /// Accuracy of always answering the most frequent label: what a model must beat.
    #[serde(default)]
    pub baseline_accuracy: f64,
    /// How well the stated confidence matched the accuracy on these texts, when the
    /// scores were measured from probabilities (not from labels alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::classify::calibrate::Calibration>,
}

/// The share of the most frequent true class among `n` texts.
fn majority_rate(confusion: &[Vec<usize>], n: usize) -> f64 {
    let best = confusion
        .iter()
        .map(|r| r.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    if n > 0 {
        best as f64 / n as f64
    } else {
        0.0
    }
}

/// A score measured on fewer texts than this of some label is too small to trust.
pub const MIN_TRUSTED_PER_LABEL: usize = 20;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Resamples of the macro-F1 bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// Wilson's 95% score interval for `k` successes in `n` trials; `[0, 0]` for none.
pub fn wilson_interval(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 0.0];
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

/// The unweighted mean F1 over the classes present in `confusion` (`[true][predicted]`).
fn macro_f1_of(confusion: &[Vec<usize>]) -> f64 {
    let (mut sum, mut present) = (0.0, 0usize);
    for (c, row) in confusion.iter().enumerate() {
        let support: usize = row.iter().sum();
        if support == 0 {
            continue;
        }
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let tp = row[c] as f64;
        let (precision, recall) = (
            if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            },
            tp / support as f64,
        );
        sum += if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        present += 1;
    }
    if present > 0 {
        sum / present as f64
    } else {
        0.0
    }
}

/// Smoothed percentile-bootstrap 95% interval of the macro-F1: [`BOOTSTRAP_RESAMPLES`]
/// times, draw as many texts as were evaluated from the confusion matrix's cells, each
/// cell weighted by its count plus one half. The half (a Jeffreys prior on the cells)
/// matters only for a few texts: a plain bootstrap can only resample what it saw, so two
/// test texts both right gave "100% (100% – 100%)"; smoothed, it is 0% – 100%, as wide
/// as two texts deserve. The interval always holds the observed score.
pub fn bootstrap_macro_f1(confusion: &[Vec<usize>]) -> [f64; 2] {
    use rand::{Rng, SeedableRng};
    let k = confusion.len();
    let n: usize = confusion.iter().flatten().sum();
    if n == 0 {
        return [0.0, 0.0];
    }
    let cells: Vec<(usize, usize)> = (0..k).flat_map(|t| (0..k).map(move |p| (t, p))).collect();
    let mut cumulative = Vec::with_capacity(cells.len());
    let mut total = 0.0;
    for &(t, p) in &cells {
        total += confusion[t][p] as f64 + 0.5;
        cumulative.push(total);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x005e_edf1);
    let mut scores: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let mut m = vec![vec![0usize; k]; k];
            for _ in 0..n {
                let u = rng.random_range(0.0..total);
                let at = cumulative.partition_point(|&c| c <= u).min(cells.len() - 1);
                let (t, p) = cells[at];
                m[t][p] += 1;
            }
            macro_f1_of(&m)
        })
        .collect();
    scores.sort_by(f64::total_cmp);
    let at =
        |q: f64| scores[((q * (scores.len() - 1) as f64).round() as usize).min(scores.len() - 1)];
    let observed = macro_f1_of(confusion);
    [at(0.025).min(observed), at(0.975).max(observed)]
}

impl Metrics {
    /// Computes metrics from true and predicted label ids.
    pub fn compute(truth: &[usize], predicted: &[usize], labels: &[String]) -> Self {
        let k = labels.len();
        let mut confusion = vec![vec![0usize; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        Self::from_confusion(confusion, labels)
    }

    /// Computes metrics from a confusion matrix (`[true][predicted]`).
    pub fn from_confusion(confusion: Vec<Vec<usize>>, labels: &[String]) -> Self {
        let k = labels.len();
        let n: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
        let mut per_class = BTreeMap::new();
        let mut f1_sum = 0.0;
        let mut present = 0;
        for (c, label) in labels.iter().enumerate() {
            let tp = confusion[c][c] as f64;
            let support: usize = confusion[c].iter().sum();
            let predicted: usize = (0..k).map(|r| confusion[r][c]).sum();
            let precision = if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            if support > 0 {
                f1_sum += f1;
                present += 1;
            }
            per_class.insert(
                label.clone(),
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                },
            );
        }
        Self {
            accuracy: if n > 0 {
                correct as f64 / n as f64
            } else {
                0.0
            },
            macro_f1: if present > 0 {
                f1_sum / present as f64
            } else {
                0.0
            },
            per_class,
            accuracy_ci: wilson_interval(correct, n),
            macro_f1_ci: bootstrap_macro_f1(&confusion),
            baseline_accuracy: majority_rate(&confusion, n),
            confusion,
            labels: labels.to_vec(),
            n,
            calibration: None,
        }
    }

    /// Metrics of the predictions with these logits (the exported model's, temperature
    /// applied) against `truth`, with their calibration.
    pub fn of_logits(
        truth: &[usize],
        logits: &[Vec<f32>],
        labels: &[String],
        temperature: f64,
    ) -> Self {
        let predicted: Vec<usize> = logits
            .iter()
            .map(|l| crate::classify::infer::argmax(l))
            .collect();
        let mut m = Self::compute(truth, &predicted, labels);
        m.calibration = Some(crate::classify::calibrate::Calibration::measure(
            logits,
            truth,
            temperature,
        ));
        m
    }

    /// Texts of the rarest label present among those evaluated.
    pub fn rarest_label_count(&self) -> usize {
        self.confusion
            .iter()
            .map(|row| row.iter().sum::<usize>())
            .filter(|&n| n > 0)
            .min()
            .unwrap_or(0)
    }

    /// Whether some label has fewer than [`MIN_TRUSTED_PER_LABEL`] texts: every face calls
    /// such a score too small to trust.
    pub fn too_small_to_trust(&self) -> bool {
        self.rarest_label_count() < MIN_TRUSTED_PER_LABEL
    }

    /// The scores in one line, each with its 95% interval, and the baseline: how the
    /// CLI and the model card state a result.
    pub fn headline(&self) -> String {
        let ece = self.calibration.as_ref().map_or_else(String::new, |c| {
            format!(
                "; calibration error (ECE) {:.3}, {:.3} before temperature {:.2}",
                c.ece, c.ece_uncalibrated, c.temperature
            )
        });
        format!(
            "accuracy {:.4} (95% interval {:.3}–{:.3}), macro-F1 {:.4} (95% interval {:.3}–{:.3}); always answering the most frequent label: {:.4}{ece}",
            self.accuracy,
            self.accuracy_ci[0],
            self.accuracy_ci[1],
            self.macro_f1,
            self.macro_f1_ci[0],
            self.macro_f1_ci[1],
            self.majority_baseline()
        )
    }

    /// Accuracy of always answering the most frequent true class (also for metrics
    /// stored before [`Metrics::baseline_accuracy`] existed).
    pub fn majority_baseline(&self) -> f64 {
        majority_rate(&self.confusion, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // 2 of 2 right: the interval still reaches down to a third.
        let [lo, hi] = wilson_interval(2, 2);
        assert!((lo - 0.3424).abs() < 1e-3 && hi == 1.0, "{lo} {hi}");
        let [lo, hi] = wilson_interval(50, 100);
        assert!(
            (lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3,
            "{lo} {hi}"
        );
        let [lo, hi] = wilson_interval(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-3, "{lo} {hi}");
    }

    #[test]
    fn the_macro_f1_interval_holds_the_estimate_and_narrows_with_more_texts() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let small = Metrics::from_confusion(vec![vec![8, 2], vec![3, 7]], &labels);
        let big = Metrics::from_confusion(vec![vec![800, 200], vec![300, 700]], &labels);
        for m in [&small, &big] {
            let [lo, hi] = m.macro_f1_ci;
            assert!(
                lo <= m.macro_f1 && m.macro_f1 <= hi,
                "{lo} {} {hi}",
                m.macro_f1
            );
            assert!(m.accuracy_ci[0] <= m.accuracy && m.accuracy <= m.accuracy_ci[1]);
        }
        let width = |m: &Metrics| m.macro_f1_ci[1] - m.macro_f1_ci[0];
        assert!(
            width(&big) * 5.0 < width(&small),
            "{} vs {}",
            width(&big),
            width(&small)
        );
        // Seeded: the same texts, the same interval.
        assert_eq!(
            small.macro_f1_ci,
            Metrics::from_confusion(vec![vec![8, 2], vec![3, 7]], &labels).macro_f1_ci
        );
        assert_eq!(small.baseline_accuracy, 0.5);
    }

    #[test]
    fn a_perfect_score_on_a_few_texts_has_a_wide_macro_f1_interval() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let two = Metrics::from_confusion(vec![vec![1, 0], vec![0, 1]], &labels);
        assert_eq!(two.macro_f1, 1.0);
        let [lo, hi] = two.macro_f1_ci;
        assert!(lo < 0.5 && hi == 1.0, "{lo} {hi}");
        // With many texts the smoothing is negligible: still narrow, still holds 1.
        let many = Metrics::from_confusion(vec![vec![500, 0], vec![0, 500]], &labels);
        let [lo, hi] = many.macro_f1_ci;
        assert!(lo > 0.99 && hi == 1.0, "{lo} {hi}");
    }

    #[test]
    fn metrics_from_a_known_confusion() {
        // true neg: 8 right, 2 wrong; true pos: 3 wrong, 7 right.
        let labels = vec!["neg".to_string(), "pos".to_string()];
        let m = Metrics::from_confusion(vec![vec![8, 2], vec![3, 7]], &labels);
        assert!((m.accuracy - 0.75).abs() < 1e-12);
        let neg = &m.per_class["neg"];
        assert!((neg.precision - 8.0 / 11.0).abs() < 1e-12);
        assert!((neg.recall - 0.8).abs() < 1e-12);
        let pos = &m.per_class["pos"];
        assert!((pos.precision - 7.0 / 9.0).abs() < 1e-12);
        assert!((pos.recall - 0.7).abs() < 1e-12);
        let f1n = 2.0 * (8.0 / 11.0) * 0.8 / (8.0 / 11.0 + 0.8);
        let f1p = 2.0 * (7.0 / 9.0) * 0.7 / (7.0 / 9.0 + 0.7);
        assert!((m.macro_f1 - (f1n + f1p) / 2.0).abs() < 1e-12);
        assert_eq!(m.majority_baseline(), 0.5);
    }

    #[test]
    fn compute_counts_pairs() {
        let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let m = Metrics::compute(&[0, 1, 2, 2], &[0, 2, 2, 1], &labels);
        assert_eq!(
            m.confusion,
            vec![vec![1, 0, 0], vec![0, 0, 1], vec![0, 1, 1]]
        );
        assert_eq!(m.n, 4);
    }
}

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
            confusion,
            labels: labels.to_vec(),
            n,
        }
    }

    /// Accuracy of always answering the most frequent true class.
    pub fn majority_baseline(&self) -> f64 {
        let best = self
            .confusion
            .iter()
            .map(|r| r.iter().sum::<usize>())
            .max()
            .unwrap_or(0);
        if self.n > 0 {
            best as f64 / self.n as f64
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

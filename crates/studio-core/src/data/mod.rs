//! Reading labelled and unlabelled texts from files.
//!
//! Every file a user gives us goes through [`import`] (formats, encodings, column
//! mapping, rejected rows): a project import streams it into the store, and
//! [`read_labeled`] / [`read_texts`] read it for training, evaluation and prediction.
//! [`LabeledData`] is what the classifiers learn from.

pub mod import;
mod read;
mod split;

pub use read::{read_labeled, read_texts, stream_texts};
pub use split::{stratified_folds, stratified_split, Split};

use crate::{Result, StudioError};

/// Texts with one label each; labels are indices into `label_names`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabeledData {
    /// The texts, in file order.
    pub texts: Vec<String>,
    /// `labels[i]` is the label index of `texts[i]`.
    pub labels: Vec<usize>,
    /// Label names; the index is the class id used by models.
    pub label_names: Vec<String>,
    /// Rows skipped because their text was empty.
    pub skipped_empty: usize,
}

impl LabeledData {
    /// Builds from (text, label) pairs. Label ids follow `label_order` when given (it must
    /// contain every label), else the sorted label names, so the same file always gives the
    /// same ids.
    pub fn from_pairs<I, S, L>(pairs: I, label_order: Option<&[String]>) -> Result<Self>
    where
        I: IntoIterator<Item = (S, L)>,
        S: Into<String>,
        L: AsRef<str>,
    {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(t, l)| (t.into(), l.as_ref().trim().to_string()))
            .collect();
        let label_names: Vec<String> = match label_order {
            Some(order) => order.to_vec(),
            None => {
                let mut names: Vec<String> = pairs.iter().map(|(_, l)| l.clone()).collect();
                names.sort();
                names.dedup();
                names
            }
        };
        let mut data = LabeledData {
            label_names,
            ..Default::default()
        };
        for (text, label) in pairs {
            if text.trim().is_empty() {
                data.skipped_empty += 1;
                continue;
            }
            let id = data
                .label_names
                .iter()
                .position(|n| *n == label)
                .ok_or_else(|| {
                    StudioError::InvalidSetting(format!(
                        "label \"{label}\" is not one of the model's labels ({})",
                        data.label_names.join(", ")
                    ))
                })?;
            data.texts.push(text);
            data.labels.push(id);
        }
        Ok(data)
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Examples per label id.
    pub fn counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.label_names.len()];
        for &l in &self.labels {
            c[l] += 1;
        }
        c
    }

    /// Examples of the rarest label that has any (0 when there are none).
    pub fn min_class_count(&self) -> usize {
        self.counts()
            .into_iter()
            .filter(|&c| c > 0)
            .min()
            .unwrap_or(0)
    }

    /// The subset at `indices`, keeping the label names.
    pub fn subset(&self, indices: &[usize]) -> LabeledData {
        LabeledData {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            label_names: self.label_names.clone(),
            skipped_empty: 0,
        }
    }

    /// Errors unless at least two labels have examples: training needs both.
    pub fn require_two_classes(&self) -> Result<()> {
        let present: Vec<usize> = self
            .counts()
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, _)| i)
            .collect();
        match present.len() {
            0 => Err(StudioError::TooFewExamples {
                what: "there are no labelled texts to train on".into(),
            }),
            1 => Err(StudioError::SingleClass {
                label: self.label_names[present[0]].clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

//! Reading labelled and unlabelled texts from files.
//!
//! `table` turns a CSV, TSV, JSONL or TXT file into named columns; this module picks the
//! text and label columns out of it and checks what training needs (two labels at least,
//! no empty file). The project importer (encodings, Excel, streaming) builds on the same
//! [`LabeledData`] type.

pub mod import;
mod split;
mod table;

pub use split::{stratified_split, Split};
pub use table::{read_table, Format, Table};

use crate::{Result, StudioError};
use std::path::Path;

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

/// Reads a labelled file (CSV, TSV or JSONL) for training or evaluation.
///
/// `label_order` fixes the label ids (as a model's `id2label` does); without it labels are
/// sorted by name.
pub fn read_labeled(
    path: &Path,
    text_col: &str,
    label_col: &str,
    label_order: Option<&[String]>,
) -> Result<LabeledData> {
    let table = read_table(path)?;
    if table.format == Format::Txt {
        return Err(StudioError::MissingColumn {
            path: path.to_path_buf(),
            column: label_col.to_string(),
            role: "label",
            flag: "--label-col",
            found: "one text a line, no columns".into(),
        });
    }
    let ti = table.column(text_col, "text", "--text-col")?;
    let li = table.column(label_col, "label", "--label-col")?;
    let mut pairs = Vec::with_capacity(table.rows.len());
    let mut blank_labels = Vec::new();
    for (row, line) in table.rows.iter().zip(&table.lines) {
        let label = row[li].trim();
        if label.is_empty() {
            if !row[ti].trim().is_empty() {
                blank_labels.push(*line);
            }
            continue;
        }
        pairs.push((row[ti].clone(), label.to_string()));
    }
    if pairs.is_empty() {
        return Err(StudioError::TooFewExamples {
            what: format!(
                "{} has no labelled rows: every value in column \"{label_col}\" is empty",
                path.display()
            ),
        });
    }
    if let (Some(order), Some(bad)) = (
        label_order,
        pairs
            .iter()
            .find(|(_, l)| !label_order.unwrap_or(&[]).contains(l)),
    ) {
        return Err(StudioError::InvalidSetting(format!(
            "{}: label \"{}\" is not one the model knows ({}); evaluate with data labelled with the model's labels",
            path.display(),
            bad.1,
            order.join(", ")
        )));
    }
    LabeledData::from_pairs(pairs, label_order)
}

/// Reads texts to classify: a .txt file (one text a line) or the `text_col` column of a
/// CSV, TSV or JSONL file. Empty lines are skipped.
pub fn read_texts(path: &Path, text_col: &str) -> Result<Vec<String>> {
    let table = read_table(path)?;
    let ti = if table.format == Format::Txt {
        0
    } else {
        table.column(text_col, "text", "--text-col")?
    };
    Ok(table
        .rows
        .into_iter()
        .map(|mut r| std::mem::take(&mut r[ti]))
        .filter(|t| !t.trim().is_empty())
        .collect())
}

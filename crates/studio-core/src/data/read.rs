//! Labelled and unlabelled texts from a user's file, through the importer: the same
//! formats (CSV, TSV, JSON, JSONL, TXT, XLSX), encoding detection and delimiter sniffing
//! as a project import. `train --data`, `eval --data`, `predict --file` and the app's
//! predict-a-file all read here, so a file that imports into a project also trains,
//! evaluates and predicts.

use super::import::{ColumnMapping, ImportFormat, ImportOptions, Importer, Input, Row};
use super::LabeledData;
use crate::progress::{CancelToken, Observer, Silent};
use crate::{Result, StudioError};
use std::ops::ControlFlow;
use std::path::Path;

/// Reads a labelled file for training or evaluation. `text_col` and `label_col` name the
/// columns (a number selects a column by position).
///
/// `label_order` fixes the label ids (as a model's `id2label` does) and refuses a label
/// outside it; without it labels are sorted by name. Rows with an empty label are left
/// out. A row the importer cannot read is an error naming its line: a model trained or
/// scored on silently fewer rows than the file holds would mislead.
pub fn read_labeled(
    path: &Path,
    text_col: &str,
    label_col: &str,
    label_order: Option<&[String]>,
) -> Result<LabeledData> {
    let importer = Importer::open(Input::Path(path), &ImportOptions::default())?;
    if importer.layout().format == ImportFormat::Txt {
        return Err(StudioError::MissingColumn {
            path: path.to_path_buf(),
            column: label_col.to_string(),
            role: "label",
            flag: "--label-col",
            found: "one text a line, no columns".into(),
        });
    }
    let cols = ColumnMapping {
        text: text_col.to_string(),
        label: Some(label_col.to_string()),
        id: None,
    }
    .resolve(importer.layout())?;
    let li = cols.label.unwrap_or(cols.text);
    let mut pairs = Vec::new();
    importer.stream(&mut Silent, &CancelToken::new(), &mut |row| {
        let mut fields = unreadable(row)?;
        let label = fields[li].trim().to_string();
        if !label.is_empty() {
            pairs.push((std::mem::take(&mut fields[cols.text]), label));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    if pairs.is_empty() {
        return Err(StudioError::TooFewExamples {
            what: format!(
                "{} has no labelled rows: every value in column \"{label_col}\" is empty",
                path.display()
            ),
        });
    }
    if let Some(order) = label_order {
        if let Some((_, bad)) = pairs.iter().find(|(_, l)| !order.contains(l)) {
            return Err(StudioError::LabelNotInModel {
                path: path.to_path_buf(),
                label: bad.clone(),
                known: order.join(", "),
            });
        }
    }
    LabeledData::from_pairs(pairs, label_order)
}

/// A row's fields, or the error for a row the importer rejected.
fn unreadable(row: Row) -> Result<Vec<String>> {
    match row {
        Row::Record { fields, .. } => Ok(fields),
        Row::Rejected(r) => Err(StudioError::BadRow {
            path: r.file,
            line: r.line,
            reason: format!(
                "{}; fix the row (a project import leaves such rows out and lists them)",
                r.reason
            ),
        }),
    }
}

/// Texts to classify from a file: a .txt file (one text a line) or a column of any other
/// format the importer reads. `text_col` names the column; `None` takes the column the
/// importer would guess (one called text, review, 文本, ...; else the longest values).
/// Empty texts are skipped.
pub fn read_texts(path: &Path, text_col: Option<&str>) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    stream_texts(path, text_col, &mut Silent, &CancelToken::new(), &mut |t| {
        texts.push(t);
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(texts)
}

/// [`read_texts`] one text at a time, in constant memory whatever the file's size
/// (XLSX and JSON arrays excepted: their readers hold the file). The importer's progress
/// (`Phase { name: "import" }`, then `Advance` in bytes) goes to `observer`.
pub fn stream_texts(
    path: &Path,
    text_col: Option<&str>,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
    f: &mut dyn FnMut(String) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let importer = Importer::open(Input::Path(path), &ImportOptions::default())?;
    let text = match text_col {
        Some(c) => c.to_string(),
        None => {
            let preview = importer.preview(20)?;
            ColumnMapping::guess(&preview.layout.columns, &preview.rows).text
        }
    };
    let cols = ColumnMapping {
        text,
        label: None,
        id: None,
    }
    .resolve(importer.layout())?;
    importer.stream(observer, cancel, &mut |row| {
        let mut fields = unreadable(row)?;
        let t = std::mem::take(&mut fields[cols.text]);
        if t.trim().is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        f(t)
    })
}

//! Predict: texts, a file to a file, and a project's texts into the project (the Label
//! pane shows the model's guesses from there).

use super::Engine;
use crate::classify::explain::{explain, Explanation};
use crate::classify::infer::{Prediction, Predictor};
use crate::data::{csv_field, read_texts};
use crate::progress::{CancelToken, Event, Observer};
use crate::project::{Filter, PageQuery, Project};
use crate::{Result, StudioError};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The most texts of a project a run predicts for the Label pane.
pub const PROJECT_PREDICT_CAP: usize = 20_000;

/// Texts per batch between progress reports and cancel checks.
const CHUNK: usize = 256;

/// Classifies `texts` with the exported model in `model`.
pub fn predict_texts(
    engine: &Engine,
    model: &Path,
    texts: &[String],
    cancel: &CancelToken,
) -> Result<(Vec<Prediction>, Vec<String>)> {
    if texts.is_empty() {
        return Err(StudioError::InvalidSetting(
            "no texts to classify; give at least one".into(),
        ));
    }
    let predictor = engine.predictor(model)?;
    Ok((
        predictor.predict(texts, cancel)?,
        predictor.labels().to_vec(),
    ))
}

/// Classifies `texts` with the exported model in `model` and weighs the words behind
/// each prediction (see [`crate::classify::explain`]).
pub fn explain_texts(
    engine: &Engine,
    model: &Path,
    texts: &[String],
    cancel: &CancelToken,
) -> Result<Vec<Explanation>> {
    if texts.is_empty() {
        return Err(StudioError::InvalidSetting(
            "no texts to explain; give at least one".into(),
        ));
    }
    explain(engine.predictor(model)?.as_ref(), texts, cancel)
}

/// What `predict_file` reads and writes.
#[derive(Debug, Clone)]
pub struct PredictFile {
    /// An exported classifier folder.
    pub model: PathBuf,
    /// Texts: .txt (one a line) or any format the importer reads.
    pub input: PathBuf,
    /// The text column; `None` takes the importer's guess.
    pub text_col: Option<String>,
    /// The CSV to write (UTF-8 with a byte-order mark, so Excel reads Chinese right).
    /// `None`: `<input stem>.predictions.csv` beside the input.
    pub output: Option<PathBuf>,
}

/// Where a file's predictions went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictFileResult {
    /// The CSV written.
    pub output: PathBuf,
    /// Texts predicted.
    pub count: usize,
}

/// Predicts every text of a file and writes a CSV: text, label, one probability column
/// per label. Written to a temporary file beside the output and renamed into place, so a
/// failed or cancelled run leaves an earlier file as it was; the input is never the
/// output.
pub fn predict_file(
    engine: &Engine,
    req: &PredictFile,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<PredictFileResult> {
    let texts = read_texts(&req.input, req.text_col.as_deref())?;
    if texts.is_empty() {
        return Err(StudioError::EmptyData {
            path: req.input.clone(),
        });
    }
    let output = req.output.clone().unwrap_or_else(|| {
        let stem = req
            .input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "texts".into());
        req.input
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{stem}.predictions.csv"))
    });
    if output == req.input {
        return Err(StudioError::InvalidSetting(format!(
            "{} is the input file; write the predictions to another file",
            output.display()
        )));
    }
    let predictor = engine.predictor(&req.model)?;
    observer.on_event(&Event::Phase {
        name: "predict".into(),
        total: Some(texts.len() as u64),
    });
    let mut csv = csv_header(predictor.labels());
    for (k, chunk) in texts.chunks(CHUNK).enumerate() {
        for (t, p) in chunk.iter().zip(predictor.predict(chunk, cancel)?) {
            csv_row(&mut csv, t, &p);
        }
        observer.on_event(&Event::Advance {
            done: ((k + 1) * CHUNK).min(texts.len()) as u64,
            total: Some(texts.len() as u64),
        });
    }
    write_replacing(&output, csv.as_bytes())?;
    Ok(PredictFileResult {
        output,
        count: texts.len(),
    })
}

fn csv_header(labels: &[String]) -> String {
    let mut out = String::from("\u{feff}text,label");
    for l in labels {
        out.push(',');
        out.push_str(&csv_field(&format!("p_{l}")));
    }
    out.push('\n');
    out
}

fn csv_row(out: &mut String, text: &str, p: &Prediction) {
    out.push_str(&csv_field(text));
    out.push(',');
    out.push_str(&csv_field(&p.label));
    for q in &p.probs {
        out.push_str(&format!(",{q:.6}"));
    }
    out.push('\n');
}

/// Writes `bytes` to a temporary sibling of `path`, then renames it over `path`.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "predictions.csv".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        StudioError::io("write", path, e)
    })
}

/// Predicts the project's texts (up to [`PROJECT_PREDICT_CAP`]) and stores the
/// probabilities as model version `run_id`, in the project's label order. Returns how
/// many; 0 when the project's labels are no longer the model's.
pub fn predict_project(
    p: &Project,
    predictor: &Predictor,
    run_id: i64,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<usize> {
    let labels = p.label_names()?;
    let Some(order) = labels
        .iter()
        .map(|l| predictor.labels().iter().position(|m| m == l))
        .collect::<Option<Vec<usize>>>()
    else {
        return Ok(0);
    };
    let total = (p.count(&Filter::default())? as usize).min(PROJECT_PREDICT_CAP);
    observer.on_event(&Event::Phase {
        name: "predict".into(),
        total: Some(total as u64),
    });
    let mut rows: Vec<(i64, Vec<f32>)> = Vec::with_capacity(total);
    let mut after = None;
    while rows.len() < total {
        let page = p.page(&PageQuery {
            filter: Filter::default(),
            after_id: after,
            offset: 0,
            limit: CHUNK as u32,
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let texts: Vec<String> = page.iter().map(|r| r.text.clone()).collect();
        for (r, pr) in page.iter().zip(predictor.predict(&texts, cancel)?) {
            rows.push((r.id, order.iter().map(|&i| pr.probs[i]).collect()));
        }
        observer.on_event(&Event::Advance {
            done: rows.len() as u64,
            total: Some(total as u64),
        });
    }
    p.store_predictions(run_id, &rows)?;
    Ok(rows.len())
}

//! Predict: texts, a file to a file, and a project's texts into the project (the Label
//! pane shows the model's guesses from there).

use super::Engine;
use crate::classify::explain::{explain, Explanation};
use crate::classify::infer::{Prediction, Predictor};
use crate::data::{csv_field, stream_texts};
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
    /// The file written.
    pub output: PathBuf,
    /// Texts predicted.
    pub count: usize,
    /// Texts an earlier, interrupted run had already predicted (kept, not redone).
    pub resumed: usize,
    /// The first texts this run predicted, with their predictions ([`PREVIEW_ROWS`] at
    /// most), for a face to show before the user opens the file.
    pub preview: Vec<(String, Prediction)>,
}

/// Rows of a predicted file kept for its preview.
pub const PREVIEW_ROWS: usize = 5;

/// The output's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutFormat {
    /// CSV, UTF-8 with a byte-order mark (Excel then reads Chinese right).
    Csv,
    /// One JSON object a line.
    Jsonl,
    /// An Excel workbook, one sheet. Rows gather as JSON Lines in the partial file (so
    /// a kill resumes as for the others) and become the workbook at the end.
    Xlsx,
}

/// Rows an Excel sheet holds besides its header.
const XLSX_MAX_ROWS: usize = 1_048_575;
/// Characters an Excel cell holds.
const XLSX_MAX_CELL: usize = 32_767;

impl OutFormat {
    fn of(path: &Path) -> Result<Self> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .as_deref()
        {
            Some("csv") | None => Ok(Self::Csv),
            Some("jsonl") | Some("ndjson") => Ok(Self::Jsonl),
            Some("xlsx") => Ok(Self::Xlsx),
            Some(other) => Err(StudioError::InvalidSetting(format!(
                "cannot write predictions as .{other}; name the output .csv, .jsonl or .xlsx"
            ))),
        }
    }
}

/// What an interrupted [`predict_file`] had finished, kept beside the output as
/// `.<name>.progress.json`. It names the input (path, size, modification time) and the
/// model, so a resume never mixes two runs; `bytes` is where the partial output's last
/// whole chunk ends, so rows written after it are cut off and redone, never repeated.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
struct Checkpoint {
    input: String,
    input_bytes: u64,
    input_modified: u64,
    model: String,
    rows: usize,
    bytes: u64,
}

fn file_identity(path: &Path) -> Result<(String, u64, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| StudioError::io("read", path, e))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok((full.to_string_lossy().into_owned(), meta.len(), modified))
}

/// Renames the importer's progress, in bytes of the input, as this job's
/// ("predict-file"), passing the rest on.
struct AsPredict<'a>(&'a mut dyn Observer);

impl Observer for AsPredict<'_> {
    fn on_event(&mut self, e: &Event) {
        match e {
            Event::Phase { total, .. } => self.0.on_event(&Event::Phase {
                name: "predict-file".into(),
                total: *total,
            }),
            other => self.0.on_event(other),
        }
    }
}

/// Predicts every text of a file and writes them, with their label and one probability
/// column per label, as CSV (UTF-8 with a byte-order mark) or JSON Lines, by the
/// output's extension.
///
/// It streams: texts are read, predicted and written a chunk at a time, so memory stays
/// flat however long the file (XLSX and JSON arrays excepted: their readers hold the
/// file). Output goes to `.<name>.partial` beside the output, synced after every chunk
/// with a checkpoint; a run killed at any point resumes from the last checkpoint on the
/// next call with the same input and model, without redoing or repeating a row. At the
/// end the partial file is renamed over the output, so a failed run leaves an earlier
/// output as it was. The input is never the output.
pub fn predict_file(
    engine: &Engine,
    req: &PredictFile,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<PredictFileResult> {
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
    let same = |a: &Path, b: &Path| {
        a == b
            || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    };
    if same(&output, &req.input) {
        return Err(StudioError::InvalidSetting(format!(
            "{} is the input file; write the predictions to another file",
            output.display()
        )));
    }
    let format = OutFormat::of(&output)?;
    let predictor = engine.predictor(&req.model)?;
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "predictions.csv".into());
    let partial = output.with_file_name(format!(".{name}.partial"));
    let progress = output.with_file_name(format!(".{name}.progress.json"));
    let (input, input_bytes, input_modified) = file_identity(&req.input)?;
    let model = std::fs::canonicalize(&req.model)
        .unwrap_or_else(|_| req.model.clone())
        .to_string_lossy()
        .into_owned();
    let io = |e| StudioError::io("write", &partial, e);

    // Resume only what this input and this model had finished.
    let earlier: Option<Checkpoint> = std::fs::read_to_string(&progress)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(|c: &Checkpoint| {
            c.input == input
                && c.input_bytes == input_bytes
                && c.input_modified == input_modified
                && c.model == model
                && std::fs::metadata(&partial).is_ok_and(|m| m.len() >= c.bytes)
        });
    let mut file;
    let (skip, mut bytes) = match &earlier {
        Some(c) => {
            file = std::fs::OpenOptions::new()
                .write(true)
                .open(&partial)
                .map_err(io)?;
            file.set_len(c.bytes).map_err(io)?;
            (c.rows, c.bytes)
        }
        None => {
            file = std::fs::File::create(&partial).map_err(io)?;
            let header = match format {
                OutFormat::Csv => csv_header(predictor.labels()),
                OutFormat::Jsonl | OutFormat::Xlsx => String::new(),
            };
            file.write_all(header.as_bytes()).map_err(io)?;
            (0, header.len() as u64)
        }
    };
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(bytes)).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);

    let mut seen = 0usize;
    let mut chunk: Vec<String> = Vec::with_capacity(CHUNK);
    let mut preview: Vec<(String, Prediction)> = Vec::new();
    let mut flush = |chunk: &mut Vec<String>, rows: usize| -> Result<()> {
        let mut text = String::new();
        for (t, p) in chunk.iter().zip(predictor.predict(chunk, cancel)?) {
            if preview.len() < PREVIEW_ROWS {
                preview.push((t.clone(), p.clone()));
            }
            match format {
                OutFormat::Csv => csv_row(&mut text, t, &p),
                OutFormat::Jsonl | OutFormat::Xlsx => {
                    jsonl_row(&mut text, t, &p, predictor.labels())
                }
            }
        }
        chunk.clear();
        out.write_all(text.as_bytes()).map_err(io)?;
        out.flush().map_err(io)?;
        out.get_ref().sync_data().map_err(io)?;
        bytes += text.len() as u64;
        let c = Checkpoint {
            input: input.clone(),
            input_bytes,
            input_modified,
            model: model.clone(),
            rows,
            bytes,
        };
        let json = serde_json::to_vec(&c).unwrap_or_default();
        write_replacing(&progress, &json)
    };
    let mut observer = AsPredict(observer);
    let streamed = stream_texts(
        &req.input,
        req.text_col.as_deref(),
        &mut observer,
        cancel,
        &mut |t| {
            seen += 1;
            if format == OutFormat::Xlsx && seen > XLSX_MAX_ROWS {
                return Err(StudioError::InvalidSetting(format!(
                    "{} has more than {XLSX_MAX_ROWS} texts, the most an Excel sheet holds; write the predictions as .csv or .jsonl instead",
                    req.input.display()
                )));
            }
            if seen > skip {
                chunk.push(t);
                if chunk.len() == CHUNK {
                    flush(&mut chunk, seen)?;
                }
            }
            Ok(std::ops::ControlFlow::Continue(()))
        },
    )
    .and_then(|_| match chunk.is_empty() {
        true => Ok(()),
        false => flush(&mut chunk, seen),
    });
    if let Err(e) = streamed {
        // Work done stays for the next run to resume; a file that failed before its
        // first chunk leaves nothing behind.
        if !progress.exists() {
            drop(out);
            let _ = std::fs::remove_file(&partial);
        }
        return Err(e);
    }
    if seen == 0 {
        drop(out);
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(&progress);
        return Err(StudioError::EmptyData {
            path: req.input.clone(),
        });
    }
    drop(out);
    if format == OutFormat::Xlsx {
        let tmp = output.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let written = write_xlsx(&partial, &tmp, predictor.labels(), cancel).and_then(|_| {
            std::fs::rename(&tmp, &output).map_err(|e| StudioError::io("write", &output, e))
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        let _ = std::fs::remove_file(&partial);
    } else {
        std::fs::rename(&partial, &output).map_err(|e| StudioError::io("write", &output, e))?;
    }
    let _ = std::fs::remove_file(&progress);
    Ok(PredictFileResult {
        output,
        count: seen,
        resumed: skip.min(seen),
        preview,
    })
}

/// Writes the JSON Lines rows of `partial` as an Excel sheet at `path`: text, label, one
/// probability column per label (numbers, so Excel can sort and filter them).
fn write_xlsx(partial: &Path, path: &Path, labels: &[String], cancel: &CancelToken) -> Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    use std::io::BufRead;
    let xlsx_err = |e: rust_xlsxwriter::XlsxError| StudioError::BadFile {
        path: path.to_path_buf(),
        reason: format!("the workbook could not be written ({e})"),
    };
    let mut book = Workbook::new();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    let bold = Format::new().set_bold();
    let header: Vec<String> = ["text".to_string(), "label".to_string()]
        .into_iter()
        .chain(labels.iter().map(|l| format!("p_{l}")))
        .collect();
    for (c, h) in header.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, h, &bold)
            .map_err(xlsx_err)?;
    }
    let file = std::fs::File::open(partial).map_err(|e| StudioError::io("read", partial, e))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        if i % 4096 == 0 {
            cancel.check()?;
        }
        let line = line.map_err(|e| StudioError::io("read", partial, e))?;
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|error| StudioError::Json {
                path: partial.to_path_buf(),
                error,
            })?;
        let row = (i + 1) as u32;
        let text = v["text"].as_str().unwrap_or_default();
        let text: String = text.chars().take(XLSX_MAX_CELL).collect();
        sheet.write_string(row, 0, &text).map_err(xlsx_err)?;
        sheet
            .write_string(row, 1, v["label"].as_str().unwrap_or_default())
            .map_err(xlsx_err)?;
        for (c, l) in labels.iter().enumerate() {
            let p = v["probabilities"][l].as_f64().unwrap_or(f64::NAN);
            sheet
                .write_number(row, (c + 2) as u16, p)
                .map_err(xlsx_err)?;
        }
    }
    book.save(path).map_err(xlsx_err)
}

fn jsonl_row(out: &mut String, text: &str, p: &Prediction, labels: &[String]) {
    let probs: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .zip(&p.probs)
        .map(|(l, v)| (l.clone(), serde_json::json!(v)))
        .collect();
    out.push_str(
        &serde_json::json!({"text": text, "label": p.label, "probabilities": probs}).to_string(),
    );
    out.push('\n');
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

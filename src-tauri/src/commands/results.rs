//! Evaluate, Playground and Export panes: runs, metrics with the texts behind each
//! confusion cell, predictions (one text or a file) and copying a model out.

use crate::dto::{MetricsDto, PredictionDto};
use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::Serialize;
use std::path::{Path, PathBuf};
use studio_core::classify::eval::Metrics;
use studio_core::classify::infer::Predictor;
use studio_core::data::LabeledData;
use studio_core::progress::CancelToken;
use studio_core::project::{Filter, LabelFilter, PageQuery, SplitName};
use tauri::ipc::Channel;
use tauri::State;

/// The most texts a run predicts for the Label pane.
const PREDICT_CAP: usize = 20_000;

/// Metrics of `predictor` on `data` (labels matched by name).
pub fn evaluate_on(
    predictor: &Predictor,
    data: &LabeledData,
    cancel: &CancelToken,
) -> AppResult<Metrics> {
    let preds = predictor.predict(&data.texts, cancel)?;
    let names = &data.label_names;
    let predicted: Vec<usize> = preds
        .iter()
        .map(|p| names.iter().position(|n| n == &p.label).unwrap_or(0))
        .collect();
    Ok(Metrics::compute(&data.labels, &predicted, names))
}

/// Predicts the project's texts (up to [`PREDICT_CAP`]) and stores the probabilities as
/// model version `run_id`. Returns how many.
pub fn predict_all(
    state: &AppState,
    predictor: &Predictor,
    obs: &mut ChannelObserver,
    cancel: &CancelToken,
    run_id: i64,
) -> AppResult<usize> {
    let (labels, total) =
        state.with_project(|p| Ok((p.label_names()?, p.count(&Filter::default())?)))?;
    let order: Option<Vec<usize>> = labels
        .iter()
        .map(|l| predictor.labels().iter().position(|m| m == l))
        .collect();
    let Some(order) = order else {
        return Ok(0);
    };
    let total = (total as usize).min(PREDICT_CAP);
    obs.send(Progress::Phase {
        name: "predict".into(),
        total: Some(total as f64),
    });
    let mut rows: Vec<(i64, Vec<f32>)> = Vec::with_capacity(total);
    let mut after = None;
    while rows.len() < total {
        let page = state.with_project(|p| {
            Ok(p.page(&PageQuery {
                filter: Filter::default(),
                after_id: after,
                offset: 0,
                limit: 256,
            })?)
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let texts: Vec<String> = page.iter().map(|r| r.text.clone()).collect();
        let preds = predictor.predict(&texts, cancel)?;
        for (r, p) in page.iter().zip(preds) {
            rows.push((r.id, order.iter().map(|&i| p.probs[i]).collect()));
        }
        obs.send(Progress::Advance {
            done: rows.len() as f64,
            total: Some(total as f64),
        });
    }
    state.with_project(|p| Ok(p.store_predictions(run_id, &rows)?))?;
    Ok(rows.len())
}

/// A training run as the Evaluate, Playground and Export panes list it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// Run id.
    pub id: u32,
    /// Base model.
    pub model: String,
    /// "running", "finished", "failed", "cancelled".
    pub status: String,
    /// The app's copy of the model, when finished.
    pub model_dir: Option<String>,
    /// Validation accuracy.
    pub accuracy: Option<f64>,
    /// Validation macro-F1.
    pub macro_f1: Option<f64>,
    /// Test accuracy.
    pub test_accuracy: Option<f64>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: f64,
}

/// Every run of the open project, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_runs(state: State<'_, AppState>) -> AppResult<Vec<RunInfo>> {
    state.with_project(|p| {
        let mut runs: Vec<RunInfo> = p
            .runs()?
            .into_iter()
            .map(|r| {
                let m = r.record.metrics.as_ref();
                let get = |split: &str, key: &str| {
                    m.and_then(|m| m.get(split))
                        .and_then(|s| s.get(key))
                        .and_then(|v| v.as_f64())
                };
                RunInfo {
                    id: r.id as u32,
                    model: r.record.model.clone(),
                    status: r.record.status.clone(),
                    model_dir: r
                        .record
                        .export_path
                        .as_ref()
                        .filter(|d| d.join("config.json").is_file())
                        .map(|d| d.to_string_lossy().into_owned()),
                    accuracy: get("validation", "accuracy"),
                    macro_f1: get("validation", "macroF1"),
                    test_accuracy: get("test", "accuracy"),
                    started_at_ms: r.record.started_at_ms as f64,
                }
            })
            .collect();
        runs.reverse();
        Ok(runs)
    })
}

fn model_dir(state: &AppState, run_id: u32) -> AppResult<PathBuf> {
    state.with_project(|p| {
        let run = p
            .runs()?
            .into_iter()
            .find(|r| r.id == i64::from(run_id))
            .ok_or_else(|| AppError::input(format!("there is no run {run_id} in this project")))?;
        run.record
            .export_path
            .filter(|d| d.join("config.json").is_file())
            .ok_or_else(|| {
                AppError::input(format!(
                    "run {run_id} has no model (it did not finish); train again"
                ))
            })
    })
}

/// One evaluated text.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EvalItem {
    /// Text id.
    pub id: u32,
    /// The text.
    pub text: String,
    /// Its label.
    pub truth: String,
    /// The model's label.
    pub predicted: String,
    /// The model's probability for its label.
    pub confidence: f32,
}

/// What the Evaluate pane shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EvalView {
    /// The run.
    pub run_id: u32,
    /// "test" or "validation": which held-out texts.
    pub split: String,
    /// Metrics.
    pub metrics: MetricsDto,
    /// Every evaluated text.
    pub items: Vec<EvalItem>,
}

/// Evaluates run `run_id` on the project's test split (the validation split when the
/// test split is empty), with every text, so each confusion cell can list its texts.
#[tauri::command]
#[specta::specta]
pub async fn evaluate_run(state: State<'_, AppState>, run_id: u32) -> AppResult<EvalView> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let dir = model_dir(&shared, run_id)?;
        let predictor = shared.predictor(&dir)?;
        let (split, rows, names) = shared.with_project(|p| {
            let names = p.label_names()?;
            for split in [SplitName::Test, SplitName::Validation] {
                let rows = p.page(&PageQuery {
                    filter: Filter {
                        label: LabelFilter::Labelled,
                        split: Some(split),
                        ..Filter::default()
                    },
                    after_id: None,
                    offset: 0,
                    limit: 5000,
                })?;
                if !rows.is_empty() {
                    return Ok((split, rows, names));
                }
            }
            Err(AppError::input(
                "no labelled texts are held out for testing yet; label more texts (one in ten goes to the test split)",
            ))
        })?;
        let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
        let preds = predictor.predict(&texts, &CancelToken::new())?;
        let idx = |l: &str| names.iter().position(|n| n == l).unwrap_or(0);
        let truth: Vec<usize> = rows.iter().map(|r| idx(r.label.as_deref().unwrap_or(""))).collect();
        let predicted: Vec<usize> = preds.iter().map(|p| idx(&p.label)).collect();
        let metrics = Metrics::compute(&truth, &predicted, &names);
        let items = rows
            .into_iter()
            .zip(&preds)
            .map(|(r, p)| EvalItem {
                id: r.id as u32,
                text: r.text,
                truth: r.label.unwrap_or_default(),
                predicted: p.label.clone(),
                confidence: p.probs.get(p.label_id).copied().unwrap_or(0.0),
            })
            .collect();
        Ok(EvalView {
            run_id,
            split: split.as_str().into(),
            metrics: MetricsDto::from(&metrics),
            items,
        })
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

/// Predicts one text with run `run_id`'s model.
#[tauri::command]
#[specta::specta]
pub async fn predict_text(
    state: State<'_, AppState>,
    run_id: u32,
    text: String,
) -> AppResult<PredictionDto> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let predictor = shared.predictor(&model_dir(&shared, run_id)?)?;
        let p = predictor.predict_one(&text)?;
        Ok(PredictionDto::new(&p, predictor.labels()))
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

/// Where a batch prediction was written.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// The CSV written.
    pub output: String,
    /// Texts predicted.
    pub count: u32,
}

/// A CSV field, quoted when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Predicts every text of a file (CSV, TSV, JSONL or TXT) and writes
/// `<name>.predictions.csv` beside it: text, label, one probability column per label.
#[tauri::command]
#[specta::specta]
pub async fn predict_file(
    state: State<'_, AppState>,
    run_id: u32,
    path: String,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<BatchResult> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let predictor = shared.predictor(&model_dir(&shared, run_id)?)?;
        let input = PathBuf::from(&path);
        let pv = studio_core::data::import::preview(&input, &Default::default(), 20)?;
        let guess = studio_core::data::import::ColumnMapping::guess(&pv.layout.columns, &pv.rows);
        let texts = studio_core::data::read_texts(&input, &guess.text)?;
        let obs = ChannelObserver::new(on_progress);
        obs.send(Progress::Phase {
            name: "predict".into(),
            total: Some(texts.len() as f64),
        });
        let mut out = String::from("text,label");
        for l in predictor.labels() {
            out.push(',');
            out.push_str(&csv_field(&format!("p_{l}")));
        }
        out.push('\n');
        for (k, chunk) in texts.chunks(256).enumerate() {
            let preds = predictor.predict(chunk, &cancel)?;
            for (t, p) in chunk.iter().zip(preds) {
                out.push_str(&csv_field(t));
                out.push(',');
                out.push_str(&csv_field(&p.label));
                for q in &p.probs {
                    out.push_str(&format!(",{q:.6}"));
                }
                out.push('\n');
            }
            obs.send(Progress::Advance {
                done: ((k + 1) * 256).min(texts.len()) as f64,
                total: Some(texts.len() as f64),
            });
        }
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "texts".into());
        let dest = input
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{stem}.predictions.csv"));
        std::fs::write(&dest, out)?;
        Ok(BatchResult {
            output: dest.to_string_lossy().into_owned(),
            count: texts.len() as u32,
        })
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

/// Where an export went and how to use it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExportInfo {
    /// The exported folder.
    pub path: String,
    /// Files in it.
    pub files: Vec<String>,
    /// Python that loads it with transformers.
    pub python: String,
    /// The `studio predict` command.
    pub cli: String,
}

fn copy_dir(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dest.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else {
            std::fs::copy(e.path(), to)?;
        }
    }
    Ok(())
}

/// Copies run `run_id`'s model (weights, tokenizer, model card, charts) to `dest`.
/// Written beside it first, then renamed into place: a failed export leaves `dest` as
/// it was. An existing folder is only replaced when it holds an earlier export.
#[tauri::command]
#[specta::specta]
pub async fn export_run(
    state: State<'_, AppState>,
    run_id: u32,
    dest: String,
) -> AppResult<ExportInfo> {
    let src = model_dir(&state, run_id)?;
    tauri::async_runtime::spawn_blocking(move || export_folder(&src, Path::new(dest.trim())))
        .await
        .map_err(|e| AppError::runtime(e.to_string()))?
}

/// Copies a model folder to `dest` (see [`export_run`]).
pub(crate) fn export_folder(src: &Path, dest: &Path) -> AppResult<ExportInfo> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| AppError::input("name the folder to export to"))?;
    if dest.exists() {
        let is_export = dest.join("config.json").is_file();
        let is_empty = std::fs::read_dir(dest)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !is_export && !is_empty {
            return Err(AppError::input(format!(
                "{} already exists and holds other files; pick a new folder name",
                dest.display()
            )));
        }
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    if let Err(e) = copy_dir(src, &tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.into());
    }
    if dest.exists() {
        std::fs::rename(dest, &old)?;
    }
    if let Err(e) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::rename(&old, dest);
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.into());
    }
    let _ = std::fs::remove_dir_all(&old);
    let mut files: Vec<String> = std::fs::read_dir(dest)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let d = dest.to_string_lossy().into_owned();
    let quoted = if d.contains(' ') {
        format!("\"{d}\"")
    } else {
        d.clone()
    };
    Ok(ExportInfo {
        python: format!(
            "from transformers import pipeline\n\nclassify = pipeline(\"text-classification\", model=r\"{d}\")\nprint(classify(\"What a wonderful film!\"))"
        ),
        cli: format!("studio predict --model {quoted} \"What a wonderful film!\""),
        path: d,
        files,
    })
}

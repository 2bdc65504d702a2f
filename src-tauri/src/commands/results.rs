//! Evaluate, Playground and Export panes: adapters over `studio_core::ops` (runs,
//! evaluate, predict, export), the same operations as `studio project runs`, `studio
//! eval --project`, `studio predict` and `studio export`.

use crate::dto::{ExplanationDto, MetricsDto, ModeName, PredictionDto, RunStatusName};
use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::Serialize;
use std::path::{Path, PathBuf};
use studio_core::classify::eval::Metrics;
use studio_core::ops::evaluate::{evaluate_run as evaluate_run_op, CvMethod, Estimate};
use studio_core::ops::export::export_run as export_run_op;
use studio_core::ops::predict::{
    explain_texts as explain_texts_op, predict_file as predict_file_op, predict_texts, PredictFile,
};
use studio_core::ops::runs::{list_runs as list_runs_op, run_with_model, RunSummary};
use studio_core::ops::MIN_TRUSTED_PER_LABEL;
use studio_core::progress::{CancelToken, Silent};
use studio_core::project::Project;
use tauri::ipc::Channel;
use tauri::State;

/// A training run as the Evaluate, Playground and Export panes list it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// Run id.
    pub id: u32,
    /// Base model.
    pub model: String,
    /// The training method, when recorded.
    pub method: Option<ModeName>,
    /// Labelled texts it learned from, when recorded.
    pub label_count: Option<u32>,
    /// Where it ended up.
    pub status: RunStatusName,
    /// The app's copy of the model, when finished.
    pub model_dir: Option<String>,
    /// Validation accuracy; null when nothing was held out (shown as "—", never 0%).
    pub accuracy: Option<f64>,
    /// Validation macro-F1; null when nothing was held out.
    pub macro_f1: Option<f64>,
    /// Test accuracy; null when the test split had no text.
    pub test_accuracy: Option<f64>,
    /// Test texts the test accuracy was measured on (0 when none).
    pub test_n: u32,
    /// 95% interval of the test accuracy (Wilson), `[low, high]`; null without a test.
    pub test_interval: Option<[f64; 2]>,
    /// Whether the test split is too small to trust (fewer than 20 texts of a label).
    pub test_too_small: bool,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: f64,
}

impl From<&RunSummary> for RunInfo {
    fn from(r: &RunSummary) -> Self {
        Self {
            id: r.id as u32,
            model: r.base_model.clone(),
            method: r.method.map(Into::into),
            label_count: r.label_count.map(|n| n as u32),
            status: r.status.into(),
            model_dir: r
                .model_dir
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned()),
            accuracy: r.validation.as_ref().map(|m| m.accuracy),
            macro_f1: r.validation.as_ref().map(|m| m.macro_f1),
            test_accuracy: r.test.as_ref().map(|m| m.accuracy),
            test_n: r.test.as_ref().map_or(0, |m| m.n as u32),
            test_interval: r.test.as_ref().filter(|m| m.n > 0).map(|m| m.accuracy_ci),
            test_too_small: r.test.as_ref().is_some_and(Metrics::too_small_to_trust),
            started_at_ms: r.started_at_ms as f64,
        }
    }
}

/// Every run of the open project, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_runs(state: State<'_, AppState>) -> AppResult<Vec<RunInfo>> {
    let runs = list_runs_op(&state.project_path()?)?;
    Ok(runs.iter().rev().map(RunInfo::from).collect())
}

fn model_dir(state: &AppState, run_id: u32) -> AppResult<PathBuf> {
    let p = Project::open(&state.project_path()?)?;
    Ok(run_with_model(&p, Some(i64::from(run_id)))?.1)
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
    /// Metrics on the project's test split.
    pub metrics: MetricsDto,
    /// Texts of the rarest label in the test split.
    pub min_per_label: u32,
    /// True when some label has fewer than `trustedPerLabel` test texts: the pane says
    /// the score is too small to trust instead of showing it large.
    pub too_small: bool,
    /// The number of test texts a label needs before its score is trusted.
    pub trusted_per_label: u32,
    /// Every evaluated text.
    pub items: Vec<EvalItem>,
    /// When the test split is too small: a k-fold estimate over every labelled text.
    pub cross_validation: Option<CrossValidationDto>,
    /// Which estimate the pane shows large.
    pub headline: EstimateName,
}

/// Which estimate the Evaluate pane shows large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum EstimateName {
    /// The test split.
    Test,
    /// Cross-validation over every labelled text.
    CrossValidation,
}

/// What each fold of a cross-validation trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum CvMethodName {
    /// The run's own method.
    Run,
    /// The fast classifier in place of a slower method.
    Fast,
}

/// A cross-validated estimate.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CrossValidationDto {
    /// Folds.
    pub k: u32,
    /// What each fold trained.
    pub method: CvMethodName,
    /// The out-of-fold predictions of every labelled text, scored together.
    pub metrics: MetricsDto,
}

/// Evaluates run `run_id` on the project's test split (never on texts it learned from),
/// with every text, so each confusion cell can list its texts. A job: `cancel_job`
/// stops it between batches.
#[tauri::command]
#[specta::specta]
pub async fn evaluate_run(
    state: State<'_, AppState>,
    run_id: u32,
    job: u32,
) -> AppResult<EvalView> {
    let shared = state.inner().clone();
    let project = shared.project_path()?;
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let e = evaluate_run_op(
            shared.engine(),
            &project,
            Some(i64::from(run_id)),
            &mut Silent,
            &cancel,
        )?;
        shared.remember_reliability(run_id, e.score.metrics.calibration.as_ref());
        // The style now, not when the evaluation began: the language may have changed
        // while it ran, and the UI redrew the charts it had then.
        let style = shared.chart_style();
        Ok(EvalView {
            run_id,
            metrics: MetricsDto::new(&e.score.metrics, &style),
            min_per_label: e.score.min_per_label as u32,
            too_small: e.score.too_small,
            trusted_per_label: MIN_TRUSTED_PER_LABEL as u32,
            items: e
                .items
                .into_iter()
                .map(|i| EvalItem {
                    id: i.id as u32,
                    text: i.text,
                    truth: i.truth,
                    predicted: i.predicted,
                    confidence: i.confidence,
                })
                .collect(),
            cross_validation: e.cross_validation.map(|c| CrossValidationDto {
                k: c.k as u32,
                method: match c.method {
                    CvMethod::Run => CvMethodName::Run,
                    CvMethod::Fast => CvMethodName::Fast,
                },
                metrics: MetricsDto::new(&c.score.metrics, &style),
            }),
            headline: match e.headline {
                Estimate::Test => EstimateName::Test,
                Estimate::CrossValidation => EstimateName::CrossValidation,
            },
        })
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
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
        let dir = model_dir(&shared, run_id)?;
        let (preds, labels) = predict_texts(shared.engine(), &dir, &[text], &CancelToken::new())?;
        Ok(PredictionDto::new(&preds[0], &labels))
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

/// Predicts texts with run `run_id`'s model and weighs the words behind each
/// prediction: the Playground as the user types, and Evaluate's list of errors.
#[tauri::command]
#[specta::specta]
pub async fn explain_texts(
    state: State<'_, AppState>,
    run_id: u32,
    texts: Vec<String>,
) -> AppResult<Vec<ExplanationDto>> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let dir = model_dir(&shared, run_id)?;
        let labels = shared.engine().predictor(&dir)?.labels().to_vec();
        let e = explain_texts_op(shared.engine(), &dir, &texts, &CancelToken::new())?;
        Ok(e.iter().map(|x| ExplanationDto::new(x, &labels)).collect())
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
    /// The first rows written (text, label, its probability), shown under "Done".
    pub preview: Vec<PreviewRow>,
}

/// One row of a predicted file's preview.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRow {
    /// The text.
    pub text: String,
    /// The predicted label.
    pub label: String,
    /// Its probability.
    pub prob: f32,
}

/// Predicts every text of a file (any format a project imports, in any encoding) and
/// writes `<name>.predictions.csv` beside it: text, label, one probability column per
/// label.
#[tauri::command]
#[specta::specta]
pub async fn predict_file(
    state: State<'_, AppState>,
    run_id: u32,
    path: String,
    output: Option<String>,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<BatchResult> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let mut obs = ChannelObserver::new(on_progress);
        let output = output.map(std::path::PathBuf::from);
        predict_file_blocking(&shared, run_id, Path::new(&path), output, &mut obs, &cancel)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

/// The Playground's predict-a-file: `ops::predict::predict_file`, rendered for the UI.
pub fn predict_file_blocking(
    state: &AppState,
    run_id: u32,
    input: &Path,
    output: Option<std::path::PathBuf>,
    obs: &mut dyn studio_core::progress::Observer,
    cancel: &CancelToken,
) -> AppResult<BatchResult> {
    let r = predict_file_op(
        state.engine(),
        &PredictFile {
            model: model_dir(state, run_id)?,
            input: input.to_path_buf(),
            text_col: None,
            output,
        },
        obs,
        cancel,
    )?;
    Ok(BatchResult {
        output: r.output.to_string_lossy().into_owned(),
        count: r.count as u32,
        preview: r
            .preview
            .iter()
            .map(|(text, p)| PreviewRow {
                text: text.clone(),
                label: p.label.clone(),
                prob: p.probs.iter().copied().fold(0.0, f32::max),
            })
            .collect(),
    })
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
    /// The weights files (safetensors, ONNX) and their sizes, for choosing what to ship.
    pub weights: Vec<WeightFile>,
}

/// One weights file of an export.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct WeightFile {
    /// File name.
    pub name: String,
    /// Size in megabytes (10^6 bytes).
    pub megabytes: f64,
}

/// Copies run `run_id`'s model (weights, tokenizer, model card, charts) to `dest`, with
/// `model.onnx` when `onnx` and `model_int8.onnx` when `onnx_int8`.
/// Written beside it first, then renamed into place: a failed export leaves `dest` as
/// it was, and so does a cancel (`cancel_job`). An existing folder is only replaced when
/// it holds an earlier export.
#[tauri::command]
#[specta::specta]
pub async fn export_run(
    state: State<'_, AppState>,
    run_id: u32,
    dest: String,
    onnx: bool,
    onnx_int8: bool,
    job: u32,
) -> AppResult<ExportInfo> {
    let project = state.project_path()?;
    let cancel = state.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let e = export_run_op(
            &project,
            Some(i64::from(run_id)),
            Path::new(dest.trim()),
            studio_core::ops::export::ExportOptions { onnx, onnx_int8 },
            &cancel,
        )?;
        Ok(export_info(&e))
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

/// How to use an exported folder, from Python and from the CLI.
pub(crate) fn export_info(e: &studio_core::ops::export::Exported) -> ExportInfo {
    let d = e.path.to_string_lossy().into_owned();
    let quoted = if d.contains(' ') {
        format!("\"{d}\"")
    } else {
        d.clone()
    };
    ExportInfo {
        python: format!(
            "from transformers import pipeline\n\nclassify = pipeline(\"text-classification\", model=r\"{d}\")\nprint(classify(\"What a wonderful film!\"))"
        ),
        cli: format!("studio predict --model {quoted} \"What a wonderful film!\""),
        path: d,
        files: e.files.clone(),
        weights: e
            .weights
            .iter()
            .map(|w| WeightFile {
                name: w.name.clone(),
                megabytes: w.bytes as f64 / 1e6,
            })
            .collect(),
    }
}

//! The learning curve the Train pane shows after a run: how accuracy grows with labels on
//! this project, and how many more labels the next step would take (the engine's
//! `studies::label_curve`, on vectors cached per base model).

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use serde::Serialize;
use studio_core::ops::suggest::learning_curve as curve_op;
use studio_core::progress::CancelToken;
use studio_core::studies::curve::curve_svg;
use tauri::State;

/// One size on the curve.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CurveRowDto {
    /// Labels per class; null for "every labelled text".
    pub per_class: Option<u32>,
    /// Mean labelled texts.
    pub n_labels: f64,
    /// Mean test accuracy over the seeds.
    pub accuracy: f64,
    /// Its standard deviation.
    pub accuracy_std: f64,
}

/// What the Train pane shows under a finished run.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LearningCurve {
    /// The chart (SVG, drawn by the engine in the UI's chart style).
    pub svg: String,
    /// The points.
    pub rows: Vec<CurveRowDto>,
    /// Test-split texts it was measured on.
    pub eval_texts: u32,
    /// Best mean accuracy so far.
    pub current: Option<f64>,
    /// The next step aimed at.
    pub next: Option<f64>,
    /// Labels per class the straight-line fit says reach `next`; null when flat.
    pub per_class_needed: Option<f64>,
}

/// The learning curve of the fast classifier on the open project's labels, with base
/// model `model_id` (seconds once vectors are cached; a job the UI may cancel with
/// `cancel_job`). It never holds the project: labelling goes on meanwhile.
#[tauri::command]
#[specta::specta]
pub async fn learning_curve(
    state: State<'_, AppState>,
    model_id: String,
    job: u32,
) -> AppResult<LearningCurve> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result =
        tauri::async_runtime::spawn_blocking(move || curve_blocking(&shared, &model_id, &cancel))
            .await
            .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

fn curve_blocking(
    state: &AppState,
    model_id: &str,
    cancel: &CancelToken,
) -> AppResult<LearningCurve> {
    let curve = curve_op(state.engine(), &state.project_path()?, model_id, cancel)?;
    let f = curve.forecast.as_ref();
    state.remember_curve(&curve.rows);
    Ok(LearningCurve {
        svg: curve_svg(&curve.rows, &state.chart_style()),
        rows: curve
            .rows
            .iter()
            .map(|r| CurveRowDto {
                per_class: r.per_class.map(|k| k as u32),
                n_labels: r.n_labels,
                accuracy: r.accuracy_mean,
                accuracy_std: r.accuracy_std,
            })
            .collect(),
        eval_texts: curve.eval_texts as u32,
        current: f.map(|f| f.current),
        next: f.map(|f| f.next),
        per_class_needed: f.and_then(|f| f.per_class_needed),
    })
}

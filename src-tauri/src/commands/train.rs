//! Train pane: an adapter over `studio_core::ops::train`. It turns the pane's request
//! into the engine's, forwards progress and renders the result; the run itself (splits,
//! recording, export, scoring, predictions) is the engine's, the same as
//! `studio train --project`.

use crate::dto::{HeadStartName, MetricsDto, ModeName, OverfittingDto, PresetName, ReasonCode};
use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use studio_core::charts::{loss_chart_svg, validation_chart_svg};
use studio_core::classify::train::{measure_speed, Target, TrainOptions};
use studio_core::ops::train::{self as op, TrainRequest as EngineRequest};
use studio_core::progress::CancelToken;
use studio_core::project::Project;
use tauri::ipc::Channel;
use tauri::State;

/// What the user chose on the Train pane.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TrainRequest {
    /// Base model id (catalog or store).
    pub model_id: String,
    /// The preset.
    pub preset: PresetName,
    /// The method, or null to let the preset choose.
    pub mode: Option<ModeName>,
    /// Maximum epochs, or null.
    pub epochs: Option<u32>,
    /// Peak learning rate, or null.
    pub lr: Option<f64>,
    /// Seed.
    pub seed: u32,
    /// Continue from this run's model instead of the base model ("Train again from
    /// this model", "Retrain with these fixes").
    pub from_run: Option<u32>,
}

impl TrainRequest {
    /// The engine's request: the engine's defaults plus what the user chose.
    pub fn to_engine(&self) -> EngineRequest {
        EngineRequest {
            model: self.model_id.clone(),
            options: TrainOptions {
                preset: self.preset.into(),
                mode: self.mode.map(Into::into),
                epochs: self.epochs.map(|e| e as usize),
                lr: self.lr,
                seed: u64::from(self.seed),
                ..TrainOptions::default()
            },
        }
    }
}

/// The engine's default preset, for the pane to start from.
#[tauri::command]
#[specta::specta]
pub fn default_preset() -> PresetName {
    TrainOptions::default().preset.into()
}

/// What a run will do and how long it will take, before starting.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// Seconds if every epoch runs (measured: the model's speed on a sample of the
    /// project's texts on this machine).
    pub seconds: f64,
    /// Labelled texts the model will learn from (train and validation splits).
    pub texts: u32,
    /// Labelled texts held out for the final test.
    pub test_texts: u32,
    /// The training method the preset picks.
    pub mode: ModeName,
    /// Why that method and these settings, in one sentence (English).
    pub why: String,
    /// The same as a code the UI translates.
    pub reason: ReasonCode,
    /// Examples of the rarest label in the training split.
    pub rarest: u32,
}

/// What a finished run gives the UI.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TrainResult {
    /// The run's id in the project.
    pub run_id: u32,
    /// The exported model folder (the app's copy).
    pub model_dir: String,
    /// Validation metrics of the kept weights; null when nothing was held out.
    pub validation: Option<MetricsDto>,
    /// Metrics on the project's test split, when it has texts.
    pub test: Option<MetricsDto>,
    /// Loss chart (SVG).
    pub loss_svg: String,
    /// Validation chart (SVG).
    pub validation_svg: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Epochs run.
    pub epochs: u32,
    /// Why these settings, in one sentence (English).
    pub why: String,
    /// The training method used.
    pub mode: ModeName,
    /// Why, as a code the UI translates.
    pub reason: ReasonCode,
    /// Examples of the rarest label in the training split.
    pub rarest: u32,
    /// Where the run began to overfit, if it did.
    pub overfitting: Option<OverfittingDto>,
    /// The temperature folded into the classifier (1 when nothing was held out).
    pub temperature: f64,
    /// Whether the run continued a fine-tuned classifier.
    pub head_start: HeadStartName,
}

/// Plans the run the preset would make on the open project and measures how long it
/// will take (the app keeps the measured speed per model and plan). A job: a newer
/// estimate cancels an older one still measuring (`cancel_job`).
#[tauri::command]
#[specta::specta]
pub async fn estimate_training(
    state: State<'_, AppState>,
    request: TrainRequest,
    job: u32,
) -> AppResult<Estimate> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result =
        tauri::async_runtime::spawn_blocking(move || estimate_blocking(&shared, &request, &cancel))
            .await
            .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

fn estimate_blocking(
    state: &AppState,
    req: &TrainRequest,
    cancel: &CancelToken,
) -> AppResult<Estimate> {
    let (learn, test) = op::project_data(&Project::open(&state.project_path()?)?)?;
    let engine = state.engine();
    let dev = engine.device()?;
    let e = op::estimate(engine, &req.to_engine(), &learn, &mut |base, plan| {
        state.speed_of(&base.dir, plan, || {
            let target = Target {
                device: &dev.device,
                kind: dev.kind,
            };
            measure_speed(base, &learn, plan, target, cancel)
        })
    })?;
    Ok(Estimate {
        seconds: e.seconds,
        texts: learn.len() as u32,
        test_texts: test.len() as u32,
        mode: e.plan.mode.into(),
        reason: e.plan.reason.into(),
        rarest: e.plan.rarest_label_count as u32,
        why: e.plan.why,
    })
}

/// Trains a run on the open project (a job: progress over `on_progress`, cancellable
/// with `cancel_job`). The run belongs to the project that was open when it started,
/// whatever is open when it ends.
#[tauri::command]
#[specta::specta]
pub async fn start_training(
    state: State<'_, AppState>,
    request: TrainRequest,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<TrainResult> {
    let shared = state.inner().clone();
    let project = shared.project_path()?;
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let mut obs = ChannelObserver::new(on_progress).with_chart_style(shared.chart_style());
        train_blocking(&shared, &project, &request, &mut obs, &cancel)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

/// The Train pane's run: `ops::train::train_project_run`, rendered for the UI.
pub fn train_blocking(
    state: &AppState,
    project: &std::path::Path,
    req: &TrainRequest,
    obs: &mut dyn studio_core::progress::Observer,
    cancel: &CancelToken,
) -> AppResult<TrainResult> {
    let mut engine_req = req.to_engine();
    if let Some(run) = req.from_run {
        engine_req.model = op::continue_from(Some(project), &run.to_string())?
            .to_string_lossy()
            .into_owned();
    }
    let o = op::train_project_run(state.engine(), project, &engine_req, obs, cancel)?;
    let t = &o.trained;
    let style = state.chart_style();
    state.remember_training_charts(&t.step_losses, &t.history);
    Ok(TrainResult {
        run_id: o.run_id as u32,
        model_dir: o.model_dir.to_string_lossy().into_owned(),
        validation: (t.validation.n > 0).then(|| MetricsDto::new(&t.validation, &style)),
        test: o.test.as_ref().map(|m| MetricsDto::new(m, &style)),
        loss_svg: loss_chart_svg(&t.step_losses, &t.history, &style),
        validation_svg: validation_chart_svg(&t.history, &style),
        seconds: t.seconds,
        epochs: t.history.len() as u32,
        why: t.plan.why.clone(),
        mode: t.plan.mode.into(),
        reason: t.plan.reason.into(),
        rarest: t.plan.rarest_label_count as u32,
        overfitting: t.overfitting.as_ref().map(Into::into),
        temperature: t.temperature,
        head_start: t.head_start.into(),
    })
}

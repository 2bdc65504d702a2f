//! Train pane: an estimate before starting, then a cancellable run that streams progress
//! and charts, exports the model into the app's run folder, evaluates it on the test
//! split and stores its predictions for the Label pane.

use crate::commands::results::{evaluate_on, predict_all};
use crate::dto::MetricsDto;
use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use studio_core::data::LabeledData;
use studio_core::device::{self, DeviceChoice};
use studio_core::export::{export, CardInfo};
use studio_core::models::{Catalog, ModelStore};
use studio_core::progress::CancelToken;
use studio_core::project::RunRecord;
use studio_core::report::{loss_chart_svg, validation_chart_svg};
use studio_core::train::{
    estimate_with, measure_speed, train, Preset, Reason, Target, TrainOptions,
};
use tauri::ipc::Channel;
use tauri::State;

/// What the user chose on the Train pane.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TrainRequest {
    /// Base model id (catalog or store).
    pub model_id: String,
    /// "quick", "balanced" or "best".
    pub preset: String,
    /// "full", "lora", "head", ... or null to let the preset choose.
    pub mode: Option<String>,
    /// Maximum epochs, or null.
    pub epochs: Option<u32>,
    /// Peak learning rate, or null.
    pub lr: Option<f64>,
    /// Seed.
    pub seed: u32,
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
    /// The training method the preset picks: "full", "lora", "head" or "fewshot".
    pub mode: String,
    /// Why that method and these settings, in one sentence (English).
    pub why: String,
    /// The same as a code the UI translates: "asked", "fewLabels", "quick", "balanced"
    /// or "best".
    pub reason: String,
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
    /// Validation metrics of the kept weights.
    pub validation: MetricsDto,
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
    /// The training method used: "full", "lora", "head" or "fewshot".
    pub mode: String,
    /// Why, as a code the UI translates (see [`Estimate::reason`]).
    pub reason: String,
    /// Examples of the rarest label in the training split.
    pub rarest: u32,
}

fn parse_preset(s: &str) -> AppResult<Preset> {
    s.parse::<Preset>().map_err(AppError::from)
}

/// The labelled data split the project's way: train + validation to learn from (the
/// engine holds out its own validation share), test kept aside.
fn learn_data(state: &AppState) -> AppResult<(LabeledData, LabeledData, PathBuf)> {
    state.with_project(|p| {
        let s = p.training_splits()?;
        let mut learn = s.train;
        learn.texts.extend(s.validation.texts);
        learn.labels.extend(s.validation.labels);
        Ok((learn, s.test, p.path().to_path_buf()))
    })
}

/// Plans the run the preset would make on the open project and measures how long it
/// will take (the engine times the model on a sample of the project's texts).
#[tauri::command]
#[specta::specta]
pub async fn estimate_training(
    state: State<'_, AppState>,
    request: TrainRequest,
) -> AppResult<Estimate> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || estimate_blocking(&shared, &request))
        .await
        .map_err(|e| AppError::runtime(e.to_string()))?
}

fn estimate_blocking(state: &AppState, req: &TrainRequest) -> AppResult<Estimate> {
    let (learn, test, _) = learn_data(state)?;
    let base = ModelStore::new(&state.home).resolve(&req.model_id, &Catalog::builtin())?;
    let dev = device::open(DeviceChoice::Auto)?;
    let target = Target {
        device: &dev.device,
        kind: dev.kind,
    };
    let e = estimate_with(&base, &learn, &train_options(req)?, dev.kind, |plan| {
        state.speed_of(&base.dir, plan, || {
            measure_speed(&base, &learn, plan, target, &CancelToken::new())
        })
    })?;
    Ok(Estimate {
        seconds: e.seconds,
        texts: learn.len() as u32,
        test_texts: test.len() as u32,
        mode: format!("{:?}", e.plan.mode).to_lowercase(),
        reason: reason_code(e.plan.reason),
        rarest: e.plan.rarest_label_count as u32,
        why: e.plan.why,
    })
}

/// The code of a [`Reason`] (its serde name).
fn reason_code(r: Reason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The engine's options for what the user chose.
fn train_options(req: &TrainRequest) -> AppResult<TrainOptions> {
    Ok(TrainOptions {
        preset: parse_preset(&req.preset)?,
        mode: req.mode.as_deref().map(str::parse).transpose()?,
        epochs: req.epochs.map(|e| e as usize),
        lr: req.lr,
        seed: u64::from(req.seed),
        ..TrainOptions::default()
    })
}

/// Where the app keeps run `id` of a project: `<home>/runs/<project stem>-<hash>/run-<id>`.
pub fn run_dir(home: &Path, project: &Path, id: i64) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in project.to_string_lossy().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let stem = project
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    home.join("runs")
        .join(format!("{stem}-{:08x}", h as u32))
        .join(format!("run-{id}"))
}

/// Trains a model on the open project's labels (a job: progress over `on_progress`,
/// cancellable with `cancel_job`).
#[tauri::command]
#[specta::specta]
pub async fn start_training(
    state: State<'_, AppState>,
    request: TrainRequest,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<TrainResult> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        train_blocking(&shared, request, on_progress, &cancel)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

fn train_blocking(
    state: &AppState,
    req: TrainRequest,
    channel: Channel<Progress>,
    cancel: &CancelToken,
) -> AppResult<TrainResult> {
    let (learn, test, project_path) = learn_data(state)?;
    let catalog = Catalog::builtin();
    let store = ModelStore::new(&state.home);
    let base = store.resolve(&req.model_id, &catalog)?;
    let dev = device::open(DeviceChoice::Auto)?;
    let mut obs = ChannelObserver::new(channel);
    obs.send(Progress::Note(dev.explanation.clone()));
    let opts = train_options(&req)?;
    let settings = serde_json::to_value(&opts).unwrap_or_default();
    let mut record = RunRecord {
        model: req.model_id.clone(),
        status: "running".into(),
        settings,
        epochs: Vec::new(),
        metrics: None,
        export_path: None,
        started_at_ms: 0,
        finished_at_ms: None,
    };
    let run_id = state.with_project(|p| Ok(p.record_run(&record)?))?;
    let finish = |record: &mut RunRecord, status: &str| {
        record.status = status.into();
        record.finished_at_ms = Some(now_ms());
        let _ = state.with_project(|p| Ok(p.update_run(run_id, record)?));
    };
    let trained = match train(
        &base,
        &learn,
        &opts,
        Target {
            device: &dev.device,
            kind: dev.kind,
        },
        &mut obs,
        cancel,
    ) {
        Ok(m) => m,
        Err(e) => {
            let status = if matches!(e, studio_core::StudioError::Cancelled) {
                "cancelled"
            } else {
                "failed"
            };
            finish(&mut record, status);
            return Err(e.into());
        }
    };
    let dir = run_dir(&state.home, &project_path, run_id);
    let project_name = project_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base_name = catalog
        .get(&req.model_id)
        .map_or_else(|| req.model_id.clone(), |m| m.hf_repo.clone());
    let outcome = (|| -> AppResult<(Option<MetricsDto>, usize)> {
        export(
            &trained,
            &dir,
            &CardInfo {
                base_name,
                data_source: format!("Sentiment Studio project {project_name}"),
                test_metrics: None,
            },
        )?;
        let predictor = state.predictor(&dir)?;
        let test_metrics = if test.is_empty() {
            None
        } else {
            obs.send(Progress::Phase {
                name: "evaluate".into(),
                total: Some(test.len() as f64),
            });
            Some(evaluate_on(&predictor, &test, cancel)?)
        };
        let predicted = predict_all(state, &predictor, &mut obs, cancel, run_id)?;
        Ok((test_metrics.as_ref().map(MetricsDto::from), predicted))
    })();
    let (test_metrics, _) = match outcome {
        Ok(v) => v,
        Err(e) => {
            finish(&mut record, "failed");
            return Err(e);
        }
    };
    let validation = MetricsDto::from(&trained.validation);
    record.epochs = trained
        .history
        .iter()
        .map(|h| serde_json::to_value(h).unwrap_or_default())
        .collect();
    record.metrics = Some(serde_json::json!({
        "validation": validation,
        "test": test_metrics,
        "seconds": trained.seconds,
    }));
    record.export_path = Some(dir.clone());
    finish(&mut record, "finished");
    Ok(TrainResult {
        run_id: run_id as u32,
        model_dir: dir.to_string_lossy().into_owned(),
        validation,
        test: test_metrics,
        loss_svg: loss_chart_svg(&trained.step_losses, &trained.history),
        validation_svg: validation_chart_svg(&trained.history),
        seconds: trained.seconds,
        epochs: trained.history.len() as u32,
        why: trained.plan.why.clone(),
        mode: format!("{:?}", trained.plan.mode).to_lowercase(),
        reason: reason_code(trained.plan.reason),
        rarest: trained.plan.rarest_label_count as u32,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

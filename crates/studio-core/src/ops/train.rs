//! Train: a project run (learns from the train and validation splits, keeps the test
//! split for evaluation, records the run, exports it, scores it and stores its
//! predictions) or a model from a labelled file. Both faces call these and nothing else,
//! with the same defaults: [`TrainOptions::default`] and the project's label order.

use super::evaluate::score;
use super::predict::predict_project;
use super::runs::{run_dir, RunStatus};
use super::Engine;
use crate::classify::eval::Metrics;
use crate::classify::export::{export, CardInfo};
use crate::classify::infer::Predictor;
use crate::classify::train::{estimate_with, measure_speed, train, Estimate, Speed, Target};
use crate::classify::train::{Plan, TrainOptions, TrainedModel};
use crate::data::{read_labeled, LabeledData};
use crate::device::ChosenDevice;
use crate::models::{Catalog, ModelFolder};
use crate::progress::{CancelToken, Event, NoteCode, Observer};
use crate::project::{Project, RunRecord};
use crate::{Result, StudioError};
use std::path::{Path, PathBuf};

/// What to train: the base model and the settings. The device is the engine's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainRequest {
    /// A catalog id, a model in the store, or a folder.
    pub model: String,
    /// The settings; [`TrainOptions::default`] is what both faces start from.
    pub options: TrainOptions,
}

/// The fine-tuned classifier a run continues from: an exported folder, or, given a
/// project, one of its runs by id (`3` or `run 3`). The folder becomes the run's base
/// model: with the same labels its head trains on, with others only its encoder is kept
/// (see [`crate::classify::train::HeadStart`]).
pub fn continue_from(project: Option<&Path>, from: &str) -> Result<PathBuf> {
    let id = from
        .trim()
        .trim_start_matches("run")
        .trim()
        .parse::<i64>()
        .ok();
    if let (Some(project), Some(id)) = (project, id) {
        if !Path::new(from).exists() {
            let p = Project::open(project)?;
            return Ok(super::runs::run_with_model(&p, Some(id))?.1);
        }
    }
    let dir = PathBuf::from(from);
    let folder = ModelFolder::open(&dir)?;
    if folder.label_names().is_none() {
        return Err(StudioError::UnsupportedModel {
            path: dir,
            found: "a base model without a trained classifier; to continue training, give an exported classifier folder (or, with --project, a run id)".into(),
        });
    }
    Ok(dir)
}

/// A finished project run.
pub struct RunOutcome {
    /// The run's id in the project.
    pub run_id: i64,
    /// Its exported model.
    pub model_dir: PathBuf,
    /// What training produced (charts, history, plan, validation metrics).
    pub trained: TrainedModel,
    /// Metrics on the project's test split; `None` when it has no labelled text.
    pub test: Option<Metrics>,
    /// Project texts whose predictions were stored.
    pub predicted: usize,
}

/// The labelled texts a project run learns from (train and validation splits; the
/// engine holds out its own validation share) and the test split it is scored on, both
/// in the project's label order.
pub fn project_data(project: &Project) -> Result<(LabeledData, LabeledData)> {
    let s = project.training_splits()?;
    let mut learn = s.train;
    learn.texts.extend(s.validation.texts);
    learn.labels.extend(s.validation.labels);
    Ok((learn, s.test))
}

/// How the model card names a base model: its hub repository when it is in the catalog.
fn base_name(spec: &str, base: &ModelFolder) -> String {
    Catalog::builtin().get(spec).map_or_else(
        || {
            base.dir
                .file_name()
                .map_or_else(|| spec.to_string(), |n| n.to_string_lossy().into_owned())
        },
        |m| m.hf_repo.clone(),
    )
}

/// Which pooling the run used and why: the base model's own (see
/// [`ModelFolder::pooling_note`]) unless the user or the method chose another.
fn pooling_note(base: &ModelFolder, trained: &TrainedModel) -> String {
    if trained.plan.pooling == base.natural_pooling {
        base.pooling_note()
    } else {
        format!(
            "{:?} pooling, chosen for the {} method or by the user instead of the model's own",
            trained.plan.pooling, trained.plan.mode
        )
    }
}

/// The settings a run records: the options, and the process that runs it (so a run
/// whose process died can be told from one still training; see
/// [`super::runs::settle_interrupted`]).
fn run_settings(options: &TrainOptions) -> serde_json::Value {
    let mut v = serde_json::to_value(options).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("pid".into(), serde_json::json!(std::process::id()));
    }
    v
}

/// Tells the observer which device and which pooling a run uses.
fn announce(observer: &mut dyn Observer, device: &ChosenDevice, base: &ModelFolder) {
    observer.on_event(&Event::note(
        NoteCode::Device,
        device.explanation.clone(),
        vec![("gpu", device.gpu.code().to_string())],
    ));
    observer.on_event(&Event::note(
        NoteCode::Pooling,
        base.pooling_note(),
        Vec::new(),
    ));
}

/// A classifier for the model just trained, without writing and reading it back.
fn predictor_of(trained: &TrainedModel, device: &candle_core::Device) -> Result<Predictor> {
    Predictor::new(
        trained.classifier()?,
        trained.tokenizer.clone(),
        trained.label_names.clone(),
        device.clone(),
    )
    .map(|p| p.with_temperature(trained.temperature))
}

/// Trains a run on the project at `project` and records it there: status "running"
/// first, then "finished", "failed" or "cancelled" whatever happens. The model goes to
/// the engine's run folder for this project ([`run_dir`]).
pub fn train_project_run(
    engine: &Engine,
    project: &Path,
    req: &TrainRequest,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<RunOutcome> {
    let p = Project::open(project)?;
    super::runs::settle_interrupted(&p)?;
    let (learn, test) = project_data(&p)?;
    learn.require_two_classes()?;
    let base = engine.base_model(&req.model)?;
    let dev = engine.device()?;
    announce(observer, &dev, &base);
    let mut record = RunRecord {
        model: req.model.clone(),
        status: RunStatus::Running.as_str().into(),
        settings: run_settings(&req.options),
        epochs: Vec::new(),
        metrics: None,
        export_path: None,
        started_at_ms: 0,
        finished_at_ms: None,
    };
    let run_id = p.record_run(&record)?;
    let finish = |record: &mut RunRecord, status: RunStatus| {
        record.status = status.as_str().into();
        record.finished_at_ms = Some(crate::project::now_ms());
        // The run's outcome is what the caller needs; a failed status write must not
        // hide it.
        let _ = p.update_run(run_id, record);
    };
    let outcome = (|| -> Result<RunOutcome> {
        let target = Target {
            device: &dev.device,
            kind: dev.kind,
        };
        let trained = train(&base, &learn, &req.options, target, observer, cancel)?;
        let dir = run_dir(engine.home(), project, run_id);
        let project_name = project
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let predictor = predictor_of(&trained, &dev.device)?;
        let test_metrics = if test.is_empty() {
            None
        } else {
            observer.on_event(&Event::Phase {
                name: "evaluate".into(),
                total: Some(test.len() as u64),
            });
            Some(score(&predictor, &test, project, cancel)?)
        };
        export(
            &trained,
            &dir,
            &CardInfo {
                base_name: base_name(&req.model, &base),
                data_source: format!("Sentiment Studio project {project_name}"),
                test_metrics: test_metrics.clone(),
                pooling_note: pooling_note(&base, &trained),
            },
        )?;
        let predicted = predict_project(&p, &predictor, run_id, observer, cancel)?;
        Ok(RunOutcome {
            run_id,
            model_dir: dir,
            trained,
            test: test_metrics,
            predicted,
        })
    })();
    match &outcome {
        Ok(o) => {
            record.epochs = o
                .trained
                .history
                .iter()
                .map(|h| serde_json::to_value(h).unwrap_or_default())
                .collect();
            let v = &o.trained.validation;
            record.metrics = Some(serde_json::json!({
                "validation": if v.n > 0 { serde_json::to_value(v).ok() } else { None },
                "test": o.test,
                "seconds": o.trained.seconds,
                "mode": o.trained.plan.mode,
                "trainTexts": learn.len(),
            }));
            record.export_path = Some(o.model_dir.clone());
            finish(&mut record, RunStatus::Finished);
        }
        Err(StudioError::Cancelled) => finish(&mut record, RunStatus::Cancelled),
        Err(_) => finish(&mut record, RunStatus::Failed),
    }
    outcome
}

/// What `train_file` reads and where it writes.
#[derive(Debug, Clone)]
pub struct TrainFile {
    /// Labelled texts (any format the importer reads).
    pub data: PathBuf,
    /// Its text column.
    pub text_col: String,
    /// Its label column.
    pub label_col: String,
    /// A held-out labelled file to score the model on (same columns), if any.
    pub test: Option<PathBuf>,
    /// The export folder.
    pub out: PathBuf,
}

/// A model trained from a file and exported.
pub struct FileOutcome {
    /// Where it was exported.
    pub out: PathBuf,
    /// What training produced.
    pub trained: TrainedModel,
    /// Metrics on the held-out file, when one was given.
    pub test: Option<Metrics>,
    /// Rows of the data file that were left out for an empty text.
    pub skipped: usize,
}

/// Trains from a labelled file, scores it on the held-out file if any, and exports it.
/// Label ids follow the labels' sorted names (a file has no other order).
pub fn train_file(
    engine: &Engine,
    req: &TrainRequest,
    files: &TrainFile,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<FileOutcome> {
    // Before the wait, not after it: a folder of the user's files is never replaced.
    crate::classify::export::check_destination(&files.out)?;
    let base = engine.base_model(&req.model)?;
    let data = read_labeled(&files.data, &files.text_col, &files.label_col, None)?;
    let dev = engine.device()?;
    announce(observer, &dev, &base);
    let target = Target {
        device: &dev.device,
        kind: dev.kind,
    };
    let trained = train(&base, &data, &req.options, target, observer, cancel)?;
    let test = match &files.test {
        Some(path) => {
            let predictor = predictor_of(&trained, &dev.device)?;
            let held = read_labeled(
                path,
                &files.text_col,
                &files.label_col,
                Some(&trained.label_names),
            )?;
            Some(score(&predictor, &held, path, cancel)?)
        }
        None => None,
    };
    let out = export(
        &trained,
        &files.out,
        &CardInfo {
            base_name: base_name(&req.model, &base),
            data_source: files.data.display().to_string(),
            test_metrics: test.clone(),
            pooling_note: pooling_note(&base, &trained),
        },
    )?;
    Ok(FileOutcome {
        out,
        trained,
        test,
        skipped: data.skipped_empty,
    })
}

/// A plan and a measured time for training on `data`, before starting. `speed` gives
/// the model's speed under a plan: [`measure_speed`] by default; the app passes one that
/// remembers measurements.
pub fn estimate(
    engine: &Engine,
    req: &TrainRequest,
    data: &LabeledData,
    speed: &mut dyn FnMut(&ModelFolder, &Plan) -> Result<Speed>,
) -> Result<Estimate> {
    let base = engine.base_model(&req.model)?;
    let dev = engine.device()?;
    estimate_with(&base, data, &req.options, dev.kind, |plan| {
        speed(&base, plan)
    })
}

/// The model's speed under `plan` on `data`, measured now.
pub fn measured_speed<'a>(
    engine: &'a Engine,
    data: &'a LabeledData,
    cancel: &CancelToken,
) -> impl FnMut(&ModelFolder, &Plan) -> Result<Speed> + 'a {
    let cancel = cancel.clone();
    move |base: &ModelFolder, plan: &Plan| {
        let dev = engine.device()?;
        measure_speed(
            base,
            data,
            plan,
            Target {
                device: &dev.device,
                kind: dev.kind,
            },
            &cancel,
        )
    }
}

//! Evaluate: a project's run on its test split, or an exported model on a labelled file.
//! Both score labels by name against the model's own labels and refuse a label the model
//! does not know; neither ever scores on texts the model learned from.

use super::runs::{run_with_model, RunSummary};
use super::Engine;
use crate::classify::eval::Metrics;
use crate::classify::infer::{Prediction, Predictor};
use crate::data::{read_labeled, LabeledData};
use crate::progress::{CancelToken, Event, Observer};
use crate::project::{Project, SplitName};
use crate::{Result, StudioError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One evaluated text, so each cell of the confusion matrix can list its texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalItem {
    /// The text's id in the project.
    pub id: i64,
    /// The text.
    pub text: String,
    /// Its label.
    pub truth: String,
    /// The model's label.
    pub predicted: String,
    /// The model's probability for its label.
    pub confidence: f32,
}

/// A score and how far to trust it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// The metrics (with `n`, the texts they were measured on).
    pub metrics: Metrics,
    /// Texts of the rarest label among them.
    pub min_per_label: usize,
    /// True when some label has fewer than [`super::MIN_TRUSTED_PER_LABEL`] texts: the faces
    /// call the score too small to trust.
    pub too_small: bool,
}

impl Scored {
    /// `metrics` with how far to trust them.
    pub fn of(metrics: Metrics) -> Self {
        Self {
            too_small: metrics.too_small_to_trust(),
            min_per_label: metrics.rarest_label_count(),
            metrics,
        }
    }
}

/// A run scored on its project's test split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEvaluation {
    /// The run.
    pub run: RunSummary,
    /// The score on the test split.
    pub score: Scored,
    /// Every test text with the model's label.
    pub items: Vec<EvalItem>,
    /// When the test split is too small to trust: a stratified k-fold estimate on every
    /// labelled text of the project.
    pub cross_validation: Option<CrossValidated>,
    /// Which of the two the faces put in the headline.
    pub headline: Estimate,
}

/// Which estimate a face shows in large type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimate {
    /// The held-out test split (enough texts of every label).
    Test,
    /// Cross-validation (the test split has fewer than [`super::MIN_TRUSTED_PER_LABEL`]
    /// texts of some label).
    CrossValidation,
}

/// How a cross-validated estimate was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CvMethod {
    /// The run's own method (a head on the base model's sentence vectors): each fold
    /// retrains exactly what the run trained.
    Run,
    /// The fast classifier (a linear head on the base model's sentence vectors) in
    /// place of the run's method, which would take too long to train k times; it
    /// estimates what the labels support, usually a little below the run.
    Fast,
}

/// A stratified k-fold cross-validated score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidated {
    /// Folds.
    pub k: usize,
    /// What was trained on each fold.
    pub method: CvMethod,
    /// The out-of-fold predictions of every labelled text, scored together.
    pub score: Scored,
}

/// Most folds of a cross-validated estimate.
pub const CV_FOLDS: usize = 5;

/// Scores the project's labelled texts (every split) by stratified k-fold
/// cross-validation with a head on `base`'s sentence vectors: `None` when some label
/// has fewer than two texts.
pub fn cross_validate(
    engine: &Engine,
    project: &Path,
    run: &RunSummary,
    settings: &serde_json::Value,
    cancel: &CancelToken,
) -> Result<Option<CrossValidated>> {
    use crate::classify::probe::{LinearProbe, ProbeOptions};
    let data = Project::open(project)?.all_labelled()?;
    let k_labels = data.label_names.len();
    let rarest = (0..k_labels)
        .map(|c| data.labels.iter().filter(|&&l| l == c).count())
        .filter(|&n| n > 0)
        .min()
        .unwrap_or(0);
    if rarest < 2 || data.len() < 4 {
        return Ok(None);
    }
    let k = CV_FOLDS.min(rarest);
    let base = engine.base_model(&run.base_model)?;
    let x = engine
        .embedder(&base)?
        .embed_tensor(&data.texts, cancel, |_| {})?;
    let opts = ProbeOptions {
        l2: settings
            .get("head_l2")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(1.0),
        iterations: 500,
        balanced: settings
            .get("class_weights")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    };
    let folds = crate::data::stratified_folds(&data.labels, k_labels, k, 0x00cf_01d5);
    let mut predicted = vec![0usize; data.len()];
    let device = x.device().clone();
    let rows = |idx: &[usize]| -> Result<candle_core::Tensor> {
        let ids: Vec<u32> = idx.iter().map(|&i| i as u32).collect();
        Ok(x.index_select(&candle_core::Tensor::from_vec(ids, idx.len(), &device)?, 0)?)
    };
    for fold in 0..k {
        cancel.check()?;
        let (fit, held): (Vec<usize>, Vec<usize>) =
            (0..data.len()).partition(|&i| folds[i] != fold);
        let y: Vec<usize> = fit.iter().map(|&i| data.labels[i]).collect();
        let probe = LinearProbe::fit(&rows(&fit)?, &y, k_labels, &opts)?;
        for (i, l) in held.iter().zip(probe.logits(&rows(&held)?)?) {
            predicted[*i] = crate::classify::infer::argmax(&l);
        }
    }
    let method = if run.method == Some(crate::classify::train::Mode::Head) {
        CvMethod::Run
    } else {
        CvMethod::Fast
    };
    Ok(Some(CrossValidated {
        k,
        method,
        score: Scored::of(Metrics::compute(
            &data.labels,
            &predicted,
            &data.label_names,
        )),
    }))
}

/// Predicts `data` (labels in any order, matched by name) and scores it in the model's
/// label order. `source` names the data in the error for a label the model lacks.
pub fn score(
    predictor: &Predictor,
    data: &LabeledData,
    source: &Path,
    cancel: &CancelToken,
) -> Result<Metrics> {
    let truth = truth_ids(predictor.labels(), data, source)?;
    let preds = predictor.predict(&data.texts, cancel)?;
    Ok(metrics_of(predictor, &truth, &preds))
}

/// Metrics, with calibration, of predictions against true label ids.
fn metrics_of(predictor: &Predictor, truth: &[usize], preds: &[Prediction]) -> Metrics {
    let logits: Vec<Vec<f32>> = preds.iter().map(|p| p.logits.clone()).collect();
    Metrics::of_logits(truth, &logits, predictor.labels(), predictor.temperature())
}

/// The label ids of `data` in the model's label order `labels`.
fn truth_ids(labels: &[String], data: &LabeledData, source: &Path) -> Result<Vec<usize>> {
    data.labels
        .iter()
        .map(|&i| {
            let name = &data.label_names[i];
            labels
                .iter()
                .position(|l| l == name)
                .ok_or_else(|| StudioError::LabelNotInModel {
                    path: source.to_path_buf(),
                    label: name.clone(),
                    known: labels.join(", "),
                })
        })
        .collect()
}

/// What `evaluate_file` needs: the model, the file and its columns.
#[derive(Debug, Clone)]
pub struct EvaluateFile {
    /// An exported classifier folder.
    pub model: PathBuf,
    /// A labelled file (any format the importer reads).
    pub data: PathBuf,
    /// Its text column.
    pub text_col: String,
    /// Its label column.
    pub label_col: String,
}

/// Scores an exported model on a labelled file.
pub fn evaluate_file(engine: &Engine, req: &EvaluateFile, cancel: &CancelToken) -> Result<Scored> {
    let predictor = engine.predictor(&req.model)?;
    let data = read_labeled(
        &req.data,
        &req.text_col,
        &req.label_col,
        Some(predictor.labels()),
    )?;
    Ok(Scored::of(score(&predictor, &data, &req.data, cancel)?))
}

/// Scores run `run` (the newest finished one when `None`) of the project at `project`
/// on the project's test split. Errors when the test split has no labelled text: a run
/// is never scored on texts it learned from.
pub fn evaluate_run(
    engine: &Engine,
    project: &Path,
    run: Option<i64>,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<RunEvaluation> {
    let p = Project::open(project)?;
    let (summary, dir) = run_with_model(&p, run)?;
    let settings = p
        .runs()?
        .into_iter()
        .find(|r| r.id == summary.id)
        .map(|r| r.record.settings)
        .unwrap_or_default();
    let rows = p.labelled_rows(SplitName::Test)?;
    drop(p);
    if rows.is_empty() {
        return Err(StudioError::NoTestTexts);
    }
    let predictor = engine.predictor(&dir)?;
    observer.on_event(&Event::Phase {
        name: "evaluate".into(),
        total: Some(rows.len() as u64),
    });
    let data = LabeledData::from_pairs(
        rows.iter()
            .map(|r| (r.text.clone(), r.label.clone().unwrap_or_default())),
        None,
    )?;
    let truth = truth_ids(predictor.labels(), &data, project)?;
    let preds = predictor.predict(&data.texts, cancel)?;
    let metrics = metrics_of(&predictor, &truth, &preds);
    let items = rows
        .into_iter()
        .zip(&preds)
        .map(|(r, p)| EvalItem {
            id: r.id,
            text: r.text,
            truth: r.label.unwrap_or_default(),
            predicted: p.label.clone(),
            confidence: p.probs.get(p.label_id).copied().unwrap_or(0.0),
        })
        .collect();
    let score = Scored::of(metrics);
    let cross_validation = if score.too_small {
        observer.on_event(&Event::Phase {
            name: "cross-validate".into(),
            total: None,
        });
        cross_validate(engine, project, &summary, &settings, cancel)?
    } else {
        None
    };
    Ok(RunEvaluation {
        headline: if cross_validation.is_some() {
            Estimate::CrossValidation
        } else {
            Estimate::Test
        },
        run: summary,
        score,
        items,
        cross_validation,
    })
}

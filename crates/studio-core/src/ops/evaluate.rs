//! Evaluate: a project's run on its test split, or an exported model on a labelled file.
//! Both score labels by name against the model's own labels and refuse a label the model
//! does not know; neither ever scores on texts the model learned from.

use super::runs::{run_with_model, RunSummary};
use super::Engine;
use crate::classify::eval::Metrics;
use crate::classify::infer::Predictor;
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
    /// The score.
    pub score: Scored,
    /// Every test text with the model's label.
    pub items: Vec<EvalItem>,
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
    let predicted: Vec<usize> = preds.iter().map(|p| p.label_id).collect();
    Ok(Metrics::compute(&truth, &predicted, predictor.labels()))
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
    let predicted: Vec<usize> = preds.iter().map(|p| p.label_id).collect();
    let metrics = Metrics::compute(&truth, &predicted, predictor.labels());
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
    Ok(RunEvaluation {
        run: summary,
        score: Scored::of(metrics),
        items,
    })
}

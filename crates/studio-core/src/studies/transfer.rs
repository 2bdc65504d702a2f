//! Does continuing from a fine-tuned model help on a new domain? For each number of
//! labels per class and each seed, the same sample of the new domain trains two runs
//! with the same settings: one continuing from the fine-tuned model, one from the base
//! model. The fine-tuned model alone, never shown the new domain, is the third line.

use crate::classify::eval::Metrics;
use crate::classify::infer::Predictor;
use crate::classify::train::{train, Target, TrainOptions, TrainedModel};
use crate::data::LabeledData;
use crate::models::ModelFolder;
use crate::progress::{CancelToken, Observer, Silent};
use crate::studies::curve::sample_per_class;
use crate::{Result, StudioError};
use serde::Serialize;

/// Where a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferStart {
    /// From the fine-tuned model (continue training).
    Continued,
    /// From the base model.
    Base,
}

/// One run of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferPoint {
    /// Labels per class of the new domain.
    pub per_class: usize,
    /// The sample's and the run's seed.
    pub seed: u64,
    /// Where it started.
    pub start: TransferStart,
    /// Accuracy on the new domain's test texts.
    pub accuracy: f64,
    /// Macro-F1 on them.
    pub macro_f1: f64,
}

/// The comparison's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transfer {
    /// Every run.
    pub points: Vec<TransferPoint>,
    /// The fine-tuned model alone on the new domain's test texts.
    pub from_alone: Metrics,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct TransferSpec {
    /// Sizes, in labels per class of the new domain.
    pub per_class: Vec<usize>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Settings of every run (the seed is set per run).
    pub options: TrainOptions,
}

/// Runs the comparison: `from` is the fine-tuned classifier, `base` the base model it
/// was trained from, `pool` and `test` the new domain's labelled texts.
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    from: &ModelFolder,
    base: &ModelFolder,
    pool: &LabeledData,
    test: &LabeledData,
    spec: &TransferSpec,
    target: Target<'_>,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Transfer> {
    let from_alone = {
        let p = Predictor::load(&from.dir, target.device)?;
        score(&p, test, cancel)?
    };
    let mut points = Vec::new();
    for &k in &spec.per_class {
        for &seed in &spec.seeds {
            let sample = sample_per_class(pool, k, seed);
            for (start, folder) in [
                (TransferStart::Continued, from),
                (TransferStart::Base, base),
            ] {
                cancel.check()?;
                let opts = TrainOptions {
                    seed,
                    ..spec.options.clone()
                };
                let trained = train(folder, &sample, &opts, target, &mut Silent, cancel)?;
                let m = score(&predictor(&trained, target)?, test, cancel)?;
                observer.on_event(&crate::progress::Event::note(
                    crate::progress::NoteCode::StudyPoint,
                    format!(
                        "{k} per class, seed {seed}, {start:?}: accuracy {:.4}",
                        m.accuracy
                    ),
                    Vec::new(),
                ));
                points.push(TransferPoint {
                    per_class: k,
                    seed,
                    start,
                    accuracy: m.accuracy,
                    macro_f1: m.macro_f1,
                });
            }
        }
    }
    Ok(Transfer { points, from_alone })
}

fn predictor(trained: &TrainedModel, target: Target<'_>) -> Result<Predictor> {
    Predictor::new(
        trained.classifier()?,
        trained.tokenizer.clone(),
        trained.label_names.clone(),
        target.device.clone(),
    )
}

/// Scores `test` by label name in the predictor's label order; a test label the model
/// lacks is an error (the fine-tuned model must know the new domain's labels).
fn score(p: &Predictor, test: &LabeledData, cancel: &CancelToken) -> Result<Metrics> {
    let truth: Vec<usize> = test
        .labels
        .iter()
        .map(|&i| {
            let name = &test.label_names[i];
            p.labels()
                .iter()
                .position(|l| l == name)
                .ok_or_else(|| StudioError::InvalidSetting(format!(
                    "the model continued from has no label \"{name}\" (it knows {}); the comparison needs the same labels in both domains",
                    p.labels().join(", ")
                )))
        })
        .collect::<Result<_>>()?;
    let predicted: Vec<usize> = p
        .predict(&test.texts, cancel)?
        .iter()
        .map(|x| x.label_id)
        .collect();
    Ok(Metrics::compute(&truth, &predicted, p.labels()))
}

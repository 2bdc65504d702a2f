//! The labelling loop on a project: after every few new labels, retrain a fast classifier
//! on sentence vectors of the labelled texts (seconds on a CPU), store its predictions for
//! the unlabelled texts, and so let `next --strategy uncertain|diverse` pick what to label.

use crate::classify::infer::SentenceEmbedder;
use crate::classify::probe::{rows_tensor, LinearProbe, ProbeOptions};
use crate::progress::{CancelToken, Event, Observer, Silent};
use crate::project::{Filter, LabelFilter, PageQuery, Project, RunRecord, TextRow};
use crate::{Result, StudioError};
use candle_core::Device;
use std::collections::HashMap;
use std::time::Instant;

/// The `model` name of the runs the loop records in the project.
pub const LOOP_RUN: &str = "labelling-loop";

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Refresh {
    /// The prediction version written.
    pub model_version: i64,
    /// Labelled texts it learned from.
    pub labelled: usize,
    /// Unlabelled texts it predicted.
    pub predicted: usize,
    /// Seconds it took.
    pub seconds: f64,
}

/// Sentence vectors by text id, kept between refreshes so each text is encoded once.
#[derive(Default)]
pub struct VectorCache {
    rows: HashMap<i64, Vec<f32>>,
}

impl VectorCache {
    /// Vectors of `rows`, encoding only those not seen before. Reports
    /// [`Event::Advance`] (rows ready of `rows.len()`) after every few dozen encoded.
    pub fn vectors(
        &mut self,
        rows: &[TextRow],
        embedder: &SentenceEmbedder,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<f32>>> {
        let missing: Vec<&TextRow> = rows
            .iter()
            .filter(|r| !self.rows.contains_key(&r.id))
            .collect();
        let mut ready = rows.len() - missing.len();
        // Small chunks: a first refresh of a big project encodes for minutes, and the
        // user should see it move.
        for chunk in missing.chunks(64) {
            let texts: Vec<String> = chunk.iter().map(|r| r.text.clone()).collect();
            for (r, v) in chunk.iter().zip(embedder.embed_rows(&texts, cancel)?) {
                self.rows.insert(r.id, v);
            }
            ready += chunk.len();
            observer.on_event(&Event::Advance {
                done: ready as u64,
                total: Some(rows.len() as u64),
            });
        }
        Ok(rows.iter().map(|r| self.rows[&r.id].clone()).collect())
    }
}

/// Unlabelled texts a refresh predicts at most (in import order).
pub const MAX_PREDICTED: usize = 20_000;

/// What [`suggest`] picked, and the refresh it ran first, if any.
#[derive(Debug, Clone)]
pub struct Suggestions {
    /// The texts to label next, most useful first.
    pub rows: Vec<TextRow>,
    /// The refit of the fast classifier, when `every` new labels had arrived.
    pub refresh: Option<Refresh>,
}

/// "What should I label next", with the model in the loop: refits the fast classifier
/// (and its pre-labels) once `every` new labels have arrived and they cover two labels,
/// then picks `n` texts by uncertainty mixed with diversity
/// ([`super::diverse::next_diverse_with`]), on vectors from `cache`. Before any model exists it
/// picks the most typical text of each of `n` clusters.
pub fn suggest(
    project: &Project,
    embedder: &SentenceEmbedder,
    cache: &mut VectorCache,
    n: usize,
    every: usize,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Suggestions> {
    let labels_used = project
        .stats()?
        .per_label
        .iter()
        .filter(|(_, count)| *count > 0)
        .count();
    let refresh = if labels_used >= 2 && needs_refresh(project, every)? {
        Some(refresh(
            project,
            embedder,
            cache,
            MAX_PREDICTED,
            observer,
            cancel,
        )?)
    } else {
        None
    };
    let rows = super::diverse::next_diverse_with(project, n, |rows: &[TextRow]| {
        cache.vectors(rows, embedder, &mut Silent, cancel)
    })?;
    Ok(Suggestions { rows, refresh })
}

/// Labelled texts at the last refresh (0 if none).
pub fn labelled_at_last_refresh(project: &Project) -> Result<usize> {
    Ok(project
        .runs()?
        .into_iter()
        .filter(|r| r.record.model == LOOP_RUN)
        .max_by_key(|r| r.id)
        .and_then(|r| r.record.metrics)
        .and_then(|m| m.get("labelled").and_then(|v| v.as_u64()))
        .unwrap_or(0) as usize)
}

/// Whether `every` or more labels arrived since the last refresh (or none happened yet).
pub fn needs_refresh(project: &Project, every: usize) -> Result<bool> {
    let labelled = project.stats()?.labelled as usize;
    let last = labelled_at_last_refresh(project)?;
    Ok(labelled >= 2 && (last == 0 || labelled >= last + every.max(1)))
}

pub(crate) fn all_rows(project: &Project, label: LabelFilter, cap: usize) -> Result<Vec<TextRow>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = project.page(&PageQuery {
            filter: Filter {
                label: label.clone(),
                ..Filter::default()
            },
            after_id: after,
            offset: 0,
            limit: 1000,
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
        if out.len() >= cap {
            out.truncate(cap);
            break;
        }
    }
    Ok(out)
}

/// Retrains the fast classifier on the project's labels and stores predictions for up to
/// `max_unlabelled` unlabelled texts (in import order).
pub fn refresh(
    project: &Project,
    embedder: &SentenceEmbedder,
    cache: &mut VectorCache,
    max_unlabelled: usize,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Refresh> {
    let started = Instant::now();
    let names = project.label_names()?;
    let labelled = all_rows(project, LabelFilter::Labelled, usize::MAX)?;
    let y: Vec<usize> = labelled
        .iter()
        .filter_map(|r| {
            r.label
                .as_ref()
                .and_then(|l| names.iter().position(|n| n == l))
        })
        .collect();
    let distinct: std::collections::BTreeSet<usize> = y.iter().copied().collect();
    if distinct.len() < 2 {
        return Err(StudioError::TooFewExamples {
            what:
                "label texts of at least two labels before the model can suggest what to label next"
                    .into(),
        });
    }
    let unlabelled = all_rows(project, LabelFilter::Unlabelled, max_unlabelled)?;
    observer.on_event(&Event::Phase {
        name: "embed".into(),
        total: Some((labelled.len() + unlabelled.len()) as u64),
    });
    let every: Vec<TextRow> = labelled.iter().chain(&unlabelled).cloned().collect();
    let mut vectors = cache.vectors(&every, embedder, observer, cancel)?;
    let ux = vectors.split_off(labelled.len());
    let lx = vectors;
    let dev = Device::Cpu;
    let x = rows_tensor(&lx, &(0..lx.len()).collect::<Vec<_>>(), &dev)?;
    let probe = LinearProbe::fit(&x, &y, names.len(), &ProbeOptions::LOOP)?;
    let probs = if ux.is_empty() {
        Vec::new()
    } else {
        probe.predict_proba(&rows_tensor(&ux, &(0..ux.len()).collect::<Vec<_>>(), &dev)?)?
    };
    let version = project.model_version()?.unwrap_or(0) + 1;
    let rows: Vec<(i64, Vec<f32>)> = unlabelled.iter().map(|r| r.id).zip(probs).collect();
    project.store_predictions(version, &rows)?;
    let seconds = started.elapsed().as_secs_f64();
    project.record_run(&RunRecord {
        model: LOOP_RUN.into(),
        status: "finished".into(),
        settings: serde_json::json!({"classifier": "linear probe on sentence vectors", "l2": ProbeOptions::LOOP.l2, "balanced": ProbeOptions::LOOP.balanced}),
        epochs: Vec::new(),
        metrics: Some(serde_json::json!({"labelled": labelled.len(), "predicted": rows.len(), "model_version": version})),
        export_path: None,
        started_at_ms: 0,
        finished_at_ms: None,
    })?;
    Ok(Refresh {
        model_version: version,
        labelled: labelled.len(),
        predicted: rows.len(),
        seconds,
    })
}

//! What to label next, and the project learning curve. Both embed texts, which can take
//! minutes on a big project, so both open their own connection to the project and never
//! hold the caller's: labelling goes on meanwhile (SQLite WAL: one writer at a time,
//! readers never wait). Both stop on their [`CancelToken`]. Sentence encoders and
//! vectors are the [`Engine`]'s, kept between calls.

use super::{lock, Engine};
use crate::active::suggest::{needs_refresh, refresh, suggest, Suggestions, MAX_PREDICTED};
use crate::progress::{CancelToken, Observer};
use crate::project::{Project, Strategy};
use crate::studies::label_curve::{label_curve, LabelCurve};
use crate::Result;
use std::path::Path;

/// How to pick the next texts.
#[derive(Debug, Clone, PartialEq)]
pub struct NextRequest {
    /// Order, random, uncertain or diverse (see [`Strategy`]).
    pub strategy: Strategy,
    /// How many texts.
    pub n: usize,
    /// The base model whose sentence vectors the suggestion classifier reads (uncertain
    /// and diverse).
    pub model: String,
    /// Refit the suggestion classifier once this many new labels have arrived.
    pub every: usize,
}

/// The next texts to label in the project at `project`. `uncertain` and `diverse` keep
/// the model in the loop: once `every` new labels have arrived they refit the fast
/// classifier and its pre-labels first (both faces, the same way).
pub fn next_to_label(
    engine: &Engine,
    project: &Path,
    req: &NextRequest,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Suggestions> {
    let p = Project::open(project)?;
    match req.strategy {
        Strategy::Order | Strategy::Random { .. } => Ok(Suggestions {
            rows: p.next_to_label(req.strategy, req.n)?,
            refresh: None,
        }),
        Strategy::Uncertain => {
            let refreshed = if needs_refresh(&p, req.every)? {
                let base = engine.base_model(&req.model)?;
                let embedder = engine.embedder(&base)?;
                let cache = engine.vector_cache(project, &base);
                let mut cache = lock(&cache);
                Some(refresh(
                    &p,
                    &embedder,
                    &mut cache,
                    MAX_PREDICTED,
                    observer,
                    cancel,
                )?)
            } else {
                None
            };
            Ok(Suggestions {
                rows: p.next_to_label(Strategy::Uncertain, req.n)?,
                refresh: refreshed,
            })
        }
        Strategy::Diverse => {
            let base = engine.base_model(&req.model)?;
            let embedder = engine.embedder(&base)?;
            let cache = engine.vector_cache(project, &base);
            let mut cache = lock(&cache);
            suggest(
                &p, &embedder, &mut cache, req.n, req.every, observer, cancel,
            )
        }
    }
}

/// The learning curve of the fast classifier on the project at `project`, read with base
/// model `model` (see [`crate::studies::label_curve::label_curve`]).
pub fn learning_curve(
    engine: &Engine,
    project: &Path,
    model: &str,
    cancel: &CancelToken,
) -> Result<LabelCurve> {
    let base = engine.base_model(model)?;
    let embedder = engine.embedder(&base)?;
    let cache = engine.vector_cache(project, &base);
    let mut cache = lock(&cache);
    let p = Project::open(project)?;
    label_curve(&p, &embedder, &mut cache, cancel)
}

//! The project learning curve: how accuracy grows with labels on the project's own
//! texts, with the fast classifier (what the app draws under every finished run).

use super::curve::{forecast, probe_curve, summarize, CurveRow, Forecast};
use crate::active::suggest::{all_rows, VectorCache};
use crate::classify::infer::SentenceEmbedder;
use crate::classify::train::Mode;
use crate::progress::{CancelToken, Silent};
use crate::project::{LabelFilter, Project, SplitName, TextRow};
use crate::{Result, StudioError};

/// Test-split texts a learning curve needs before its numbers mean anything.
pub const MIN_CURVE_EVAL: usize = 10;

/// How accuracy grows with labels on a project, and what more labels would buy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LabelCurve {
    /// Mean and spread per size (the last row: every labelled training text).
    pub rows: Vec<CurveRow>,
    /// Labels per class the next +0.02 of accuracy needs, if the curve still rises.
    pub forecast: Option<Forecast>,
    /// Test-split texts it was measured on.
    pub eval_texts: usize,
}

/// Seeds of the project learning curve (each draws another sample per size).
const CURVE_SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// The learning curve of the fast classifier on the project's own labels: trained on
/// samples of its train and validation splits, tested on its test split (see
/// [`probe_curve`]). Seconds after the first call: vectors come from `cache`.
pub fn label_curve(
    project: &Project,
    embedder: &SentenceEmbedder,
    cache: &mut VectorCache,
    cancel: &CancelToken,
) -> Result<LabelCurve> {
    let names = project.label_names()?;
    let labelled = all_rows(project, LabelFilter::Labelled, usize::MAX)?;
    let label_id = |r: &TextRow| {
        r.label
            .as_ref()
            .and_then(|l| names.iter().position(|n| n == l))
    };
    let (eval_rows, pool_rows): (Vec<TextRow>, Vec<TextRow>) = labelled
        .into_iter()
        .filter(|r| label_id(r).is_some())
        .partition(|r| r.split == Some(SplitName::Test));
    if eval_rows.len() < MIN_CURVE_EVAL {
        return Err(StudioError::TooFewExamples {
            what: format!(
                "a learning curve needs at least {MIN_CURVE_EVAL} labelled texts in the test split and this project has {}; label more texts to see one",
                eval_rows.len()
            ),
        });
    }
    let pool_y: Vec<usize> = pool_rows.iter().filter_map(label_id).collect();
    let eval_y: Vec<usize> = eval_rows.iter().filter_map(label_id).collect();
    let pool = cache.vectors(&pool_rows, embedder, &mut Silent, cancel)?;
    let eval = cache.vectors(&eval_rows, embedder, &mut Silent, cancel)?;
    let points = probe_curve(&pool, &pool_y, &eval, &eval_y, &names, &CURVE_SEEDS, cancel)?;
    let rows = summarize(&points);
    Ok(LabelCurve {
        forecast: forecast(&rows, Mode::Head, 0.02),
        eval_texts: eval_rows.len(),
        rows,
    })
}

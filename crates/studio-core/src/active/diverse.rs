//! Diverse picks on a project: one text per cluster of a random sample of its unlabelled
//! texts (what the app's "Suggest what to label" and `project next --strategy diverse`
//! use).

use super::{cluster, fill_up, CLUSTER_SAMPLE_PER_PICK};
use crate::classify::infer::SentenceEmbedder;
use crate::progress::CancelToken;
use crate::project::{Project, Strategy, TextRow};
use crate::Result;

/// Turns texts into vectors, for the diverse strategy (the engine implements it with
/// a model's sentence embeddings).
pub trait Embedder {
    /// One vector per text, all of the same length.
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
}

/// The next `n` texts by diversity: one per cluster (in embedding space) of 20×n
/// random unlabelled texts: the one the model is least sure of when a model exists,
/// else the most typical one (see [`crate::active::Pick`]; the simulation in `studio
/// report active` measures both).
pub fn next_diverse(
    project: &Project,
    n: usize,
    embedder: &mut dyn Embedder,
) -> Result<Vec<TextRow>> {
    next_diverse_with(project, n, |rows: &[TextRow]| {
        let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
        embedder.embed(&texts)
    })
}

/// [`next_diverse`] with vectors from `vectors` (one per row, e.g. from a
/// cache kept between calls).
pub fn next_diverse_with<F>(project: &Project, n: usize, mut vectors: F) -> Result<Vec<TextRow>>
where
    F: FnMut(&[TextRow]) -> Result<Vec<Vec<f32>>>,
{
    // A new sample after every label, the same one for the same project state.
    let seed = project.stats()?.labelled;
    let pool = project.next_to_label(Strategy::Random { seed }, n * CLUSTER_SAMPLE_PER_PICK)?;
    if pool.len() <= n {
        return Ok(pool);
    }
    let vecs = vectors(&pool)?;
    // Least sure first: the probability of the model's guess (none: last).
    let sureness: Vec<f32> = pool
        .iter()
        .map(|r| r.confidence.unwrap_or(f32::INFINITY))
        .collect();
    let with_model = project.model_version()?.is_some();
    let mut order: Vec<usize> = (0..pool.len()).collect();
    if with_model {
        order.sort_by(|&a, &b| sureness[a].total_cmp(&sureness[b]).then(a.cmp(&b)));
    }
    let chosen = fill_up(
        cluster::one_per_cluster(&vecs, n, with_model.then_some(&sureness[..]), seed),
        &order,
        n,
    );
    Ok(chosen.into_iter().map(|i| pool[i].clone()).collect())
}

impl Embedder for SentenceEmbedder {
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.embed_rows(texts, &CancelToken::new())
    }
}

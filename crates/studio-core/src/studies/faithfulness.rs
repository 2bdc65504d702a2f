//! Are the explanations faithful? Deleting each text's `k` most heavily weighted words
//! (see [`crate::classify::explain`]) should lower the predicted label's probability
//! more than deleting `k` words at random. This measures both, and how long an
//! explanation takes one text at a time (what the Playground does as the user types).

use crate::classify::explain::{explain, without, words, Explanation, WordSpan};
use crate::classify::infer::Predictor;
use crate::progress::{CancelToken, Event, Observer};
use crate::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::time::Instant;

/// One row of the faithfulness table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaithfulnessRow {
    /// Words deleted.
    pub k: usize,
    /// Texts with more than `k` words (the others are left out of this row).
    pub texts: usize,
    /// Mean fall of the predicted label's probability when the top-`k` words go.
    pub top_drop: f64,
    /// The same for `k` words picked at random (seeded).
    pub random_drop: f64,
    /// Share of texts where the top-`k` deletion lowered the probability more.
    pub top_wins: f64,
}

/// How long explaining one text took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Texts timed.
    pub texts: usize,
    /// Their mean number of words.
    pub mean_words: f64,
    /// Median milliseconds per text.
    pub median_ms: f64,
    /// 90th percentile milliseconds per text.
    pub p90_ms: f64,
    /// The timed texts as long as a typed sentence (at most [`TYPED_WORDS`] words).
    pub typed_texts: usize,
    /// Their median milliseconds per text (0 when there are none).
    pub typed_median_ms: f64,
    /// Their 90th percentile milliseconds per text.
    pub typed_p90_ms: f64,
}

/// Words (CJK characters) of a text as long as what one types into the Playground.
pub const TYPED_WORDS: usize = 30;

/// The whole measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Faithfulness {
    /// One row per `k`.
    pub rows: Vec<FaithfulnessRow>,
    /// One-text-at-a-time latency.
    pub latency: Latency,
}

/// Texts explained per batch between progress reports.
const CHUNK: usize = 32;

/// Measures faithfulness over `texts` for each `k`, and the latency of explaining the
/// first `timed` texts one at a time.
pub fn faithfulness(
    predictor: &Predictor,
    texts: &[String],
    ks: &[usize],
    timed: usize,
    seed: u64,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Faithfulness> {
    observer.on_event(&Event::Phase {
        name: "explain".into(),
        total: Some(texts.len() as u64),
    });
    let mut explained: Vec<Explanation> = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(CHUNK) {
        explained.extend(explain(predictor, chunk, cancel)?);
        observer.on_event(&Event::Advance {
            done: explained.len() as u64,
            total: Some(texts.len() as u64),
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    for &k in ks {
        cancel.check()?;
        let (mut top, mut random, mut who) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (text, e)) in texts.iter().zip(&explained).enumerate() {
            let spans: Vec<WordSpan> = words(text);
            if e.truncated || spans.len() <= k {
                continue;
            }
            let mut order: Vec<usize> = (0..e.words.len()).collect();
            order.sort_by(|&a, &b| e.words[b].weight.total_cmp(&e.words[a].weight));
            let chosen: Vec<WordSpan> = order[..k].iter().map(|&j| spans[j]).collect();
            top.push(without(text, &chosen));
            let mut shuffled = spans.clone();
            shuffled.shuffle(&mut rng);
            random.push(without(text, &shuffled[..k]));
            who.push(i);
        }
        let p_top = predictor.predict(&top, cancel)?;
        let p_random = predictor.predict(&random, cancel)?;
        let (mut sum_top, mut sum_random, mut wins) = (0f64, 0f64, 0usize);
        for ((&i, t), r) in who.iter().zip(&p_top).zip(&p_random) {
            let p = &explained[i].prediction;
            let full = p.probs[p.label_id] as f64;
            let (dt, dr) = (
                full - t.probs[p.label_id] as f64,
                full - r.probs[p.label_id] as f64,
            );
            sum_top += dt;
            sum_random += dr;
            wins += usize::from(dt > dr);
        }
        let n = who.len().max(1) as f64;
        rows.push(FaithfulnessRow {
            k,
            texts: who.len(),
            top_drop: sum_top / n,
            random_drop: sum_random / n,
            top_wins: wins as f64 / n,
        });
    }
    let latency = time_single(predictor, &texts[..timed.min(texts.len())], cancel)?;
    Ok(Faithfulness { rows, latency })
}

/// Explains each text on its own, as the Playground does, and times it.
fn time_single(predictor: &Predictor, texts: &[String], cancel: &CancelToken) -> Result<Latency> {
    let mut timed = Vec::with_capacity(texts.len());
    for t in texts {
        let started = Instant::now();
        explain(predictor, std::slice::from_ref(t), cancel)?;
        timed.push((words(t).len(), started.elapsed().as_secs_f64() * 1e3));
    }
    let quantiles = |mut ms: Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| {
            ms.get(((q * ms.len().saturating_sub(1) as f64).round()) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        (ms.len(), at(0.5), at(0.9))
    };
    let n_words: usize = timed.iter().map(|(w, _)| w).sum();
    let (n, median_ms, p90_ms) = quantiles(timed.iter().map(|(_, ms)| *ms).collect());
    let (typed_texts, typed_median_ms, typed_p90_ms) = quantiles(
        timed
            .iter()
            .filter(|(w, _)| *w <= TYPED_WORDS)
            .map(|(_, ms)| *ms)
            .collect(),
    );
    Ok(Latency {
        texts: n,
        mean_words: n_words as f64 / texts.len().max(1) as f64,
        median_ms,
        p90_ms,
        typed_texts,
        typed_median_ms,
        typed_p90_ms,
    })
}

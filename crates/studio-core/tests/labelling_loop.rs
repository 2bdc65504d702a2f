//! The model in the labelling loop (`active_loop::suggest`): when it refits its
//! classifier, what it offers, and that it never offers a labelled text. A tiny random
//! encoder stands in for the sentence model: the mechanics, not the accuracy, are tested
//! here (accuracy: `studio report active` on real data).

use std::path::Path;
use studio_core::active::suggest::{suggest, VectorCache};
use studio_core::arch::Family;
use studio_core::classify::infer::SentenceEmbedder;
use studio_core::models::ModelFolder;
use studio_core::progress::{CancelToken, Event, Observer, Silent};
use studio_core::project::Project;
use studio_core::testing::{project_from_csv, tiny_model};

const WORDS: [&str; 8] = [
    "good", "great", "fun", "loved", "bad", "awful", "boring", "hated",
];

/// 40 short texts from the tiny model's vocabulary, labels negative / positive.
fn project(dir: &Path) -> Project {
    let mut csv = String::from("text\n");
    for i in 0..40 {
        let w = WORDS[i % WORDS.len()];
        let v = WORDS[(i * 3 + 1) % WORDS.len()];
        csv.push_str(&format!(
            "the film was {w} and {v} {}\n",
            "really ".repeat(i % 4)
        ));
    }
    project_from_csv(&dir.join("p.studio"), &csv, &["negative", "positive"])
}

/// Records every [`Event::Advance`]: (done, total).
#[derive(Default)]
struct Advances(Vec<(u64, Option<u64>)>);

impl Observer for Advances {
    fn on_event(&mut self, e: &Event) {
        if let Event::Advance { done, total } = e {
            self.0.push((*done, *total));
        }
    }
}

#[test]
fn suggest_refits_every_n_labels_and_offers_only_unlabelled_texts() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(&dir.path().join("m"), Family::Bert, 4);
    let folder = ModelFolder::open(&dir.path().join("m")).unwrap();
    let embedder = SentenceEmbedder::load(&folder, &candle_core::Device::Cpu, 32).unwrap();
    let p = project(dir.path());
    let mut cache = VectorCache::default();
    let ask = |cache: &mut VectorCache, n: usize| {
        suggest(&p, &embedder, cache, n, 3, &mut Silent, &CancelToken::new()).unwrap()
    };

    // No labels: no classifier, but still a spread of texts to start with.
    let first = ask(&mut cache, 5);
    assert!(first.refresh.is_none());
    assert_eq!(first.rows.len(), 5);
    let ids: std::collections::BTreeSet<i64> = first.rows.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 5, "the same text offered twice");

    // One label only: still nothing to fit.
    p.label(first.rows[0].id, "negative").unwrap();
    assert!(ask(&mut cache, 5).refresh.is_none());

    // Two labels: it fits, pre-labels every other text, and offers unlabelled ones,
    // reporting how far the encoding has got.
    p.label(first.rows[1].id, "positive").unwrap();
    // (A fresh cache: the one above already holds every text.)
    let mut seen = Advances::default();
    let fitted = suggest(
        &p,
        &embedder,
        &mut VectorCache::default(),
        4,
        3,
        &mut seen,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(seen.0.last(), Some(&(40, Some(40))), "{:?}", seen.0);
    assert!(seen.0.windows(2).all(|w| w[0].0 <= w[1].0), "{:?}", seen.0);
    let r = fitted.refresh.expect("a refit once two labels exist");
    assert_eq!((r.labelled, r.predicted), (2, 38));
    assert_eq!(fitted.rows.len(), 4);
    for row in &fitted.rows {
        assert!(row.label.is_none(), "offered a labelled text: {row:?}");
        assert!(row.predicted.is_some(), "no pre-label on {row:?}");
    }

    // Fewer than `every` (3) new labels: no refit; the third one triggers it.
    p.label(fitted.rows[0].id, "negative").unwrap();
    p.label(fitted.rows[1].id, "positive").unwrap();
    assert!(ask(&mut cache, 4).refresh.is_none());
    p.label(fitted.rows[2].id, "negative").unwrap();
    let again = ask(&mut cache, 4)
        .refresh
        .expect("a refit after 3 new labels");
    assert_eq!(again.labelled, 5);
}

/// With a model's guesses stored, the diverse pick takes the least sure text of each
/// cluster: here two clusters (even and odd ids), sureness growing with the id.
#[test]
fn diverse_takes_the_least_sure_text_of_each_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let guesses: Vec<(i64, Vec<f32>)> = (1..=40)
        .map(|id| {
            let sure = 0.5 + 0.01 * id as f32;
            (id, vec![sure, 1.0 - sure])
        })
        .collect();
    p.store_predictions(1, &guesses).unwrap();
    let by_parity = |rows: &[studio_core::project::TextRow]| {
        Ok(rows
            .iter()
            .map(|r| {
                if r.id % 2 == 0 {
                    vec![1.0, 0.0]
                } else {
                    vec![0.0, 1.0]
                }
            })
            .collect())
    };
    let picked = || -> Vec<i64> {
        let rows = studio_core::active::diverse::next_diverse_with(&p, 2, by_parity).unwrap();
        rows.iter().map(|r| r.id).collect()
    };
    assert_eq!(picked(), vec![1, 2]);
    // Labelled texts leave the pool: the next least sure of each cluster follow.
    p.label(1, "negative").unwrap();
    p.label(2, "positive").unwrap();
    assert_eq!(picked(), vec![3, 4]);
}

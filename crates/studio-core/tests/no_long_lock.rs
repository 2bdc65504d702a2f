//! Suggest and the learning curve embed texts on their own connection to the project, so
//! labelling never waits for them, and both stop when cancelled.
//!
//! `STUDIO_LOCK_MODEL=<model folder>` runs the labelling test with a real model (the
//! figure in the notes: all-MiniLM-L6-v2 on 5,000 texts); by default a tiny random one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use studio_core::arch::Family;
use studio_core::device::DeviceChoice;
use studio_core::ops::suggest::{learning_curve, next_to_label, NextRequest};
use studio_core::ops::Engine;
use studio_core::progress::{CancelToken, Event, Observer};
use studio_core::project::{Project, Strategy};
use studio_core::testing::{project_from_csv, tiny_model};
use studio_core::StudioError;

const TEXTS: usize = 5_000;

/// Counts the texts encoded so far.
struct Counter(Arc<AtomicU64>);

impl Observer for Counter {
    fn on_event(&mut self, e: &Event) {
        if let Event::Advance { done, .. } = e {
            self.0.store(*done, Ordering::SeqCst);
        }
    }
}

/// A project of [`TEXTS`] unlabelled texts plus `labelled` labelled ones.
fn big_project(dir: &Path, labelled: usize) -> PathBuf {
    let words = [
        "good", "bad", "great", "awful", "movie", "plot", "fun", "boring",
    ];
    let mut csv = String::from("text,label\n");
    for i in 0..TEXTS {
        let (a, b, c) = (words[i % 8], words[(i / 8) % 8], words[(i / 64) % 8]);
        let label = if i < labelled {
            if i % 2 == 0 {
                "positive"
            } else {
                "negative"
            }
        } else {
            ""
        };
        csv.push_str(&format!("{a} {b} the {c} {i},{label}\n"));
    }
    let path = dir.join("big.studio");
    drop(project_from_csv(&path, &csv, &["negative", "positive"]));
    path
}

/// The model folder the suggestion classifier reads texts with.
fn model(dir: &Path) -> String {
    match std::env::var_os("STUDIO_LOCK_MODEL") {
        Some(m) => m.to_string_lossy().into_owned(),
        None => {
            let m = dir.join("tiny");
            tiny_model(&m, Family::Bert, 4);
            m.to_string_lossy().into_owned()
        }
    }
}

fn diverse(model: &str) -> NextRequest {
    NextRequest {
        strategy: Strategy::Diverse,
        n: 10,
        model: model.to_string(),
        every: 10,
    }
}

#[test]
fn a_label_is_written_and_read_back_while_suggest_embeds_five_thousand_texts() {
    let dir = tempfile::tempdir().unwrap();
    let path = big_project(dir.path(), 4);
    let model = model(dir.path());
    let engine = Engine::with_device(&dir.path().join("home"), DeviceChoice::Cpu);
    let encoded = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let (path, encoded, done) = (path.clone(), encoded.clone(), done.clone());
        std::thread::spawn(move || {
            let r = next_to_label(
                &engine,
                &path,
                &diverse(&model),
                &mut Counter(encoded),
                &CancelToken::new(),
            );
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    while encoded.load(Ordering::SeqCst) == 0 && !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The app's own connection, labelling texts one by one while the embed runs.
    let app = Project::open(&path).unwrap();
    let mut latencies = Vec::new();
    let mut during_embed = 0;
    let mut id = 100i64;
    while !done.load(Ordering::SeqCst) && id < 100 + 2_000 {
        let before = encoded.load(Ordering::SeqCst);
        let label = if id % 2 == 0 { "positive" } else { "negative" };
        let t = Instant::now();
        app.label(id, label).unwrap();
        assert_eq!(app.label_of(id).unwrap().as_deref(), Some(label));
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        if (before as usize) < TEXTS && !done.load(Ordering::SeqCst) {
            during_embed += 1;
        }
        id += 1;
    }
    let s = worker.join().unwrap().unwrap();
    assert!(
        s.refresh.is_some(),
        "the first suggestion refits the classifier"
    );
    assert!(
        during_embed > 0,
        "no label was written while the {TEXTS} texts were embedded"
    );
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "{during_embed} labels written and read back during the embed of {TEXTS} texts: median {:.1} ms, max {:.1} ms",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}

#[test]
fn suggest_and_the_learning_curve_stop_when_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let path = big_project(dir.path(), 400);
    let model = model(dir.path());
    let cancel = CancelToken::new();
    let encoded = Arc::new(AtomicU64::new(0));
    let worker = {
        let (path, cancel, encoded, model) =
            (path.clone(), cancel.clone(), encoded.clone(), model.clone());
        std::thread::spawn(move || {
            let engine = Engine::with_device(&path.with_extension("home"), DeviceChoice::Cpu);
            next_to_label(
                &engine,
                &path,
                &diverse(&model),
                &mut Counter(encoded),
                &cancel,
            )
        })
    };
    while encoded.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    cancel.cancel();
    let r = worker.join().unwrap();
    assert!(matches!(r, Err(StudioError::Cancelled)), "{:?}", r.err());
    assert!((encoded.load(Ordering::SeqCst) as usize) < TEXTS);

    let engine = Engine::with_device(&dir.path().join("home"), DeviceChoice::Cpu);
    let cancelled = CancelToken::new();
    cancelled.cancel();
    let r = learning_curve(&engine, &path, &model, &cancelled);
    assert!(matches!(r, Err(StudioError::Cancelled)), "{:?}", r.err());
}

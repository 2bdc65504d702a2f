//! Numbers a user can trust, on tiny random models: the temperature folded into the head
//! is the one that minimises the held-out loss; an export read back predicts as the
//! model that was trained and can be trained further; explanations weigh each word by
//! what deleting it does; a test split too small to trust brings a cross-validated
//! estimate; continuing refuses what it cannot continue.

use std::path::{Path, PathBuf};
use studio_core::arch::{Family, Pooling};
use studio_core::classify::calibrate::nll_at;
use studio_core::classify::explain::{explain, without, words};
use studio_core::classify::export::{export, CardInfo};
use studio_core::classify::infer::Predictor;
use studio_core::classify::train::{train, HeadStart, Mode, Target, TrainOptions, TrainedModel};
use studio_core::data::{stratified_split, LabeledData};
use studio_core::device::DeviceChoice;
use studio_core::models::ModelFolder;
use studio_core::ops::evaluate::{evaluate_run, CvMethod, Estimate};
use studio_core::ops::train::{continue_from, train_project_run, TrainRequest};
use studio_core::ops::Engine;
use studio_core::progress::{CancelToken, Silent};
use studio_core::testing::{project_from_csv, tiny_data, tiny_model};
use studio_core::StudioError;

fn target() -> Target<'static> {
    Target {
        device: &candle_core::Device::Cpu,
        kind: "cpu",
    }
}

fn fit(base: &Path, data: &LabeledData, opts: &TrainOptions) -> TrainedModel {
    let folder = ModelFolder::open(base).unwrap();
    train(
        &folder,
        data,
        opts,
        target(),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap()
}

fn in_memory(t: &TrainedModel) -> Predictor {
    Predictor::new(
        t.classifier().unwrap(),
        t.tokenizer.clone(),
        t.label_names.clone(),
        candle_core::Device::Cpu,
    )
    .unwrap()
}

/// Settings the tiny models learn with: the head on frozen features, fitted to
/// convergence (mean pooling) or by the epoch loop (first-token pooling).
fn head(pooling: Pooling, seed: u64) -> TrainOptions {
    TrainOptions {
        mode: Some(Mode::Head),
        pooling: Some(pooling),
        epochs: Some(20),
        lr: Some(1e-2),
        batch_size: Some(8),
        seed,
        ..TrainOptions::default()
    }
}

#[test]
fn the_folded_temperature_minimises_the_held_out_loss() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    tiny_model(&base, Family::Bert, 11);
    let data = tiny_data(40, 2);
    let opts = head(Pooling::Cls, 3);
    let t = fit(&base, &data, &opts);
    assert_eq!(t.calibrated_on, "validation");
    assert!(
        t.validation.accuracy > 0.6,
        "the tiny model learned: {}",
        t.validation.accuracy
    );
    assert!(t.temperature.is_finite() && t.temperature > 0.0);
    // The split the run held out (same rule and seed as training).
    let split = stratified_split(&data.labels, 2, opts.val_fraction, opts.seed);
    let texts: Vec<String> = split
        .validation
        .iter()
        .map(|&i| data.texts[i].clone())
        .collect();
    let truth: Vec<usize> = split.validation.iter().map(|&i| data.labels[i]).collect();
    let logits: Vec<Vec<f32>> = in_memory(&t)
        .predict(&texts, &CancelToken::new())
        .unwrap()
        .into_iter()
        .map(|p| p.logits)
        .collect();
    // Folded in: the model's own logits are already at the optimum, T = 1.
    let at_one = nll_at(&logits, &truth, 1.0);
    for other in [0.7, 0.85, 1.2, 1.5] {
        assert!(
            at_one <= nll_at(&logits, &truth, other) + 1e-4,
            "NLL {at_one} at T=1 vs {} at T={other}",
            nll_at(&logits, &truth, other)
        );
    }
}

#[test]
fn an_export_read_back_is_the_model_that_was_trained_and_trains_on() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    tiny_model(&base, Family::Bert, 12);
    let data = tiny_data(30, 3);
    let t = fit(&base, &data, &head(Pooling::Mean, 4));
    assert_eq!(t.head_start, HeadStart::New);
    let out = dir.path().join("export");
    export(&t, &out, &CardInfo::default()).unwrap();

    // Read back without the mean layer, with the mean head: the same predictions.
    let folder = ModelFolder::open(&out).unwrap();
    assert!(folder.mean_layer);
    assert_eq!(folder.config.layers, t.config.layers);
    assert_eq!(folder.natural_pooling, Pooling::Mean);
    let loaded = Predictor::load(&out, &candle_core::Device::Cpu).unwrap();
    assert!((loaded.temperature() - t.temperature).abs() < 1e-12);
    let cancel = CancelToken::new();
    let a = in_memory(&t).predict(&data.texts, &cancel).unwrap();
    let b = loaded.predict(&data.texts, &cancel).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.label, y.label);
        for (p, q) in x.probs.iter().zip(&y.probs) {
            assert!((p - q).abs() < 1e-4, "{p} vs {q}");
        }
    }

    // The same labels: its head trains on, and starts far better than a new one (a
    // first-token head, which the epoch loop continues; a mean head is refitted).
    let cls = fit(&base, &data, &head(Pooling::Cls, 4));
    let cls_out = dir.path().join("export-cls");
    export(&cls, &cls_out, &CardInfo::default()).unwrap();
    let more = tiny_data(30, 9);
    let continued = fit(&cls_out, &more, &head(Pooling::Cls, 5));
    assert_eq!(continued.head_start, HeadStart::Continued);
    let fresh = fit(&base, &more, &head(Pooling::Cls, 5));
    assert!(
        continued.step_losses[0] < fresh.step_losses[0],
        "first loss continued {} vs from the base {}",
        continued.step_losses[0],
        fresh.step_losses[0]
    );

    // Other labels: the encoder is kept, the head is new.
    let renamed = LabeledData::from_pairs(
        more.texts
            .iter()
            .zip(&more.labels)
            .map(|(t, &l)| (t.clone(), if l == 0 { "bad" } else { "good" }.to_string())),
        None,
    )
    .unwrap();
    assert_eq!(
        fit(&out, &renamed, &head(Pooling::Mean, 5)).head_start,
        HeadStart::NewLabels
    );
}

#[test]
fn an_explanation_weighs_each_word_by_what_deleting_it_does() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    tiny_model(&base, Family::Bert, 13);
    let t = fit(&base, &tiny_data(30, 4), &head(Pooling::Mean, 6));
    let p = in_memory(&t);
    let cancel = CancelToken::new();
    let texts = vec![
        "the movie was good and fun".to_string(),
        "awful, boring plot!".to_string(),
    ];
    let e = explain(&p, &texts, &cancel).unwrap();
    for (text, x) in texts.iter().zip(&e) {
        let spans = words(text);
        assert_eq!(x.words.len(), spans.len());
        let full = &p.predict(std::slice::from_ref(text), &cancel).unwrap()[0];
        assert_eq!(full.label, x.prediction.label);
        for (w, span) in x.words.iter().zip(&spans) {
            let chars: Vec<char> = text.chars().collect();
            assert_eq!(
                w.word,
                chars[span.start..span.end].iter().collect::<String>()
            );
            let gone = &p
                .predict(&[without(text, std::slice::from_ref(span))], &cancel)
                .unwrap()[0];
            let id = full.label_id;
            assert!(
                (w.weight - (full.probs[id] - gone.probs[id])).abs() < 1e-5,
                "{}: {} vs {}",
                w.word,
                w.weight,
                full.probs[id] - gone.probs[id]
            );
        }
    }
    // A long text is weighed in two rounds: some words by their own deletion (the groups
    // that moved the prediction most), the rest by an equal share of their group's.
    let long: String = (0..60)
        .map(|i| ["good", "fun", "plot", "awful", "the", "boring"][i % 6])
        .collect::<Vec<_>>()
        .join(" ");
    let x = &explain(&p, std::slice::from_ref(&long), &cancel).unwrap()[0];
    let spans = words(&long);
    assert_eq!(x.words.len(), 60);
    let id = x.prediction.label_id;
    let own: Vec<bool> = spans
        .iter()
        .zip(&x.words)
        .map(|(span, w)| {
            let gone = &p
                .predict(&[without(&long, std::slice::from_ref(span))], &cancel)
                .unwrap()[0];
            (w.weight - (x.prediction.probs[id] - gone.probs[id])).abs() < 1e-5
        })
        .collect();
    let refined = own.iter().filter(|&&o| o).count();
    assert!(
        (3..=30).contains(&refined),
        "{refined} of 60 words weighed alone"
    );
}

struct ProjectSetup {
    _dir: tempfile::TempDir,
    engine: Engine,
    model: PathBuf,
    project: PathBuf,
}

fn project(n: usize) -> ProjectSetup {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-bert");
    tiny_model(&model, Family::Bert, 3);
    let data = tiny_data(n, 1);
    let mut csv = String::from("text,label\n");
    for (t, &l) in data.texts.iter().zip(&data.labels) {
        csv.push_str(&format!("{t},{}\n", data.label_names[l]));
    }
    let project = dir.path().join("reviews.studio");
    project_from_csv(&project, &csv, &["negative", "positive"]);
    ProjectSetup {
        engine: Engine::with_device(&dir.path().join("home"), DeviceChoice::Cpu),
        _dir: dir,
        model,
        project,
    }
}

fn head_run(s: &ProjectSetup, model: String) -> i64 {
    train_project_run(
        &s.engine,
        &s.project,
        &TrainRequest {
            model,
            options: TrainOptions {
                mode: Some(Mode::Head),
                seed: 5,
                ..TrainOptions::default()
            },
        },
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap()
    .run_id
}

#[test]
fn a_test_split_too_small_to_trust_brings_a_cross_validated_headline() {
    let s = project(10);
    let run = head_run(&s, s.model.to_string_lossy().into_owned());
    let e = evaluate_run(
        &s.engine,
        &s.project,
        Some(run),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert!(e.score.too_small);
    assert_eq!(e.headline, Estimate::CrossValidation);
    let cv = e.cross_validation.expect("a cross-validated estimate");
    assert_eq!(cv.k, 5);
    // Every labelled text, of every split, is predicted once, out of fold.
    assert_eq!(cv.score.metrics.n, 20);
    assert_eq!(cv.method, CvMethod::Run);
    // The tiny data is learnable: the estimate beats always answering one label.
    assert!(
        cv.score.metrics.accuracy > cv.score.metrics.baseline_accuracy,
        "{} vs {}",
        cv.score.metrics.accuracy,
        cv.score.metrics.baseline_accuracy
    );
    assert!(e.score.metrics.calibration.is_some());
}

#[test]
fn a_test_split_big_enough_is_the_headline_itself() {
    let s = project(220);
    let run = head_run(&s, s.model.to_string_lossy().into_owned());
    let e = evaluate_run(
        &s.engine,
        &s.project,
        Some(run),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert!(!e.score.too_small, "rarest {}", e.score.min_per_label);
    assert_eq!(e.headline, Estimate::Test);
    assert!(e.cross_validation.is_none());
}

#[test]
fn a_run_continues_from_another_run_and_refuses_what_it_cannot_continue() {
    let s = project(12);
    let first = head_run(&s, s.model.to_string_lossy().into_owned());
    let dir = continue_from(Some(&s.project), &format!("run {first}")).unwrap();
    let second = head_run(&s, dir.to_string_lossy().into_owned());
    assert_eq!(second, first + 1);
    // A base model has no classifier to continue.
    match continue_from(None, &s.model.to_string_lossy()) {
        Err(StudioError::UnsupportedModel { found, .. }) => {
            assert!(found.contains("without a trained classifier"), "{found}")
        }
        other => panic!("expected UnsupportedModel, got {other:?}"),
    }
    // A run that does not exist is named.
    let err = continue_from(Some(&s.project), "99").unwrap_err();
    assert!(err.to_string().contains("99"), "{err}");
}

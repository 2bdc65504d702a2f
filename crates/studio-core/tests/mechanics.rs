//! Mechanics of the encoders, training and export, on tiny random models.

use candle_core::{DType, Device, Tensor};
use studio_core::arch::params::mask_rng;
use studio_core::arch::{names, Classifier, Family, ForwardCtx, ParamStore, Pooling};
use studio_core::classify::export::{export, CardInfo};
use studio_core::classify::infer::Predictor;
use studio_core::classify::train::{cross_entropy, train, Mode, Preset, Target, TrainOptions};
use studio_core::models::ModelFolder;
use studio_core::progress::{CancelToken, Event, Observer};
use studio_core::testing::*;
use studio_core::StudioError;

const FAMILIES: [Family; 3] = [Family::Bert, Family::DistilBert, Family::XlmRoberta];

fn cpu() -> Device {
    Device::Cpu
}

fn target(d: &Device) -> Target<'_> {
    Target {
        device: d,
        kind: "cpu",
    }
}

/// Loads a tiny model, adds a head, and makes everything trainable.
fn loaded(family: Family, pooling: Pooling) -> (tempfile::TempDir, ModelFolder, ParamStore) {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), family, 7);
    let folder = ModelFolder::open(dir.path()).unwrap();
    let mut store = ParamStore::from_tensors(folder.load_tensors(&cpu()).unwrap(), &cpu()).unwrap();
    Classifier::add_missing_head(&mut store, &folder.config, pooling, 3, 1).unwrap();
    store.set_trainable(|_| true);
    (dir, folder, store)
}

fn batch(folder: &ModelFolder, texts: &[&str]) -> studio_core::models::Batch {
    let tok = folder.tokenizer(32).unwrap();
    let seqs = tok
        .encode_all(&texts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .unwrap();
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    tok.batch(&refs, &cpu()).unwrap()
}

#[test]
fn every_weight_receives_a_gradient_in_every_family_and_pooling() {
    for family in FAMILIES {
        for pooling in [Pooling::Cls, Pooling::Mean] {
            let (_d, folder, mut store) = loaded(family, pooling);
            if pooling == Pooling::Mean {
                // Unused with mean pooling, as the trainer does.
                store.remove(&names::head_dense(family).weight());
                store.remove(&names::head_dense(family).bias());
            }
            let model = Classifier::load(&store, &folder.config, pooling, 1.0).unwrap();
            let b = batch(
                &folder,
                &["the movie was good", "awful plot", "i loved it really !"],
            );
            let ctx = ForwardCtx::train(mask_rng(3));
            let logits = model.forward(&b.ids, &b.mask, &ctx).unwrap();
            assert_eq!(logits.dims(), &[3, 3]);
            let targets = Tensor::new(&[0u32, 1, 2], &cpu()).unwrap();
            let loss = cross_entropy(&logits, &targets, None).unwrap();
            let grads = loss.backward().unwrap();
            let vars = store.trainable();
            assert!(vars.len() > 20);
            for (name, var) in vars {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{family:?}/{pooling:?}: no gradient for {name}"));
                let norm = g
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(
                    norm > 0.0,
                    "{family:?}/{pooling:?}: zero gradient for {name}"
                );
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (_d, folder, store) = loaded(Family::Bert, Pooling::Cls);
    let b = batch(
        &folder,
        &["the movie was good", "awful plot and bad acting"],
    );
    let targets = Tensor::new(&[0u32, 1], &cpu()).unwrap();
    let loss_of = |store: &ParamStore| -> (Tensor, f64) {
        let model = Classifier::load(store, &folder.config, Pooling::Cls, 1.0).unwrap();
        let logits = model.forward(&b.ids, &b.mask, &ForwardCtx::eval()).unwrap();
        let loss = cross_entropy(&logits, &targets, None).unwrap();
        let v = loss.to_scalar::<f32>().unwrap() as f64;
        (loss, v)
    };
    let (loss, _) = loss_of(&store);
    let grads = loss.backward().unwrap();
    let checks = [
        ("bert.embeddings.LayerNorm.weight", 3),
        ("bert.encoder.layer.0.attention.self.query.weight", 17),
        ("bert.encoder.layer.0.attention.output.LayerNorm.bias", 5),
        ("bert.encoder.layer.1.intermediate.dense.weight", 40),
        ("bert.embeddings.word_embeddings.weight", 5 * HIDDEN + 2), // [CLS] row
        ("bert.pooler.dense.weight", 9),
    ];
    let tensors = store.tensors();
    for (name, flat) in checks {
        let t = &tensors[name];
        let analytic = grads
            .get(&store.get(name).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[flat] as f64;
        let h = 1e-2f32;
        let shifted = |delta: f32| -> f64 {
            let mut v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            v[flat] += delta;
            let mut s2 = ParamStore::from_tensors(store.tensors(), &cpu()).unwrap();
            s2.insert(name, Tensor::from_vec(v, t.dims(), &cpu()).unwrap(), false)
                .unwrap();
            loss_of(&s2).1
        };
        let numeric = (shifted(h) - shifted(-h)) / (2.0 * h as f64);
        assert!(
            (analytic - numeric).abs() <= 2e-4 + 0.03 * numeric.abs(),
            "{name}[{flat}]: analytic {analytic:e} vs numeric {numeric:e}"
        );
    }
}

#[test]
fn layer_norm_backward_matches_finite_differences_in_f64() {
    use studio_core::arch::layers::LayerNorm;
    let dev = cpu();
    let x = Tensor::new(&[[0.3f64, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, -2.2]], &dev).unwrap();
    let w = Tensor::new(&[1.1f64, 0.9, -0.5, 1.3], &dev).unwrap();
    let b = Tensor::new(&[0.1f64, -0.2, 0.3, 0.0], &dev).unwrap();
    let probe = Tensor::new(&[[0.5f64, -1.0, 2.0, 0.25], [1.0, 1.5, -0.5, 0.75]], &dev).unwrap();
    let f = |x: &Tensor, w: &Tensor, b: &Tensor| -> Tensor {
        let ln = LayerNorm {
            weight: w.clone(),
            bias: b.clone(),
            eps: 1e-5,
        };
        ln.forward(x)
            .unwrap()
            .mul(&probe)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let xv = candle_core::Var::from_tensor(&x).unwrap();
    let wv = candle_core::Var::from_tensor(&w).unwrap();
    let bv = candle_core::Var::from_tensor(&b).unwrap();
    let grads = f(xv.as_tensor(), wv.as_tensor(), bv.as_tensor())
        .backward()
        .unwrap();
    let h = 1e-6;
    for (var, which) in [(&xv, 0), (&wv, 1), (&bv, 2)] {
        let g = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let base = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        for i in 0..base.len() {
            let eval = |d: f64| {
                let mut v = base.clone();
                v[i] += d;
                let t = Tensor::from_vec(v, var.as_tensor().dims(), &dev).unwrap();
                let (xx, ww, bb) = match which {
                    0 => (t, w.clone(), b.clone()),
                    1 => (x.clone(), t, b.clone()),
                    _ => (x.clone(), w.clone(), t),
                };
                f(&xx, &ww, &bb).to_scalar::<f64>().unwrap()
            };
            let numeric = (eval(h) - eval(-h)) / (2.0 * h);
            assert!(
                (g[i] - numeric).abs() < 1e-6,
                "input {which} [{i}]: {} vs {numeric}",
                g[i]
            );
        }
    }
}

#[test]
fn padding_does_not_change_a_texts_logits() {
    for family in FAMILIES {
        for pooling in [Pooling::Cls, Pooling::Mean] {
            let (_d, folder, store) = loaded(family, pooling);
            let model = Classifier::load(&store, &folder.config, pooling, 1.0).unwrap();
            let alone = batch(&folder, &["good film"]);
            let padded = batch(
                &folder,
                &[
                    "good film",
                    "the plot was really very boring and the acting awful",
                ],
            );
            let ctx = ForwardCtx::eval();
            let a = model
                .forward(&alone.ids, &alone.mask, &ctx)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            let p = model
                .forward(&padded.ids, &padded.mask, &ctx)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            for (x, y) in a[0].iter().zip(&p[0]) {
                assert!(
                    (x - y).abs() < 1e-5,
                    "{family:?}/{pooling:?}: {:?} vs {:?}",
                    a[0],
                    p[0]
                );
            }
        }
    }
}

#[test]
fn lora_merged_equals_unmerged() {
    let (_d, folder, mut store) = loaded(Family::Bert, Pooling::Cls);
    // Non-zero adapters everywhere.
    for i in 0..LAYERS {
        let n = names::layer(Family::Bert, i);
        for lin in [&n.query, &n.key, &n.value, &n.attn_out] {
            let (a, b) = names::lora(lin);
            store
                .insert_normal(&a, &[4, HIDDEN], 0.3, 11, true)
                .unwrap();
            store
                .insert_normal(&b, &[HIDDEN, 4], 0.3, 12, true)
                .unwrap();
        }
    }
    let scale = 2.0;
    let with_lora = Classifier::load(&store, &folder.config, Pooling::Cls, scale).unwrap();
    let mut merged = ParamStore::new(cpu());
    for (n, t) in store.tensors() {
        if !n.contains(".lora_") {
            merged.insert(&n, t, false).unwrap();
        }
    }
    for (name, lin) in with_lora.linear_layers() {
        merged
            .insert(&name, lin.merged_weight().unwrap(), false)
            .unwrap();
    }
    let plain = Classifier::load(&merged, &folder.config, Pooling::Cls, scale).unwrap();
    let b = batch(&folder, &["the movie was good", "awful"]);
    let ctx = ForwardCtx::eval();
    let x = with_lora.forward(&b.ids, &b.mask, &ctx).unwrap();
    let y = plain.forward(&b.ids, &b.mask, &ctx).unwrap();
    let d = (x - &y)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(d < 1e-5, "max |Δ| = {d}");
    // The adapters matter: without them the logits differ.
    let y_abs = y
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(y_abs > 0.0);
}

fn quick_opts(mode: Mode, pooling: Pooling) -> TrainOptions {
    TrainOptions {
        mode: Some(mode),
        pooling: Some(pooling),
        epochs: Some(if mode == Mode::Head { 20 } else { 3 }),
        lr: Some(if mode == Mode::Head { 1e-2 } else { 1e-3 }),
        pair_iterations: 2,
        batch_size: Some(8),
        ..TrainOptions::default()
    }
}

#[test]
fn export_then_reload_gives_the_same_logits_in_every_family_mode_and_pooling() {
    let data = tiny_data(24, 5);
    let texts: Vec<String> = data.texts.iter().take(20).cloned().collect();
    for family in FAMILIES {
        for (mode, pooling) in [
            (Mode::Full, Pooling::Cls),
            (Mode::Full, Pooling::Mean),
            (Mode::Lora, Pooling::Cls),
            (Mode::Head, Pooling::Mean),
            (Mode::Head, Pooling::Cls),
            (Mode::Fewshot, Pooling::Mean),
        ] {
            let base = tempfile::tempdir().unwrap();
            tiny_model(base.path(), family, 3);
            let folder = ModelFolder::open(base.path()).unwrap();
            let dev = cpu();
            let model = train(
                &folder,
                &data,
                &quick_opts(mode, pooling),
                target(&dev),
                &mut Vec::<Event>::new(),
                &CancelToken::new(),
            )
            .unwrap();
            let in_memory = Predictor::new(
                model.classifier().unwrap(),
                model.tokenizer.clone(),
                model.label_names.clone(),
                dev.clone(),
            )
            .unwrap();
            let out = tempfile::tempdir().unwrap();
            let dir = out.path().join("export");
            export(&model, &dir, &CardInfo::default()).unwrap();
            for f in [
                "config.json",
                "model.safetensors",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "README.md",
                "training_args.json",
                "metrics.json",
                "loss.svg",
                "validation.svg",
            ] {
                assert!(dir.join(f).is_file(), "{family:?}/{mode:?}: missing {f}");
            }
            let reloaded = Predictor::load(&dir, &dev).unwrap();
            let a = in_memory.predict(&texts, &CancelToken::new()).unwrap();
            let b = reloaded.predict(&texts, &CancelToken::new()).unwrap();
            let mut worst = 0f32;
            for (p, q) in a.iter().zip(&b) {
                assert_eq!(p.label, q.label);
                for (x, y) in p.logits.iter().zip(&q.logits) {
                    worst = worst.max((x - y).abs());
                }
            }
            let tol = if pooling == Pooling::Mean { 2e-3 } else { 1e-5 };
            assert!(
                worst < tol,
                "{family:?}/{mode:?}/{pooling:?}: max |Δ logit| {worst}"
            );
        }
    }
}

#[test]
fn tiny_model_learns_and_the_same_seed_repeats() {
    let data = tiny_data(40, 9);
    let base = tempfile::tempdir().unwrap();
    tiny_model(base.path(), Family::Bert, 3);
    let folder = ModelFolder::open(base.path()).unwrap();
    let dev = cpu();
    let opts = TrainOptions {
        epochs: Some(15),
        patience: Some(100),
        ..quick_opts(Mode::Full, Pooling::Cls)
    };
    let a = train(
        &folder,
        &data,
        &opts,
        target(&dev),
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap();
    let b = train(
        &folder,
        &data,
        &opts,
        target(&dev),
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(a.step_losses, b.step_losses);
    assert_eq!(a.validation, b.validation);
    let first: f32 = a.step_losses[..3].iter().sum();
    let n = a.step_losses.len();
    let last: f32 = a.step_losses[n - 3..].iter().sum();
    assert!(last < first, "loss did not fall: {:?}", a.step_losses);
    assert!(a.validation.accuracy > 0.8, "{:?}", a.validation);
}

struct CancelAfterFirstStep {
    cancel: CancelToken,
    steps: usize,
}

impl Observer for CancelAfterFirstStep {
    fn on_event(&mut self, e: &Event) {
        if let Event::Step(_) = e {
            self.steps += 1;
            self.cancel.cancel();
        }
    }
}

#[test]
fn cancel_stops_within_one_batch() {
    let data = tiny_data(40, 9);
    let base = tempfile::tempdir().unwrap();
    tiny_model(base.path(), Family::Bert, 3);
    let folder = ModelFolder::open(base.path()).unwrap();
    let dev = cpu();
    let cancel = CancelToken::new();
    let mut obs = CancelAfterFirstStep {
        cancel: cancel.clone(),
        steps: 0,
    };
    let r = train(
        &folder,
        &data,
        &quick_opts(Mode::Full, Pooling::Cls),
        target(&dev),
        &mut obs,
        &cancel,
    );
    assert!(matches!(r, Err(StudioError::Cancelled)));
    assert_eq!(obs.steps, 1);
}

#[test]
fn a_diverging_loss_stops_with_advice() {
    let base = tempfile::tempdir().unwrap();
    tiny_model_with(base.path(), Family::Bert, 3, |t| {
        let w = t.get("embeddings.LayerNorm.weight").unwrap();
        let mut v = w.to_vec1::<f32>().unwrap();
        v[0] = f32::NAN;
        t.insert(
            "embeddings.LayerNorm.weight".into(),
            Tensor::from_vec(v, HIDDEN, &Device::Cpu).unwrap(),
        );
    });
    let folder = ModelFolder::open(base.path()).unwrap();
    let dev = cpu();
    let err = train(
        &folder,
        &tiny_data(10, 1),
        &quick_opts(Mode::Full, Pooling::Cls),
        target(&dev),
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .err()
    .unwrap();
    let msg = err.to_string();
    assert!(
        matches!(err, StudioError::Diverged { step: 1, .. }),
        "{msg}"
    );
    assert!(msg.contains("lower learning rate"), "{msg}");
}

#[test]
fn progress_reports_steps_epochs_and_eta() {
    let data = tiny_data(16, 2);
    let base = tempfile::tempdir().unwrap();
    tiny_model(base.path(), Family::DistilBert, 3);
    let folder = ModelFolder::open(base.path()).unwrap();
    let dev = cpu();
    let mut events = Vec::<Event>::new();
    let m = train(
        &folder,
        &data,
        &quick_opts(Mode::Full, Pooling::Cls),
        target(&dev),
        &mut events,
        &CancelToken::new(),
    )
    .unwrap();
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| {
            if let Event::Step(s) = e {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(steps.len(), m.step_losses.len());
    assert!(steps.windows(2).all(|w| w[1].step == w[0].step + 1));
    assert_eq!(steps.last().unwrap().eta_secs, 0.0);
    let epochs = events
        .iter()
        .filter(|e| matches!(e, Event::Epoch(_)))
        .count();
    assert_eq!(epochs, m.history.len());
    assert!(m.history.iter().any(|h| h.best));
    let _ = DType::F32;
}

#[test]
fn the_label_name_prior_applies_to_mean_pooled_heads_only_and_refuses_a_negative_strength() {
    use studio_core::classify::prior::DEFAULT_STRENGTH;
    use studio_core::classify::train::make_plan;
    let plan = |mode: Mode, pooling: Pooling, label_prior: Option<f64>| {
        make_plan(
            &TrainOptions {
                mode: Some(mode),
                label_prior,
                ..TrainOptions::default()
            },
            pooling,
            100,
            50,
            "cpu",
        )
    };
    assert_eq!(
        plan(Mode::Head, Pooling::Mean, None).unwrap().label_prior,
        DEFAULT_STRENGTH
    );
    assert_eq!(
        plan(Mode::Fewshot, Pooling::Cls, None).unwrap().label_prior,
        DEFAULT_STRENGTH
    );
    assert_eq!(
        plan(Mode::Head, Pooling::Mean, Some(7.0))
            .unwrap()
            .label_prior,
        7.0
    );
    assert_eq!(
        plan(Mode::Head, Pooling::Mean, Some(0.0))
            .unwrap()
            .label_prior,
        0.0
    );
    assert_eq!(
        plan(Mode::Head, Pooling::Cls, None).unwrap().label_prior,
        0.0
    );
    assert_eq!(
        plan(Mode::Full, Pooling::Mean, None).unwrap().label_prior,
        0.0
    );
    let err = plan(Mode::Head, Pooling::Mean, Some(-1.0)).unwrap_err();
    assert_eq!(err.code(), "invalidSetting");
    assert!(err.to_string().contains("0 (off) or more"), "{err}");
}

#[test]
fn presets_choose_few_shot_when_labels_are_few_and_say_why() {
    use studio_core::classify::train::{make_plan, Preset};
    let opts = TrainOptions {
        preset: Preset::Balanced,
        ..TrainOptions::default()
    };
    let few = make_plan(&opts, Pooling::Mean, 100, 50, "cpu").unwrap();
    assert_eq!(few.mode, Mode::Fewshot);
    assert!(few.why.contains("few labels"), "{}", few.why);
    let many = make_plan(&opts, Pooling::Mean, 5000, 2000, "cpu").unwrap();
    assert_eq!(many.mode, Mode::Full);
    let quick = make_plan(
        &TrainOptions {
            preset: Preset::Quick,
            ..opts.clone()
        },
        Pooling::Mean,
        100,
        50,
        "cpu",
    )
    .unwrap();
    assert_eq!(quick.mode, Mode::Head);
    // An explicit mode wins.
    let lora = make_plan(
        &TrainOptions {
            mode: Some(Mode::Lora),
            ..opts.clone()
        },
        Pooling::Cls,
        100,
        50,
        "cpu",
    )
    .unwrap();
    assert_eq!(lora.mode, Mode::Lora);
    // Few-shot needs mean pooling.
    assert!(make_plan(
        &TrainOptions {
            mode: Some(Mode::Fewshot),
            pooling: Some(Pooling::Cls),
            ..opts
        },
        Pooling::Cls,
        100,
        50,
        "cpu"
    )
    .is_err());
}

#[test]
fn few_shot_tunes_the_encoder_before_the_head() {
    let data = tiny_data(12, 3);
    let base = tempfile::tempdir().unwrap();
    tiny_model(base.path(), Family::Bert, 3);
    let folder = ModelFolder::open(base.path()).unwrap();
    let dev = cpu();
    let opts = TrainOptions {
        pair_iterations: 3,
        ..quick_opts(Mode::Fewshot, Pooling::Mean)
    };
    let m = train(
        &folder,
        &data,
        &opts,
        target(&dev),
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap();
    // Pairs: about 2 x 3 rounds x the training examples, 8 per step.
    assert!(!m.body_losses.is_empty());
    let before = folder.load_tensors(&dev).unwrap();
    let after = m.store.tensors();
    let q = "bert.encoder.layer.0.attention.self.query.weight";
    let moved = (&before[q] - &after[q])
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(
        moved > 0.0,
        "the contrastive phase did not change the encoder"
    );
}

/// The estimate is the plan plus a measured speed: a kept speed gives the same estimate
/// without touching the model, and the speed is asked for with the plan it must fit.
#[test]
fn an_estimate_reuses_a_kept_speed_for_the_same_plan() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), Family::Bert, 7);
    let folder = ModelFolder::open(dir.path()).unwrap();
    let data = tiny_data(12, 1);
    let opts = TrainOptions {
        preset: Preset::Quick,
        ..TrainOptions::default()
    };
    let d = cpu();
    let measured = studio_core::classify::train::estimate(
        &folder,
        &data,
        &opts,
        target(&d),
        &studio_core::progress::CancelToken::new(),
    )
    .unwrap();
    assert!(measured.forward_secs_per_text > 0.0 && measured.load_secs > 0.0);
    let kept = studio_core::classify::train::Speed {
        forward_secs_per_text: measured.forward_secs_per_text,
        load_secs: measured.load_secs,
    };
    let mut asked = None;
    let again = studio_core::classify::train::estimate_with(&folder, &data, &opts, "cpu", |plan| {
        asked = Some((plan.max_len, plan.batch_size));
        Ok(kept)
    })
    .unwrap();
    // The kept speed is looked up by what the plan reads texts with.
    assert_eq!(
        asked,
        Some((measured.plan.max_len, measured.plan.batch_size))
    );
    assert_eq!(again.plan.mode, Mode::Head);
    // The estimate follows the speed: a model twice as slow per text costs, in head
    // mode, one more read of every text at that speed; more texts cost more.
    let slower = studio_core::classify::train::estimate_with(&folder, &data, &opts, "cpu", |_| {
        Ok(studio_core::classify::train::Speed {
            forward_secs_per_text: 2.0 * kept.forward_secs_per_text,
            ..kept
        })
    })
    .unwrap();
    let texts = (again.train_texts + again.validation_texts) as f64;
    let extra = slower.seconds - again.seconds;
    assert!(
        (extra - texts * kept.forward_secs_per_text).abs() < 1e-9,
        "{extra} s more for {texts} texts at {} s each",
        kept.forward_secs_per_text
    );
    let bigger = tiny_data(48, 1);
    let more =
        studio_core::classify::train::estimate_with(&folder, &bigger, &opts, "cpu", |_| Ok(kept))
            .unwrap();
    assert!(
        more.seconds > again.seconds,
        "{} vs {}",
        more.seconds,
        again.seconds
    );
}

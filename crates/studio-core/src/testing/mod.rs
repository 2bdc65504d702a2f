//! Test support: tiny random models on disk in the three families, and small labelled
//! sets they can learn. Compiled for this crate's tests and, with the `testing` feature,
//! for other crates' tests; never part of a release build.

#![allow(missing_docs, clippy::unwrap_used)]

use crate::arch::{names, Family};

pub mod hub;
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;

pub const HIDDEN: usize = 32;
pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const INTER: usize = 64;

/// Words of the tiny vocabulary (the test texts use these).
pub const WORDS: &[&str] = &[
    "good", "bad", "great", "awful", "movie", "film", "plot", "acting", "the", "was", "is", "a",
    "not", "very", "really", "loved", "hated", "it", "boring", "fun", "and", "but", "i", "this",
    "!", ".", ",",
];

pub fn vocab() -> Vec<String> {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(WORDS.iter().map(|s| s.to_string()));
    v.extend(('a'..='z').map(|c| format!("##{c}")));
    v
}

/// Writes a tiny random model of `family` into `dir`.
pub fn tiny_model(dir: &Path, family: Family, seed: u64) {
    tiny_model_with(dir, family, seed, |_| {});
}

/// Like [`tiny_model`], letting `edit` change the tensors before they are saved.
pub fn tiny_model_with(
    dir: &Path,
    family: Family,
    seed: u64,
    edit: impl FnOnce(&mut HashMap<String, Tensor>),
) {
    std::fs::create_dir_all(dir).unwrap();
    let vocab = vocab();
    std::fs::write(dir.join("vocab.txt"), vocab.join("\n")).unwrap();
    let vocab_size = vocab.len() + 3; // a few unused rows, as real models have
    let max_pos = 64;
    let config = match family {
        Family::DistilBert => serde_json::json!({
            "model_type": "distilbert", "vocab_size": vocab_size, "dim": HIDDEN,
            "n_layers": LAYERS, "n_heads": HEADS, "hidden_dim": INTER,
            "max_position_embeddings": max_pos, "activation": "gelu", "dropout": 0.1,
            "attention_dropout": 0.1, "seq_classif_dropout": 0.2, "pad_token_id": 0,
            "initializer_range": 0.02
        }),
        _ => serde_json::json!({
            "model_type": family.model_type(), "vocab_size": vocab_size, "hidden_size": HIDDEN,
            "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
            "intermediate_size": INTER, "max_position_embeddings": max_pos,
            "type_vocab_size": if family == Family::XlmRoberta { 1 } else { 2 },
            "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "layer_norm_eps": 1e-12,
            "pad_token_id": 0, "initializer_range": 0.02
        }),
    };
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut t = HashMap::new();
    let mut randn = |shape: &[usize], std: f32, mean: f32| -> Tensor {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| {
                // Box-Muller
                let u1: f32 = rng.random::<f32>().max(1e-7);
                let u2: f32 = rng.random();
                mean + std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
            })
            .collect();
        Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
    };
    // Checkpoints of base models carry no prefix (like sentence-transformers files);
    // the loader adds it.
    let strip = |n: String| {
        let p = format!("{}.", names::prefix(family));
        n.strip_prefix(&p).map(str::to_string).unwrap_or(n)
    };
    t.insert(
        strip(names::word_embeddings(family)),
        randn(&[vocab_size, HIDDEN], 0.5, 0.0),
    );
    let pos_rows = max_pos + if family == Family::XlmRoberta { 2 } else { 0 };
    t.insert(
        strip(names::position_embeddings(family)),
        randn(&[pos_rows, HIDDEN], 0.1, 0.0),
    );
    if let Some(n) = names::token_type_embeddings(family) {
        let rows = if family == Family::XlmRoberta { 1 } else { 2 };
        t.insert(strip(n), randn(&[rows, HIDDEN], 0.1, 0.0));
    }
    let ln = |t: &mut HashMap<String, Tensor>,
              n: names::LinearNames,
              r: &mut dyn FnMut(&[usize], f32, f32) -> Tensor| {
        t.insert(strip(n.weight()), r(&[HIDDEN], 0.1, 1.0));
        t.insert(strip(n.bias()), r(&[HIDDEN], 0.1, 0.0));
    };
    ln(&mut t, names::embeddings_norm(family), &mut randn);
    for i in 0..LAYERS {
        let n = names::layer(family, i);
        for (lin, o, inp) in [
            (&n.query, HIDDEN, HIDDEN),
            (&n.key, HIDDEN, HIDDEN),
            (&n.value, HIDDEN, HIDDEN),
            (&n.attn_out, HIDDEN, HIDDEN),
            (&n.ffn_in, INTER, HIDDEN),
            (&n.ffn_out, HIDDEN, INTER),
        ] {
            t.insert(strip(lin.weight()), randn(&[o, inp], 0.2, 0.0));
            t.insert(strip(lin.bias()), randn(&[o], 0.05, 0.0));
        }
        ln(&mut t, n.attn_norm.clone(), &mut randn);
        ln(&mut t, n.ffn_norm.clone(), &mut randn);
    }
    if family == Family::Bert {
        t.insert(
            "pooler.dense.weight".into(),
            randn(&[HIDDEN, HIDDEN], 0.2, 0.0),
        );
        t.insert("pooler.dense.bias".into(), randn(&[HIDDEN], 0.05, 0.0));
    }
    edit(&mut t);
    let t: HashMap<String, Tensor> = t
        .into_iter()
        .map(|(k, v)| (k, v.to_dtype(DType::F32).unwrap()))
        .collect();
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
}

/// A small labelled set the tiny models can learn: sentiment words decide the label.
pub fn tiny_data(n_per_class: usize, seed: u64) -> crate::data::LabeledData {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let pos = ["good", "great", "loved", "fun"];
    let neg = ["bad", "awful", "hated", "boring"];
    let filler = [
        "the", "movie", "film", "plot", "acting", "was", "is", "very", "really", "it", "this", "a",
        "and",
    ];
    let mut pairs = Vec::new();
    for i in 0..2 * n_per_class {
        let label = if i % 2 == 0 { "positive" } else { "negative" };
        let words = if i % 2 == 0 { &pos } else { &neg };
        let len = rng.random_range(3..12);
        let mut text: Vec<&str> = (0..len)
            .map(|_| filler[rng.random_range(0..filler.len())])
            .collect();
        let at = rng.random_range(0..=text.len());
        text.insert(at, words[rng.random_range(0..words.len())]);
        pairs.push((text.join(" "), label));
    }
    crate::data::LabeledData::from_pairs(pairs, None).unwrap()
}

/// A new project at `path` holding the texts of `csv` (with a header line), with the
/// label set `labels`.
pub fn project_from_csv(path: &Path, csv: &str, labels: &[&str]) -> crate::project::Project {
    use crate::data::import::{ImportOptions, Input};
    use crate::progress::{CancelToken, Silent};
    let p = crate::project::Project::create(path).unwrap();
    p.import_input(
        Input::Bytes {
            name: Path::new("texts.csv"),
            bytes: csv.as_bytes(),
        },
        &ImportOptions::default(),
        None,
        &Default::default(),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    let names: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    p.set_label_set(&names).unwrap();
    p
}

/// A tiny BERT classifier trained (head only, a few seconds) on [`tiny_data`] and
/// exported under `root`: the folder `studio predict`, `serve` and the ONNX export read.
pub fn trained_tiny_classifier(root: &Path, family: Family) -> std::path::PathBuf {
    use crate::classify::train::{Mode, TrainOptions};
    use crate::ops::train::{train_project_run, TrainRequest};
    use crate::progress::{CancelToken, Silent};
    let base = root.join(format!("tiny-{}", family.model_type()));
    tiny_model(&base, family, 3);
    let data = tiny_data(40, 1);
    let mut csv = String::from("text,label\n");
    for (t, &l) in data.texts.iter().zip(&data.labels) {
        csv.push_str(&format!("{t},{}\n", data.label_names[l]));
    }
    let project = root.join(format!("tiny-{}.studio", family.model_type()));
    project_from_csv(&project, &csv, &["negative", "positive"]);
    let engine =
        crate::ops::Engine::with_device(&root.join("home"), crate::device::DeviceChoice::Cpu);
    let request = TrainRequest {
        model: base.to_string_lossy().into_owned(),
        options: TrainOptions {
            mode: Some(Mode::Head),
            seed: 5,
            ..TrainOptions::default()
        },
    };
    train_project_run(
        &engine,
        &project,
        &request,
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap()
    .model_dir
}

//! The `studio` binary end to end on tiny models: train → eval → predict, the JSON
//! contracts, exit codes, and every bad input with its message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use studio_core::arch::Family;
use studio_core::testing::{tiny_data, tiny_model, tiny_model_with};

fn studio(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_studio"))
        .args(args)
        .env("STUDIO_HOME", home)
        .env("HF_ENDPOINT", "http://127.0.0.1:9") // never the internet in tests
        .output()
        .expect("studio runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_csv(path: &Path, n_per_class: usize) {
    let d = tiny_data(n_per_class, 4);
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["text", "label"]).unwrap();
    for (t, l) in d.texts.iter().zip(&d.labels) {
        w.write_record([t.as_str(), d.label_names[*l].as_str()])
            .unwrap();
    }
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        tiny_model(&dir.path().join("base"), Family::Bert, 5);
        write_csv(&dir.path().join("train.csv"), 30);
        write_csv(&dir.path().join("test.csv"), 10);
        Self { dir }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).to_string_lossy().into_owned()
    }
    fn run(&self, args: &[&str]) -> Output {
        studio(&self.p("home"), args)
    }
    fn train(&self, out: &str, data: &str) -> Output {
        self.run(&[
            "train",
            "--data",
            &self.s(data),
            "--model",
            &self.s("base"),
            "--mode",
            "full",
            "--epochs",
            "4",
            "--lr",
            "1e-3",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            &self.s(out),
        ])
    }
}

#[test]
fn train_eval_predict_round_trip_with_json_contracts() {
    let f = Fixture::new();
    let o = f.train("model", "train.csv");
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "README.md",
    ] {
        assert!(f.p("model").join(file).is_file(), "missing {file}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.p("model/config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "BertForSequenceClassification");
    assert_eq!(config["id2label"]["0"], "negative");
    assert_eq!(config["label2id"]["positive"], 1);

    let o = f.run(&[
        "eval",
        "--model",
        &f.s("model"),
        "--data",
        &f.s("test.csv"),
        "--json",
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let acc = m["accuracy"].as_f64().unwrap();
    // The test file is 10 + 10: a constant predictor scores 0.5.
    assert!(
        acc > 0.5,
        "accuracy {acc} does not beat the majority-class rate 0.5"
    );
    assert!(m["macro_f1"].is_number());
    assert!(m["per_class"]["positive"]["f1"].is_number());
    assert!(m["per_class"]["negative"]["support"].as_u64().unwrap() == 10);
    assert_eq!(m["labels"], serde_json::json!(["negative", "positive"]));
    let total: u64 = m["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 20);
    let diagonal: u64 = (0..2).map(|i| m["confusion"][i][i].as_u64().unwrap()).sum();
    assert!((acc - diagonal as f64 / 20.0).abs() < 1e-12);

    std::fs::write(f.p("texts.txt"), "i loved it really\nawful boring plot\n").unwrap();
    let o = f.run(&[
        "predict",
        "--model",
        &f.s("model"),
        "--json",
        "--file",
        &f.s("texts.txt"),
        "extra text good",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        let p: f64 = l["probs"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-4);
        assert!(l["label"] == "positive" || l["label"] == "negative");
        assert!(l["text"].is_string());
    }
    // Plain output: label, probability, text.
    let o = f.run(&["predict", "--model", &f.s("model"), "good film"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout)
        .trim_end()
        .ends_with("\tgood film"));
}

#[test]
fn calibration_explanations_and_continued_training_from_the_cli() {
    let f = Fixture::new();
    let o = f.train("model", "train.csv");
    assert!(o.status.success(), "{}", stderr(&o));
    let args: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.p("model/training_args.json")).unwrap())
            .unwrap();
    let temperature = args["temperature"].as_f64().unwrap();
    assert!(temperature > 0.0 && temperature.is_finite());
    // The tiny model may get every validation text right, and then nothing can be fitted
    // (the fit itself is checked in the core's tests): the file must say which.
    match args["calibrated_on"].as_str() {
        Some("validation") => assert_ne!(temperature, 1.0),
        Some("none") => assert_eq!(temperature, 1.0),
        other => panic!("calibrated_on {other:?}"),
    }

    // eval --json: the calibration error before and after, and the diagram's bins.
    let o = f.run(&[
        "eval",
        "--model",
        &f.s("model"),
        "--data",
        &f.s("test.csv"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (ece, before) = (
        m["ece"].as_f64().unwrap(),
        m["ece_uncalibrated"].as_f64().unwrap(),
    );
    assert!((0.0..=1.0).contains(&ece) && (0.0..=1.0).contains(&before));
    assert_eq!(m["calibration"]["bins"].as_array().unwrap().len(), 15);
    assert!((m["calibration"]["temperature"].as_f64().unwrap() - temperature).abs() < 1e-9);
    let readme = std::fs::read_to_string(f.p("model/README.md")).unwrap();
    assert!(readme.contains("## Confidence"), "{readme}");

    // predict --explain --json: every word of the text, signed toward the label; the
    // "unsure" flag follows the threshold the user gives.
    let o = f.run(&[
        "predict",
        "--model",
        &f.s("model"),
        "--explain",
        "--json",
        "--unsure-below",
        "1",
        "the plot was awful",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let words: Vec<&str> = line["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            assert!(w["weight"].is_number());
            w["word"].as_str().unwrap()
        })
        .collect();
    assert_eq!(words, ["the", "plot", "was", "awful"]);
    assert_eq!(line["unsure"], true, "every prediction is below 100%");
    let o = f.run(&[
        "predict",
        "--model",
        &f.s("model"),
        "--json",
        "--unsure-below",
        "0",
        "good",
    ]);
    let line: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(line["unsure"], false);
    assert!(line.get("words").is_none());
    let o = f.run(&[
        "predict",
        "--model",
        &f.s("model"),
        "--unsure-below",
        "2",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a share between 0 and 1"),
        "{}",
        stderr(&o)
    );

    // train --from: continues the exported classifier; a base model has nothing to continue.
    let o = f.run(&[
        "train",
        "--data",
        &f.s("train.csv"),
        "--from",
        &f.s("model"),
        "--mode",
        "full",
        "--epochs",
        "1",
        "--lr",
        "1e-3",
        "--device",
        "cpu",
        "--out",
        &f.s("model2"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(
        said.contains("continuing a fine-tuned classifier"),
        "{said}"
    );
    let args: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.p("model2/training_args.json")).unwrap())
            .unwrap();
    assert_eq!(args["head_start"], "continued");
    expect_bad_input(
        &f.run(&[
            "train",
            "--data",
            &f.s("train.csv"),
            "--from",
            &f.s("base"),
            "--out",
            &f.s("m3"),
        ]),
        &["without a trained classifier"],
    );
    assert!(!f.p("m3").exists());
}

#[test]
fn estimate_names_the_method_and_a_time_and_trains_nothing() {
    let f = Fixture::new();
    let estimate = |preset: &str| {
        let o = f.run(&[
            "train",
            "--data",
            &f.s("train.csv"),
            "--model",
            &f.s("base"),
            "--preset",
            preset,
            "--device",
            "cpu",
            "--estimate",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    // 30 per label: few labels, so balanced picks few-shot and says why; quick picks head.
    let balanced = estimate("balanced");
    assert!(balanced.contains("mode fewshot"), "{balanced}");
    assert!(balanced.contains("few labels"), "{balanced}");
    assert!(balanced.contains("ms per text"), "{balanced}");
    assert!(estimate("quick").contains("mode head"));
    assert!(
        !f.p("model").exists(),
        "an estimate must not train or export"
    );
}

fn expect_bad_input(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "exit code for: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

#[test]
fn bad_inputs_get_clear_errors_and_exit_2() {
    let f = Fixture::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bad");
    let fx = |n: &str| fixtures.join(n).to_string_lossy().into_owned();
    let train = |data: String, model: String| {
        f.run(&[
            "train",
            "--data",
            &data,
            "--model",
            &model,
            "--device",
            "cpu",
            "--quiet",
            "--out",
            &f.s("never"),
        ])
    };
    expect_bad_input(&train(fx("empty.csv"), f.s("base")), &["empty", "no rows"]);
    expect_bad_input(
        &train(fx("header_only.csv"), f.s("base")),
        &["header row", "no data rows"],
    );
    expect_bad_input(
        &train(fx("no_text_col.csv"), f.s("base")),
        &["no column named \"text\"", "--text-col"],
    );
    expect_bad_input(
        &train(fx("no_label_col.csv"), f.s("base")),
        &["no column named \"label\"", "--label-col", "sentiment_x"],
    );
    expect_bad_input(
        &train(fx("one_class.csv"), f.s("base")),
        &["only one label", "positive", "at least two"],
    );
    // Unknown model folder, and a folder that is not a model.
    expect_bad_input(
        &train(f.s("train.csv"), f.s("no/such/folder")),
        &["no such folder"],
    );
    std::fs::create_dir_all(f.p("notamodel")).unwrap();
    std::fs::write(f.p("notamodel/readme.txt"), "hello").unwrap();
    expect_bad_input(
        &train(f.s("train.csv"), f.s("notamodel")),
        &["not a model we can load", "no config.json", "Supported"],
    );
    expect_bad_input(
        &train(f.s("train.csv"), "gpt-17".into()),
        &["unknown model", "studio models list"],
    );
    // A folder of an unsupported architecture.
    tiny_model(&f.p("llama"), Family::Bert, 1);
    std::fs::write(f.p("llama/config.json"), r#"{"model_type": "llama"}"#).unwrap();
    expect_bad_input(
        &train(f.s("train.csv"), f.s("llama")),
        &["\"llama\" model", "BERT, DistilBERT or XLM-RoBERTa"],
    );
    // A tokenizer that does not match the model: more tokens than embedding rows.
    tiny_model(&f.p("mismatch"), Family::Bert, 1);
    let mut vocab = std::fs::read_to_string(f.p("mismatch/vocab.txt")).unwrap();
    for i in 0..500 {
        vocab.push_str(&format!("\nextra{i}"));
    }
    std::fs::write(f.p("mismatch/vocab.txt"), vocab).unwrap();
    expect_bad_input(
        &train(f.s("train.csv"), f.s("mismatch")),
        &["tokenizer", "does not match", "embedding table"],
    );
    // Nothing was written for any of them.
    assert!(!f.p("never").exists());
    // --out naming a folder of the user's files is refused before training, and the
    // files are left as they were.
    std::fs::create_dir_all(f.p("mine")).unwrap();
    std::fs::write(f.p("mine/notes.txt"), "keep").unwrap();
    let o = f.run(&[
        "train",
        "--data",
        &f.s("train.csv"),
        "--model",
        &f.s("base"),
        "--quiet",
        "--out",
        &f.s("mine"),
    ]);
    expect_bad_input(&o, &["already exists and holds other files"]);
    assert_eq!(
        std::fs::read_to_string(f.p("mine/notes.txt")).unwrap(),
        "keep"
    );
    assert_eq!(std::fs::read_dir(f.p("mine")).unwrap().count(), 1);
    // Unknown file format, and a malformed row.
    std::fs::write(f.p("data.xyz"), "text,label\n").unwrap();
    expect_bad_input(
        &train(f.s("data.xyz"), f.s("base")),
        &[".csv, .tsv, .json, .jsonl, .txt or .xlsx"],
    );
    std::fs::write(
        f.p("ragged.csv"),
        "text,label\ngood,positive\nbad,negative,extra\n",
    )
    .unwrap();
    expect_bad_input(
        &train(f.s("ragged.csv"), f.s("base")),
        &["line 3", "has 3 values but the header has 2"],
    );
    // eval with labels the model does not know; predict with a base model.
    let o = f.train("model", "train.csv");
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(f.p("other.csv"), "text,label\ngood,neutral\n").unwrap();
    let o = f.run(&[
        "eval",
        "--model",
        &f.s("model"),
        "--data",
        &f.s("other.csv"),
    ]);
    expect_bad_input(&o, &["\"neutral\"", "not one the model knows"]);
    let o = f.run(&["predict", "--model", &f.s("base"), "good"]);
    expect_bad_input(&o, &["without a trained classifier", "studio train"]);
    // Bad usage.
    let o = f.run(&["train", "--model", "x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_failed_run_leaves_an_earlier_export_untouched() {
    let f = Fixture::new();
    let o = f.train("model", "train.csv");
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(f.p("model/model.safetensors")).unwrap();
    // A diverging run (NaN weights) into the same folder fails with advice.
    tiny_model_with(&f.p("nan"), Family::Bert, 5, |t| {
        let w = t.get("embeddings.LayerNorm.bias").unwrap();
        let mut v = w.to_vec1::<f32>().unwrap();
        v[1] = f32::INFINITY;
        t.insert(
            "embeddings.LayerNorm.bias".into(),
            candle_core::Tensor::from_vec(v, w.dims(), &candle_core::Device::Cpu).unwrap(),
        );
    });
    let o = f.run(&[
        "train",
        "--data",
        &f.s("train.csv"),
        "--model",
        &f.s("nan"),
        "--device",
        "cpu",
        "--quiet",
        "--out",
        &f.s("model"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("diverged") && stderr(&o).contains("lower learning rate"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(f.p("model/model.safetensors")).unwrap(),
        before
    );
    // No temporary folders left behind.
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn device_says_which_device_and_why_and_refuses_a_gpu_this_build_lacks() {
    let home = tempfile::tempdir().unwrap();
    let o = studio(home.path(), &["device", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "cpu", "{v}");
    let status = v["status"].as_str().unwrap();
    assert!(
        ["noGpu", "needsCudaBuild", "needsMetalBuild"].contains(&status),
        "{v}"
    );
    let explanation = v["explanation"].as_str().unwrap();
    assert!(explanation.contains("using CPU ("), "{v}");
    assert!(!explanation.contains('\n'), "{v}");
    let o = studio(home.path(), &["device", "--device", "cuda"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let why = if cfg!(feature = "cuda") {
        "CUDA: "
    } else {
        "this build has no CUDA support"
    };
    assert!(stderr(&o).contains(why), "{}", stderr(&o));
    let o = studio(home.path(), &["device", "--device", "tpu"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn models_list_json_and_import() {
    let f = Fixture::new();
    let o = f.run(&["models", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"all-minilm-l6-v2")
            && ids.contains(&"multilingual-e5-small")
            && ids.contains(&"distilbert-base-uncased")
    );
    let o = f.run(&["models", "import", &f.s("base"), "--name", "tiny"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(f.p("home/models/tiny/config.json").is_file());
    // Importing again under the same name refuses and keeps the first.
    let o = f.run(&["models", "import", &f.s("base"), "--name", "tiny"]);
    expect_bad_input(&o, &["already in the store"]);
    // The imported model trains by name.
    let o = f.run(&[
        "train",
        "--data",
        &f.s("train.csv"),
        "--model",
        "tiny",
        "--mode",
        "head",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        &f.s("m"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A catalog model that is not downloaded says how to get it.
    let o = f.run(&[
        "train",
        "--data",
        &f.s("train.csv"),
        "--model",
        "multilingual-e5-small",
        "--quiet",
        "--out",
        &f.s("m2"),
    ]);
    expect_bad_input(
        &o,
        &["not downloaded", "studio models pull multilingual-e5-small"],
    );
}

#[test]
fn project_flow_trains_from_a_project_and_suggests_what_to_label_next() {
    let f = Fixture::new();
    // Half the rows labelled, half not.
    let d = tiny_data(30, 8);
    let mut w = csv::Writer::from_path(f.p("mixed.csv")).unwrap();
    w.write_record(["text", "label"]).unwrap();
    for (i, (t, l)) in d.texts.iter().zip(&d.labels).enumerate() {
        let label = if i % 4 < 2 {
            d.label_names[*l].as_str()
        } else {
            ""
        };
        w.write_record([t.as_str(), label]).unwrap();
    }
    drop(w);
    let p = f.s("p.studio");
    assert!(f.run(&["project", "new", &p]).status.success());
    let o = f.run(&[
        "project",
        "import",
        &p,
        &f.s("mixed.csv"),
        "--text-col",
        "text",
        "--label-col",
        "label",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Uncertainty needs a model: the loop trains one on the labels and predicts the rest.
    let o = f.run(&[
        "project",
        "next",
        &p,
        "--strategy",
        "uncertain",
        "--n",
        "5",
        "--json",
        "--model",
        &f.s("base"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("retrained the suggestion model on 30 labels"),
        "{}",
        stderr(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&out)
        .or_else(|_| {
            serde_json::from_str(&format!(
                "[{}]",
                out.trim().lines().collect::<Vec<_>>().join(",")
            ))
        })
        .unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    // A second call with no new labels reuses the predictions.
    let o = f.run(&[
        "project",
        "next",
        &p,
        "--strategy",
        "uncertain",
        "--n",
        "3",
        "--model",
        &f.s("base"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("retrained"), "{}", stderr(&o));
    let o = f.run(&[
        "project",
        "next",
        &p,
        "--strategy",
        "diverse",
        "--n",
        "4",
        "--model",
        &f.s("base"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // And train straight from the project.
    let o = f.run(&[
        "train",
        "--project",
        &p,
        "--model",
        &f.s("base"),
        "--mode",
        "head",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        &f.s("pm"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("exported to"));
}

/// `train --project` is the app's project run: it learns from train and validation only,
/// records the run, and `project runs` / `eval --project` show it; a score that was not
/// measured is null, not 0.
#[test]
fn a_project_run_is_recorded_listed_and_scored_on_the_test_split() {
    let f = Fixture::new();
    let project = f.s("reviews.studio");
    let o = f.run(&["project", "new", &project]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = f.run(&[
        "project",
        "import",
        &project,
        &f.s("train.csv"),
        "--label-col",
        "label",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Before any run: nothing to score, and the error says what to do.
    let o = f.run(&["eval", "--project", &project]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no trained model yet"),
        "{}",
        stderr(&o)
    );

    let o = f.run(&[
        "train",
        "--project",
        &project,
        "--model",
        &f.s("base"),
        "--mode",
        "head",
        "--device",
        "cpu",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = f.run(&["project", "stats", &project, "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let split = |name: &str| stats["per_split"][name].as_u64().unwrap_or(0);
    let (learn, test) = (split("train") + split("validation"), split("test"));
    assert!(test > 0, "{stats}");

    let o = f.run(&["project", "runs", &project, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    let r = &runs[0];
    assert_eq!(r["method"], "head");
    assert_eq!(r["status"], "finished");
    assert_eq!(r["label_count"].as_u64(), Some(learn), "{r}");
    assert_eq!(r["test_n"].as_u64(), Some(test), "{r}");

    let o = f.run(&["eval", "--project", &project, "--json", "--device", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["n"].as_u64(), Some(test));
    assert_eq!(m["accuracy"], r["test_accuracy"]);
    let o = f.run(&["eval", "--project", &project, "--run", "7"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no run 7"), "{}", stderr(&o));
}

/// `predict --file` reads what a project imports (here GBK, semicolons, an .xlsx-free
/// CSV with a Chinese header) and `--out` writes a CSV with a byte-order mark.
#[test]
fn predict_a_gbk_semicolon_file_to_a_csv() {
    let f = Fixture::new();
    assert!(f.train("model", "train.csv").status.success());
    let input = f.p("评论.csv");
    let (bytes, _, _) =
        encoding_rs::GBK.encode("编号;评论\n1;good fun film\n2;awful boring plot\n");
    std::fs::write(&input, &bytes).unwrap();
    let out = f.p("preds.csv");
    let o = f.run(&[
        "predict",
        "--model",
        &f.s("model"),
        "--file",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("\u{feff}text,label,"), "{written}");
    assert!(written.contains("awful boring plot,"), "{written}");
    assert_eq!(written.lines().count(), 3);
}

/// `models pull --revision`: every request names that revision (never `main`), and a
/// revision the hub does not have is an error saying so, with nothing installed.
#[test]
fn models_pull_takes_a_revision_and_refuses_one_the_hub_lacks() {
    use std::sync::{Arc, Mutex};
    use studio_core::testing::hub::{serve, COMMIT};
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 3);
    let log = Arc::new(Mutex::new(Vec::new()));
    let endpoint = serve(src.path().to_path_buf(), log.clone());
    let home = tempfile::tempdir().unwrap();
    let pull = |revision: &str| {
        Command::new(env!("CARGO_BIN_EXE_studio"))
            .args(["models", "pull", "all-minilm-l6-v2", "--revision", revision])
            .env("STUDIO_HOME", home.path())
            .env("HF_ENDPOINT", &endpoint)
            .env("STUDIO_PYTHON", "python3-that-does-not-exist")
            .env_remove("HF_TOKEN")
            .output()
            .expect("studio runs")
    };
    let o = pull("v9-absent");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not found on the server"),
        "{}",
        stderr(&o)
    );
    assert!(!home.path().join("models/all-minilm-l6-v2").exists());

    log.lock().unwrap().clear();
    let o = pull(COMMIT);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(home
        .path()
        .join("models/all-minilm-l6-v2/config.json")
        .is_file());
    let requests = log.lock().unwrap().clone();
    let resolves: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/resolve/"))
        .collect();
    assert!(!resolves.is_empty());
    assert!(
        resolves
            .iter()
            .all(|r| r.contains(&format!("/resolve/{COMMIT}/"))),
        "{requests:?}"
    );
}

/// One raw HTTP/1.1 exchange with the server at `addr`: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// `studio serve` end to end: it prints where it listens, answers, refuses a bad request
/// with its JSON error, and on SIGTERM answers a request already sent, says it stopped,
/// and exits 0.
#[test]
fn serve_answers_refuses_and_stops_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    let f = Fixture::new();
    assert!(f.train("model", "train.csv").status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_studio"))
        .args([
            "serve",
            "--model",
            &f.s("model"),
            "--port",
            "0",
            "--device",
            "cpu",
        ])
        .env("STUDIO_HOME", f.p("home"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let call = |method: &str, path: &str, body: &str| http(&addr, method, path, body);
    let (status, body) = call(
        "POST",
        "/predict",
        r#"{"texts": ["good fun film", "awful"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["predictions"].as_array().unwrap().len(), 2);
    let (status, body) = call("POST", "/predict", "not json");
    assert_eq!(status, 400);
    assert!(body.contains("\"badJson\""), "{body}");
    // A request in flight when SIGTERM arrives is still answered.
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let texts: Vec<String> = (0..200).map(|i| format!("the film {i} was fun")).collect();
            let body = serde_json::json!({ "texts": texts }).to_string();
            http(&addr, "POST", "/predict", &body)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(30));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (status, answer) = slow.join().unwrap();
    assert_eq!(status, 200, "{answer}");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit {status:?}");
    assert!(rest.contains("stopped"), "{rest}");
}

//! The operations layer on tiny random models and real SQLite projects: what a project
//! run learns from and is scored on, what evaluation refuses, what a missing score is,
//! the one file reader behind predict-a-file, and pooling read from a model folder.

use std::path::{Path, PathBuf};
use studio_core::arch::{Family, Pooling};
use studio_core::classify::train::{Mode, TrainOptions};
use studio_core::device::DeviceChoice;
use studio_core::models::{ModelFolder, PoolingSource};
use studio_core::ops::evaluate::{evaluate_file, evaluate_run, EvaluateFile};
use studio_core::ops::predict::{predict_file, PredictFile};
use studio_core::ops::runs::{list_runs, RunStatus};
use studio_core::ops::train::{project_data, train_project_run, TrainRequest};
use studio_core::ops::Engine;
use studio_core::progress::{CancelToken, Silent};
use studio_core::project::{Filter, LabelFilter, Project, SplitName};
use studio_core::testing::{project_from_csv, tiny_data, tiny_model};
use studio_core::StudioError;

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    engine: Engine,
    model: PathBuf,
    project: PathBuf,
}

/// A project of `n` labelled tiny texts per label and a tiny BERT.
fn setup(n: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let model = root.join("tiny-bert");
    tiny_model(&model, Family::Bert, 3);
    let data = tiny_data(n, 1);
    let mut csv = String::from("text,label\n");
    for (t, &l) in data.texts.iter().zip(&data.labels) {
        csv.push_str(&format!("{t},{}\n", data.label_names[l]));
    }
    let project = root.join("reviews.studio");
    project_from_csv(&project, &csv, &["negative", "positive"]);
    Setup {
        engine: Engine::with_device(&root.join("home"), DeviceChoice::Cpu),
        _dir: dir,
        root,
        model,
        project,
    }
}

fn head_request(s: &Setup) -> TrainRequest {
    TrainRequest {
        model: s.model.to_string_lossy().into_owned(),
        options: TrainOptions {
            mode: Some(Mode::Head),
            seed: 5,
            ..TrainOptions::default()
        },
    }
}

/// A head-mode run on the project of `s`.
fn trained(s: &Setup) -> studio_core::ops::train::RunOutcome {
    train_project_run(
        &s.engine,
        &s.project,
        &head_request(s),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap()
}

fn split_count(p: &Project, split: SplitName) -> usize {
    p.count(&Filter {
        label: LabelFilter::Labelled,
        split: Some(split),
        ..Filter::default()
    })
    .unwrap() as usize
}

#[test]
fn a_project_run_learns_from_train_and_validation_and_is_scored_on_test() {
    let s = setup(60);
    let p = Project::open(&s.project).unwrap();
    let test = split_count(&p, SplitName::Test);
    let learn = split_count(&p, SplitName::Train) + split_count(&p, SplitName::Validation);
    assert!(
        test > 0 && learn + test == 120,
        "test {test}, learn {learn}"
    );
    let (learn_data, test_data) = project_data(&p).unwrap();
    assert_eq!((learn_data.len(), test_data.len()), (learn, test));
    // One label order for both faces: the project's.
    assert_eq!(learn_data.label_names, ["negative", "positive"]);

    let o = trained(&s);
    assert_eq!(o.trained.train_size + o.trained.validation_size, learn);
    assert_eq!(o.test.as_ref().map(|m| m.n), Some(test));
    assert_eq!(o.predicted, 120);
    assert!(o.model_dir.join("config.json").is_file());

    let runs = list_runs(&s.project).unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r.status, RunStatus::Finished);
    assert_eq!(r.label_count, Some(learn));
    assert_eq!(r.method, Some(Mode::Head));
    assert_eq!(r.test.as_ref().map(|m| m.n), Some(test));

    // Evaluating the run scores exactly the test split, the same numbers as training
    // recorded.
    let e = evaluate_run(
        &s.engine,
        &s.project,
        None,
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(e.run.id, o.run_id);
    assert_eq!(Some(&e.score.metrics), o.test.as_ref());
    assert_eq!(e.items.len(), test);
    assert!(e.score.too_small, "{} test texts cannot be trusted", test);
}

#[test]
fn a_run_is_never_scored_on_texts_it_learned_from() {
    let s = setup(30);
    trained(&s);
    // Empty the test split: evaluation must refuse, not fall back to validation.
    let p = Project::open(&s.project).unwrap();
    let test_rows = p.labelled_rows(SplitName::Test).unwrap();
    assert!(!test_rows.is_empty());
    for r in &test_rows {
        p.clear_label(r.id).unwrap();
    }
    let err = evaluate_run(
        &s.engine,
        &s.project,
        None,
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "noTestTexts", "{err}");
    // An unknown run is named as such.
    let err = evaluate_run(
        &s.engine,
        &s.project,
        Some(99),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(err, StudioError::UnknownRun { run: 99 }), "{err}");
}

#[test]
fn a_score_that_was_not_measured_is_none_not_zero() {
    // 8 labels a class and mean pooling: too few to hold out a validation split.
    let s = setup(8);
    let mut req = head_request(&s);
    req.options.pooling = Some(Pooling::Mean);
    let o = train_project_run(
        &s.engine,
        &s.project,
        &req,
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(o.trained.validation.n, 0);
    let runs = list_runs(&s.project).unwrap();
    assert_eq!(runs[0].validation, None);
}

#[test]
fn evaluating_a_file_refuses_a_label_the_model_does_not_know() {
    let s = setup(30);
    let o = trained(&s);
    let file = s.root.join("held.csv");
    std::fs::write(
        &file,
        "text,label\ngood film,positive\nit was fine,neutral\n",
    )
    .unwrap();
    let err = evaluate_file(
        &s.engine,
        &EvaluateFile {
            model: o.model_dir.clone(),
            data: file,
            text_col: "text".into(),
            label_col: "label".into(),
        },
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "labelNotInModel", "{err}");
    assert!(err.to_string().contains("\"neutral\""), "{err}");
}

/// GBK bytes of `s`.
fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

#[test]
fn predict_a_file_reads_what_a_project_imports_and_writes_a_bom_csv_beside_it() {
    let s = setup(30);
    let o = trained(&s);
    // A GBK, semicolon-separated file whose text column is called 评论.
    let input = s.root.join("评论.csv");
    let body = "编号;评论\n1;good movie, great fun\n2;awful plot; boring\n3;这部电影很好\n";
    let body = body.replace("awful plot; boring", "\"awful plot; boring\"");
    let bytes = gbk(&body);
    std::fs::write(&input, &bytes).unwrap();
    let r = predict_file(
        &s.engine,
        &PredictFile {
            model: o.model_dir.clone(),
            input: input.clone(),
            text_col: None,
            output: None,
        },
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(r.count, 3);
    assert_eq!(r.output, s.root.join("评论.predictions.csv"));
    // The preview holds the file's first texts with the labels written for them.
    assert_eq!(r.preview.len(), 3);
    assert_eq!(r.preview[0].0, "good movie, great fun");
    assert_eq!(r.preview[2].0, "这部电影很好");
    assert!(["negative", "positive"].contains(&r.preview[0].1.label.as_str()));
    let out = std::fs::read_to_string(&r.output).unwrap();
    assert!(
        out.starts_with("\u{feff}text,label,p_negative,p_positive\n"),
        "{out}"
    );
    assert!(out.contains("这部电影很好"), "{out}");
    assert!(out.contains("\"awful plot; boring\"") || out.contains("awful plot; boring,"));
    assert_eq!(out.lines().count(), 4);
    // The input is untouched, and refusing to overwrite it keeps it so.
    assert_eq!(std::fs::read(&input).unwrap(), bytes);
    let err = predict_file(
        &s.engine,
        &PredictFile {
            model: o.model_dir,
            input: input.clone(),
            text_col: None,
            output: Some(input.clone()),
        },
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), bytes);
}

#[test]
fn predict_a_file_refuses_what_it_cannot_write_and_never_resumes_another_inputs_work() {
    let s = setup(30);
    let o = trained(&s);
    let input = s.root.join("texts.txt");
    std::fs::write(&input, "good fun\nawful plot\n").unwrap();
    let request = |output: &Path| PredictFile {
        model: o.model_dir.clone(),
        input: input.clone(),
        text_col: None,
        output: Some(output.to_path_buf()),
    };
    // An output format it cannot write: refused before anything is written.
    let xls = s.root.join("out.xls");
    let err =
        predict_file(&s.engine, &request(&xls), &mut Silent, &CancelToken::new()).unwrap_err();
    assert_eq!(err.code(), "invalidSetting", "{err}");
    assert!(err.to_string().contains(".csv, .jsonl or .xlsx"), "{err}");
    assert!(!xls.exists());
    // A header-only file, and one with no texts at all, say so and write nothing.
    let empty = s.root.join("empty.csv");
    std::fs::write(&empty, "text\n").unwrap();
    let err = predict_file(
        &s.engine,
        &PredictFile {
            input: empty,
            ..request(&s.root.join("e.csv"))
        },
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(!s.root.join("e.csv").exists());
    assert!(!s.root.join(".e.csv.partial").exists());
    // A checkpoint left by a run over another file is not taken for this one's.
    let out = s.root.join("out.jsonl");
    std::fs::write(
        s.root.join(".out.jsonl.partial"),
        "{\"text\": \"from another file\"}\n",
    )
    .unwrap();
    std::fs::write(
        s.root.join(".out.jsonl.progress.json"),
        serde_json::json!({"input": "/elsewhere/other.txt", "input_bytes": 10, "input_modified": 1,
            "model": o.model_dir.to_string_lossy(), "rows": 1, "bytes": 34})
        .to_string(),
    )
    .unwrap();
    let r = predict_file(&s.engine, &request(&out), &mut Silent, &CancelToken::new()).unwrap();
    assert_eq!((r.count, r.resumed), (2, 0));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], "good fun");
    assert!(lines[1]["probabilities"]["negative"].as_f64().is_some());
    assert!(!s.root.join(".out.jsonl.partial").exists());
    assert!(!s.root.join(".out.jsonl.progress.json").exists());
    // An Excel sheet: the importer reads back the texts in order and their labels.
    let xlsx = s.root.join("out.xlsx");
    let r = predict_file(&s.engine, &request(&xlsx), &mut Silent, &CancelToken::new()).unwrap();
    assert_eq!(r.count, 2);
    let texts = studio_core::data::read_texts(&xlsx, Some("text")).unwrap();
    assert_eq!(texts, ["good fun", "awful plot"]);
    let labels = studio_core::data::read_texts(&xlsx, Some("label")).unwrap();
    assert_eq!(
        labels,
        [
            lines[0]["label"].as_str().unwrap(),
            lines[1]["label"].as_str().unwrap()
        ]
    );
    let p = studio_core::data::read_texts(&xlsx, Some("p_positive")).unwrap();
    let want = lines[1]["probabilities"]["positive"].as_f64().unwrap();
    assert!(
        (p[1].parse::<f64>().unwrap() - want).abs() < 1e-6,
        "{p:?} vs {want}"
    );
    assert!(!s.root.join(".out.xlsx.partial").exists());
}

fn write_json(path: &Path, v: serde_json::Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn pooling_is_read_from_the_folder_and_never_chosen_silently() {
    let dir = tempfile::tempdir().unwrap();
    // A bare folder of an unknown model: CLS, and the note says so and what to do.
    let bare = dir.path().join("bare");
    tiny_model(&bare, Family::Bert, 1);
    let f = ModelFolder::open(&bare).unwrap();
    assert_eq!(
        (f.natural_pooling, &f.pooling_source),
        (Pooling::Cls, &PoolingSource::Default)
    );
    assert!(
        f.pooling_note().contains("--pooling mean"),
        "{}",
        f.pooling_note()
    );
    // sentence-transformers: the Pooling module modules.json names, with its flags.
    let st = dir.path().join("st");
    tiny_model(&st, Family::Bert, 1);
    write_json(
        &st.join("modules.json"),
        serde_json::json!([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "2_Pool", "type": "sentence_transformers.models.Pooling"}
        ]),
    );
    write_json(
        &st.join("2_Pool/config.json"),
        serde_json::json!({"pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}),
    );
    let f = ModelFolder::open(&st).unwrap();
    assert_eq!(f.natural_pooling, Pooling::Mean);
    assert_eq!(
        f.pooling_source,
        PoolingSource::SentenceTransformers("2_Pool/config.json".into())
    );
    // A pooling module that says CLS is CLS, even though the folder is a
    // sentence-transformers one (the old rule called every such folder mean).
    write_json(
        &st.join("2_Pool/config.json"),
        serde_json::json!({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}),
    );
    assert_eq!(
        ModelFolder::open(&st).unwrap().natural_pooling,
        Pooling::Cls
    );
    // A bare copy of a catalog model, recognised by its name: the catalog's pooling.
    let known = dir.path().join("all-MiniLM-L6-v2");
    tiny_model(&known, Family::Bert, 1);
    let f = ModelFolder::open(&known).unwrap();
    assert_eq!(
        (f.natural_pooling, &f.pooling_source),
        (
            Pooling::Mean,
            &PoolingSource::Catalog("all-minilm-l6-v2".into())
        )
    );
}

#[test]
fn evaluating_a_run_refuses_a_project_label_its_model_does_not_know() {
    let s = setup(30);
    trained(&s);
    // A label added after the run, given to a test text: the model cannot score it, and
    // mapping it to another label (as the app once did) would invent a score.
    let p = Project::open(&s.project).unwrap();
    p.set_label_set(&["negative".into(), "positive".into(), "mixed".into()])
        .unwrap();
    let test_text = p.labelled_rows(SplitName::Test).unwrap()[0].id;
    p.label(test_text, "mixed").unwrap();
    let err = evaluate_run(
        &s.engine,
        &s.project,
        None,
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "labelNotInModel", "{err}");
    assert!(err.to_string().contains("\"mixed\""), "{err}");
}

#[test]
fn an_export_never_replaces_a_folder_of_the_users_files_and_cleans_up_after_a_dead_one() {
    use studio_core::ops::export::{copy_model_folder, export_run};
    let s = setup(30);
    let o = trained(&s);
    // Someone's own model folder (config.json, no export of ours) and a folder of notes.
    for (name, file) in [("their-model", "config.json"), ("notes", "todo.txt")] {
        let dir = s.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), "keep me").unwrap();
        let err = export_run(
            &s.project,
            None,
            &dir,
            studio_core::ops::export::ExportOptions::HF,
            &CancelToken::new(),
        )
        .unwrap_err();
        assert!(err.is_user_error(), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), "keep me");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
    // A process that died mid-export left its temporary folder: the next export removes
    // it (no such process runs), and replaces the earlier export in place.
    let out = s.root.join("exported");
    copy_model_folder(&o.model_dir, &out, &CancelToken::new()).unwrap();
    let stale = s.root.join(".exported.tmp-999999999");
    std::fs::create_dir_all(stale.join("half")).unwrap();
    copy_model_folder(&o.model_dir, &out, &CancelToken::new()).unwrap();
    assert!(
        !stale.exists(),
        "a dead process's temporary folder was left"
    );
    let left: Vec<String> = std::fs::read_dir(&s.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".exported"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_bad_config_json_is_an_error_naming_the_field_never_a_panic() {
    use studio_core::models::ModelStore;
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let models = dir.path().join("models");
    tiny_model(&models.join("good"), Family::Bert, 1);
    for (name, key, value, says) in [
        (
            "no-heads",
            "num_attention_heads",
            0u64,
            "num_attention_heads = 0",
        ),
        (
            "short",
            "max_position_embeddings",
            4,
            "max_position_embeddings = 4",
        ),
        ("huge", "hidden_size", 1 << 30, "hidden_size = 1073741824"),
        (
            "odd-heads",
            "num_attention_heads",
            5,
            "not a multiple of 5 heads",
        ),
    ] {
        let m = models.join(name);
        tiny_model(&m, Family::Bert, 1);
        let mut cfg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(m.join("config.json")).unwrap()).unwrap();
        cfg[key] = serde_json::json!(value);
        std::fs::write(m.join("config.json"), cfg.to_string()).unwrap();
        let err = ModelFolder::open(&m).unwrap_err();
        assert_eq!(err.code(), "unsupportedModel", "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
    // One bad folder in the store does not hide the good one.
    let ids: Vec<String> = store.list().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["good"]);
}

#[test]
fn a_run_whose_process_died_is_listed_as_interrupted_not_running() {
    use studio_core::project::RunRecord;
    let s = setup(10);
    let p = Project::open(&s.project).unwrap();
    // As a run started by a process that was then killed (or its window closed) leaves
    // it: "running", with that process's id.
    let id = p
        .record_run(&RunRecord {
            model: "tiny".into(),
            status: "running".into(),
            settings: serde_json::json!({"seed": 1, "pid": 999_999_999u32}),
            epochs: Vec::new(),
            metrics: None,
            export_path: None,
            started_at_ms: 0,
            finished_at_ms: None,
        })
        .unwrap();
    // A run of this very process is still running, and stays so.
    let mine = p
        .record_run(&RunRecord {
            model: "tiny".into(),
            status: "running".into(),
            settings: serde_json::json!({"pid": std::process::id()}),
            epochs: Vec::new(),
            metrics: None,
            export_path: None,
            started_at_ms: 0,
            finished_at_ms: None,
        })
        .unwrap();
    let runs = list_runs(&s.project).unwrap();
    let status = |run: i64| runs.iter().find(|r| r.id == run).unwrap().status;
    assert_eq!(status(id), RunStatus::Interrupted);
    assert_eq!(status(mine), RunStatus::Running);
    // Settled on disk, not only in the listing.
    let stored = p.runs().unwrap();
    assert_eq!(
        stored.iter().find(|r| r.id == id).unwrap().record.status,
        "interrupted"
    );
}

#[test]
fn a_cancelled_export_leaves_the_destination_as_it_was() {
    use studio_core::ops::export::copy_model_folder;
    let s = setup(30);
    let o = trained(&s);
    let out = s.root.join("exported");
    copy_model_folder(&o.model_dir, &out, &CancelToken::new()).unwrap();
    std::fs::write(out.join("README.md"), "the earlier card").unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let err = copy_model_folder(&o.model_dir, &out, &cancel).unwrap_err();
    assert!(matches!(err, StudioError::Cancelled), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "the earlier card"
    );
    let stray: Vec<String> = std::fs::read_dir(&s.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".exported"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

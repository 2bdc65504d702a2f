//! Tests of the shell's own logic (the engine has its own): project creation from a
//! file, the export copy, progress throttling, model recommendation.

use crate::commands::results::export_info;
use crate::commands::start::{create_blocking, free_project_path, Mapping, ReadAs};
use crate::error::ErrorKind;
use crate::jobs::{ChannelObserver, Progress};
use crate::state::{AppState, Shared};
use std::path::Path;
use std::sync::{Arc, Mutex};
use studio_core::data::csv_field;
use studio_core::models::Catalog;
use studio_core::ops::export::copy_model_folder;
use studio_core::ops::models::recommend;
use studio_core::progress::{CancelToken, Event, Observer, StepInfo};
use tauri::ipc::{Channel, InvokeResponseBody};

fn collecting_channel() -> (Channel<Progress>, Arc<Mutex<Vec<serde_json::Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ch = Channel::new(move |body| {
        if let InvokeResponseBody::Json(s) = body {
            sink.lock().unwrap().push(serde_json::from_str(&s).unwrap());
        }
        Ok(())
    });
    (ch, seen)
}

fn state(dir: &Path) -> AppState {
    Arc::new(Shared::new(dir.join("home"), dir.join("cache")))
}

/// Creates `project` from `csv` as the Start pane does (default encoding detection and
/// sheet, no progress listener), with the text column "text" and `label` as the label
/// column.
fn create(
    st: &AppState,
    project: &Path,
    csv: &Path,
    label: Option<&str>,
    labels: &[String],
) -> crate::error::AppResult<crate::commands::start::ImportSummary> {
    let (ch, _) = collecting_channel();
    let mapping = Mapping {
        text: "text".into(),
        label: label.map(Into::into),
        id: None,
    };
    create_blocking(
        st,
        project,
        csv,
        mapping,
        ReadAs::default(),
        labels,
        ch,
        &CancelToken::new(),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn creates_a_project_with_typed_labels_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("reviews.csv");
    write(&csv, "text\ngreat film\nawful film\nfine\n");
    let project = free_project_path(&csv);
    assert_eq!(project, dir.path().join("reviews.studio"));
    let st = state(dir.path());
    let (ch, seen) = collecting_channel();
    let labels = vec!["negative".to_string(), " positive ".to_string()];
    let mapping = Mapping {
        text: "text".into(),
        label: None,
        id: None,
    };
    let summary = create_blocking(
        &st,
        &project,
        &csv,
        mapping,
        ReadAs::default(),
        &labels,
        ch,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(summary.imported, 3);
    assert_eq!(summary.project.total, 3);
    let names: Vec<_> = summary
        .project
        .labels
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["negative", "positive"]);
    assert!(seen.lock().unwrap().iter().any(|m| m["kind"] == "phase"));
    // The project is now open, and a second one gets a fresh name.
    assert_eq!(st.with_project(|p| Ok(p.stats()?.total)).unwrap(), 3);
    assert_eq!(free_project_path(&csv), dir.path().join("reviews-2.studio"));
    assert_eq!(st.settings().recent[0], project.to_string_lossy());
}

/// A row the importer rejects reaches the UI as a code and its values (worded there in
/// the user's language), with its line.
#[test]
fn rejected_rows_come_with_a_code_and_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("reviews.csv");
    write(
        &csv,
        "text,label\ngreat film,positive\nawful,negative,extra\nfine,positive\n",
    );
    let st = state(dir.path());
    let project = free_project_path(&csv);
    let summary = create(&st, &project, &csv, Some("label"), &[]).unwrap();
    assert_eq!(summary.imported, 2);
    assert_eq!(summary.rejected, 1);
    let r = &summary.rejected_examples[0];
    assert_eq!((r.line, r.code.as_str()), (3, "wrongWidth"));
    assert_eq!(r.args["found"], "3");
    assert_eq!(r.args["expected"], "2");
    assert!(r.reason.contains("3 values"), "{}", r.reason);
}

#[test]
fn the_ui_words_every_reject_code() {
    let ui = include_str!("../../ui/src/lib/i18n.svelte.ts");
    for code in studio_core::data::import::RejectCode::ALL {
        let key = format!("'reject.{}':", code.code());
        assert_eq!(
            ui.matches(&key).count(),
            2,
            "{key} needs English and Chinese words"
        );
    }
}

#[test]
fn a_failed_import_leaves_no_project_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("texts.csv");
    write(&csv, "text\nfirst\nsecond\n");
    let project = dir.path().join("texts.studio");
    let st = state(dir.path());
    let (ch, _) = collecting_channel();
    let mapping = Mapping {
        text: "body".into(),
        label: None,
        id: None,
    };
    let err = create_blocking(
        &st,
        &project,
        &csv,
        mapping,
        ReadAs::default(),
        &["a".into(), "b".into()],
        ch,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Input);
    assert!(
        err.message.contains("no column named \"body\""),
        "{}",
        err.message
    );
    assert!(!project.exists());
    // No labels at all: a project without a label set is refused too.
    let err = create(&st, &project, &csv, None, &[]).unwrap_err();
    assert!(err.message.contains("no labels"), "{}", err.message);
    assert!(!project.exists());
    assert!(st.with_project(|_| Ok(())).is_err());
}

#[test]
fn export_replaces_an_earlier_export_but_never_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("run-1");
    std::fs::create_dir_all(&src).unwrap();
    write(&src.join("config.json"), "{}");
    write(&src.join("training_args.json"), "{}");
    let dest = dir.path().join("out").join("my model");
    let e = copy_model_folder(&src, &dest, &CancelToken::new()).unwrap();
    let info = export_info(&e);
    assert_eq!(info.files, ["config.json", "training_args.json"]);
    assert!(info.cli.contains(&format!("\"{}\"", dest.display())));
    assert!(info.python.contains("pipeline(\"text-classification\""));
    // Again: replaced in place.
    write(&src.join("metrics.json"), "{}");
    assert_eq!(
        copy_model_folder(&src, &dest, &CancelToken::new())
            .unwrap()
            .files
            .len(),
        3
    );
    // A folder of other things is left alone.
    let other = dir.path().join("photos");
    std::fs::create_dir_all(&other).unwrap();
    write(&other.join("cat.jpg"), "meow");
    let err = copy_model_folder(&src, &other, &CancelToken::new()).unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(other.join("cat.jpg").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary folders left: {leftovers:?}");
}

#[test]
fn progress_is_thinned_but_epochs_and_the_last_step_get_through() {
    let (ch, seen) = collecting_channel();
    let mut obs = ChannelObserver::new(ch);
    obs.on_event(&Event::Phase {
        name: "train".into(),
        total: Some(1000),
    });
    for step in 1..=1000 {
        obs.on_event(&Event::Step(StepInfo {
            step,
            total_steps: 1000,
            epoch: 1,
            loss: 1.0 / step as f32,
            lr: 1e-3,
            eta_secs: 1.0,
            elapsed_secs: 0.0,
        }));
    }
    let seen = seen.lock().unwrap();
    let steps: Vec<_> = seen.iter().filter(|m| m["kind"] == "step").collect();
    assert!(
        steps.len() <= 10,
        "{} step updates for a burst of 1000",
        steps.len()
    );
    assert_eq!(steps.last().unwrap()["data"]["step"], 1000);
    assert_eq!(steps.last().unwrap()["data"]["totalSteps"], 1000);
    assert!(seen.iter().any(|m| m["kind"] == "charts"));
}

#[test]
fn recommends_the_multilingual_model_for_chinese_texts() {
    let c = Catalog::builtin();
    let zh = vec!["这部电影真好看".to_string(), "太无聊了".to_string()];
    assert_eq!(recommend(&c, &zh).id, "multilingual-e5-small");
    let en = vec!["A fine film".to_string()];
    assert_eq!(recommend(&c, &en).id, c.default_model().id);
    assert_eq!(recommend(&c, &[]).id, c.default_model().id);
}

#[test]
fn csv_fields_are_quoted_when_needed() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("a, b"), "\"a, b\"");
    assert_eq!(csv_field("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
}

/// The `studio` binary next to this test's build (test-app builds it first). Its absence
/// fails the test: a test that cannot run must not pass.
fn studio_binary() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("release/studio");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build --release -p studio-cli` first",
        bin.display()
    );
    bin
}

/// One project trained through both faces with their defaults: `studio train --project`
/// and the Train pane's command. Same runs recorded, same model (identical logits), same
/// test metrics.
#[test]
fn the_cli_and_the_app_train_the_same_model_from_one_project() {
    use crate::commands::train::{default_preset, train_blocking, TrainRequest};
    use studio_core::arch::Family;
    use studio_core::classify::infer::Predictor;
    use studio_core::ops::runs::list_runs;
    use studio_core::testing::{project_from_csv, tiny_data, tiny_model};

    // The same process tuning as the app's main and the CLI's (the system OpenBLAS for
    // the linear layers): the faces must match as the user runs them.
    static TUNED: std::sync::Once = std::sync::Once::new();
    TUNED.call_once(studio_core::runtime::tune_process);
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-bert");
    tiny_model(&model, Family::Bert, 3);
    let data = tiny_data(40, 2);
    let mut csv = String::from("text,label\n");
    for (t, &l) in data.texts.iter().zip(&data.labels) {
        csv.push_str(&format!("{t},{}\n", data.label_names[l]));
    }
    let project = dir.path().join("reviews.studio");
    drop(project_from_csv(&project, &csv, &["negative", "positive"]));
    let st = state(dir.path());

    let cli = std::process::Command::new(studio_binary())
        .args(["train", "--quiet", "--project"])
        .arg(&project)
        .arg("--model")
        .arg(&model)
        .env("STUDIO_HOME", &st.home)
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "studio train failed: {}",
        String::from_utf8_lossy(&cli.stderr)
    );

    let request = TrainRequest {
        model_id: model.to_string_lossy().into_owned(),
        preset: default_preset(),
        mode: None,
        epochs: None,
        lr: None,
        seed: 42,
        from_run: None,
    };
    let app = train_blocking(
        &st,
        &project,
        &request,
        &mut studio_core::progress::Silent,
        &CancelToken::new(),
    )
    .unwrap();

    // The charts follow the UI's words and theme, drawn again from the run's data.
    assert!(app.loss_svg.contains("cross-entropy"), "English by default");
    let text = studio_core::charts::ChartText {
        cross_entropy: "交叉熵".into(),
        ..Default::default()
    };
    let style = studio_core::charts::ChartStyle { text, dark: true };
    let redrawn = crate::commands::charts::redraw(&st, style);
    let loss = redrawn
        .loss_svg
        .expect("the run's loss chart is drawn again");
    assert!(loss.contains("交叉熵") && !loss.contains("cross-entropy"));
    assert!(loss.contains("#16191C"), "dark paper");
    assert!(redrawn.validation_svg.is_some());
    assert!(redrawn.curve_svg.is_none(), "no learning curve was drawn");

    let runs = list_runs(&project).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (a, b) = (&runs[0], &runs[1]);
    assert_eq!(b.id, i64::from(app.run_id));
    assert_eq!((&a.method, a.label_count), (&b.method, b.label_count));
    assert!(a.test.is_some(), "the project has a test split");
    assert_eq!(a.test, b.test, "same test metrics");

    let texts: Vec<String> = data.texts.iter().take(20).cloned().collect();
    let logits = |d: &Path| -> Vec<Vec<f32>> {
        let cpu = studio_core::device::open(studio_core::device::DeviceChoice::Cpu).unwrap();
        let p = Predictor::load(d, &cpu.device).unwrap();
        p.predict(&texts, &CancelToken::new())
            .unwrap()
            .into_iter()
            .map(|x| x.logits)
            .collect()
    };
    let (la, lb) = (
        logits(a.model_dir.as_ref().unwrap()),
        logits(b.model_dir.as_ref().unwrap()),
    );
    assert_eq!(la, lb, "the two faces trained different models");

    // The app's run stored its predictions for the Label pane, in the project's order.
    let p = studio_core::project::Project::open(&project).unwrap();
    let (labels, probs) = p.prediction(1).unwrap().expect("stored predictions");
    assert_eq!(labels, ["negative", "positive"]);
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{probs:?}");
    // Predict a file from the Playground: a GBK, semicolon-separated file whose text
    // column is called 评论 (the second table reader the app once had refused it).
    st.set_project(p);
    let input = dir.path().join("评论.csv");
    let (bytes, _, _) =
        encoding_rs::GBK.encode("编号;评论\n1;good fun film\n2;awful boring plot\n");
    std::fs::write(&input, &bytes).unwrap();
    let out = crate::commands::results::predict_file_blocking(
        &st,
        app.run_id,
        &input,
        None,
        &mut studio_core::progress::Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(out.count, 2);
    let written = std::fs::read_to_string(&out.output).unwrap();
    assert!(
        written.starts_with("\u{feff}text,label,p_negative,p_positive\n"),
        "{written}"
    );
    assert_eq!(
        std::fs::read(&input).unwrap(),
        bytes.as_ref(),
        "the input was changed"
    );
}

/// Every error code the engine (and this shell) sends has a Chinese sentence in the UI.
#[test]
fn the_ui_has_a_chinese_sentence_for_every_error_code() {
    let ts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/errors.ts"),
    )
    .unwrap();
    let shell = ["noProject", "input", "runtime"];
    for code in studio_core::error::CODES.iter().chain(&shell) {
        assert!(
            ts.contains(&format!("\n  {code}: '")),
            "ui/src/lib/errors.ts has no Chinese sentence for error code {code}"
        );
    }
}

/// Every GPU status the engine reports has its words in English and in Chinese.
#[test]
fn the_ui_words_every_gpu_status_in_both_languages() {
    let ts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/i18n.svelte.ts"),
    )
    .unwrap();
    for status in studio_core::device::GpuStatus::ALL {
        let key = format!("'model.gpu.{}': '", status.code());
        assert_eq!(
            ts.matches(&key).count(),
            2,
            "ui/src/lib/i18n.svelte.ts needs {key} once in English and once in Chinese"
        );
    }
}

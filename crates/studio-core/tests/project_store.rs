//! The project store: schema and migrations, labels, history, undo/redo, splits,
//! queries, predictions, runs, export and the training view.

use rusqlite::Connection;
use std::path::Path;
use studio_core::data::import::{ImportOptions, Input};
use studio_core::progress::{CancelToken, Silent};
use studio_core::project::schema::{MIGRATIONS, SCHEMA_VERSION};
use studio_core::project::{
    Filter, LabelFilter, PageQuery, Project, RunRecord, SplitName, Strategy,
};
use studio_core::StudioError;

fn project_with(dir: &tempfile::TempDir, n: usize) -> Project {
    let mut csv = String::from("text\n");
    for i in 1..=n {
        csv.push_str(&format!("text number {i}\n"));
    }
    studio_core::testing::project_from_csv(
        &dir.path().join("p.studio"),
        &csv,
        &["negative", "positive"],
    )
}

/// Each shipped migration is pinned: editing an applied migration breaks every file
/// written with it. Add a new migration instead.
#[test]
fn shipped_migrations_are_unchanged() {
    fn fnv(s: &str) -> u64 {
        s.bytes().fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
    }
    let got: Vec<u64> = MIGRATIONS.iter().take(2).map(|m| fnv(m)).collect();
    // Printed so a reviewer can paste the values when adding a migration.
    eprintln!("migration hashes: {got:#x?}");
    assert_eq!(
        got,
        vec![PINNED_V1, PINNED_V2],
        "a shipped migration was edited; add a new one instead"
    );
}

const PINNED_V1: u64 = 0x7b38_a799_d592_f2d4;
const PINNED_V2: u64 = 0x58da_166f_771c_c4f5;

/// A project file as schema v1 wrote it (only the first migration), open for writing.
fn v1_file(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.pragma_update(
        None,
        "application_id",
        studio_core::project::schema::APPLICATION_ID,
    )
    .unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.execute_batch(MIGRATIONS[0]).unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    c
}

/// A file written by schema v1 (only the first migration, as the first release wrote
/// it) opens, migrates, and keeps its texts, labels and history.
#[test]
fn opens_a_file_written_by_schema_v1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.studio");
    {
        let c = v1_file(&path);
        c.execute_batch(
            "INSERT INTO meta VALUES ('split_seed', '42');
             INSERT INTO sources(path, format, text_column, imported_at) VALUES ('old.csv', 'csv', 'text', 0);
             INSERT INTO label_set(name, position, color, key, assigned) VALUES ('bad', 0, '#000000', '1', 1), ('good', 1, '#ffffff', '2', 0);
             INSERT INTO texts(text, hash, source_id, source_line, split) VALUES ('old one', 1, 1, 2, 0), ('old two', 2, 1, 3, NULL);
             INSERT INTO labels VALUES (1, 1, 5);
             INSERT INTO history(text_id, old_label, new_label, at, cause) VALUES (1, NULL, 1, 5, 'import');",
        )
        .unwrap();
    }
    let p = Project::open(&path).unwrap();
    assert_eq!(p.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(p.label_names().unwrap(), vec!["bad", "good"]);
    assert_eq!(p.label_of(1).unwrap().as_deref(), Some("bad"));
    assert_eq!(p.history(1).unwrap().len(), 1);
    // The v2 tables work on the migrated file.
    p.label(2, "good").unwrap();
    p.store_predictions(1, &[(1, vec![0.4, 0.6]), (2, vec![0.9, 0.1])])
        .unwrap();
    assert_eq!(
        p.count(&Filter {
            disagrees_with_model: true,
            ..Default::default()
        })
        .unwrap(),
        2
    );
    assert_eq!(p.integrity_check().unwrap(), "ok");
    drop(p);
    // Reopening a current file migrates nothing.
    assert_eq!(
        Project::open(&path).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn refuses_files_that_are_not_projects_or_too_new() {
    let dir = tempfile::tempdir().unwrap();
    let e = Project::open(&dir.path().join("missing.studio")).unwrap_err();
    assert!(matches!(e, StudioError::NotAProject { .. }), "{e}");
    let junk = dir.path().join("junk.studio");
    std::fs::write(&junk, b"this is not sqlite at all, not even close....................................................................").unwrap();
    let e = Project::open(&junk).unwrap_err();
    assert!(
        e.to_string()
            .contains("is not a Sentiment Studio project (it is not an SQLite database)"),
        "{e}"
    );
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x);")
        .unwrap();
    let e = Project::open(&other).unwrap_err();
    assert!(e.to_string().contains("another program"), "{e}");
    let newer = dir.path().join("newer.studio");
    drop(Project::create(&newer).unwrap());
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = Project::open(&newer).unwrap_err();
    assert!(
        matches!(e, StudioError::ProjectTooNew { found: 99, .. }),
        "{e}"
    );
    let e = Project::create(&newer).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
}

#[test]
fn labels_history_undo_redo() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 10);
    let c = p.label(3, "positive").unwrap();
    assert_eq!((c.old, c.new.as_deref()), (None, Some("positive")));
    assert!(c.split.is_some());
    p.label(3, "negative").unwrap();
    p.label(4, "positive").unwrap();
    let e = p.label(5, "neutral").unwrap_err();
    assert!(
        e.to_string()
            .contains("\"neutral\" is not one of the project's labels (negative, positive)"),
        "{e}"
    );
    let e = p.label(99, "positive").unwrap_err();
    assert!(matches!(e, StudioError::UnknownText { .. }), "{e}");

    let u = p.undo().unwrap().unwrap();
    assert_eq!(u.changes, vec![(4, None)]);
    let u = p.undo().unwrap().unwrap();
    assert_eq!(u.changes, vec![(3, Some("positive".into()))]);
    assert_eq!(p.label_of(3).unwrap().as_deref(), Some("positive"));
    p.redo().unwrap().unwrap();
    assert_eq!(p.label_of(3).unwrap().as_deref(), Some("negative"));
    // A new action forgets the redo stack.
    p.clear_label(3).unwrap();
    assert!(p.redo().unwrap().is_none());
    assert_eq!(p.label_of(3).unwrap(), None);
    p.undo().unwrap();
    assert_eq!(p.label_of(3).unwrap().as_deref(), Some("negative"));
    while p.undo().unwrap().is_some() {}
    assert_eq!(p.label_of(3).unwrap(), None);
    assert!(p.undo().unwrap().is_none());

    let causes: Vec<String> = p.history(3).unwrap().into_iter().map(|h| h.cause).collect();
    assert_eq!(
        causes,
        vec!["label", "label", "undo", "redo", "clear", "undo", "undo", "undo"]
    );
    // Batch labelling is one undo step.
    p.label_many(&[(1, "positive".into()), (2, "negative".into())])
        .unwrap();
    assert_eq!(p.stats().unwrap().labelled, 2);
    assert_eq!(p.undo().unwrap().unwrap().changes.len(), 2);
    assert_eq!(p.stats().unwrap().labelled, 0);
}

#[test]
fn label_set_changes() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 5);
    p.label(1, "positive").unwrap();
    let c = p
        .set_label_set(&["positive".into(), "neutral".into(), "negative".into()])
        .unwrap();
    assert_eq!(c.added, vec!["neutral"]);
    assert_eq!(
        p.label_names().unwrap(),
        vec!["positive", "neutral", "negative"]
    );
    let e = p.set_label_set(&["negative".into()]).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"positive\" cannot be removed: 1 texts have it"),
        "{e}"
    );
    let c = p
        .set_label_set(&["positive".into(), "negative".into()])
        .unwrap();
    assert_eq!(c.removed, vec!["neutral"]);
    let e = p.set_label_set(&["a".into(), "a".into()]).unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
    p.rename_label("positive", "pos").unwrap();
    assert_eq!(p.label_of(1).unwrap().as_deref(), Some("pos"));
    p.set_label_style("pos", Some("#123456"), Some("p"))
        .unwrap();
    let d = &p.label_set().unwrap()[0];
    assert_eq!((d.color.as_str(), d.key.as_deref()), ("#123456", Some("p")));
    assert!(p.set_label_style("pos", Some("red"), None).is_err());
}

#[test]
fn splits_are_stratified_seeded_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 400);
    // 300 positive, 100 negative, labelled in an interleaved order.
    for id in 1..=400i64 {
        p.label(id, if id % 4 == 0 { "negative" } else { "positive" })
            .unwrap();
    }
    let splits = p.training_splits().unwrap();
    let counts = |d: &studio_core::data::LabeledData| d.counts();
    assert_eq!(counts(&splits.train), vec![80, 240]);
    assert_eq!(counts(&splits.validation), vec![10, 30]);
    assert_eq!(counts(&splits.test), vec![10, 30]);
    let before: Vec<Option<SplitName>> = (1..=400).map(|i| p.text(i).unwrap().split).collect();
    // Relabelling and undoing never move a text between splits.
    p.label(5, "negative").unwrap();
    p.undo().unwrap();
    p.clear_label(6).unwrap();
    p.label(6, "positive").unwrap();
    let after: Vec<Option<SplitName>> = (1..=400).map(|i| p.text(i).unwrap().split).collect();
    assert_eq!(before, after);
    // Training view: label order is the project's.
    let data = p.all_labelled().unwrap();
    assert_eq!(data.label_names, vec!["negative", "positive"]);
    assert_eq!(data.len(), 400);
    // The seed can only change before any split exists.
    assert!(p.set_split_seed(7).is_err());
    // Same seed, same labelling order: same splits in another project.
    let dir2 = tempfile::tempdir().unwrap();
    let q = project_with(&dir2, 400);
    for id in 1..=400i64 {
        q.label(id, if id % 4 == 0 { "negative" } else { "positive" })
            .unwrap();
    }
    let other: Vec<Option<SplitName>> = (1..=400).map(|i| q.text(i).unwrap().split).collect();
    assert_eq!(before, other);
}

#[test]
fn pages_counts_next_and_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 100);
    for id in 1..=20i64 {
        p.label(id, if id <= 5 { "negative" } else { "positive" })
            .unwrap();
    }
    let page = |f: Filter, limit| {
        p.page(&PageQuery {
            filter: f,
            limit,
            ..Default::default()
        })
        .unwrap()
    };
    let neg = page(
        Filter {
            label: LabelFilter::Is("negative".into()),
            ..Default::default()
        },
        50,
    );
    assert_eq!(
        neg.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let unl = page(
        Filter {
            label: LabelFilter::Unlabelled,
            ..Default::default()
        },
        3,
    );
    assert_eq!(
        unl.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![21, 22, 23]
    );
    let found = page(
        Filter {
            search: Some("number 7".into()),
            ..Default::default()
        },
        50,
    );
    assert_eq!(
        found.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![7, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79]
    );
    let after = p
        .page(&PageQuery {
            after_id: Some(98),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(after.len(), 2);
    let train = p
        .count(&Filter {
            split: Some(SplitName::Train),
            ..Default::default()
        })
        .unwrap();
    assert!(train > 10 && train < 20, "{train}");
    assert_eq!(
        p.label_counts().unwrap(),
        vec![("negative".into(), 5), ("positive".into(), 15)]
    );

    // Next: in order, random (seeded), uncertain needs a model.
    let ids =
        |v: Vec<studio_core::project::TextRow>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(p.next_to_label(Strategy::Order, 3).unwrap()),
        vec![21, 22, 23]
    );
    let r1 = ids(p.next_to_label(Strategy::Random { seed: 3 }, 5).unwrap());
    assert_eq!(
        r1,
        ids(p.next_to_label(Strategy::Random { seed: 3 }, 5).unwrap())
    );
    assert!(r1.iter().all(|&i| i > 20));
    let e = p.next_to_label(Strategy::Uncertain, 3).unwrap_err();
    assert!(e.to_string().contains("no model predictions"), "{e}");
    assert!(p.next_to_label(Strategy::Diverse, 3).is_err());

    // Predictions: margin orders "uncertain"; disagreement filters labelled texts.
    let preds: Vec<(i64, Vec<f32>)> = (1..=100i64)
        .map(|id| {
            let p_pos = (id as f32 / 101.0).clamp(0.0, 1.0);
            (id, vec![1.0 - p_pos, p_pos])
        })
        .collect();
    p.store_predictions(7, &preds).unwrap();
    let next = ids(p.next_to_label(Strategy::Uncertain, 3).unwrap());
    let mut first_two = next[..2].to_vec();
    first_two.sort_unstable();
    assert_eq!(first_two, vec![50, 51]);
    assert!([49, 52].contains(&next[2]), "{next:?}");
    // Texts 6..=20 are positive but the model says negative (p_pos < 0.5).
    let dis = page(
        Filter {
            disagrees_with_model: true,
            ..Default::default()
        },
        100,
    );
    assert_eq!(
        dis.iter().map(|r| r.id).collect::<Vec<_>>(),
        (6..=20).collect::<Vec<_>>()
    );
    assert_eq!(dis[0].predicted.as_deref(), Some("negative"));
    let (names, probs) = p.prediction(50).unwrap().unwrap();
    assert_eq!(names, vec!["negative", "positive"]);
    assert!((probs[1] - 50.0 / 101.0).abs() < 1e-6);
    let e = p.store_predictions(8, &[(1, vec![1.0])]).unwrap_err();
    assert!(
        e.to_string()
            .contains("1 probabilities but the project has 2 labels"),
        "{e}"
    );
    let e = p
        .store_predictions(8, &[(1000, vec![0.5, 0.5])])
        .unwrap_err();
    assert!(matches!(e, StudioError::UnknownText { .. }), "{e}");
    assert_eq!(p.stats().unwrap().model_version, Some(7));

    // Diverse through an embedder: picks spread-out texts.
    struct ByNumber;
    impl studio_core::active::diverse::Embedder for ByNumber {
        fn embed(&mut self, texts: &[String]) -> studio_core::Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let n: f32 = t.rsplit(' ').next().unwrap().parse().unwrap();
                    let a = n / 100.0 * std::f32::consts::PI;
                    vec![a.cos(), a.sin()]
                })
                .collect())
        }
    }
    let d = studio_core::active::diverse::next_diverse(&p, 2, &mut ByNumber).unwrap();
    assert_eq!(d.len(), 2);
}

#[test]
fn runs_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 3);
    let mut run = RunRecord {
        model: "all-minilm-l6-v2".into(),
        status: "running".into(),
        settings: serde_json::json!({"mode": "head", "epochs": 3, "seed": 1}),
        epochs: vec![],
        metrics: None,
        export_path: None,
        started_at_ms: 0,
        finished_at_ms: None,
    };
    let id = p.record_run(&run).unwrap();
    run.epochs
        .push(serde_json::json!({"epoch": 1, "val_macro_f1": 0.8}));
    run.status = "finished".into();
    run.export_path = Some("/tmp/out".into());
    run.metrics = Some(serde_json::json!({"accuracy": 0.9}));
    run.finished_at_ms = Some(123);
    p.update_run(id, &run).unwrap();
    let runs = p.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id);
    assert_eq!(runs[0].record.epochs, run.epochs);
    assert_eq!(runs[0].record.status, "finished");
    assert_eq!(
        runs[0].record.export_path.as_deref(),
        Some(Path::new("/tmp/out"))
    );
    assert!(p.update_run(999, &run).is_err());
}

#[test]
fn export_csv_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 5);
    p.label(2, "positive").unwrap();
    p.label(4, "negative").unwrap();
    let csv = dir.path().join("out.csv");
    assert_eq!(p.export(&csv).unwrap(), 2);
    let s = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "id,text,label,split");
    assert!(lines[1].starts_with("2,text number 2,positive,"), "{s}");
    let jl = dir.path().join("out.jsonl");
    assert_eq!(p.export(&jl).unwrap(), 2);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&jl)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["text"], "text number 2");
    assert_eq!(first["label"], "positive");
    // The export reads back as training data.
    let back = studio_core::data::read_labeled(&csv, "text", "label", None).unwrap();
    assert_eq!(back.len(), 2);
    let e = p.export(&dir.path().join("out.xlsx")).unwrap_err();
    assert!(e.to_string().contains(".csv or .jsonl"), "{e}");
}

#[test]
fn resolve_text_ids() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 3);
    assert_eq!(p.resolve_text_id("2").unwrap(), 2);
    let e = p.resolve_text_id("9").unwrap_err();
    assert!(
        e.to_string()
            .contains("texts are numbered 1 to 3 in import order"),
        "{e}"
    );
    p.import_input(
        Input::Bytes {
            name: Path::new("ids.csv"),
            bytes: b"id,text\nr-1,first\n2,second\n",
        },
        &ImportOptions::default(),
        None,
        &Default::default(),
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(p.resolve_text_id("r-1").unwrap(), 4);
    // "2" is an imported id value, so it names that text, not row 2.
    assert_eq!(p.resolve_text_id("2").unwrap(), 5);
    let e = p.resolve_text_id("nope").unwrap_err();
    assert!(
        e.to_string().contains("imported id column (e.g. \"r-1\")"),
        "{e}"
    );
}

/// Undo, redo and a label-set change wait for another process's write to finish and then
/// go through: their transaction takes the write lock first, instead of reading, finding
/// the lock taken, and failing at once.
#[test]
fn undo_and_set_labels_wait_for_a_second_writer_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let p = project_with(&dir, 10);
    p.label(1, "positive").unwrap();
    p.label(2, "negative").unwrap();
    let path = p.path().to_path_buf();
    let hold = |millis: u64| {
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch(
                "BEGIN IMMEDIATE; UPDATE meta SET value = value WHERE key = 'created_at';",
            )
            .unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(millis));
            other.execute_batch("COMMIT").unwrap();
        })
    };
    let writer = hold(300);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let undone = p.undo().unwrap().expect("something to undo");
    writer.join().unwrap();
    assert_eq!(undone.changes, vec![(2, None)]);
    assert_eq!(p.label_of(2).unwrap(), None);

    let writer = hold(300);
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.redo().unwrap().expect("something to redo");
    writer.join().unwrap();
    assert_eq!(p.label_of(2).unwrap().as_deref(), Some("negative"));

    let writer = hold(300);
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.set_label_set(&["negative".into(), "positive".into(), "mixed".into()])
        .unwrap();
    writer.join().unwrap();
    assert_eq!(p.label_names().unwrap(), ["negative", "positive", "mixed"]);
}

/// Several processes opening a project written by schema v1 at the same moment migrate
/// it once, one after the other: every open succeeds and the file ends up current.
#[test]
fn opening_an_old_project_from_many_threads_at_once_migrates_it_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.studio");
        drop(v1_file(&path));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Project::open(&path).map(|p| p.schema_version().unwrap())
                })
            })
            .collect();
        for o in opens {
            let v = o.join().unwrap();
            assert_eq!(v.ok(), Some(SCHEMA_VERSION), "round {round}");
        }
        assert_eq!(
            Project::open(&path).unwrap().integrity_check().unwrap(),
            "ok"
        );
    }
}

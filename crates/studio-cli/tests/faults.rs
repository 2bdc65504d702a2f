//! SIGKILL at random moments during import, training and export (labelling has its own
//! suite in project_cli.rs). After every round: the project passes SQLite's integrity
//! check, an import is all or nothing, no earlier export is touched (a destination is
//! either absent or a whole export, never a half one), the run list is honest (no run
//! left "running"), and the next run of the same operation leaves no temporary folder.
//!
//! `STUDIO_FAULT_ROUNDS` sets the rounds per operation (default 20; scripts/faults runs
//! many more).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use studio_core::arch::Family;
use studio_core::testing::{tiny_data, tiny_model};

fn rounds() -> usize {
    std::env::var("STUDIO_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

struct Lab {
    dir: tempfile::TempDir,
    rng: u64,
    /// The local hub server model pulls go to (none: a closed port).
    hub: Option<String>,
}

impl Lab {
    fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        tiny_model(&dir.path().join("base"), Family::Bert, 3);
        let d = tiny_data(40, 2);
        let mut csv = String::from("text,label\n");
        for (t, &l) in d.texts.iter().zip(&d.labels) {
            csv.push_str(&format!("{t},{}\n", d.label_names[l]));
        }
        std::fs::write(dir.path().join("data.csv"), csv).unwrap();
        let mut more = String::from("text\n");
        for i in 0..20_000 {
            more.push_str(&format!("another text number {i} was fun\n"));
        }
        std::fs::write(dir.path().join("more.csv"), more).unwrap();
        Self {
            dir,
            rng: 0x9e37_79b9_7f4a_7c15 ^ seed,
            hub: None,
        }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).to_string_lossy().into_owned()
    }
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_studio"));
        c.args(args)
            .env("STUDIO_HOME", self.p("home"))
            .env(
                "HF_ENDPOINT",
                self.hub.as_deref().unwrap_or("http://127.0.0.1:9"),
            )
            .env("STUDIO_PYTHON", "python3-that-does-not-exist");
        c
    }
    fn ok(&self, args: &[&str]) -> Output {
        let o = self.command(args).output().unwrap();
        assert!(
            o.status.success(),
            "studio {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }
    /// How long `args` takes when left alone, in milliseconds.
    fn time(&self, args: &[&str]) -> u64 {
        let start = Instant::now();
        self.ok(args);
        (start.elapsed().as_millis() as u64).max(1)
    }
    /// Runs `args` and kills it after a random delay below `max_ms` (the time the
    /// operation takes, so the kills land anywhere in it); true when it was killed before
    /// it finished.
    fn kill_during(&mut self, args: &[&str], max_ms: u64) -> bool {
        let delay = Duration::from_millis(self.next() % max_ms);
        let mut child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let killed = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        killed
    }
}

fn integrity(project: &Path) {
    let c = rusqlite::Connection::open(project).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

fn texts(project: &Path) -> i64 {
    let c = rusqlite::Connection::open(project).unwrap();
    c.query_row("SELECT count(*) FROM texts", [], |r| r.get(0))
        .unwrap()
}

/// Absent, or a whole export: never a half-written folder.
fn whole_or_absent(dir: &Path) {
    if !dir.exists() {
        return;
    }
    for f in [
        "config.json",
        "model.safetensors",
        "training_args.json",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{} lacks {f}", dir.display());
    }
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert!(cfg["id2label"].is_object());
}

/// Every file of `dir` with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Our temporary folders beside `name` in `parent`.
fn leftovers(parent: &Path, name: &str) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

#[test]
fn sigkill_during_import_leaves_all_or_nothing() {
    let mut lab = Lab::new(1);
    let p = lab.s("p.studio");
    lab.ok(&["project", "new", &p]);
    let more = lab.s("more.csv");
    let import = ["project", "import", &p, &more, "-q"];
    let took = lab.time(&import);
    let mut killed = 0;
    let mut expected = 0;
    for _ in 0..rounds() {
        let before = texts(&lab.p("p.studio"));
        let was_killed = lab.kill_during(&import, took);
        killed += usize::from(was_killed);
        integrity(&lab.p("p.studio"));
        let after = texts(&lab.p("p.studio"));
        assert!(
            after == before || after == before + 20_000,
            "a partial import: {before} -> {after} texts"
        );
        expected = after;
    }
    // The project still takes labels and imports after all that.
    lab.ok(&["project", "import", &p, &lab.s("data.csv"), "-q"]);
    assert_eq!(texts(&lab.p("p.studio")), expected + 80);
    eprintln!(
        "import: {} rounds, {killed} killed mid-import, 0 partial",
        rounds()
    );
}

#[test]
fn sigkill_during_training_and_export_touches_no_earlier_export_and_leaves_no_run_running() {
    let mut lab = Lab::new(2);
    let p = lab.s("p.studio");
    lab.ok(&["project", "new", &p]);
    lab.ok(&["project", "import", &p, &lab.s("data.csv"), "-q"]);
    let train = |out: &str| {
        vec![
            "train".to_string(),
            "--project".into(),
            p.clone(),
            "--model".into(),
            lab.s("base"),
            "--mode".into(),
            "full".into(),
            "--epochs".into(),
            "2".into(),
            "--device".into(),
            "cpu".into(),
            "--quiet".into(),
            "--out".into(),
            out.to_string(),
        ]
    };
    let out = lab.s("model");
    let args = train(&out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let export = lab.s("exported");
    let export_args = ["export", "--project", p.as_str(), "--out", export.as_str()];
    let train_ms = lab.time(&args);
    let export_ms = lab.time(&export_args);
    let (mut killed_train, mut killed_export) = (0, 0);
    for round in 0..rounds() {
        killed_train += usize::from(lab.kill_during(&args, train_ms));
        whole_or_absent(&lab.p("model"));
        integrity(&lab.p("p.studio"));
        killed_export += usize::from(lab.kill_during(&export_args, export_ms));
        whole_or_absent(&lab.p("exported"));
        integrity(&lab.p("p.studio"));
        let runs: serde_json::Value =
            serde_json::from_slice(&lab.ok(&["project", "runs", &p, "--json"]).stdout).unwrap();
        for r in runs.as_array().unwrap() {
            assert_ne!(r["status"], "running", "round {round}: {r}");
        }
    }
    // The next whole runs leave no temporary folder of the killed ones behind.
    lab.ok(&args);
    lab.ok(&["export", "--project", &p, "--out", &lab.s("exported")]);
    whole_or_absent(&lab.p("model"));
    whole_or_absent(&lab.p("exported"));
    let root = lab.dir.path().to_path_buf();
    assert_eq!(leftovers(&root, "model"), Vec::<String>::new());
    assert_eq!(leftovers(&root, "exported"), Vec::<String>::new());
    eprintln!(
        "training: {} rounds, {killed_train} killed mid-run; export: {killed_export} killed mid-copy; 0 half exports, 0 runs left running",
        rounds()
    );
}

/// Two processes on one project: one imports 20,000 texts while another labels texts one
/// by one. Every acknowledged label is there afterwards, and so is the whole import.
#[test]
fn two_processes_label_and_import_one_project_at_once() {
    use std::io::{BufRead, BufReader, Write};
    let lab = Lab::new(3);
    let p = lab.s("p.studio");
    lab.ok(&["project", "new", &p]);
    lab.ok(&["project", "import", &p, &lab.s("data.csv"), "-q"]);
    let rounds = rounds().min(10);
    for round in 0..rounds {
        let before = texts(&lab.p("p.studio"));
        let importer = lab
            .command(&["project", "import", &p, &lab.s("more.csv"), "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut labeller = lab
            .command(&["project", "label", &p, "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = labeller.stdin.take().unwrap();
        let sent: Vec<(u32, &str)> = (1..=80u32)
            .map(|i| {
                (
                    i,
                    if (i + round as u32).is_multiple_of(2) {
                        "positive"
                    } else {
                        "negative"
                    },
                )
            })
            .collect();
        let payload: String = sent.iter().map(|(i, l)| format!("{i} {l}\n")).collect();
        stdin.write_all(payload.as_bytes()).unwrap();
        drop(stdin);
        let acks: Vec<(u32, String)> = BufReader::new(labeller.stdout.take().unwrap())
            .lines()
            .map_while(|l| l.ok())
            .filter_map(|l| {
                let mut parts = l.split(' ');
                (parts.next() == Some("ok")).then(|| {
                    (
                        parts.next().unwrap().parse().unwrap(),
                        parts.next().unwrap().to_string(),
                    )
                })
            })
            .collect();
        labeller.wait().unwrap();
        let imported = importer.wait_with_output().unwrap();
        assert!(
            imported.status.success(),
            "round {round}: the import failed beside a labeller: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
        assert_eq!(acks.len(), sent.len(), "round {round}: a label was refused");
        integrity(&lab.p("p.studio"));
        assert_eq!(texts(&lab.p("p.studio")), before + 20_000);
        let c = rusqlite::Connection::open(lab.p("p.studio")).unwrap();
        for (id, label) in &acks {
            let got: String = c
                .query_row(
                    "SELECT ls.name FROM labels l JOIN label_set ls ON ls.id = l.label_id WHERE l.text_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(&got, label, "round {round}: text {id}");
        }
    }
    eprintln!(
        "two processes: {rounds} rounds of 20,000 imported texts beside 80 labels, 0 labels lost"
    );
}

/// Out of space, as a file-size limit on the process (`ulimit -f`, SIGXFSZ ignored, so a
/// write past it fails with EFBIG the way a full disk fails with ENOSPC; it needs no
/// privileges, unlike a small tmpfs). An export or an import that runs out fails with a
/// message, and loses nothing: the earlier export, the project and its texts stay as they
/// were, and no temporary folder is left.
#[test]
fn out_of_space_during_export_and_import_loses_nothing() {
    let lab = Lab::new(4);
    let p = lab.s("p.studio");
    lab.ok(&["project", "new", &p]);
    lab.ok(&["project", "import", &p, &lab.s("data.csv"), "-q"]);
    lab.ok(&[
        "train",
        "--project",
        &p,
        "--model",
        &lab.s("base"),
        "--mode",
        "head",
        "--device",
        "cpu",
        "--quiet",
    ]);
    let export = lab.s("exported");
    lab.ok(&["export", "--project", &p, "--out", &export]);
    let before = snapshot(&lab.p("exported"));
    let limited = |args: &[&str], kib: u32| -> Output {
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit -f {kib}; trap '' XFSZ; exec '{}' {}",
                env!("CARGO_BIN_EXE_studio"),
                quoted.join(" ")
            ))
            .env("STUDIO_HOME", lab.p("home"))
            .output()
            .unwrap()
    };
    // Room for the project's 32 KiB shared-memory file, not for the model's weights.
    let weights = std::fs::metadata(lab.p("exported/model.safetensors"))
        .unwrap()
        .len();
    assert!(
        weights > 48 << 10,
        "{weights} bytes of weights fit under the limit"
    );
    let o = limited(&["export", "--project", &p, "--out", &export], 48);
    assert!(!o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("could not copy the model to"), "{err}");
    assert_eq!(err.matches("File too large").count(), 1, "said once: {err}");
    let after = snapshot(&lab.p("exported"));
    assert!(before == after, "the earlier export changed");
    assert_eq!(leftovers(lab.dir.path(), "exported"), Vec::<String>::new());

    // An import of 20,000 texts into a project file allowed to grow 256 KiB.
    let texts_before = texts(&lab.p("p.studio"));
    let o = limited(&["project", "import", &p, &lab.s("more.csv"), "-q"], 256);
    assert!(!o.status.success(), "the import fit after all: {o:?}");
    integrity(&lab.p("p.studio"));
    assert_eq!(texts(&lab.p("p.studio")), texts_before);
    // With room again, it goes through.
    lab.ok(&["project", "import", &p, &lab.s("more.csv"), "-q"]);
    assert_eq!(texts(&lab.p("p.studio")), texts_before + 20_000);
    eprintln!("out of space: export and import refused cleanly, 0 files changed, 0 texts lost");
}

/// SIGKILL during `models pull` (from a local server with the hub's layout): the store
/// holds the whole model or none of it, and the next pull leaves nothing stray.
#[test]
fn sigkill_during_model_pull_leaves_a_whole_model_or_none() {
    let mut lab = Lab::new(5);
    lab.hub = Some(studio_core::testing::hub::serve(
        lab.p("base"),
        std::sync::Arc::new(std::sync::Mutex::new(Vec::new())),
    ));
    let pull = ["models", "pull", "all-minilm-l6-v2"];
    let took = lab.time(&pull);
    let models = lab.p("home/models");
    let mut killed = 0;
    for round in 0..rounds() {
        killed += usize::from(lab.kill_during(&pull, took));
        let m = models.join("all-minilm-l6-v2");
        if m.exists() {
            studio_core::models::ModelFolder::open(&m)
                .unwrap_or_else(|e| panic!("round {round}: a half model in the store: {e}"));
        }
    }
    lab.ok(&pull);
    let stray: Vec<String> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "all-minilm-l6-v2")
        .collect();
    assert_eq!(stray, Vec::<String>::new());
    eprintln!(
        "model pull: {} rounds, {killed} killed mid-pull, 0 half models",
        rounds()
    );
}

/// Predicting a 20,000-text file to a file, killed at random moments and run again each
/// time: what is on disk is always a prefix of the uninterrupted output, every rerun goes
/// on from the last checkpoint, and the finished file is byte for byte the
/// uninterrupted one (no row lost, none repeated), with no partial files left.
#[test]
fn sigkill_during_predict_file_resumes_without_losing_or_repeating_a_row() {
    let mut lab = Lab::new(4);
    let model = lab.s("model");
    lab.ok(&[
        "train",
        "--data",
        &lab.s("data.csv"),
        "--model",
        &lab.s("base"),
        "--mode",
        "head",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        &model,
    ]);
    for out_name in ["preds.csv", "preds.jsonl"] {
        let reference = lab.s(&format!("reference-{out_name}"));
        let input = lab.s("more.csv");
        let args = |out: &str| {
            vec![
                "predict".to_string(),
                "--model".into(),
                model.clone(),
                "--file".into(),
                input.clone(),
                "--device".into(),
                "cpu".into(),
                "--out".into(),
                out.to_string(),
            ]
        };
        let full = args(&reference);
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        let ms = lab.time(&full);
        let want = std::fs::read(&reference).unwrap();
        let out = lab.p(out_name);
        let partial = lab.p(&format!(".{out_name}.partial"));
        let run = args(&lab.s(out_name));
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        let mut killed = 0;
        for round in 0..rounds() {
            // Within the first third of a whole run's time: each rerun goes on from the
            // last checkpoint, so several kills land before one finishes.
            if !lab.kill_during(&run, (ms / 3).max(1)) {
                break;
            }
            killed += 1;
            let on_disk = std::fs::read(&partial).unwrap_or_default();
            assert!(
                want.starts_with(&on_disk),
                "round {round}: the partial output is not a prefix of the whole one"
            );
            assert!(
                !out.exists(),
                "round {round}: an unfinished output was put in place"
            );
        }
        lab.ok(&run);
        assert!(
            std::fs::read(&out).unwrap() == want,
            "{out_name}: the resumed output differs from the uninterrupted one"
        );
        assert_eq!(leftovers(lab.dir.path(), out_name), Vec::<String>::new());
        assert!(!partial.exists());
        eprintln!("predict to {out_name}: {killed} kills, then identical to an uninterrupted run");
    }
}

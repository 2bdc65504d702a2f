//! `studio project ...` end to end with the real binary: the scripted flow, exit codes,
//! and labels that survive SIGKILL.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn studio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_studio"))
        .args(args)
        .env("STUDIO_HOME", std::env::temp_dir())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = studio(args);
    assert!(
        o.status.success(),
        "studio {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str], code: i32) -> String {
    let o = studio(args);
    assert_eq!(o.status.code(), Some(code), "studio {args:?}: {o:?}");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err}"
    );
    err
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

#[test]
fn scripted_flow() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("reviews.studio");
    let ps = p.to_str().unwrap();
    ok(&["project", "new", ps]);
    fails(&["project", "new", ps], 2);
    let data = dir.path().join("data.csv");
    std::fs::write(
        &data,
        "review,stars\ngreat film,5\nawful film,1\nnot bad at all,4\n,3\ngreat film,5\n",
    )
    .unwrap();
    let out = ok(&[
        "project",
        "import",
        ps,
        data.to_str().unwrap(),
        "--text-col",
        "review",
        "-q",
    ]);
    assert!(out.contains("UTF-8 (detected)"), "{out}");
    assert!(
        out.contains("imported 4 texts (text ids: row numbers 1-4 in import order)"),
        "{out}"
    );
    assert!(out.contains("skipped 1 rows with empty text"), "{out}");
    assert!(out.contains("1 duplicate texts kept"), "{out}");

    // Importing with an id column says the ids are that column.
    let out = ok(&[
        "project",
        "import",
        ps,
        fixture("reviews.csv").to_str().unwrap(),
        "--text-col",
        "text",
        "--id-col",
        "id",
        "-q",
    ]);
    assert!(
        out.contains("text ids: the values of column \"id\""),
        "{out}"
    );

    ok(&["project", "labels", ps, "--set", "negative,positive"]);
    let out = ok(&["project", "labels", ps]);
    assert!(
        out.contains("negative") && out.contains("positive"),
        "{out}"
    );
    // "1" is a value of the imported id column, so it names that text (row 5);
    // "#2" always means row number 2.
    ok(&["project", "label", ps, "1", "positive"]);
    ok(&["project", "label", ps, "#2", "negative"]);
    ok(&["project", "label", ps, "#3", "negative"]);
    let out = ok(&["project", "undo", ps]);
    assert!(out.contains("text 3 is now unlabelled"), "{out}");
    let err = fails(&["project", "label", ps, "1", "neutral"], 2);
    assert!(
        err.contains("\"neutral\" is not one of the project's labels"),
        "{err}"
    );
    let err = fails(&["project", "label", ps, "999", "positive"], 2);
    assert!(err.contains("no text with id \"999\""), "{err}");

    let stats: serde_json::Value =
        serde_json::from_str(&ok(&["project", "stats", ps, "--json"])).unwrap();
    assert_eq!(stats["total"], 8);
    assert_eq!(stats["labelled"], 2);
    assert_eq!(stats["per_label"]["positive"], 1);
    assert_eq!(stats["per_label"]["negative"], 1);

    let next: serde_json::Value = serde_json::from_str(&ok(&[
        "project",
        "next",
        ps,
        "--strategy",
        "order",
        "--n",
        "2",
        "--json",
    ]))
    .unwrap();
    assert_eq!(next[0]["row"], 1);
    assert_eq!(next[1]["row"], 3);
    let random = ok(&[
        "project",
        "next",
        ps,
        "--strategy",
        "random",
        "--n",
        "3",
        "--seed",
        "1",
    ]);
    assert_eq!(random.lines().count(), 3, "{random}");
    let err = fails(&["project", "next", ps, "--strategy", "uncertain"], 2);
    // Uncertainty needs a model for sentence vectors; here none is downloaded.
    assert!(err.contains("studio models pull"), "{err}");
    fails(&["project", "next", ps, "--strategy", "diverse"], 2);
    // A bad choice is a clap usage error: exit 2 (clap prints its own usage text).
    assert_eq!(
        studio(&["project", "next", ps, "--strategy", "bogus"])
            .status
            .code(),
        Some(2)
    );

    let out_csv = dir.path().join("labelled.csv");
    ok(&["project", "export", ps, "--out", out_csv.to_str().unwrap()]);
    let s = std::fs::read_to_string(&out_csv).unwrap();
    assert!(
        s.starts_with("id,text,label,split\n2,awful film,negative,"),
        "{s}"
    );
    assert!(
        s.contains("\n1,\"A moving, beautifully acted film.\",positive,"),
        "{s}"
    );
    let out_jsonl = dir.path().join("labelled.jsonl");
    ok(&[
        "project",
        "export",
        ps,
        "--out",
        out_jsonl.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out_jsonl).unwrap().lines().count(),
        2
    );

    let list = ok(&["project", "list", ps, "--search", "film", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);

    // Bad input: exit 2, one line.
    let err = fails(&["project", "import", ps, "/no/such/file.csv"], 2);
    assert!(err.contains("/no/such/file.csv"), "{err}");
    let err = fails(
        &[
            "project",
            "stats",
            dir.path().join("nope.studio").to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("is not a Sentiment Studio project"), "{err}");
    let err = fails(
        &[
            "project",
            "import",
            ps,
            data.to_str().unwrap(),
            "--text-col",
            "body",
        ],
        2,
    );
    assert!(err.contains("has no column named \"body\""), "{err}");
    let err = fails(
        &[
            "project",
            "import",
            ps,
            data.to_str().unwrap(),
            "--encoding",
            "klingon",
        ],
        2,
    );
    assert!(err.contains("unknown encoding \"klingon\""), "{err}");
    let pv = ok(&[
        "project",
        "import",
        ps,
        fixture("zh-gb18030.csv").to_str().unwrap(),
        "--preview",
    ]);
    assert!(pv.contains("这部电影很好看"), "{pv}");
}

/// Labels from a child process that is SIGKILLed at random moments; after each kill
/// every acknowledged label is on disk and the file is sound.
#[test]
fn acknowledged_labels_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kill.studio");
    let ps = p.to_str().unwrap();
    ok(&["project", "new", ps]);
    let data = dir.path().join("texts.txt");
    let n_texts = 3000;
    let body: String = (1..=n_texts).map(|i| format!("text {i}\n")).collect();
    std::fs::write(&data, body).unwrap();
    ok(&["project", "import", ps, data.to_str().unwrap(), "-q"]);
    ok(&["project", "labels", ps, "--set", "a,b,c"]);

    // text id -> the labels it may have on disk, and whether it must have one.
    let mut state: HashMap<u32, (Vec<String>, bool)> = HashMap::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // STUDIO_FAULT_ROUNDS: scripts/faults runs many more.
    let rounds: usize = std::env::var("STUDIO_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut total_acks = 0usize;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_studio"))
            .args(["project", "label", ps, "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        // Send a stream of labels; a reader thread collects acknowledgements.
        let sent: Vec<(u32, String)> = (0..400)
            .map(|_| {
                let id = (next() % n_texts as u64) as u32 + 1;
                let label = ["a", "b", "c"][(next() % 3) as usize].to_string();
                (id, label)
            })
            .collect();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split(' ');
                if parts.next() == Some("ok") {
                    let id: u32 = parts.next().unwrap().parse().unwrap();
                    acks.push((id, parts.next().unwrap().to_string()));
                }
            }
            acks
        });
        let payload: String = sent.iter().map(|(i, l)| format!("{i} {l}\n")).collect();
        // Written from a thread so a full pipe never blocks the kill.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(payload.as_bytes());
            let _ = stdin.flush();
            // Keep stdin open until killed, so the child never ends on its own.
            std::thread::sleep(Duration::from_secs(30));
            drop(stdin);
        });
        let delay = Duration::from_millis(20 + next() % 400);
        let start = Instant::now();
        while start.elapsed() < delay {
            std::thread::sleep(Duration::from_millis(5));
        }
        // SIGKILL: no chance to flush or clean up.
        child.kill().unwrap();
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        drop(writer); // detached; it ends on its own
        total_acks += acks.len();
        // Acknowledged writes are a prefix of `sent` (the child labels in order).
        for (k, (id, label)) in sent.iter().enumerate().take(acks.len() + 1) {
            if k < acks.len() {
                assert_eq!(&acks[k], &(*id, label.clone()));
                state.insert(*id, (vec![label.clone()], true));
            } else {
                // In flight when killed: it may or may not have committed.
                let entry = state.entry(*id).or_insert((Vec::new(), false));
                entry.0.push(label.clone());
            }
        }
        // Reopen (through the CLI, a new process) and check every acknowledged label.
        let list = ok(&[
            "project",
            "list",
            ps,
            "--labelled",
            "--limit",
            "100000",
            "--json",
        ]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
        let on_disk: HashMap<u32, String> = rows
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().parse().unwrap(),
                    r["label"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for (id, (allowed, required)) in &state {
            match on_disk.get(id) {
                Some(g) => assert!(
                    allowed.contains(g),
                    "round {round}: text {id} has {g}, expected one of {allowed:?}"
                ),
                None => assert!(
                    !required,
                    "round {round}: acknowledged label of text {id} lost"
                ),
            }
        }
        assert!(
            on_disk.keys().all(|id| state.contains_key(id)),
            "round {round}: a label appeared from nowhere"
        );
        // Settle the in-flight write: from now on, what is on disk is what was acknowledged.
        state = on_disk
            .into_iter()
            .map(|(id, l)| (id, (vec![l], true)))
            .collect();
        let c = rusqlite_integrity(&p);
        assert_eq!(c, "ok", "round {round}");
    }
    assert!(
        total_acks > rounds,
        "the child acknowledged only {total_acks} labels in {rounds} rounds"
    );
    eprintln!("{rounds} kills, {total_acks} acknowledged labels, all present");
}

/// `PRAGMA integrity_check` through the engine, in a fresh process's view of the file.
fn rusqlite_integrity(p: &Path) -> String {
    studio_core::project::Project::open(p)
        .unwrap()
        .integrity_check()
        .unwrap()
}

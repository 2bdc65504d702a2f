//! `models pull` against a local server that speaks the Hugging Face hub's URL layout
//! (the internet is the one boundary we cannot reach in tests).

use std::path::Path;
use std::sync::{Arc, Mutex};
use studio_core::arch::{Family, Pooling};
use studio_core::models::hub::HubOptions;
use studio_core::models::{pull, CatalogEntry, ModelStore, PullOptions, PullSource};
use studio_core::progress::{CancelToken, Event};
use studio_core::testing::tiny_model;

use studio_core::testing::hub::{serve, serve_misbehaving, serve_with, Misbehave, COMMIT};

fn entry(repo: &str) -> CatalogEntry {
    CatalogEntry {
        id: "tiny-hub".into(),
        name: "tiny".into(),
        hf_repo: repo.into(),
        family: Family::Bert,
        languages: vec!["en".into()],
        license: "MIT".into(),
        params_millions: 0.1,
        download_mb: 0.1,
        pooling: Pooling::Cls,
        default: false,
        summary: String::new(),
        summary_zh: None,
        pypi: None,
    }
}

#[test]
fn pull_downloads_a_model_from_a_hub_layout_server_with_progress() {
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 2);
    let log = Arc::new(Mutex::new(Vec::new()));
    let endpoint = serve(src.path().to_path_buf(), log.clone());
    let home = tempfile::tempdir().unwrap();
    let store = ModelStore::new(home.path());
    let opts = PullOptions {
        hub: HubOptions {
            endpoint: Some(endpoint),
            cache_dir: home.path().join("hub-cache"),
            ..HubOptions::default()
        },
        python: "python3-that-does-not-exist".into(),
    };
    let mut events = Vec::<Event>::new();
    let (folder, source) = pull(
        &entry("org/tiny"),
        &store,
        &opts,
        &mut events,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(source, PullSource::Hub);
    assert_eq!(folder.dir, store.path_of("tiny-hub"));
    for f in ["config.json", "model.safetensors", "vocab.txt"] {
        assert_eq!(
            std::fs::read(folder.dir.join(f)).unwrap(),
            std::fs::read(src.path().join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert!(store.has("tiny-hub"));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Phase { name, .. } if name == "download model.safetensors")));
    let requests = log.lock().unwrap().join("\n");
    assert!(
        requests.contains(&format!("GET /org/tiny/resolve/{COMMIT}/model.safetensors"))
            && requests.contains("GET /lfs/model.safetensors"),
        "{requests}"
    );
    // No stray temporary folders in the store.
    let names: Vec<String> = std::fs::read_dir(store.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["tiny-hub".to_string()]);
}

#[test]
fn a_missing_repo_is_a_clear_error_and_leaves_the_store_clean() {
    let src = tempfile::tempdir().unwrap();
    let endpoint = serve(src.path().to_path_buf(), Arc::new(Mutex::new(Vec::new())));
    let home = tempfile::tempdir().unwrap();
    let store = ModelStore::new(home.path());
    let opts = PullOptions {
        hub: HubOptions {
            endpoint: Some(endpoint),
            cache_dir: home.path().join("hub-cache"),
            ..HubOptions::default()
        },
        python: "python3".into(),
    };
    let err = pull(
        &entry("org/absent"),
        &store,
        &opts,
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("org/absent/config.json") && msg.contains("not found"),
        "{msg}"
    );
    assert!(!store.has("tiny-hub"));
    let left: Vec<_> = std::fs::read_dir(store.root()).unwrap().collect();
    assert!(left.is_empty());
}

/// A token is for huggingface.co only: a mirror or any other server named by
/// HF_ENDPOINT never receives it.
#[test]
fn the_users_token_never_goes_to_another_server() {
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 2);
    let headers = Arc::new(Mutex::new(Vec::new()));
    let endpoint = serve_with(
        src.path().to_path_buf(),
        Arc::new(Mutex::new(Vec::new())),
        headers.clone(),
        &[],
    );
    let home = tempfile::tempdir().unwrap();
    let hub = HubOptions {
        endpoint: Some(endpoint),
        cache_dir: home.path().join("hub-cache"),
        token: Some("hf_secret_token".into()),
        ..HubOptions::default()
    };
    assert!(!hub.is_official());
    let opts = PullOptions {
        hub,
        python: "python3-that-does-not-exist".into(),
    };
    pull(
        &entry("org/tiny"),
        &ModelStore::new(home.path()),
        &opts,
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap();
    let seen = headers.lock().unwrap().join("\n");
    assert!(seen.contains("user-agent"), "headers were recorded: {seen}");
    assert!(!seen.contains("authorization"), "{seen}");
    assert!(!seen.contains("hf_secret_token"), "{seen}");
    assert!(HubOptions::default().is_official());
}

/// A server error on model.safetensors is an error, not a silent switch to the pickle
/// weights; only a file the server does not have is replaced by the next kind.
#[test]
fn a_failing_safetensors_download_does_not_fall_back_to_pickle_weights() {
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 2);
    // The server also has pickle weights: a silent fallback would succeed.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/tiny-bert-bin/pytorch_model.bin"),
        src.path().join("pytorch_model.bin"),
    )
    .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let endpoint = serve_with(
        src.path().to_path_buf(),
        log.clone(),
        Arc::new(Mutex::new(Vec::new())),
        &["model.safetensors"],
    );
    let home = tempfile::tempdir().unwrap();
    let store = ModelStore::new(home.path());
    let opts = PullOptions {
        hub: HubOptions {
            endpoint: Some(endpoint),
            cache_dir: home.path().join("hub-cache"),
            ..HubOptions::default()
        },
        python: "python3-that-does-not-exist".into(),
    };
    let err = pull(
        &entry("org/tiny"),
        &store,
        &opts,
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap_err();
    let requests = log.lock().unwrap().join("\n");
    assert!(!requests.contains("pytorch_model.bin"), "{requests}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    assert!(!store.has("tiny-hub"));
}

/// A server for `src` that misbehaves as `bad` says (logs dropped).
fn misbehaving(src: &Path, bad: Misbehave) -> String {
    serve_misbehaving(
        src.to_path_buf(),
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
        bad,
    )
}

fn options(endpoint: String, home: &Path) -> PullOptions {
    PullOptions {
        hub: HubOptions {
            endpoint: Some(endpoint),
            cache_dir: home.join("hub-cache"),
            ..HubOptions::default()
        },
        python: "python3-that-does-not-exist".into(),
    }
}

/// The first file pins the commit `main` points at; every later file is asked for at
/// that commit, so a repository pushed to during a pull is never mixed.
#[test]
fn every_file_comes_from_the_commit_the_first_one_named() {
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 2);
    let log = Arc::new(Mutex::new(Vec::new()));
    let endpoint = serve(src.path().to_path_buf(), log.clone());
    let home = tempfile::tempdir().unwrap();
    let mut events = Vec::<Event>::new();
    pull(
        &entry("org/tiny"),
        &ModelStore::new(home.path()),
        &options(endpoint, home.path()),
        &mut events,
        &CancelToken::new(),
    )
    .unwrap();
    let requests = log.lock().unwrap().clone();
    let resolves: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/resolve/"))
        .collect();
    // Only the very first question names the branch; even config.json's bytes come
    // from the commit its answer named.
    assert!(
        resolves[0].contains("/resolve/main/config.json"),
        "{requests:?}"
    );
    assert!(resolves.len() > 3, "{requests:?}");
    for r in &resolves[1..] {
        assert!(
            r.contains(&format!("/resolve/{COMMIT}/")),
            "{r} in {requests:?}"
        );
    }
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Note { message, .. } if message.contains(COMMIT))));
}

/// A file whose bytes do not match the hash the hub publishes for it (the git blob id of
/// a small file, the sha256 of a weights file) is refused, and nothing is installed.
#[test]
fn a_file_that_does_not_match_its_published_hash_is_refused() {
    for file in ["vocab.txt", "model.safetensors"] {
        let src = tempfile::tempdir().unwrap();
        tiny_model(src.path(), Family::Bert, 2);
        let endpoint = misbehaving(
            src.path(),
            Misbehave {
                corrupt: vec![file.into()],
                ..Misbehave::default()
            },
        );
        let home = tempfile::tempdir().unwrap();
        let store = ModelStore::new(home.path());
        let err = pull(
            &entry("org/tiny"),
            &store,
            &options(endpoint, home.path()),
            &mut Vec::<Event>::new(),
            &CancelToken::new(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "checksum", "{file}: {err}");
        assert!(err.to_string().contains(file), "{err}");
        assert!(!store.has("tiny-hub"));
    }
}

/// A server that stops sending fails the pull after the read timeout, not never; the
/// next pull resumes from the bytes already in the cache.
#[test]
fn a_stalled_download_times_out_and_the_next_pull_resumes_it() {
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 2);
    let weights = std::fs::read(src.path().join("model.safetensors")).unwrap();
    let endpoint = misbehaving(
        src.path(),
        Misbehave {
            stall: vec!["model.safetensors".into()],
            ..Misbehave::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    let store = ModelStore::new(home.path());
    let mut opts = options(endpoint, home.path());
    opts.hub.read_timeout = Some(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let err = pull(
        &entry("org/tiny"),
        &store,
        &opts,
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("sent nothing for 1 s"), "{err}");
    assert!(started.elapsed().as_secs() < 8, "{:?}", started.elapsed());
    assert!(!store.has("tiny-hub"));

    let headers = Arc::new(Mutex::new(Vec::new()));
    let healthy = serve_with(
        src.path().to_path_buf(),
        Arc::new(Mutex::new(Vec::new())),
        headers.clone(),
        &[],
    );
    opts.hub.endpoint = Some(healthy);
    let (folder, _) = pull(
        &entry("org/tiny"),
        &store,
        &opts,
        &mut Vec::<Event>::new(),
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(folder.dir.join("model.safetensors")).unwrap(),
        weights
    );
    let resumed = format!("range: bytes={}-", weights.len() / 2);
    assert!(
        headers.lock().unwrap().contains(&resumed),
        "no {resumed} in {:?}",
        headers.lock().unwrap()
    );
}

/// Cancel stops a pull inside a file, not only between files.
#[test]
fn a_pull_is_cancelled_inside_a_file() {
    struct CancelOnBytes<'a>(&'a CancelToken, bool);
    impl studio_core::progress::Observer for CancelOnBytes<'_> {
        fn on_event(&mut self, e: &Event) {
            match e {
                Event::Phase { name, .. } => self.1 = name == "download model.safetensors",
                Event::Advance { .. } if self.1 => self.0.cancel(),
                _ => {}
            }
        }
    }
    let src = tempfile::tempdir().unwrap();
    tiny_model(src.path(), Family::Bert, 2);
    let size = std::fs::metadata(src.path().join("model.safetensors"))
        .unwrap()
        .len();
    let endpoint = misbehaving(
        src.path(),
        Misbehave {
            slow: vec!["model.safetensors".into()],
            ..Misbehave::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    let store = ModelStore::new(home.path());
    let cancel = CancelToken::new();
    let err = pull(
        &entry("org/tiny"),
        &store,
        &options(endpoint, home.path()),
        &mut CancelOnBytes(&cancel, false),
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(err, studio_core::StudioError::Cancelled), "{err}");
    assert!(!store.has("tiny-hub"));
    // What arrived before the cancel waits in the cache, short of the whole file.
    let blobs = home.path().join("hub-cache/models--org--tiny/blobs");
    let part: Vec<u64> = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "part"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    assert_eq!(part.len(), 1, "{part:?}");
    assert!(part[0] > 0 && part[0] < size, "{} of {size}", part[0]);
}

//! `models pull` against a local server that speaks the Hugging Face hub's URL layout
//! (the internet is the one boundary we cannot reach in tests).

use std::path::Path;
use std::sync::{Arc, Mutex};
use studio_core::arch::{Family, Pooling};
use studio_core::models::hub::HubOptions;
use studio_core::models::{pull, CatalogEntry, ModelStore, PullOptions, PullSource};
use studio_core::progress::{CancelToken, Event};
use studio_core::testing::tiny_model;

use studio_core::testing::hub::{serve, serve_with};

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
            token: None,
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
        requests.contains("GET /org/tiny/resolve/main/model.safetensors"),
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
            token: None,
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
            token: None,
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

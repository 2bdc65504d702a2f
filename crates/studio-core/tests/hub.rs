//! `models pull` against a local server that speaks the Hugging Face hub's URL layout
//! (the internet is the one boundary we cannot reach in tests).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use studio_core::arch::{Family, Pooling};
use studio_core::models::hub::HubOptions;
use studio_core::models::{pull, CatalogEntry, ModelStore, PullOptions, PullSource};
use studio_core::progress::{CancelToken, Event};
use studio_core::testing::tiny_model;

/// Serves `root/<file>` at `/<repo>/resolve/main/<file>` with the headers hf-hub reads,
/// honouring `Range: bytes=N-M` / `bytes=N-`. Records every request line.
fn serve(root: PathBuf, log: Arc<Mutex<Vec<String>>>) -> String {
    serve_with(root, log, Arc::new(Mutex::new(Vec::new())), &[])
}

/// [`serve`], also recording every header line in `headers`, and answering 500 for the
/// files in `broken`.
fn serve_with(
    root: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    headers: Arc<Mutex<Vec<String>>>,
    broken: &[&str],
) -> String {
    let broken: Vec<String> = broken.iter().map(|s| s.to_string()).collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let root = root.clone();
            let log = log.clone();
            let headers = headers.clone();
            let broken = broken.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut range = None;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                    headers.lock().unwrap().push(h.trim().to_ascii_lowercase());
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        range = Some(v.trim().to_string());
                    }
                }
                log.lock().unwrap().push(request.trim().to_string());
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let file = path.split("/resolve/main/").nth(1).unwrap_or("");
                if broken.iter().any(|b| b == file) {
                    let _ = stream.write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                }
                let Ok(body) = std::fs::read(root.join(file)) else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                };
                let size = body.len();
                let (start, end) = match range.as_deref().and_then(|r| r.split_once('-')) {
                    Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(size - 1)),
                    None => (0, size - 1),
                };
                let end = end.min(size - 1);
                let part = &body[start..=end];
                let head = format!(
                    "HTTP/1.1 206 Partial Content\r\ncontent-length: {}\r\ncontent-range: bytes {start}-{end}/{size}\r\netag: \"{:x}\"\r\nx-repo-commit: 0123456789abcdef0123456789abcdef01234567\r\nconnection: close\r\n\r\n",
                    part.len(),
                    size * 31 + file.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(part);
                let _ = stream.read(&mut [0u8; 0]);
            });
        }
    });
    format!("http://{addr}")
}

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

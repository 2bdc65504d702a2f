//! Downloading a model from the Hugging Face hub (or any server with the hub's URL
//! layout, such as a mirror set with `HF_ENDPOINT` or our tests' local server).
//!
//! We use hf-hub 0.4's blocking API: it resumes interrupted downloads, needs no async
//! runtime inside the engine, and takes an explicit endpoint, so the engine never reads
//! the environment itself.

use crate::progress::{CancelToken, Event, Observer};
use crate::{Result, StudioError};
use hf_hub::api::sync::ApiBuilder;
use hf_hub::api::Progress;
use std::path::{Path, PathBuf};

/// Where to download from and where to keep the hub's cache.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Base URL; `None` means huggingface.co.
    pub endpoint: Option<String>,
    /// hf-hub's blob cache (partial downloads resume from here).
    pub cache_dir: PathBuf,
    /// The user's Hugging Face token, if they have one. Sent to huggingface.co only:
    /// a mirror or any other server named by `endpoint` never sees it.
    pub token: Option<String>,
}

/// The hub itself, the only server a token goes to.
pub const OFFICIAL_ENDPOINT: &str = "https://huggingface.co";

impl HubOptions {
    /// Whether downloads go to huggingface.co itself.
    pub fn is_official(&self) -> bool {
        self.endpoint
            .as_deref()
            .is_none_or(|e| e.trim_end_matches('/') == OFFICIAL_ENDPOINT)
    }

    /// The token to send: the user's for huggingface.co, none anywhere else.
    fn token_to_send(&self) -> Option<String> {
        self.is_official().then(|| self.token.clone()).flatten()
    }
}

/// The reason of a [`StudioError::Download`] for a file the server does not have: the
/// only failure after which another file may be tried in its place.
const NOT_FOUND: &str = "not found on the server";

/// Files a model folder may need; the first group is required.
const REQUIRED: &[&str] = &["config.json"];
const WEIGHTS: &[&str] = &["model.safetensors", "pytorch_model.bin"];
const TOKENIZER: &[&str] = &["tokenizer.json", "vocab.txt"];
const OPTIONAL: &[&str] = &[
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
];

struct Forward<'a> {
    observer: &'a mut dyn Observer,
    file: String,
    done: u64,
    total: u64,
    last_report: u64,
}

impl Progress for Forward<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        self.total = size as u64;
        self.file = filename.to_string();
        self.observer.on_event(&Event::Phase {
            name: format!("download {filename}"),
            total: Some(self.total),
        });
    }
    fn update(&mut self, size: usize) {
        self.done += size as u64;
        // At most ~200 updates per file.
        if self.done - self.last_report >= (self.total / 200).max(1) || self.done == self.total {
            self.last_report = self.done;
            self.observer.on_event(&Event::Advance {
                done: self.done,
                total: Some(self.total),
            });
        }
    }
    fn finish(&mut self) {}
}

/// Downloads `repo` into `dest` (a folder that must not exist yet). Cancellation is
/// checked between files; an interrupted file resumes on the next call.
pub fn download(
    repo: &str,
    opts: &HubOptions,
    dest: &Path,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<()> {
    // From our own cache, not hf-hub's default: that one reads the user's token file
    // and would send it to whatever server `endpoint` names.
    let mut builder = ApiBuilder::from_cache(hf_hub::Cache::new(opts.cache_dir.clone()))
        .with_token(opts.token_to_send())
        .with_progress(false);
    if let Some(ep) = &opts.endpoint {
        builder = builder.with_endpoint(ep.trim_end_matches('/').to_string());
    }
    let api = builder.build().map_err(|e| StudioError::Download {
        what: repo.into(),
        reason: e.to_string(),
    })?;
    let api_repo = api.model(repo.to_string());
    std::fs::create_dir_all(dest).map_err(|e| StudioError::io("create the folder", dest, e))?;
    let mut fetch = |file: &str, observer: &mut dyn Observer| -> Result<PathBuf> {
        cancel.check()?;
        let progress = Forward {
            observer,
            file: String::new(),
            done: 0,
            total: 0,
            last_report: 0,
        };
        let cached = api_repo
            .download_with_progress(file, progress)
            .map_err(|e| StudioError::Download {
                what: format!("{repo}/{file}"),
                reason: describe(&e),
            })?;
        let target = dest.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StudioError::io("create the folder", parent, e))?;
        }
        std::fs::copy(&cached, &target).map_err(|e| StudioError::io("copy", &target, e))?;
        Ok(target)
    };
    for f in REQUIRED {
        fetch(f, observer)?;
    }
    let weights = first_of(WEIGHTS, &mut fetch, observer, repo, "weights")?;
    if weights.ends_with(".bin") {
        observer.on_event(&Event::Note {
            message: format!(
                "{repo} has no model.safetensors; using pytorch_model.bin (read as data, no code in it is run)"
            ),
        });
    }
    first_of(TOKENIZER, &mut fetch, observer, repo, "tokenizer")?;
    for f in OPTIONAL {
        match fetch(f, observer) {
            Ok(_) => {}
            Err(StudioError::Cancelled) => return Err(StudioError::Cancelled),
            Err(_) => {} // optional: absent on the server is fine
        }
    }
    Ok(())
}

/// The first of `files` the server has. Only "not found" moves on to the next: any
/// other failure (a broken connection, a server error) is the user's to hear about, not a
/// reason to fetch a different kind of file silently.
fn first_of<'f>(
    files: &[&'f str],
    fetch: &mut dyn FnMut(&str, &mut dyn Observer) -> Result<PathBuf>,
    observer: &mut dyn Observer,
    repo: &str,
    what: &str,
) -> Result<&'f str> {
    let mut last = None;
    for f in files {
        match fetch(f, observer) {
            Ok(_) => return Ok(f),
            Err(StudioError::Download { reason, what }) if reason == NOT_FOUND => {
                last = Some(StudioError::Download { reason, what });
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| StudioError::Download {
        what: format!("{repo} {what}"),
        reason: format!("none of {} found", files.join(", ")),
    }))
}

fn describe(e: &hf_hub::api::sync::ApiError) -> String {
    use hf_hub::api::sync::ApiError;
    match e {
        ApiError::RequestError(inner) => match inner.as_ref() {
            ureq_error if ureq_error.to_string().contains("404") => NOT_FOUND.to_string(),
            other => format!("the server could not be reached or refused ({other}); check the connection, or set HF_ENDPOINT to a mirror"),
        },
        other => other.to_string(),
    }
}

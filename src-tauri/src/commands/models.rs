//! Model pane: the catalog with what is downloaded, a recommendation, downloads, local
//! imports and the device training will use.

use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::Serialize;
use std::path::PathBuf;
use studio_core::device;
use studio_core::models::Catalog;
use studio_core::ops::models::{
    import_model as import_model_op, list_models as list_models_op, pull_model, recommend,
    recommend_for_project, DownloadFrom,
};
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
    /// One sentence on what it is good for (for an imported model: its folder).
    pub summary: String,
    /// The same in Simplified Chinese, where the catalog has it.
    pub summary_zh: Option<String>,
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
    /// Why it is recommended (English; the UI words it from `cjk_share`).
    pub why: String,
    /// Share of the project's letters that are Chinese, Japanese or Korean (0 without a
    /// project): what the recommendation rests on.
    pub cjk_share: f64,
    /// Where training runs.
    pub device: DeviceKind,
    /// CPU threads.
    pub threads: u32,
    /// Whether the CPU path uses the system OpenBLAS (about 1.4× faster training).
    pub openblas: bool,
    /// Whether this is Linux, where one package (libopenblas0) gives OpenBLAS.
    pub openblas_installable: bool,
    /// Why the GPU is or is not used: one of `inUse`, `cpuChosen`, `noGpu`,
    /// `needsCudaBuild`, `needsMetalBuild`, `cudaFailed`, `metalFailed` (the engine's
    /// `GpuStatus`); the UI words it in the user's language.
    pub gpu: String,
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum DeviceKind {
    /// The CPU.
    Cpu,
    /// An NVIDIA GPU.
    Cuda,
    /// An Apple GPU.
    Metal,
}

/// Share of CJK characters in `texts`.
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

/// The catalog, local models, a recommendation and the device.
#[tauri::command]
#[specta::specta]
pub async fn list_models(state: State<'_, AppState>) -> AppResult<ModelsView> {
    let engine = state.engine();
    let dev = engine.device()?;
    let rec = match state.project_path() {
        Ok(p) => recommend_for_project(&p)?,
        Err(_) => recommend(&Catalog::builtin(), &[]),
    };
    let (recommended, why, cjk_share) = (rec.id, rec.why, rec.cjk_share);
    let list = list_models_op(engine);
    let mut models: Vec<ModelCard> = list
        .catalog
        .iter()
        .map(|c| (&c.entry, c.downloaded))
        .map(|(m, downloaded)| ModelCard {
            id: m.id.clone(),
            name: m.name.clone(),
            languages: m.languages.clone(),
            license: m.license.clone(),
            params_millions: m.params_millions,
            download_mb: m.download_mb,
            summary: m.summary.clone(),
            summary_zh: m.summary_zh.clone(),
            downloaded,
            recommended: m.id == recommended,
            texts_per_sec: texts_per_sec(m.params_millions, dev.kind),
            from_catalog: true,
        })
        .collect();
    for local in list.imported {
        {
            models.push(ModelCard {
                id: local.id.clone(),
                name: local.id.clone(),
                languages: Vec::new(),
                license: String::new(),
                params_millions: 0.0,
                download_mb: 0.0,
                summary: local.path.to_string_lossy().into_owned(),
                summary_zh: None,
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
        cjk_share,
        device: match dev.kind {
            "cuda" => DeviceKind::Cuda,
            "metal" => DeviceKind::Metal,
            _ => DeviceKind::Cpu,
        },
        threads: device::cpu_threads() as u32,
        openblas: studio_core::arch::blas::backend_name() == "openblas",
        openblas_installable: cfg!(target_os = "linux"),
        gpu: dev.gpu.code().to_string(),
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
        let from = DownloadFrom::from_environment();
        let mut obs = ChannelObserver::new(on_progress);
        pull_model(shared.engine(), &id, &from, &mut obs, &cancel)?;
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
        Ok(import_model_op(shared.engine(), &PathBuf::from(&folder), None)?.0)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

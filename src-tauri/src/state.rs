//! What the app keeps between commands: the open project, running jobs, loaded models
//! and the small settings file.

use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use studio_core::active::suggest::VectorCache;
use studio_core::classify::infer::{Predictor, SentenceEmbedder};
use studio_core::classify::train::{Plan, Speed};
use studio_core::models::ModelFolder;
use studio_core::progress::CancelToken;
use studio_core::project::Project;

/// Longest input, in tokens, of the cached sentence vectors (learning curve and
/// suggestions share the cache, so they share this).
pub const VECTOR_MAX_LEN: usize = 128;

/// Shared by every command (cloned into job threads).
pub type AppState = Arc<Shared>;

/// The app's state.
pub struct Shared {
    /// Where models, runs and settings live (`$STUDIO_HOME` or the OS data dir).
    pub home: PathBuf,
    /// Where scripts cached the data sets (`$STUDIO_CACHE/data`), for the demo project.
    pub data_cache: PathBuf,
    project: Mutex<Option<Project>>,
    jobs: Mutex<HashMap<u32, CancelToken>>,
    predictors: Mutex<HashMap<PathBuf, Arc<Predictor>>>,
    /// Sentence encoders per base model folder (Suggest and the learning curve ask for
    /// one every few labels; loading e5-small takes seconds).
    embedders: Mutex<HashMap<PathBuf, Arc<SentenceEmbedder>>>,
    /// Measured model speeds for estimates, per base model folder, `max_len` and batch
    /// size (a preset change re-plans without reloading and re-timing the model).
    speeds: Mutex<HashMap<(PathBuf, usize, usize), Speed>>,
    /// Sentence vectors of the open project's texts, per base model folder.
    vectors: Mutex<HashMap<PathBuf, VectorCache>>,
    settings: Mutex<Settings>,
}

/// Saved between sessions in `<home>/app-settings.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// "en" or "zh"; `None` follows the system locale.
    pub locale: Option<String>,
    /// "light", "dark" or `None` (follow the system).
    pub theme: Option<String>,
    /// Recently opened project files, newest first.
    pub recent: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another command must not wedge the app: take the data as it is.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// State rooted at `home`.
    pub fn new(home: PathBuf, data_cache: PathBuf) -> Self {
        let settings = std::fs::read(home.join("app-settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            home,
            data_cache,
            project: Mutex::new(None),
            jobs: Mutex::new(HashMap::new()),
            predictors: Mutex::new(HashMap::new()),
            embedders: Mutex::new(HashMap::new()),
            vectors: Mutex::new(HashMap::new()),
            speeds: Mutex::new(HashMap::new()),
            settings: Mutex::new(settings),
        }
    }

    /// Runs `f` on the open project.
    pub fn with_project<T>(&self, f: impl FnOnce(&Project) -> AppResult<T>) -> AppResult<T> {
        let guard = lock(&self.project);
        match guard.as_ref() {
            Some(p) => f(p),
            None => Err(AppError::no_project()),
        }
    }

    /// Makes `p` the open project and remembers it as recent.
    pub fn set_project(&self, p: Project) {
        let path = p.path().to_string_lossy().into_owned();
        *lock(&self.project) = Some(p);
        lock(&self.predictors).clear();
        lock(&self.embedders).clear();
        lock(&self.vectors).clear();
        lock(&self.speeds).clear();
        let mut s = lock(&self.settings);
        s.recent.retain(|r| r != &path);
        s.recent.insert(0, path);
        s.recent.truncate(8);
        let snapshot = s.clone();
        drop(s);
        let _ = self.save_settings(&snapshot);
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Changes and saves the settings (the recent list is kept).
    pub fn update_settings(&self, locale: Option<String>, theme: Option<String>) -> AppResult<()> {
        let mut s = lock(&self.settings);
        s.locale = locale;
        s.theme = theme;
        let snapshot = s.clone();
        drop(s);
        self.save_settings(&snapshot)
    }

    fn save_settings(&self, s: &Settings) -> AppResult<()> {
        std::fs::create_dir_all(&self.home)?;
        let json = serde_json::to_vec_pretty(s).map_err(|e| AppError::runtime(e.to_string()))?;
        let path = self.home.join("app-settings.json");
        let tmp = self.home.join(".app-settings.json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Registers a job that the UI may cancel by its id.
    pub fn start_job(&self, id: u32) -> CancelToken {
        let token = CancelToken::new();
        lock(&self.jobs).insert(id, token.clone());
        token
    }

    /// Forgets a finished job.
    pub fn end_job(&self, id: u32) {
        lock(&self.jobs).remove(&id);
    }

    /// Asks job `id` to stop; false when no such job runs.
    pub fn cancel_job(&self, id: u32) -> bool {
        match lock(&self.jobs).get(&id) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    /// The predictor for an exported model folder, loaded once.
    pub fn predictor(&self, dir: &Path) -> AppResult<Arc<Predictor>> {
        if let Some(p) = lock(&self.predictors).get(dir) {
            return Ok(p.clone());
        }
        let device = studio_core::device::open(studio_core::device::DeviceChoice::Auto)?;
        let p = Arc::new(Predictor::load(dir, &device.device)?);
        lock(&self.predictors).insert(dir.to_path_buf(), p.clone());
        Ok(p)
    }

    /// The sentence encoder of base model folder `base`, truncating at
    /// [`VECTOR_MAX_LEN`], loaded once per open project.
    pub fn embedder(&self, base: &ModelFolder) -> AppResult<Arc<SentenceEmbedder>> {
        if let Some(e) = lock(&self.embedders).get(&base.dir) {
            return Ok(e.clone());
        }
        let device = studio_core::device::open(studio_core::device::DeviceChoice::Auto)?;
        let e = Arc::new(SentenceEmbedder::load(
            base,
            &device.device,
            VECTOR_MAX_LEN,
        )?);
        lock(&self.embedders).insert(base.dir.clone(), e.clone());
        Ok(e)
    }

    /// Runs `f` with the vector cache of base model folder `model_dir` (texts are
    /// embedded once per project and model).
    pub fn with_vector_cache<T>(
        &self,
        model_dir: &Path,
        f: impl FnOnce(&mut VectorCache) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut all = lock(&self.vectors);
        f(all.entry(model_dir.to_path_buf()).or_default())
    }

    /// The speed of base model folder `model_dir` under `plan`, measured by `measure`
    /// the first time only (per open project).
    pub fn speed_of(
        &self,
        model_dir: &Path,
        plan: &Plan,
        measure: impl FnOnce() -> studio_core::Result<Speed>,
    ) -> studio_core::Result<Speed> {
        let key = (model_dir.to_path_buf(), plan.max_len, plan.batch_size);
        if let Some(s) = lock(&self.speeds).get(&key) {
            return Ok(*s);
        }
        let s = measure()?;
        lock(&self.speeds).insert(key, s);
        Ok(s)
    }
}

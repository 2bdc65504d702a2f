//! The user's operations, one function each: what the `studio` CLI's verbs and the app's
//! commands call. A face parses its input into a typed request, calls one function here
//! with an [`Observer`](crate::progress::Observer) and a
//! [`CancelToken`](crate::progress::CancelToken), and renders the typed result; it does
//! no orchestration of its own, so the two faces cannot disagree.
//!
//! Operations on a project take the project's *path* and open their own connection: a
//! long job keeps writing to the project it started on even when the app has since
//! opened another one, and it never holds the app's handle while it works.
//!
//! Layer: the top of the engine. Everything below is reachable; nothing below uses this.

pub mod evaluate;
pub mod export;
pub mod models;
pub mod predict;
pub mod project;
pub mod runs;
pub mod serve;
pub mod studies;
pub mod suggest;
pub mod train;

use crate::active::suggest::VectorCache;
use crate::classify::infer::{Predictor, SentenceEmbedder};
use crate::device::{self, ChosenDevice, DeviceChoice};
use crate::models::{Catalog, ModelFolder, ModelStore};
use crate::Result;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::classify::eval::MIN_TRUSTED_PER_LABEL;

/// A project's sentence vectors under one model, shared by the operations that embed.
type SharedVectors = Arc<Mutex<VectorCache>>;

/// Longest input, in tokens, of the cached sentence vectors (suggestions and the
/// project learning curve share the cache, so they share this).
pub const VECTOR_MAX_LEN: usize = 128;

/// What every operation shares: where models and runs live, the device, and what is
/// expensive to make again: classifiers and sentence encoders already loaded (loading
/// takes seconds) and sentence vectors already computed (minutes on a big project).
pub struct Engine {
    home: PathBuf,
    device: DeviceChoice,
    predictors: Mutex<HashMap<PathBuf, Arc<Predictor>>>,
    embedders: Mutex<HashMap<PathBuf, Arc<SentenceEmbedder>>>,
    /// Per project file and base model folder.
    vectors: Mutex<HashMap<(PathBuf, PathBuf), SharedVectors>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread must not wedge the engine: take the data as it is.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    /// An engine rooted at `home` (the model store is `home/models`, the app's runs
    /// `home/runs`), on the best device there is.
    pub fn new(home: &Path) -> Self {
        Self::with_device(home, DeviceChoice::Auto)
    }

    /// An engine rooted at `home` on `device`.
    pub fn with_device(home: &Path, device: DeviceChoice) -> Self {
        Self {
            home: home.to_path_buf(),
            device,
            predictors: Mutex::new(HashMap::new()),
            embedders: Mutex::new(HashMap::new()),
            vectors: Mutex::new(HashMap::new()),
        }
    }

    /// Where models, runs and settings live.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The local model store.
    pub fn store(&self) -> ModelStore {
        ModelStore::new(&self.home)
    }

    /// The base model a catalog id, store id or folder names.
    pub fn base_model(&self, spec: &str) -> Result<ModelFolder> {
        self.store().resolve(spec, &Catalog::builtin())
    }

    /// The device the engine runs on, opened.
    pub fn device(&self) -> Result<ChosenDevice> {
        device::open(self.device)
    }

    /// The classifier in an exported folder, loaded once.
    pub fn predictor(&self, dir: &Path) -> Result<Arc<Predictor>> {
        if let Some(p) = lock(&self.predictors).get(dir) {
            return Ok(p.clone());
        }
        let p = Arc::new(Predictor::load(dir, &self.device()?.device)?);
        lock(&self.predictors).insert(dir.to_path_buf(), p.clone());
        Ok(p)
    }

    /// The sentence encoder of base model folder `base`, truncating at
    /// [`VECTOR_MAX_LEN`], loaded once.
    pub fn embedder(&self, base: &ModelFolder) -> Result<Arc<SentenceEmbedder>> {
        if let Some(e) = lock(&self.embedders).get(&base.dir) {
            return Ok(e.clone());
        }
        let e = Arc::new(SentenceEmbedder::load(
            base,
            &self.device()?.device,
            VECTOR_MAX_LEN,
        )?);
        lock(&self.embedders).insert(base.dir.clone(), e.clone());
        Ok(e)
    }

    /// The sentence vectors of the texts of `project` under `base`, kept between calls
    /// so each text is encoded once. Held only while an operation embeds; never while
    /// the project is.
    pub fn vector_cache(&self, project: &Path, base: &ModelFolder) -> Arc<Mutex<VectorCache>> {
        lock(&self.vectors)
            .entry((project.to_path_buf(), base.dir.clone()))
            .or_default()
            .clone()
    }

    /// Forgets what was loaded and computed (the app calls it when another project
    /// opens).
    pub fn forget_models(&self) {
        lock(&self.predictors).clear();
        lock(&self.embedders).clear();
        lock(&self.vectors).clear();
    }
}

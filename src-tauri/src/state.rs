//! What the app keeps between commands: the open project, running jobs, loaded models
//! and the small settings file.

use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use studio_core::charts::ChartStyle;
use studio_core::classify::calibrate::Calibration;
use studio_core::classify::train::{Plan, Speed};
use studio_core::ops::Engine;
use studio_core::progress::CancelToken;
use studio_core::progress::EpochInfo;
use studio_core::project::Project;
use studio_core::studies::curve::CurveRow;

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
    /// The engine's operations, with the classifiers it has loaded.
    engine: Engine,
    /// Measured model speeds for estimates, per base model folder, `max_len` and batch
    /// size (a preset change re-plans without reloading and re-timing the model).
    speeds: Mutex<HashMap<(PathBuf, usize, usize), Speed>>,
    settings: Mutex<Settings>,
    /// The words and theme of the charts the app draws (the UI's language and theme).
    chart_style: Mutex<ChartStyle>,
    /// What the last charts were drawn from, to draw them again in another language or
    /// theme without training or measuring again.
    last_charts: Mutex<ChartData>,
}

/// The data behind the charts the app shows (Train pane, Evaluate pane), kept to draw them
/// again when the language or theme changes.
#[derive(Debug, Clone, Default)]
pub struct ChartData {
    /// The last training run's step losses and epochs.
    pub training: Option<(Vec<f32>, Vec<EpochInfo>)>,
    /// The last learning curve's rows.
    pub curve: Option<Vec<CurveRow>>,
    /// Each evaluated run's calibration on its test texts (the reliability diagram).
    pub reliability: Vec<(u32, Calibration)>,
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
    /// Below this top probability a prediction is shown as "unsure" (Playground,
    /// Evaluate); `None` means the engine's default.
    #[serde(default)]
    pub unsure_below: Option<f32>,
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
            engine: Engine::new(&home),
            home,
            data_cache,
            project: Mutex::new(None),
            jobs: Mutex::new(HashMap::new()),
            speeds: Mutex::new(HashMap::new()),
            settings: Mutex::new(settings),
            chart_style: Mutex::new(ChartStyle::default()),
            last_charts: Mutex::new(ChartData::default()),
        }
    }

    /// The style charts are drawn in now.
    pub fn chart_style(&self) -> ChartStyle {
        lock(&self.chart_style).clone()
    }

    /// Changes the chart style; returns the data of the charts drawn so far, to redraw.
    pub fn set_chart_style(&self, style: ChartStyle) -> ChartData {
        *lock(&self.chart_style) = style;
        lock(&self.last_charts).clone()
    }

    /// Remembers what the last training charts were drawn from.
    pub fn remember_training_charts(&self, losses: &[f32], history: &[EpochInfo]) {
        lock(&self.last_charts).training = Some((losses.to_vec(), history.to_vec()));
    }

    /// Remembers the calibration behind run `run_id`'s reliability diagram.
    pub fn remember_reliability(&self, run_id: u32, calibration: Option<&Calibration>) {
        let mut charts = lock(&self.last_charts);
        charts.reliability.retain(|(id, _)| *id != run_id);
        if let Some(c) = calibration {
            charts.reliability.push((run_id, c.clone()));
        }
    }

    /// Remembers what the last learning curve was drawn from.
    pub fn remember_curve(&self, rows: &[CurveRow]) {
        lock(&self.last_charts).curve = Some(rows.to_vec());
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
        self.engine.forget_models();
        *lock(&self.last_charts) = ChartData::default();
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

    /// Saves the "unsure" threshold (`None`: the engine's default).
    pub fn set_unsure_below(&self, value: Option<f32>) -> AppResult<()> {
        let mut s = lock(&self.settings);
        s.unsure_below = value;
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

    /// Asks every running job to stop (the window is closing): a training run then
    /// records itself "cancelled" if it gets the time, and is found "interrupted" on the
    /// next start if it does not.
    pub fn cancel_all_jobs(&self) {
        for t in lock(&self.jobs).values() {
            t.cancel();
        }
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

    /// The engine every command calls.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The open project's file (operations open their own connection to it).
    pub fn project_path(&self) -> AppResult<PathBuf> {
        self.with_project(|p| Ok(p.path().to_path_buf()))
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

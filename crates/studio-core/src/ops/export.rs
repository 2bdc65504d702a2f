//! Export: a project run's model copied to a folder the user picks.

use super::runs::run_with_model;
use crate::project::Project;
use crate::{Result, StudioError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where an export went and how to use it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exported {
    /// The exported folder.
    pub path: PathBuf,
    /// Files in it, sorted.
    pub files: Vec<String>,
}

fn copy_dir(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dest.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else {
            std::fs::copy(e.path(), to)?;
        }
    }
    Ok(())
}

/// True for a folder one of our exports wrote (it has the model card's companions).
fn is_our_export(dir: &Path) -> bool {
    dir.join("config.json").is_file() && dir.join("training_args.json").is_file()
}

/// Copies run `run` (the newest finished one when `None`) of the project at `project`
/// to `dest`. Written beside it first, then renamed into place: a failed export leaves
/// `dest` as it was. An existing folder is replaced only when it is empty or holds an
/// earlier export of ours; any other folder is refused, never deleted.
pub fn export_run(project: &Path, run: Option<i64>, dest: &Path) -> Result<Exported> {
    let (_, src) = run_with_model(&Project::open(project)?, run)?;
    copy_model_folder(&src, dest)
}

/// Copies an exported model folder to `dest` (see [`export_run`]).
pub fn copy_model_folder(src: &Path, dest: &Path) -> Result<Exported> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| StudioError::InvalidSetting("name the folder to export to".into()))?;
    if dest.exists() {
        let is_empty = std::fs::read_dir(dest)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !is_empty && !is_our_export(dest) {
            return Err(StudioError::InvalidSetting(format!(
                "{} already exists and holds other files; pick a new folder name",
                dest.display()
            )));
        }
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| StudioError::io("create the folder", parent, e))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    if let Err(e) = copy_dir(src, &tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(StudioError::io("copy the model to", dest, e));
    }
    if dest.exists() {
        std::fs::rename(dest, &old).map_err(|e| StudioError::io("move", dest, e))?;
    }
    if let Err(e) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::rename(&old, dest);
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(StudioError::io("move", dest, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    let mut files: Vec<String> = std::fs::read_dir(dest)
        .map_err(|e| StudioError::io("list", dest, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    Ok(Exported {
        path: dest.to_path_buf(),
        files,
    })
}

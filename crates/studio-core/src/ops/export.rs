//! Export: a project run's model copied to a folder the user picks.

use super::runs::run_with_model;
use crate::classify::export::{check_destination, replace_folder};
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
    check_destination(dest)?;
    replace_folder(dest, |tmp| {
        copy_dir(src, tmp).map_err(|e| StudioError::io("copy the model to", dest, e))
    })?;
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

//! Export: a project run's model copied to a folder the user picks.

use super::runs::run_with_model;
use crate::classify::export::{check_destination, replace_folder};
use crate::progress::CancelToken;
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

/// Copies `src` into `dest`, checking `cancel` between files.
fn copy_dir(src: &Path, dest: &Path, cancel: &CancelToken) -> Result<()> {
    let io = |e| StudioError::io("copy the model to", dest, e);
    std::fs::create_dir_all(dest).map_err(io)?;
    for e in std::fs::read_dir(src).map_err(io)? {
        cancel.check()?;
        let e = e.map_err(io)?;
        let to = dest.join(e.file_name());
        if e.file_type().map_err(io)?.is_dir() {
            copy_dir(&e.path(), &to, cancel)?;
        } else {
            std::fs::copy(e.path(), to).map_err(io)?;
        }
    }
    Ok(())
}

/// Copies run `run` (the newest finished one when `None`) of the project at `project`
/// to `dest`. Written beside it first, then renamed into place: a failed export leaves
/// `dest` as it was. An existing folder is replaced only when it is empty or holds an
/// earlier export of ours; any other folder is refused, never deleted.
pub fn export_run(
    project: &Path,
    run: Option<i64>,
    dest: &Path,
    cancel: &CancelToken,
) -> Result<Exported> {
    let (_, src) = run_with_model(&Project::open(project)?, run)?;
    copy_model_folder(&src, dest, cancel)
}

/// Copies an exported model folder to `dest` (see [`export_run`]). Cancelled, it leaves
/// `dest` as it was.
pub fn copy_model_folder(src: &Path, dest: &Path, cancel: &CancelToken) -> Result<Exported> {
    check_destination(dest)?;
    replace_folder(dest, |tmp| copy_dir(src, tmp, cancel))?;
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

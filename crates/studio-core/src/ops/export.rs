//! Export: a project run's model (or any exported model folder) copied to a folder the
//! user picks, with ONNX files beside it when asked for.

use super::runs::run_with_model;
use crate::classify::export::{check_destination, replace_folder};
use crate::classify::onnx::{self, Precision};
use crate::progress::CancelToken;
use crate::project::Project;
use crate::{Result, StudioError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to write besides the Hugging Face folder, which is always written (the ONNX
/// files need its tokenizer and config).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportOptions {
    /// `model.onnx`, fp32.
    pub onnx: bool,
    /// `model_int8.onnx`, dynamic int8.
    pub onnx_int8: bool,
}

impl ExportOptions {
    /// Just the Hugging Face folder.
    pub const HF: Self = Self {
        onnx: false,
        onnx_int8: false,
    };

    fn precisions(self) -> Vec<Precision> {
        let mut p = Vec::new();
        if self.onnx {
            p.push(Precision::F32);
        }
        if self.onnx_int8 {
            p.push(Precision::Int8);
        }
        p
    }
}

/// One file of an export and its size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedFile {
    /// The file name.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Where an export went and how to use it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exported {
    /// The exported folder.
    pub path: PathBuf,
    /// Files in it, sorted.
    pub files: Vec<String>,
    /// The weights files with their sizes (safetensors, ONNX), for the user to choose
    /// what to ship.
    pub weights: Vec<ExportedFile>,
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
    options: ExportOptions,
    cancel: &CancelToken,
) -> Result<Exported> {
    let (_, src) = run_with_model(&Project::open(project)?, run)?;
    export_model(&src, dest, options, cancel)
}

/// Copies an exported model folder to `dest`, adding the ONNX files `options` asks for
/// (see [`export_run`]). Cancelled or failed, it leaves `dest` as it was.
pub fn export_model(
    src: &Path,
    dest: &Path,
    options: ExportOptions,
    cancel: &CancelToken,
) -> Result<Exported> {
    check_destination(dest)?;
    replace_folder(dest, |tmp| {
        copy_dir(src, tmp, cancel)?;
        let mut written = Vec::new();
        for p in options.precisions() {
            let bytes = onnx::write_onnx(src, &tmp.join(p.file_name()), p, cancel)?;
            written.push((p, bytes));
        }
        if !written.is_empty() {
            add_onnx_to_card(src, tmp, &written)?;
        }
        Ok(())
    })?;
    let mut files: Vec<String> = std::fs::read_dir(dest)
        .map_err(|e| StudioError::io("list", dest, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let weights = files
        .iter()
        .filter(|f| f.ends_with(".safetensors") || f.ends_with(".onnx") || f.ends_with(".bin"))
        .map(|f| ExportedFile {
            name: f.clone(),
            bytes: std::fs::metadata(dest.join(f))
                .map(|m| m.len())
                .unwrap_or(0),
        })
        .collect();
    Ok(Exported {
        path: dest.to_path_buf(),
        files,
        weights,
    })
}

/// Copies an exported model folder to `dest` as it is (see [`export_model`]).
pub fn copy_model_folder(src: &Path, dest: &Path, cancel: &CancelToken) -> Result<Exported> {
    export_model(src, dest, ExportOptions::HF, cancel)
}

/// Appends what the ONNX files are and how to load them to the folder's model card.
fn add_onnx_to_card(src: &Path, dir: &Path, written: &[(Precision, u64)]) -> Result<()> {
    let card = dir.join("README.md");
    let mut text = std::fs::read_to_string(&card).unwrap_or_default();
    let folder = crate::models::ModelFolder::open(src)?;
    text.push_str(&onnx::card_section(&folder, written));
    std::fs::write(&card, text).map_err(|e| StudioError::io("write", &card, e))
}

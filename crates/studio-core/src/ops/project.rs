//! Create a project from a file, and import more texts into one: the same steps in both
//! faces (the columns not named are guessed the same way, a failed creation leaves no
//! file behind). Labelling, undo, redo, the label set and queries are the project
//! store's own methods ([`Project::label`], [`Project::undo`], [`Project::redo`],
//! [`Project::set_label_set`], [`Project::page`], ...): the store is their one
//! implementation, and both faces call it directly.

use crate::data::import::{ColumnMapping, ImportOptions, Importer, Input};
use crate::progress::{CancelToken, Observer};
use crate::project::{ImportReport, ImportSettings, Project};
use crate::{Result, StudioError};
use std::path::{Path, PathBuf};

/// A file to import and how to read it.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// The data file (CSV, TSV, JSON, JSONL, TXT or XLSX, any common encoding).
    pub data: PathBuf,
    /// Format, encoding, delimiter, header and sheet, where the caller knows better
    /// than sniffing.
    pub options: ImportOptions,
    /// The text column; guessed when `None`.
    pub text_col: Option<String>,
    /// The label column. When no column at all is named, guessed too; once one is named,
    /// an unnamed label or id column means "none".
    pub label_col: Option<String>,
    /// The id column (see `label_col`).
    pub id_col: Option<String>,
    /// Duplicate handling.
    pub settings: ImportSettings,
}

impl ImportRequest {
    /// The column mapping: what was named, the importer's guess for the rest.
    pub fn mapping(&self) -> Result<ColumnMapping> {
        let importer = Importer::open(Input::Path(&self.data), &self.options)?;
        let preview = importer.preview(20)?;
        let guess = ColumnMapping::guess(&preview.layout.columns, &preview.rows);
        let any_given =
            self.text_col.is_some() || self.label_col.is_some() || self.id_col.is_some();
        let named = |c: &Option<String>| c.clone().filter(|c| !c.trim().is_empty());
        Ok(ColumnMapping {
            text: named(&self.text_col).unwrap_or(guess.text),
            label: named(&self.label_col).or(if any_given { None } else { guess.label }),
            id: named(&self.id_col).or(if any_given { None } else { guess.id }),
        })
    }
}

/// Imports a file into the existing project at `project`.
pub fn import_file(
    project: &Path,
    req: &ImportRequest,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<ImportReport> {
    import_into(&Project::open(project)?, req, observer, cancel)
}

/// The import itself, with the columns [`ImportRequest::mapping`] gives.
fn import_into(
    p: &Project,
    req: &ImportRequest,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<ImportReport> {
    p.import(
        &req.data,
        &req.options,
        Some(&req.mapping()?),
        &req.settings,
        observer,
        cancel,
    )
}

/// Creates a project at `project` from a data file: the label set `labels` (when given;
/// else the file's label column gives it), then the import. A project without at least
/// one label at the end is refused, and a failed or cancelled creation removes the new
/// file: nothing half-made is left behind. An existing file is never overwritten.
pub fn create_from_file(
    project: &Path,
    req: &ImportRequest,
    labels: &[String],
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<(Project, ImportReport)> {
    let p = Project::create(project)?;
    let made = (|| {
        let labels: Vec<String> = labels
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if !labels.is_empty() {
            p.set_label_set(&labels)?;
        }
        let report = import_into(&p, req, observer, cancel)?;
        if p.label_set()?.is_empty() {
            return Err(StudioError::InvalidSetting(
                "the project has no labels yet: name at least two labels (e.g. negative, positive) or pick the file's label column".into(),
            ));
        }
        Ok(report)
    })();
    match made {
        Ok(report) => Ok((p, report)),
        Err(e) => {
            drop(p);
            remove_project_files(project);
            Err(e)
        }
    }
}

/// Removes a project file and its SQLite companions.
fn remove_project_files(path: &Path) {
    let _ = std::fs::remove_file(path);
    for ext in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

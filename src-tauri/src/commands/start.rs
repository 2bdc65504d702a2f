//! Start pane: settings, recent projects, new project from a file, open, demo.

use crate::dto::ProjectOverview;
use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::{AppState, Settings};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use studio_core::data::import::{preview, ColumnMapping, ImportOptions, Rejected};
use studio_core::ops::project::{create_from_file, import_file, ImportRequest};
use studio_core::progress::CancelToken;
use studio_core::project::{ImportReport, ImportSettings, Project};
use tauri::ipc::Channel;
use tauri::State;

/// What the Start pane shows before anything is open.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// "en" or "zh" from the system locale.
    pub system_locale: String,
    /// Saved settings.
    pub settings: Settings,
    /// Where models and runs are kept.
    pub home: String,
    /// Whether the demo data set is on this machine.
    pub demo_available: bool,
    /// The engine's default "unsure" threshold (when the settings hold none).
    pub default_unsure_below: f32,
}

fn system_locale() -> String {
    let lang = ["LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    if lang.to_ascii_lowercase().starts_with("zh") {
        "zh".into()
    } else {
        "en".into()
    }
}

fn demo_source(state: &AppState) -> PathBuf {
    state.data_cache.join("movies").join("train.csv")
}

/// Version, locale, settings and recent projects.
#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> AppResult<AppInfo> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        system_locale: system_locale(),
        settings: state.settings(),
        home: state.home.to_string_lossy().into_owned(),
        demo_available: demo_source(&state).is_file(),
        default_unsure_below: studio_core::classify::calibrate::DEFAULT_UNSURE_BELOW,
    })
}

/// Saves the threshold below which a prediction is called "unsure" (null: the
/// default). Refuses a value outside 0–1.
#[tauri::command]
#[specta::specta]
pub async fn set_unsure_below(state: State<'_, AppState>, value: Option<f32>) -> AppResult<()> {
    if let Some(v) = value {
        if !(0.0..=1.0).contains(&v) {
            return Err(studio_core::StudioError::InvalidSetting(format!(
                "the unsure threshold must be a share between 0 and 1, not {v}"
            ))
            .into());
        }
    }
    state.set_unsure_below(value)
}

/// Saves the language and theme (`None`: follow the system).
#[tauri::command]
#[specta::specta]
pub async fn save_settings(
    state: State<'_, AppState>,
    locale: Option<String>,
    theme: Option<String>,
) -> AppResult<()> {
    state.update_settings(locale, theme)
}

/// A file's first rows, what sniffing found, and a guessed column mapping.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct FilePreview {
    /// The file.
    pub path: String,
    /// "csv", "xlsx", ...
    pub format: String,
    /// The encoding's name as the WHATWG list spells it ("UTF-8", "GBK", "Shift_JIS"),
    /// or null for Excel.
    pub encoding: Option<String>,
    /// How the encoding was found: "bom", "given" or "detected" (null for Excel).
    pub encoding_source: Option<String>,
    /// The field delimiter of a CSV/TSV file.
    pub delimiter: Option<String>,
    /// The worksheet read, for Excel.
    pub sheet: Option<String>,
    /// Every worksheet of an Excel workbook, for the sheet picker.
    pub sheets: Vec<String>,
    /// Whether the first row names the columns.
    pub has_header: bool,
    /// Column names.
    pub columns: Vec<String>,
    /// The first rows, one value per column.
    pub rows: Vec<Vec<String>>,
    /// Rows that could not be read among them.
    pub rejected: Vec<RejectedRow>,
    /// The guessed mapping.
    pub guess: Mapping,
    /// Where the new project would be saved.
    pub suggested_project: String,
}

/// A row the importer could not take: its line and why, as a code the UI words.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RejectedRow {
    /// 1-based line (for Excel, the sheet's row).
    pub line: u32,
    /// The engine's `RejectCode` ("tooLong", "wrongWidth", ...).
    pub code: String,
    /// The values the reason is built from, by name.
    pub args: std::collections::BTreeMap<String, String>,
    /// The reason in English (the UI's fallback).
    pub reason: String,
}

impl From<&Rejected> for RejectedRow {
    fn from(r: &Rejected) -> Self {
        Self {
            line: u32::try_from(r.line).unwrap_or(u32::MAX),
            code: r.code.code().into(),
            args: r
                .args
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect(),
            reason: r.reason.clone(),
        }
    }
}

/// Which column is which.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    /// The text column.
    pub text: String,
    /// The label column, if any.
    pub label: Option<String>,
    /// The id column, if any.
    pub id: Option<String>,
}

/// How to read a data file: its encoding and, for Excel, its sheet (null: detect the
/// encoding, read the first sheet).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReadAs {
    /// An encoding name ("gbk", "utf-16le", ...); null or "auto" detects it.
    pub encoding: Option<String>,
    /// The worksheet of an Excel workbook.
    pub sheet: Option<String>,
}

fn options(read: ReadAs) -> ImportOptions {
    ImportOptions {
        encoding: read.encoding.filter(|e| !e.is_empty() && e != "auto"),
        sheet: read.sheet.filter(|s| !s.is_empty()),
        ..ImportOptions::default()
    }
}

/// `<dir>/<stem>.studio`, or `<stem>-2.studio`, ... when taken.
pub(crate) fn free_project_path(data: &Path) -> PathBuf {
    let dir = data.parent().unwrap_or(Path::new("."));
    let stem = data
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    let mut candidate = dir.join(format!("{stem}.studio"));
    let mut n = 2;
    while candidate.exists() {
        candidate = dir.join(format!("{stem}-{n}.studio"));
        n += 1;
    }
    candidate
}

/// Sniffs a data file and shows its first rows, for the column-mapping step.
#[tauri::command]
#[specta::specta]
pub async fn preview_file(path: String, read: ReadAs) -> AppResult<FilePreview> {
    tauri::async_runtime::spawn_blocking(move || {
        let p = PathBuf::from(&path);
        let pv = preview(&p, &options(read), 20)?;
        let guess = ColumnMapping::guess(&pv.layout.columns, &pv.rows);
        Ok(FilePreview {
            path,
            format: pv.layout.format.name().into(),
            encoding: pv.layout.encoding.map(|e| e.name.into()),
            encoding_source: pv.layout.encoding.map(|e| e.source.code().into()),
            delimiter: pv.layout.delimiter.map(String::from),
            sheet: pv.layout.sheet.clone(),
            sheets: pv.layout.sheets.clone(),
            has_header: pv.layout.has_header,
            columns: pv.layout.columns.clone(),
            rows: pv.rows.into_iter().take(10).map(|(_, r)| r).collect(),
            rejected: pv.rejected.iter().map(RejectedRow::from).collect(),
            guess: Mapping {
                text: guess.text,
                label: guess.label,
                id: guess.id,
            },
            suggested_project: free_project_path(&p).to_string_lossy().into_owned(),
        })
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

/// What creating a project did.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// The new project.
    pub project: ProjectOverview,
    /// Texts imported.
    pub imported: u32,
    /// Texts that came with a label.
    pub labelled: u32,
    /// Rows skipped: empty text.
    pub skipped_empty: u32,
    /// Rows that repeated an earlier text.
    pub duplicates: u32,
    /// Rows rejected, in all.
    pub rejected: u32,
    /// The first rejected rows.
    pub rejected_examples: Vec<RejectedRow>,
    /// Label values not in the label set, with counts.
    pub unknown_labels: Vec<String>,
}

/// Creates a project file and imports a data file into it (a job: cancellable, with
/// progress). `labels` defines the label set when the file has no label column.
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)]
pub async fn create_project(
    state: State<'_, AppState>,
    project_path: String,
    data_path: String,
    mapping: Mapping,
    read: ReadAs,
    labels: Vec<String>,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<ImportSummary> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        create_blocking(
            &shared,
            Path::new(&project_path),
            Path::new(&data_path),
            mapping,
            read,
            &labels,
            on_progress,
            &cancel,
        )
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn create_blocking(
    state: &AppState,
    project_path: &Path,
    data_path: &Path,
    mapping: Mapping,
    read: ReadAs,
    labels: &[String],
    channel: Channel<Progress>,
    cancel: &CancelToken,
) -> AppResult<ImportSummary> {
    let mut obs = ChannelObserver::new(channel);
    let (project, report) = create_from_file(
        project_path,
        &import_request(data_path, mapping, read),
        labels,
        &mut obs,
        cancel,
    )?;
    let overview = overview_of(&project)?;
    state.set_project(project);
    Ok(ImportSummary::new(overview, &report))
}

/// The engine's import request for what the mapping step chose.
fn import_request(data: &Path, mapping: Mapping, read: ReadAs) -> ImportRequest {
    ImportRequest {
        data: data.to_path_buf(),
        options: options(read),
        text_col: Some(mapping.text),
        label_col: Some(mapping.label.unwrap_or_default()),
        id_col: Some(mapping.id.unwrap_or_default()),
        settings: ImportSettings::default(),
    }
}

impl ImportSummary {
    fn new(project: ProjectOverview, report: &ImportReport) -> Self {
        Self {
            project,
            imported: report.imported as u32,
            labelled: report.labelled as u32,
            skipped_empty: report.skipped_empty as u32,
            duplicates: report.duplicates as u32,
            rejected: report.rejected_count as u32,
            rejected_examples: report
                .rejected
                .iter()
                .take(20)
                .map(RejectedRow::from)
                .collect(),
            unknown_labels: report
                .unknown_labels
                .iter()
                .map(|(l, n)| format!("{l} ({n})"))
                .collect(),
        }
    }
}

/// Imports more texts from a file into the open project (a job: cancellable, with
/// progress), as `studio project import` does.
#[tauri::command]
#[specta::specta]
pub async fn import_into_project(
    state: State<'_, AppState>,
    data_path: String,
    mapping: Mapping,
    read: ReadAs,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<ImportSummary> {
    let shared = state.inner().clone();
    let project = shared.project_path()?;
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let mut obs = ChannelObserver::new(on_progress);
        let report = import_file(
            &project,
            &import_request(Path::new(&data_path), mapping, read),
            &mut obs,
            &cancel,
        )?;
        let overview = shared.with_project(overview_of)?;
        Ok(ImportSummary::new(overview, &report))
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

/// The overview of a project.
pub fn overview_of(p: &Project) -> AppResult<ProjectOverview> {
    Ok(ProjectOverview::new(
        p.path(),
        p.stats()?,
        p.label_set_with_counts()?,
    ))
}

/// Opens a project file.
#[tauri::command]
#[specta::specta]
pub async fn open_project(state: State<'_, AppState>, path: String) -> AppResult<ProjectOverview> {
    let p = Project::open(Path::new(&path))?;
    let overview = overview_of(&p)?;
    state.set_project(p);
    Ok(overview)
}

/// Opens the demo project (movie-review sentences: 200 labelled, 1,800 not), creating
/// it on first use from the data set `scripts/setup` fetched.
#[tauri::command]
#[specta::specta]
pub async fn open_demo_project(state: State<'_, AppState>) -> AppResult<ProjectOverview> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let src = demo_source(&shared);
        if !src.is_file() {
            return Err(AppError::input(format!(
                "the demo data is not on this machine ({} is missing); run scripts/setup once, or start a new project from your own file",
                src.display()
            )));
        }
        let dir = shared.home.join("demo");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("movie-reviews.studio");
        if !path.is_file() {
            let csv = dir.join("movie-reviews.csv");
            write_demo_csv(&src, &csv, 200, 2000)?;
            let demo = Mapping {
                text: "text".into(),
                label: Some("label".into()),
                id: None,
            };
            create_from_file(
                &path,
                &import_request(&csv, demo, ReadAs::default()),
                &["negative".to_string(), "positive".to_string()],
                &mut studio_core::progress::Silent,
                &CancelToken::new(),
            )?;
        }
        let p = Project::open(&path)?;
        let overview = overview_of(&p)?;
        shared.set_project(p);
        Ok(overview)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?
}

/// Copies the first `total` rows of `src` (a `text,label` CSV), keeping the label of the
/// first `labelled` only.
fn write_demo_csv(src: &Path, out: &Path, labelled: usize, total: usize) -> AppResult<()> {
    let data = studio_core::data::read_labeled(src, "text", "label", None)?;
    let mut s = String::from("text,label\n");
    for (i, (t, &l)) in data.texts.iter().zip(&data.labels).take(total).enumerate() {
        let label = if i < labelled {
            data.label_names[l].as_str()
        } else {
            ""
        };
        s.push_str(&studio_core::data::csv_field(t));
        s.push(',');
        s.push_str(label);
        s.push('\n');
    }
    std::fs::write(out, s)?;
    Ok(())
}

/// Asks a running job to stop; false when it already ended.
#[tauri::command]
#[specta::specta]
pub async fn cancel_job(state: State<'_, AppState>, job: u32) -> AppResult<bool> {
    Ok(state.cancel_job(job))
}

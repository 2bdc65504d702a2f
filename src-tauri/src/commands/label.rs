//! Label pane: pages of texts, labelling, undo, what to label next, the label set.

use crate::commands::start::overview_of;
use crate::dto::{ProjectOverview, TextFilter, TextPage, TextRowDto};
use crate::error::AppResult;
use crate::state::AppState;
use serde::Serialize;
use studio_core::project::{Filter, LabelFilter, PageQuery};
use tauri::State;

/// The open project's overview (counts, labels, splits).
#[tauri::command]
#[specta::specta]
pub async fn project_overview(state: State<'_, AppState>) -> AppResult<ProjectOverview> {
    state.with_project(overview_of)
}

fn engine_filter(f: &TextFilter) -> Filter {
    let label = match (&f.label, f.status.as_str()) {
        (Some(l), _) if !l.is_empty() => LabelFilter::Is(l.clone()),
        (_, "unlabelled") => LabelFilter::Unlabelled,
        (_, "labelled") => LabelFilter::Labelled,
        _ => LabelFilter::Any,
    };
    Filter {
        label,
        split: None,
        search: f.search.clone().filter(|s| !s.trim().is_empty()),
        disagrees_with_model: f.disagrees,
    }
}

/// Rows `offset..offset+limit` of the texts matching `filter`, and the total.
#[tauri::command]
#[specta::specta]
pub async fn list_texts(
    state: State<'_, AppState>,
    filter: TextFilter,
    offset: u32,
    limit: u32,
) -> AppResult<TextPage> {
    state.with_project(|p| {
        let f = engine_filter(&filter);
        let total = p.count(&f)? as u32;
        let rows = p.page(&PageQuery {
            filter: f,
            after_id: None,
            offset: u64::from(offset),
            limit: limit.min(1000),
        })?;
        Ok(TextPage {
            rows: rows.into_iter().map(TextRowDto::from).collect(),
            total,
            offset,
        })
    })
}

/// The result of a labelling action, with fresh counts.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LabelResult {
    /// Texts whose label changed: (id, label now).
    pub changed: Vec<TextLabel>,
    /// The project after the change.
    pub overview: ProjectOverview,
}

/// A text's label now.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TextLabel {
    /// The text.
    pub id: u32,
    /// Its label, or null.
    pub label: Option<String>,
}

/// Labels a text (`label` null clears it). On disk when this returns.
#[tauri::command]
#[specta::specta]
pub async fn label_text(
    state: State<'_, AppState>,
    id: u32,
    label: Option<String>,
) -> AppResult<LabelResult> {
    state.with_project(|p| {
        let change = match &label {
            Some(l) => p.label(i64::from(id), l)?,
            None => p.clear_label(i64::from(id))?,
        };
        Ok(LabelResult {
            changed: vec![TextLabel {
                id: change.text_id as u32,
                label: change.new,
            }],
            overview: overview_of(p)?,
        })
    })
}

/// Undoes (or with `redo`, redoes) the last labelling action; `changed` is empty when
/// there was nothing to undo.
#[tauri::command]
#[specta::specta]
pub async fn undo(state: State<'_, AppState>, redo: bool) -> AppResult<LabelResult> {
    state.with_project(|p| {
        let summary = if redo { p.redo()? } else { p.undo()? };
        Ok(LabelResult {
            changed: summary
                .map(|s| {
                    s.changes
                        .into_iter()
                        .map(|(id, label)| TextLabel {
                            id: id as u32,
                            label,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            overview: overview_of(p)?,
        })
    })
}

/// Sets the label set: names in order (new ones added, missing ones removed when no
/// text has them).
#[tauri::command]
#[specta::specta]
pub async fn set_labels(
    state: State<'_, AppState>,
    names: Vec<String>,
) -> AppResult<ProjectOverview> {
    state.with_project(|p| {
        p.set_label_set(&names)?;
        overview_of(p)
    })
}

/// Renames a label; its texts keep it.
#[tauri::command]
#[specta::specta]
pub async fn rename_label(
    state: State<'_, AppState>,
    name: String,
    new_name: String,
) -> AppResult<ProjectOverview> {
    state.with_project(|p| {
        p.rename_label(&name, &new_name)?;
        overview_of(p)
    })
}

/// Changes a label's colour (`#rrggbb`).
#[tauri::command]
#[specta::specta]
pub async fn set_label_color(
    state: State<'_, AppState>,
    name: String,
    color: String,
) -> AppResult<ProjectOverview> {
    state.with_project(|p| {
        p.set_label_style(&name, Some(&color), None)?;
        overview_of(p)
    })
}

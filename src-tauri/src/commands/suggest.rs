//! "Suggest next" in the Label pane: an adapter over `studio_core::ops::suggest`, with
//! sentence vectors cached per base model so that only new texts are ever encoded. The
//! operation opens its own connection to the project: labelling goes on while it embeds.

use crate::dto::TextRowDto;
use crate::error::{AppError, AppResult};
use crate::jobs::{ChannelObserver, Progress};
use crate::state::AppState;
use serde::Serialize;
use studio_core::ops::suggest::{next_to_label, NextRequest};
use studio_core::progress::CancelToken;
use studio_core::project::Strategy;
use tauri::ipc::Channel;
use tauri::State;

/// New labels between refits of the suggestion classifier: often enough that the
/// pre-labels follow the user, rarely enough that labelling never waits on it.
pub const SUGGEST_EVERY: usize = 10;

/// What the Label pane shows after asking for suggestions.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Suggestions {
    /// Texts to label next, most useful first, with the classifier's guess.
    pub rows: Vec<TextRowDto>,
    /// When the classifier was refitted just now: the labels it learned from.
    pub refitted_on: Option<u32>,
}

/// Up to `n` unlabelled texts to label next, chosen by uncertainty and spread over
/// clusters, with base model `model_id`'s sentence vectors. Refits the classifier (and
/// the pre-labels) first once [`SUGGEST_EVERY`] new labels have arrived. A job: the
/// first refit of a big project encodes every text, and reports it (cancellable).
#[tauri::command]
#[specta::specta]
pub async fn suggest_next(
    state: State<'_, AppState>,
    model_id: String,
    n: u32,
    job: u32,
    on_progress: Channel<Progress>,
) -> AppResult<Suggestions> {
    let shared = state.inner().clone();
    let cancel = shared.start_job(job);
    let result = tauri::async_runtime::spawn_blocking(move || {
        let mut observer = ChannelObserver::new(on_progress);
        suggest_blocking(&shared, &model_id, n, &mut observer, &cancel)
    })
    .await
    .map_err(|e| AppError::runtime(e.to_string()))?;
    state.end_job(job);
    result
}

fn suggest_blocking(
    state: &AppState,
    model_id: &str,
    n: u32,
    observer: &mut ChannelObserver,
    cancel: &CancelToken,
) -> AppResult<Suggestions> {
    let request = NextRequest {
        strategy: Strategy::Diverse,
        n: n.min(500) as usize,
        model: model_id.to_string(),
        every: SUGGEST_EVERY,
    };
    let s = next_to_label(
        state.engine(),
        &state.project_path()?,
        &request,
        observer,
        cancel,
    )?;
    Ok(Suggestions {
        rows: s.rows.into_iter().map(TextRowDto::from).collect(),
        refitted_on: s.refresh.map(|r| r.labelled as u32),
    })
}

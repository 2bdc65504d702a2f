//! # Sentiment Studio, the desktop app
//!
//! A thin Tauri shell over `studio-core`: every command in [`commands`] is a few lines
//! over one engine call; long jobs (import, training, batch prediction, downloads) run on
//! their own thread, report through a [`tauri::ipc::Channel`] of [`jobs::Progress`]
//! (at most ~10 updates a second) and stop when `cancel_job` is called. The TypeScript
//! types of every command and event are generated from these Rust types into
//! `ui/src/lib/bindings.ts` (see [`bindings`]); a test fails when they drift.

pub mod commands;
pub mod dto;
pub mod error;
pub mod jobs;
pub mod state;

#[cfg(test)]
mod shell_tests;

use std::path::PathBuf;
use std::sync::Arc;

/// Every command, for the invoke handler and the TypeScript bindings.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    use commands::*;
    tauri_specta::Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(tauri_specta::collect_commands![
            start::app_info,
            start::save_settings,
            start::set_unsure_below,
            start::preview_file,
            start::create_project,
            start::import_into_project,
            start::open_project,
            start::open_demo_project,
            start::cancel_job,
            label::project_overview,
            label::list_texts,
            label::label_text,
            label::undo,
            suggest::suggest_next,
            label::set_labels,
            label::rename_label,
            label::set_label_color,
            models::list_models,
            models::download_model,
            models::import_model,
            train::estimate_training,
            train::start_training,
            train::default_preset,
            curve::learning_curve,
            charts::set_chart_style,
            results::list_runs,
            results::evaluate_run,
            results::predict_text,
            results::explain_texts,
            results::predict_file,
            results::export_run,
            desktop::open_folder,
        ])
}

/// The TypeScript bindings, as `specta_builder().export` writes them.
pub mod bindings {
    /// Where the committed bindings live, relative to this crate.
    pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");

    /// Writes the bindings to `path`.
    pub fn write(path: &std::path::Path) -> Result<(), String> {
        super::specta_builder()
            .export(
                specta_typescript::Typescript::default()
                    .header("// Generated from src-tauri by `cargo test -p sentiment-studio` (STUDIO_UPDATE_BINDINGS=1). Do not edit.\n"),
                path,
            )
            .map_err(|e| e.to_string())
    }
}

/// `$STUDIO_HOME`, or the OS data directory.
fn studio_home() -> PathBuf {
    std::env::var_os("STUDIO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(studio_core::models::store::default_home)
}

/// `$STUDIO_CACHE/data` (default `~/.cache/studio/data`): the data sets scripts fetch.
fn data_cache() -> PathBuf {
    std::env::var_os("STUDIO_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/studio")))
        .unwrap_or_else(|| PathBuf::from(".cache/studio"))
        .join("data")
}

/// Starts the app.
pub fn run() {
    studio_core::runtime::tune_process();
    let builder = specta_builder();
    let state: state::AppState = Arc::new(state::Shared::new(studio_home(), data_cache()));
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { .. } = event {
                use tauri::Manager;
                window.state::<state::AppState>().cancel_all_jobs();
            }
        })
        .invoke_handler(builder.invoke_handler())
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running tauri application");
}

#[cfg(test)]
mod tests {
    /// The committed `ui/src/lib/bindings.ts` must equal what the Rust types generate.
    /// `STUDIO_UPDATE_BINDINGS=1 cargo test -p sentiment-studio` rewrites it.
    #[test]
    fn typescript_bindings_are_up_to_date() {
        let committed = std::path::Path::new(super::bindings::PATH);
        if std::env::var_os("STUDIO_UPDATE_BINDINGS").is_some() {
            super::bindings::write(committed).expect("write bindings");
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh = dir.path().join("bindings.ts");
        super::bindings::write(&fresh).expect("generate bindings");
        let want = std::fs::read_to_string(&fresh).expect("read generated bindings");
        let have = std::fs::read_to_string(committed).unwrap_or_default();
        assert!(
            want == have,
            "ui/src/lib/bindings.ts is out of date with the Rust commands; run `STUDIO_UPDATE_BINDINGS=1 cargo test -p sentiment-studio` and commit the result"
        );
    }
}

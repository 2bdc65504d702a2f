//! Tauri commands, one file per pane. Each is a few lines over studio-core.

pub mod curve;
pub mod label;
pub mod models;
pub mod results;
pub mod start;
pub mod suggest;
pub mod train;

pub use results::csv_field;

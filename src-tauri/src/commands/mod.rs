//! Tauri commands, one file per pane. Each is an adapter over `studio_core::ops` (or a
//! query of the open project): it parses, calls one operation and renders.

pub mod charts;
pub mod curve;
pub mod desktop;
pub mod label;
pub mod models;
pub mod results;
pub mod start;
pub mod suggest;
pub mod train;

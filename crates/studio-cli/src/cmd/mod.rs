//! One module per verb, plus what they share: where the store is, which device.

pub mod device;
pub mod eval;
pub mod export;
pub mod models;
pub mod predict;
pub mod project;
pub mod report;
pub mod serve;
pub mod train;

use std::path::PathBuf;

/// `$STUDIO_HOME`, or the OS data directory.
pub fn studio_home() -> PathBuf {
    std::env::var_os("STUDIO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(studio_core::models::store::default_home)
}

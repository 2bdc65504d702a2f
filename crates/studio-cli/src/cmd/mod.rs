//! One module per verb, plus what they share: where the store is, which device.

pub mod eval;
pub mod models;
pub mod predict;
pub mod project;
pub mod report;
pub mod train;

use std::path::PathBuf;
use studio_core::models::{Catalog, ModelStore};

/// `$STUDIO_HOME`, or the OS data directory.
pub fn studio_home() -> PathBuf {
    std::env::var_os("STUDIO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(studio_core::models::store::default_home)
}

/// The model store and the built-in catalog.
pub fn store_and_catalog() -> (ModelStore, Catalog) {
    (ModelStore::new(&studio_home()), Catalog::builtin())
}

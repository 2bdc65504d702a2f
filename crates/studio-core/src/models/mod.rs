//! Base models: the catalog we offer, the local store, downloads, and loading a
//! Hugging Face folder (weights + tokenizer).

pub mod catalog;
pub mod folder;
pub mod hub;
pub mod pull;
pub mod pypi;
pub mod store;
pub mod tokenizer;

pub use catalog::{Catalog, CatalogEntry};
pub use folder::{ModelFolder, PoolingSource};
pub use pull::{pull, PullOptions, PullSource};
pub use store::ModelStore;
pub use tokenizer::{Batch, TextTokenizer};

//! # studio-core: the Sentiment Studio engine
//!
//! Everything the app and the `studio` CLI do lives here: reading data, the model store
//! and downloads, our own trainable encoders, training, evaluation, inference and the
//! Hugging Face export. Nothing here prints, reads the environment on its own, or knows
//! who calls it: long jobs report through [`progress::Observer`] and stop on a
//! [`progress::CancelToken`].

#![warn(missing_docs)]

pub mod active;
pub mod active_loop;
pub mod arch;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod export;
pub mod infer;
pub mod models;
pub mod progress;
pub mod project;
pub mod report;
pub mod runtime;
pub mod train;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Result, StudioError};

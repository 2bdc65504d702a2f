//! # studio-core: the Sentiment Studio engine
//!
//! Everything the app and the `studio` CLI do lives here: reading data, the model store
//! and downloads, our own trainable encoders, training, evaluation, inference and the
//! Hugging Face export. Nothing here prints, reads the environment on its own, or knows
//! who calls it: long jobs report through [`progress::Observer`] and stop on a
//! [`progress::CancelToken`].

#![warn(missing_docs)]
// The engine never prints: it reports through an Observer and returns errors.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

// Layers, lowest first; a module may use only those above it in this list (checked by
// `tests/layers.rs`): error, progress → arch → device, runtime → data, models, charts →
// project → classify → active → studies → ops.
pub mod error;
pub mod progress;

pub mod arch;
pub mod device;
pub mod runtime;

pub mod charts;
pub mod data;
pub mod models;

pub mod project;

pub mod classify;

pub mod active;

pub mod studies;

pub mod ops;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Result, StudioError};

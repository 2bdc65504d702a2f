//! Classifiers over our encoders: train (modes, presets, optimiser, early stopping),
//! infer, evaluate and export, plus the fast linear probe on sentence vectors.
//!
//! Layer: above `project`, `data`, `models` and `arch`; below `active`, `studies` and
//! `ops`. Nothing here knows about a project file.

pub mod calibrate;
pub mod eval;
pub mod explain;
pub mod export;
pub mod infer;
pub mod onnx;
pub mod prior;
pub mod probe;
pub mod train;

//! Our own trainable encoders.
//!
//! Why not candle-transformers' models: their LayerNorm and softmax take fused kernels
//! without a backward pass, so only the classification head would train, silently
//! (see DESIGN.md §4). These modules use differentiable ops throughout, real dropout behind
//! a `train` flag, and the exact tensor names of Hugging Face transformers so that loading
//! and exporting need no renaming beyond a prefix.
//!
//! One module covers the three families we support (BERT, DistilBERT, XLM-RoBERTa): they
//! are the same post-LayerNorm transformer with different names and small differences
//! (token types, position offsets, head shape), captured in [`config::Family`] and
//! [`names`].

pub mod blas;
pub mod config;
pub mod kernels;
pub mod layers;
pub mod model;
pub mod names;
pub mod params;

pub use config::{Activation, EncoderConfig, Family};
pub use model::{Classifier, ForwardCtx, Pooling};
pub use params::ParamStore;

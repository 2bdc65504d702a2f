//! Progress reporting and cancellation for long jobs.
//!
//! The engine never prints. Long jobs take an [`Observer`] and send it [`Event`]s; the CLI
//! renders them with indicatif, the app forwards them over a Tauri channel, tests collect
//! them in a `Vec`. Jobs check a [`CancelToken`] at least once per batch.

use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Something a long job reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A plain message about what is happening ("using CPU", "caching embeddings").
    Note {
        /// The message.
        message: String,
    },
    /// A phase began; `total` is the number of units (steps, bytes, texts) if known.
    Phase {
        /// Short name of the phase: "tokenize", "embed", "train", "download".
        name: String,
        /// How many units it has, when known.
        total: Option<u64>,
    },
    /// Units of the current phase done so far.
    Advance {
        /// Units done.
        done: u64,
        /// Units in all, when known.
        total: Option<u64>,
    },
    /// One optimizer step finished.
    Step(StepInfo),
    /// One epoch finished and was evaluated on the validation split.
    Epoch(EpochInfo),
}

/// What one training step reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepInfo {
    /// 1-based step number over the whole run.
    pub step: usize,
    /// Total steps planned.
    pub total_steps: usize,
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean loss of this step's batch.
    pub loss: f32,
    /// Learning rate used for this step.
    pub lr: f64,
    /// Estimated seconds left, from the mean step time so far.
    pub eta_secs: f64,
    /// Seconds since training began.
    pub elapsed_secs: f64,
}

/// What one finished epoch reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochInfo {
    /// 1-based epoch.
    pub epoch: usize,
    /// Epochs planned.
    pub epochs: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f32,
    /// Validation loss.
    pub val_loss: f32,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Validation macro-F1: the early-stopping criterion.
    pub val_macro_f1: f64,
    /// Whether this epoch's weights are the best so far (and so kept).
    pub best: bool,
}

/// Receives events from a long job.
pub trait Observer {
    /// Called for every event, on the job's own thread. Keep it cheap.
    fn on_event(&mut self, event: &Event);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn on_event(&mut self, _event: &Event) {}
}

impl Observer for Vec<Event> {
    fn on_event(&mut self, event: &Event) {
        self.push(event.clone());
    }
}

impl<F: FnMut(&Event)> Observer for F {
    fn on_event(&mut self, event: &Event) {
        self(event)
    }
}

/// Shared flag that asks a running job to stop. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Cancelled)` once cancelled: use with `?` at every check point.
    pub fn check(&self) -> crate::Result<()> {
        if self.is_cancelled() {
            Err(crate::StudioError::Cancelled)
        } else {
            Ok(())
        }
    }
}

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
    /// A plain message about what is happening ("using CPU", "stopping early").
    Note {
        /// What it is about: a stable code a front end words in its own language.
        code: NoteCode,
        /// The values a front end words it with ("train" → "180").
        args: Vec<(&'static str, String)>,
        /// The English sentence (what the CLI prints).
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
    /// Validation loss has risen for [`OVERFIT_RISES`] evaluations in a row while the
    /// training loss fell: the model has begun to learn its training texts by heart.
    /// Sent once per run, right after the epoch that showed it.
    Overfitting(Overfitting),
}

impl Event {
    /// A [`Event::Note`].
    pub fn note(code: NoteCode, message: String, args: Vec<(&'static str, String)>) -> Self {
        Self::Note {
            code,
            args,
            message,
        }
    }
}

/// What a [`Event::Note`] is about. Why codes: the app words each note in the user's
/// language and leaves out the ones meant for a terminal (parameter dumps, study rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NoteCode {
    /// Which device trains and why (args: `gpu`, a [`crate::device::GpuStatus`] code).
    Device,
    /// How the base model pools its tokens.
    Pooling,
    /// The training plan: method and settings (args: `train`, `validation` texts).
    Plan,
    /// Where the classifier head starts (args: `start`: new, continued, newLabels).
    HeadStart,
    /// Training stopped before its last epoch (args: `epoch`, `patience`).
    StoppedEarly,
    /// A download fell back to `pytorch_model.bin`.
    WeightsFromBin,
    /// Every file of a download came from one commit (args: `commit`).
    Commit,
    /// The hub did not answer; the model comes from PyPI instead.
    HubFallback,
    /// A downloaded package is being unpacked.
    Unpacking,
    /// One point of a study (a learning curve, a transfer run) is done.
    StudyPoint,
}

impl NoteCode {
    /// The code as the app's message keys spell it (`note.<code>`), as serde writes it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Pooling => "pooling",
            Self::Plan => "plan",
            Self::HeadStart => "headStart",
            Self::StoppedEarly => "stoppedEarly",
            Self::WeightsFromBin => "weightsFromBin",
            Self::Commit => "commit",
            Self::HubFallback => "hubFallback",
            Self::Unpacking => "unpacking",
            Self::StudyPoint => "studyPoint",
        }
    }
}

/// Evaluations in a row with validation loss up and training loss down that count as
/// overfitting. One can be noise; two in a row rarely are.
pub const OVERFIT_RISES: usize = 2;

/// Where a run began to overfit, and which weights it keeps.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Overfitting {
    /// The epoch with the lowest validation loss before it rose.
    pub turned_at: usize,
    /// The epoch whose weights early stopping keeps (best validation macro-F1 so far).
    pub kept: usize,
}

impl Overfitting {
    /// Finds overfitting in a run's history: the first [`OVERFIT_RISES`] evaluations in a
    /// row where validation loss rose and training loss fell.
    pub fn detect(history: &[EpochInfo]) -> Option<Self> {
        let mut rises = 0;
        for i in 1..history.len() {
            let (a, b) = (&history[i - 1], &history[i]);
            let finite = [a.val_loss, b.val_loss, a.train_loss, b.train_loss]
                .iter()
                .all(|x| x.is_finite());
            if finite && b.val_loss > a.val_loss && b.train_loss < a.train_loss {
                rises += 1;
                if rises >= OVERFIT_RISES {
                    let kept = history[..=i]
                        .iter()
                        .rev()
                        .find(|h| h.best)
                        .map_or(history[0].epoch, |h| h.epoch);
                    return Some(Self {
                        turned_at: history[i - rises].epoch,
                        kept,
                    });
                }
            } else {
                rises = 0;
            }
        }
        None
    }

    /// The plain-words message (English; the app has its own per language).
    pub fn message(&self) -> String {
        format!(
            "the model has started to overfit: since epoch {} it fits its training texts better and the validation texts worse. Early stopping keeps the weights of epoch {}, the best on validation, so nothing is lost; more labelled texts would help more than more epochs",
            self.turned_at, self.kept
        )
    }
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

#[cfg(test)]
mod overfit_tests {
    use super::*;

    fn epoch(epoch: usize, train_loss: f32, val_loss: f32, best: bool) -> EpochInfo {
        EpochInfo {
            epoch,
            epochs: 10,
            train_loss,
            val_loss,
            val_accuracy: 0.0,
            val_macro_f1: 0.0,
            best,
        }
    }

    /// The app's message keys are the codes: `code()` spells each as serde does.
    #[test]
    fn note_codes_are_spelled_as_serialized() {
        use NoteCode::*;
        for c in [
            Device,
            Pooling,
            Plan,
            HeadStart,
            StoppedEarly,
            WeightsFromBin,
            Commit,
            HubFallback,
            Unpacking,
            StudyPoint,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.code());
        }
    }

    #[test]
    fn two_rises_of_validation_loss_while_training_loss_falls_is_overfitting() {
        let h = vec![
            epoch(1, 0.7, 0.6, true),
            epoch(2, 0.5, 0.45, true),
            epoch(3, 0.4, 0.47, false),
            epoch(4, 0.3, 0.52, false),
        ];
        assert_eq!(
            Overfitting::detect(&h),
            Some(Overfitting {
                turned_at: 2,
                kept: 2
            })
        );
        // One rise is not enough; nor a rise while training loss rises too.
        assert_eq!(Overfitting::detect(&h[..3]), None);
        let both_up = vec![
            epoch(1, 0.7, 0.6, true),
            epoch(2, 0.8, 0.7, false),
            epoch(3, 0.9, 0.8, false),
        ];
        assert_eq!(Overfitting::detect(&both_up), None);
    }
}

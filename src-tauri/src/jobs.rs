//! Progress of long jobs, forwarded to the UI over a Tauri channel at most ~10 times a
//! second (notes, phases and epochs always go through; steps and advances are thinned).

use crate::dto::OverfittingDto;
use serde::Serialize;
use std::time::{Duration, Instant};
use studio_core::charts::{loss_chart_svg, validation_chart_svg, ChartStyle};
use studio_core::progress::{EpochInfo, Event, Observer};
use tauri::ipc::Channel;

/// The most frequent updates the UI gets.
const MIN_GAP: Duration = Duration::from_millis(100);
/// How often the charts are redrawn while steps arrive.
const CHART_GAP: Duration = Duration::from_millis(1000);

/// One training step.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StepUpdate {
    /// 1-based step.
    pub step: u32,
    /// Steps planned.
    pub total_steps: u32,
    /// 1-based epoch.
    pub epoch: u32,
    /// Loss of this step.
    pub loss: f32,
    /// Seconds left, estimated.
    pub eta_secs: f64,
    /// Seconds so far.
    pub elapsed_secs: f64,
}

/// One finished epoch.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EpochUpdate {
    /// 1-based epoch.
    pub epoch: u32,
    /// Epochs planned (early stopping may end sooner).
    pub epochs: u32,
    /// Training loss.
    pub train_loss: f32,
    /// Validation loss.
    pub val_loss: f32,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Validation macro-F1.
    pub val_macro_f1: f64,
    /// Whether these weights are the best so far.
    pub best: bool,
}

/// The engine's charts, drawn as SVG.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Charts {
    /// Training loss per step (and validation loss per epoch).
    pub loss_svg: String,
    /// Validation accuracy and macro-F1 per epoch.
    pub validation_svg: String,
}

/// The phases of the engine's long jobs; each has English and Chinese text in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum PhaseName {
    /// Tokenizing the texts.
    Tokenize,
    /// Encoding the texts with the frozen model.
    Embed,
    /// Few-shot: learning from pairs of texts.
    Contrastive,
    /// Training the classifier.
    Train,
    /// Scoring on the test split.
    Evaluate,
    /// Predicting texts.
    Predict,
    /// Reading a file into a project.
    Import,
    /// Downloading a model.
    Download,
    /// Fitting the temperature of the confidence.
    Calibrate,
    /// Scoring by cross-validation.
    CrossValidate,
    /// A phase this build of the UI has no words for.
    Other,
}

impl PhaseName {
    /// The phase the engine names `name`.
    pub fn of(name: &str) -> Self {
        match name {
            "tokenize" => Self::Tokenize,
            "embed" => Self::Embed,
            "contrastive" => Self::Contrastive,
            "train" => Self::Train,
            "evaluate" => Self::Evaluate,
            "predict" => Self::Predict,
            "import" => Self::Import,
            "download" => Self::Download,
            "calibrate" => Self::Calibrate,
            "cross-validate" => Self::CrossValidate,
            _ => Self::Other,
        }
    }
}

/// A note of the engine, as a code and its values: the UI has the words, in English and
/// Chinese, for the codes a user should see (`note.<code>` in ui/src/lib/i18n.svelte.ts)
/// and leaves out the rest (parameter dumps, study rows).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct NoteDto {
    /// The engine's `NoteCode`, camelCase: "device", "plan", "stoppedEarly", …
    pub code: String,
    /// The values it is worded with.
    pub args: std::collections::BTreeMap<String, String>,
}

/// Something a long job reports.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "kind", content = "data", rename_all = "camelCase")]
pub enum Progress {
    /// Something worth telling the user; the UI words it from its code.
    Note(NoteDto),
    /// A phase began.
    Phase {
        /// The phase.
        name: PhaseName,
        /// Units in it, when known.
        total: Option<f64>,
    },
    /// Units of the phase done.
    Advance {
        /// Done.
        done: f64,
        /// In all, when known.
        total: Option<f64>,
    },
    /// A training step.
    Step(StepUpdate),
    /// A finished epoch.
    Epoch(EpochUpdate),
    /// Fresh charts.
    Charts(Charts),
    /// The run has begun to overfit (sent once).
    Overfitting(OverfittingDto),
}

/// Forwards engine events to a channel, thinned.
pub struct ChannelObserver {
    channel: Channel<Progress>,
    last: Option<Instant>,
    last_chart: Option<Instant>,
    losses: Vec<f32>,
    history: Vec<EpochInfo>,
    chart_style: ChartStyle,
}

impl ChannelObserver {
    /// An observer sending to `channel` (charts in English on white, see
    /// [`Self::with_chart_style`]).
    pub fn new(channel: Channel<Progress>) -> Self {
        Self {
            channel,
            last: None,
            last_chart: None,
            losses: Vec::new(),
            history: Vec::new(),
            chart_style: ChartStyle::default(),
        }
    }

    /// Draws the live charts in `style` (the UI's words and theme).
    pub fn with_chart_style(mut self, style: ChartStyle) -> Self {
        self.chart_style = style;
        self
    }

    /// Sends one update (a closed window is not an error for the job).
    pub fn send(&self, p: Progress) {
        let _ = self.channel.send(p);
    }

    fn due(last: &mut Option<Instant>, gap: Duration) -> bool {
        let now = Instant::now();
        match last {
            Some(t) if now.duration_since(*t) < gap => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    fn send_charts(&mut self) {
        self.last_chart = Some(Instant::now());
        self.send(Progress::Charts(Charts {
            loss_svg: loss_chart_svg(&self.losses, &self.history, &self.chart_style),
            validation_svg: validation_chart_svg(&self.history, &self.chart_style),
        }));
    }
}

impl Observer for ChannelObserver {
    fn on_event(&mut self, e: &Event) {
        match e {
            Event::Note { code, args, .. } => self.send(Progress::Note(NoteDto {
                code: code.code().into(),
                args: args
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            })),
            Event::Phase { name, total } => {
                self.last = None;
                self.send(Progress::Phase {
                    name: PhaseName::of(name),
                    total: total.map(|t| t as f64),
                })
            }
            Event::Advance { done, total } => {
                let last_one = total.is_some_and(|t| *done >= t);
                if Self::due(&mut self.last, MIN_GAP) || last_one {
                    self.send(Progress::Advance {
                        done: *done as f64,
                        total: total.map(|t| t as f64),
                    })
                }
            }
            Event::Step(s) => {
                self.losses.push(s.loss);
                if Self::due(&mut self.last, MIN_GAP) || s.step == s.total_steps {
                    self.send(Progress::Step(StepUpdate {
                        step: s.step as u32,
                        total_steps: s.total_steps as u32,
                        epoch: s.epoch as u32,
                        loss: s.loss,
                        eta_secs: s.eta_secs,
                        elapsed_secs: s.elapsed_secs,
                    }));
                }
                if Self::due(&mut self.last_chart, CHART_GAP) {
                    self.send_charts();
                }
            }
            Event::Epoch(ep) => {
                self.history.push(ep.clone());
                self.send(Progress::Epoch(EpochUpdate {
                    epoch: ep.epoch as u32,
                    epochs: ep.epochs as u32,
                    train_loss: ep.train_loss,
                    val_loss: ep.val_loss,
                    val_accuracy: ep.val_accuracy,
                    val_macro_f1: ep.val_macro_f1,
                    best: ep.best,
                }));
                self.send_charts();
            }
            Event::Overfitting(o) => self.send(Progress::Overfitting(o.into())),
        }
    }
}

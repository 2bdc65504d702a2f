//! What crosses the IPC boundary. These mirror studio-core's types with `specta::Type`
//! (the engine does not depend on specta) and use only number types TypeScript can hold
//! exactly (`u32`, `f64`), so the generated bindings need no BigInt.

use serde::{Deserialize, Serialize};
use studio_core::charts::ChartStyle;
use studio_core::classify::eval::Metrics;
use studio_core::project::{LabelDef, Stats, TextRow};

/// One text as the Label pane shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TextRowDto {
    /// Row number in import order.
    pub id: u32,
    /// The text.
    pub text: String,
    /// Its label, if any.
    pub label: Option<String>,
    /// "train", "validation" or "test" once labelled.
    pub split: Option<String>,
    /// The current model's prediction.
    pub predicted: Option<String>,
    /// Its probability.
    pub confidence: Option<f32>,
}

impl From<TextRow> for TextRowDto {
    fn from(r: TextRow) -> Self {
        Self {
            id: r.id as u32,
            text: r.text,
            label: r.label,
            split: r.split.map(|s| s.as_str().to_string()),
            predicted: r.predicted,
            confidence: r.confidence,
        }
    }
}

/// One label of the label set, with how many texts have it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LabelDto {
    /// Name.
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// Keyboard key.
    pub key: Option<String>,
    /// Texts with this label.
    pub count: u32,
}

impl LabelDto {
    /// From the engine's definition and count.
    pub fn new(d: LabelDef, count: u64) -> Self {
        Self {
            name: d.name,
            color: d.color,
            key: d.key,
            count: count as u32,
        }
    }
}

/// The project at a glance.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProjectOverview {
    /// The project file.
    pub path: String,
    /// Its file name without extension.
    pub name: String,
    /// Texts in all.
    pub total: u32,
    /// Texts with a label.
    pub labelled: u32,
    /// The label set in order, with counts.
    pub labels: Vec<LabelDto>,
    /// Labelled texts per split.
    pub train: u32,
    /// See `train`.
    pub validation: u32,
    /// See `train`.
    pub test: u32,
    /// Whether a model's predictions are stored.
    pub has_predictions: bool,
    /// Actions that can be undone.
    pub undoable: u32,
}

impl ProjectOverview {
    /// Builds the overview from the engine's stats and label set.
    pub fn new(path: &std::path::Path, stats: Stats, labels: Vec<(LabelDef, u64)>) -> Self {
        let split = |name: &str| {
            stats
                .per_split
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n as u32)
        };
        Self {
            path: path.to_string_lossy().into_owned(),
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            total: stats.total as u32,
            labelled: stats.labelled as u32,
            train: split("train"),
            validation: split("validation"),
            test: split("test"),
            labels: labels
                .into_iter()
                .map(|(d, n)| LabelDto::new(d, n))
                .collect(),
            has_predictions: stats.model_version.is_some(),
            undoable: stats.undoable as u32,
        }
    }
}

/// Which texts the Label pane lists.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TextFilter {
    /// "any", "unlabelled" or "labelled".
    pub status: String,
    /// Only this label (overrides `status`).
    pub label: Option<String>,
    /// Only texts containing this.
    pub search: Option<String>,
    /// Only labelled texts the model disagrees with.
    pub disagrees: bool,
}

/// A page of texts and how many match in all.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TextPage {
    /// The rows.
    pub rows: Vec<TextRowDto>,
    /// Matches in all.
    pub total: u32,
    /// Offset of the first row.
    pub offset: u32,
}

/// Precision, recall, F1 and support of one label.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ClassMetricsDto {
    /// The label.
    pub label: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Texts of this label.
    pub support: u32,
}

/// Metrics over one labelled set.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MetricsDto {
    /// Share right.
    pub accuracy: f64,
    /// Macro-F1.
    pub macro_f1: f64,
    /// Per label, in label order.
    pub per_class: Vec<ClassMetricsDto>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    /// Label order.
    pub labels: Vec<String>,
    /// Texts evaluated.
    pub n: u32,
    /// Accuracy of always answering the most common label.
    pub majority_baseline: f64,
    /// 95% interval of the accuracy (Wilson), `[low, high]`.
    pub accuracy_ci: Vec<f64>,
    /// 95% interval of the macro-F1 (bootstrap), `[low, high]`.
    pub macro_f1_ci: Vec<f64>,
    /// How well the confidence matched the accuracy, when measured from probabilities.
    pub calibration: Option<CalibrationDto>,
}

/// Calibration of a model's confidence on a labelled set.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CalibrationDto {
    /// Expected calibration error (15 bins) of the model as exported.
    pub ece: f64,
    /// The same before the temperature was applied.
    pub ece_uncalibrated: f64,
    /// The temperature folded into the classifier.
    pub temperature: f64,
    /// The reliability diagram (SVG).
    pub reliability_svg: String,
}

impl MetricsDto {
    /// `m` for the UI, its reliability diagram drawn in `style`.
    pub fn new(m: &Metrics, style: &ChartStyle) -> Self {
        Self {
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            per_class: m
                .labels
                .iter()
                .filter_map(|l| {
                    m.per_class.get(l).map(|c| ClassMetricsDto {
                        label: l.clone(),
                        precision: c.precision,
                        recall: c.recall,
                        f1: c.f1,
                        support: c.support as u32,
                    })
                })
                .collect(),
            confusion: m
                .confusion
                .iter()
                .map(|r| r.iter().map(|&c| c as u32).collect())
                .collect(),
            labels: m.labels.clone(),
            n: m.n as u32,
            majority_baseline: m.majority_baseline(),
            accuracy_ci: m.accuracy_ci.to_vec(),
            macro_f1_ci: m.macro_f1_ci.to_vec(),
            calibration: m.calibration.as_ref().map(|c| CalibrationDto {
                ece: c.ece,
                ece_uncalibrated: c.ece_uncalibrated,
                temperature: c.temperature,
                reliability_svg: c.chart_svg(style),
            }),
        }
    }
}

/// A label and its probability.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LabelProb {
    /// The label.
    pub label: String,
    /// Its probability.
    pub prob: f32,
}

/// A model's answer for one text.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PredictionDto {
    /// The most likely label.
    pub label: String,
    /// Every label's probability, in label order.
    pub probs: Vec<LabelProb>,
}

impl PredictionDto {
    /// From the engine's prediction and the label order.
    pub fn new(p: &studio_core::classify::infer::Prediction, labels: &[String]) -> Self {
        Self {
            label: p.label.clone(),
            probs: labels
                .iter()
                .zip(&p.probs)
                .map(|(l, &prob)| LabelProb {
                    label: l.clone(),
                    prob,
                })
                .collect(),
        }
    }
}

/// One word's share in a prediction.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct WordWeightDto {
    /// The word (a character for Chinese).
    pub word: String,
    /// How much the predicted label's probability falls without it (negative: it
    /// speaks against the label).
    pub weight: f32,
    /// First character, counted in Unicode code points (`Array.from(text)` indices).
    pub start: u32,
    /// One past the last character.
    pub end: u32,
}

/// A prediction and the words behind it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ExplanationDto {
    /// The prediction.
    pub prediction: PredictionDto,
    /// Every word in text order.
    pub words: Vec<WordWeightDto>,
    /// True when only the first words were weighed.
    pub truncated: bool,
}

impl ExplanationDto {
    /// From the engine's explanation and the label order.
    pub fn new(e: &studio_core::classify::explain::Explanation, labels: &[String]) -> Self {
        Self {
            prediction: PredictionDto::new(&e.prediction, labels),
            words: e
                .words
                .iter()
                .map(|w| WordWeightDto {
                    word: w.word.clone(),
                    weight: w.weight,
                    start: w.start as u32,
                    end: w.end as u32,
                })
                .collect(),
            truncated: e.truncated,
        }
    }
}

/// Where a run began to overfit.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct OverfittingDto {
    /// The epoch with the lowest validation loss before it rose.
    pub turned_at: u32,
    /// The epoch whose weights early stopping keeps.
    pub kept: u32,
}

impl From<&studio_core::progress::Overfitting> for OverfittingDto {
    fn from(o: &studio_core::progress::Overfitting) -> Self {
        Self {
            turned_at: o.turned_at as u32,
            kept: o.kept as u32,
        }
    }
}

/// How a run's classifier started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum HeadStartName {
    /// A new head on a base model.
    New,
    /// A fine-tuned classifier with the same labels, continued.
    Continued,
    /// A fine-tuned classifier's encoder with a new head (other labels).
    NewLabels,
}

impl From<studio_core::classify::train::HeadStart> for HeadStartName {
    fn from(h: studio_core::classify::train::HeadStart) -> Self {
        use studio_core::classify::train::HeadStart;
        match h {
            HeadStart::New => Self::New,
            HeadStart::Continued => Self::Continued,
            HeadStart::NewLabels => Self::NewLabels,
        }
    }
}

/// A training preset, as the UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum PresetName {
    /// Seconds to a minute: the head on frozen features.
    Quick,
    /// A full fine-tune for a few epochs.
    Balanced,
    /// A longer full fine-tune.
    Best,
}

impl From<PresetName> for studio_core::classify::train::Preset {
    fn from(p: PresetName) -> Self {
        use studio_core::classify::train::Preset;
        match p {
            PresetName::Quick => Preset::Quick,
            PresetName::Balanced => Preset::Balanced,
            PresetName::Best => Preset::Best,
        }
    }
}

impl From<studio_core::classify::train::Preset> for PresetName {
    fn from(p: studio_core::classify::train::Preset) -> Self {
        use studio_core::classify::train::Preset;
        match p {
            Preset::Quick => Self::Quick,
            Preset::Balanced => Self::Balanced,
            Preset::Best => Self::Best,
        }
    }
}

/// A training method, as the UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ModeName {
    /// Every weight.
    Full,
    /// Low-rank adapters.
    Lora,
    /// The head on frozen features.
    Head,
    /// Contrastive pairs, then the head.
    Fewshot,
}

impl From<ModeName> for studio_core::classify::train::Mode {
    fn from(m: ModeName) -> Self {
        use studio_core::classify::train::Mode;
        match m {
            ModeName::Full => Mode::Full,
            ModeName::Lora => Mode::Lora,
            ModeName::Head => Mode::Head,
            ModeName::Fewshot => Mode::Fewshot,
        }
    }
}

impl From<studio_core::classify::train::Mode> for ModeName {
    fn from(m: studio_core::classify::train::Mode) -> Self {
        use studio_core::classify::train::Mode;
        match m {
            Mode::Full => Self::Full,
            Mode::Lora => Self::Lora,
            Mode::Head => Self::Head,
            Mode::Fewshot => Self::Fewshot,
        }
    }
}

/// Why the engine chose a method, as a code the UI translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ReasonCode {
    /// The user chose the method.
    Asked,
    /// Few labels of the rarest label: few-shot training.
    FewLabels,
    /// The quick preset.
    Quick,
    /// The balanced preset.
    Balanced,
    /// The best preset.
    Best,
}

impl From<studio_core::classify::train::Reason> for ReasonCode {
    fn from(r: studio_core::classify::train::Reason) -> Self {
        use studio_core::classify::train::Reason;
        match r {
            Reason::Asked => Self::Asked,
            Reason::FewLabels => Self::FewLabels,
            Reason::Quick => Self::Quick,
            Reason::Balanced => Self::Balanced,
            Reason::Best => Self::Best,
        }
    }
}

/// Where a run ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum RunStatusName {
    /// Training now (or the app stopped while it was).
    Running,
    /// Trained, exported and evaluated.
    Finished,
    /// Stopped by an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
    /// The app stopped while it ran.
    Interrupted,
}

impl From<studio_core::ops::runs::RunStatus> for RunStatusName {
    fn from(s: studio_core::ops::runs::RunStatus) -> Self {
        use studio_core::ops::runs::RunStatus;
        match s {
            RunStatus::Running => Self::Running,
            RunStatus::Finished => Self::Finished,
            RunStatus::Failed => Self::Failed,
            RunStatus::Cancelled => Self::Cancelled,
            RunStatus::Interrupted => Self::Interrupted,
        }
    }
}

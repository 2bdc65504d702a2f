//! One error type for the whole engine.
//!
//! Every variant's message is written for the person using the app, not for us: it says
//! what was wrong and, where there is one, what to do about it. The CLI prints the
//! message as one line; the app shows it in a dialog.

use std::path::PathBuf;

/// Every [`StudioError::code`], for faces that translate them (the app's UI has a
/// sentence for each; its tests check this list).
pub const CODES: &[&str] = &[
    "io",
    "emptyData",
    "missingColumn",
    "badRow",
    "unknownFormat",
    "singleClass",
    "tooFewExamples",
    "unknownModel",
    "unsupportedModel",
    "tokenizerMismatch",
    "tokenizer",
    "download",
    "checksum",
    "diverged",
    "cancelled",
    "invalidSetting",
    "device",
    "outOfMemory",
    "notText",
    "headerOnly",
    "badFile",
    "notAProject",
    "projectTooNew",
    "unknownText",
    "unknownLabel",
    "labelNotInModel",
    "unknownRun",
    "runHasNoModel",
    "noRuns",
    "noTestTexts",
    "database",
    "tensor",
    "json",
];

/// Result alias used throughout the engine.
pub type Result<T, E = StudioError> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    // === Input data ===
    /// A file or folder could not be read, written, moved, ...
    #[error("could not {op} {path}: {error}")]
    Io {
        /// What we tried: "read", "write", "move", "create the folder", ...
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        /// Not `source`: the message already says it, and a `source` would be printed
        /// twice by error reporters that walk the chain.
        error: std::io::Error,
    },
    /// The data file exists but holds no rows.
    #[error("{path} is empty: it has no rows of data. Pick a file with one text per row.")]
    EmptyData {
        /// The empty file.
        path: PathBuf,
    },
    /// A column named by the user (or the default) is not in the file.
    #[error("{path} has no column named \"{column}\" (it has: {found}). Name the {role} column with {flag}.")]
    MissingColumn {
        /// The data file.
        path: PathBuf,
        /// The column we looked for.
        column: String,
        /// What the column is for: "text" or "label".
        role: &'static str,
        /// The CLI flag that names it.
        flag: &'static str,
        /// The columns the file does have, comma-separated.
        found: String,
    },
    /// A row of a data file could not be parsed.
    #[error("{path}, line {line}: {reason}")]
    BadRow {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong with it.
        reason: String,
    },
    /// The file's format is not one we read.
    #[error("{path}: cannot tell the format from the extension \"{ext}\"; use .csv, .tsv, .jsonl or .txt")]
    UnknownFormat {
        /// The data file.
        path: PathBuf,
        /// Its extension.
        ext: String,
    },
    /// Training data with fewer than two labels cannot train a classifier.
    #[error(
        "the data has only one label ({label}); a classifier needs examples of at least two labels"
    )]
    SingleClass {
        /// The one label present.
        label: String,
    },
    /// Too few labelled examples to train and validate.
    #[error("{what}")]
    TooFewExamples {
        /// Explanation with numbers.
        what: String,
    },

    // === Models ===
    /// A model id that is neither in the catalog, nor in the local store, nor a folder.
    #[error("unknown model \"{id}\": it is not in the catalog ({known}), not downloaded, and not a folder. Run `studio models list` to see what is available.")]
    UnknownModel {
        /// What the user asked for.
        id: String,
        /// Catalog ids, comma-separated.
        known: String,
    },
    /// A folder that is not a model we can load.
    #[error("{path} is not a model we can load: {found}. Supported: Hugging Face folders of BERT, DistilBERT or XLM-RoBERTa models with config.json, model.safetensors or pytorch_model.bin, and tokenizer.json or vocab.txt.")]
    UnsupportedModel {
        /// The folder.
        path: PathBuf,
        /// What we found there instead.
        found: String,
    },
    /// Tokenizer and model do not belong together.
    #[error("the tokenizer in {path} does not match the model: {reason}. Use the tokenizer that was published with this model.")]
    TokenizerMismatch {
        /// The model folder.
        path: PathBuf,
        /// The mismatch.
        reason: String,
    },
    /// The tokenizer library failed.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// Downloading a model failed.
    #[error("could not download {what}: {reason}")]
    Download {
        /// The model or file.
        what: String,
        /// Why.
        reason: String,
    },
    /// A downloaded file did not have the expected checksum.
    #[error("{file} does not match its published hash (got {actual}, expected {expected}): the download is corrupt or was tampered with; it was not used")]
    Checksum {
        /// The file.
        file: String,
        /// What we computed.
        actual: String,
        /// What the catalog says.
        expected: String,
    },

    // === Training ===
    /// The loss became NaN or infinite.
    #[error("the loss diverged (became {value}) at step {step}; try a lower learning rate (e.g. {suggestion:e})")]
    Diverged {
        /// The bad value, printed.
        value: String,
        /// The step it happened at.
        step: usize,
        /// A learning rate to try instead.
        suggestion: f64,
    },
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A setting the user gave is not valid.
    #[error("{0}")]
    InvalidSetting(String),
    /// The requested device is not usable.
    #[error("{0}")]
    Device(String),
    /// The device ran out of memory while training.
    #[error("the {device} ran out of memory training with batch size {batch_size} and max length {max_len}; your labels and earlier runs are unchanged. Train again with batch size {smaller_batch} (--batch-size) or max length {smaller_len} (--max-len), or close other programs that use the {device}")]
    OutOfMemory {
        /// "GPU" or "CPU", in the user's words.
        device: String,
        /// The batch size that ran out.
        batch_size: usize,
        /// The max length that ran out.
        max_len: usize,
        /// A batch size to try instead.
        smaller_batch: usize,
        /// A max length to try instead.
        smaller_len: usize,
    },

    // === Projects and import ===
    /// A file handed to the importer is not text (binary data, a zip, an image).
    #[error("{path} does not look like a text file: {reason}. If it is a spreadsheet, save it as .xlsx or .csv; if it is text in an unusual encoding, name it with --encoding NAME.")]
    NotText {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// A table with a header row and nothing under it.
    #[error("{path} has a header row ({columns}) but no data rows under it; add at least one row of data")]
    HeaderOnly {
        /// The file.
        path: PathBuf,
        /// The header's column names, comma-separated.
        columns: String,
    },
    /// A file whose overall structure we cannot read (not one bad row: the whole file).
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A file that is not a Sentiment Studio project.
    #[error("{path} is not a Sentiment Studio project ({reason}); create one with `studio project new {path}` or pick the right file")]
    NotAProject {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// A project written by a newer version of the app.
    #[error("{path} was written by a newer Sentiment Studio (project schema {found}; this one reads up to {supported}); update Sentiment Studio to open it")]
    ProjectTooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest schema this build knows.
        supported: i64,
    },
    /// A text id that is not in the project.
    #[error("there is no text with id \"{id}\" in this project; {hint}")]
    UnknownText {
        /// What the user gave.
        id: String,
        /// What ids look like in this project.
        hint: String,
    },
    /// A label that is not in the project's label set.
    #[error("\"{label}\" is not one of the project's labels ({known}); use one of those, or change the label set with `studio project labels <project> --set a,b,...`")]
    UnknownLabel {
        /// What the user gave.
        label: String,
        /// The label set, comma-separated (or "none yet").
        known: String,
    },
    /// A labelled file holds a label the model was not trained on.
    #[error("{path}: label \"{label}\" is not one the model knows ({known}); evaluate with data labelled with the model's labels")]
    LabelNotInModel {
        /// The data file.
        path: PathBuf,
        /// The label found.
        label: String,
        /// The model's labels, comma-separated.
        known: String,
    },
    /// A run id that is not in the project.
    #[error(
        "there is no run {run} in this project; list the runs with `studio project runs <project>`"
    )]
    UnknownRun {
        /// What the user asked for.
        run: i64,
    },
    /// A run without a model to use (it failed, was cancelled, or its folder is gone).
    #[error("run {run} has no model ({status}); train again")]
    RunHasNoModel {
        /// The run.
        run: i64,
        /// Its status, or what is missing.
        status: String,
    },
    /// The project has no finished run to use.
    #[error("this project has no trained model yet; train one first (`studio train --project <project>` or the Train pane)")]
    NoRuns,
    /// Evaluating a run needs labelled texts in the project's test split.
    #[error("no labelled texts are held out for testing yet; label more texts (about one in ten goes to the test split)")]
    NoTestTexts,
    /// The project database failed (disk full, file locked or damaged).
    #[error("the project database failed: {0}. If another program has the project open, close it and retry; if the disk is full, free space; if the file is damaged, restore a copy")]
    Database(#[from] rusqlite::Error),

    // === Everything else ===
    /// A tensor operation failed (a bug or out of memory, not a user error).
    #[error("tensor error: {}", .0.to_string().lines().next().unwrap_or_default())]
    Tensor(#[from] candle_core::Error),
    /// A JSON file could not be parsed.
    #[error("{path}: invalid JSON: {error}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        error: serde_json::Error,
    },
}

impl StudioError {
    /// Builds an [`StudioError::Io`]: what we tried (`op`, e.g. "write"), on which path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            error,
        }
    }

    /// Turns a backend out-of-memory failure into [`StudioError::OutOfMemory`], which says
    /// what to try; every other error passes through unchanged.
    ///
    /// Why by the message: candle reports CUDA's `CUDA_ERROR_OUT_OF_MEMORY`, cuBLAS's
    /// allocation failure and Metal's as text inside its own error, with no kind to match.
    pub fn explain_out_of_memory(
        self,
        device_kind: &str,
        batch_size: usize,
        max_len: usize,
    ) -> Self {
        let Self::Tensor(e) = &self else {
            return self;
        };
        let text = e.to_string().to_ascii_lowercase();
        let oom = [
            "out_of_memory",
            "out of memory",
            "alloc_failed",
            "failed to allocate",
        ]
        .iter()
        .any(|needle| text.contains(needle));
        if !oom {
            return self;
        }
        Self::OutOfMemory {
            device: if device_kind == "cpu" { "CPU" } else { "GPU" }.to_string(),
            batch_size,
            max_len,
            smaller_batch: (batch_size / 2).max(1),
            smaller_len: (max_len / 2).max(16),
        }
    }

    /// True for errors caused by what the user gave us (bad file, bad setting), as opposed
    /// to failures at run time. The CLI maps this to exit code 2.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::EmptyData { .. }
                | Self::MissingColumn { .. }
                | Self::BadRow { .. }
                | Self::UnknownFormat { .. }
                | Self::SingleClass { .. }
                | Self::TooFewExamples { .. }
                | Self::UnknownModel { .. }
                | Self::UnsupportedModel { .. }
                | Self::TokenizerMismatch { .. }
                | Self::InvalidSetting(_)
                | Self::Io { .. }
                | Self::NotText { .. }
                | Self::HeaderOnly { .. }
                | Self::BadFile { .. }
                | Self::NotAProject { .. }
                | Self::ProjectTooNew { .. }
                | Self::UnknownText { .. }
                | Self::UnknownLabel { .. }
                | Self::LabelNotInModel { .. }
                | Self::UnknownRun { .. }
                | Self::RunHasNoModel { .. }
                | Self::NoRuns
                | Self::NoTestTexts
        )
    }

    /// The values the message is built from, by name, so a face can render the error
    /// in the user's language from [`StudioError::code`] and these.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let p = |p: &PathBuf| p.display().to_string();
        match self {
            Self::Io { op, path, error } => vec![
                ("op", op.to_string()),
                ("path", p(path)),
                ("reason", error.to_string()),
            ],
            Self::EmptyData { path } => vec![("path", p(path))],
            Self::MissingColumn {
                path,
                column,
                role,
                flag,
                found,
            } => vec![
                ("path", p(path)),
                ("column", column.clone()),
                ("role", role.to_string()),
                ("flag", flag.to_string()),
                ("found", found.clone()),
            ],
            Self::BadRow { path, line, reason } => vec![
                ("path", p(path)),
                ("line", line.to_string()),
                ("reason", reason.clone()),
            ],
            Self::UnknownFormat { path, ext } => vec![("path", p(path)), ("ext", ext.clone())],
            Self::SingleClass { label } => vec![("label", label.clone())],
            Self::TooFewExamples { what } => vec![("what", what.clone())],
            Self::UnknownModel { id, known } => vec![("id", id.clone()), ("known", known.clone())],
            Self::UnsupportedModel { path, found } => {
                vec![("path", p(path)), ("found", found.clone())]
            }
            Self::TokenizerMismatch { path, reason } => {
                vec![("path", p(path)), ("reason", reason.clone())]
            }
            Self::Tokenizer(m) | Self::InvalidSetting(m) | Self::Device(m) => {
                vec![("message", m.clone())]
            }
            Self::OutOfMemory {
                device,
                batch_size,
                max_len,
                smaller_batch,
                smaller_len,
            } => vec![
                ("device", device.clone()),
                ("batchSize", batch_size.to_string()),
                ("maxLen", max_len.to_string()),
                ("smallerBatch", smaller_batch.to_string()),
                ("smallerLen", smaller_len.to_string()),
            ],
            Self::Download { what, reason } => {
                vec![("what", what.clone()), ("reason", reason.clone())]
            }
            Self::Checksum {
                file,
                actual,
                expected,
            } => vec![
                ("file", file.clone()),
                ("actual", actual.clone()),
                ("expected", expected.clone()),
            ],
            Self::Diverged {
                value,
                step,
                suggestion,
            } => vec![
                ("value", value.clone()),
                ("step", step.to_string()),
                ("suggestion", format!("{suggestion:e}")),
            ],
            Self::Cancelled | Self::NoRuns | Self::NoTestTexts => Vec::new(),
            Self::NotText { path, reason } | Self::BadFile { path, reason } => {
                vec![("path", p(path)), ("reason", reason.clone())]
            }
            Self::HeaderOnly { path, columns } => {
                vec![("path", p(path)), ("columns", columns.clone())]
            }
            Self::NotAProject { path, reason } => {
                vec![("path", p(path)), ("reason", reason.clone())]
            }
            Self::ProjectTooNew {
                path,
                found,
                supported,
            } => vec![
                ("path", p(path)),
                ("found", found.to_string()),
                ("supported", supported.to_string()),
            ],
            Self::UnknownText { id, hint } => vec![("id", id.clone()), ("hint", hint.clone())],
            Self::UnknownLabel { label, known } => {
                vec![("label", label.clone()), ("known", known.clone())]
            }
            Self::LabelNotInModel { path, label, known } => vec![
                ("path", p(path)),
                ("label", label.clone()),
                ("known", known.clone()),
            ],
            Self::UnknownRun { run } => vec![("run", run.to_string())],
            Self::RunHasNoModel { run, status } => {
                vec![("run", run.to_string()), ("status", status.clone())]
            }
            Self::Database(e) => vec![("reason", e.to_string())],
            Self::Tensor(e) => vec![(
                "reason",
                e.to_string().lines().next().unwrap_or_default().to_string(),
            )],
            Self::Json { path, error } => {
                vec![("path", p(path)), ("reason", error.to_string())]
            }
        }
    }

    /// A stable code for this kind of error, the same in every release: the app picks
    /// its translated message by it, scripts may branch on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::EmptyData { .. } => "emptyData",
            Self::MissingColumn { .. } => "missingColumn",
            Self::BadRow { .. } => "badRow",
            Self::UnknownFormat { .. } => "unknownFormat",
            Self::SingleClass { .. } => "singleClass",
            Self::TooFewExamples { .. } => "tooFewExamples",
            Self::UnknownModel { .. } => "unknownModel",
            Self::UnsupportedModel { .. } => "unsupportedModel",
            Self::TokenizerMismatch { .. } => "tokenizerMismatch",
            Self::Tokenizer(_) => "tokenizer",
            Self::Download { .. } => "download",
            Self::Checksum { .. } => "checksum",
            Self::Diverged { .. } => "diverged",
            Self::Cancelled => "cancelled",
            Self::InvalidSetting(_) => "invalidSetting",
            Self::Device(_) => "device",
            Self::OutOfMemory { .. } => "outOfMemory",
            Self::NotText { .. } => "notText",
            Self::HeaderOnly { .. } => "headerOnly",
            Self::BadFile { .. } => "badFile",
            Self::NotAProject { .. } => "notAProject",
            Self::ProjectTooNew { .. } => "projectTooNew",
            Self::UnknownText { .. } => "unknownText",
            Self::UnknownLabel { .. } => "unknownLabel",
            Self::LabelNotInModel { .. } => "labelNotInModel",
            Self::UnknownRun { .. } => "unknownRun",
            Self::RunHasNoModel { .. } => "runHasNoModel",
            Self::NoRuns => "noRuns",
            Self::NoTestTexts => "noTestTexts",
            Self::Database(_) => "database",
            Self::Tensor(_) => "tensor",
            Self::Json { .. } => "json",
        }
    }
}

/// Shorthand for turning a tokenizers error into ours.
pub(crate) fn tok_err(e: impl std::fmt::Display) -> StudioError {
    StudioError::Tokenizer(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every kind (a new variant without a case here fails to compile the
    /// match in `code`, and then this list).
    fn one_of_each() -> Vec<StudioError> {
        let p = PathBuf::from("f.csv");
        let io = || std::io::Error::other("x");
        vec![
            StudioError::io("read", &p, io()),
            StudioError::EmptyData { path: p.clone() },
            StudioError::MissingColumn {
                path: p.clone(),
                column: "text".into(),
                role: "text",
                flag: "--text-col",
                found: "a".into(),
            },
            StudioError::BadRow {
                path: p.clone(),
                line: 1,
                reason: "r".into(),
            },
            StudioError::UnknownFormat {
                path: p.clone(),
                ext: "doc".into(),
            },
            StudioError::SingleClass { label: "a".into() },
            StudioError::TooFewExamples { what: "w".into() },
            StudioError::UnknownModel {
                id: "m".into(),
                known: "k".into(),
            },
            StudioError::UnsupportedModel {
                path: p.clone(),
                found: "f".into(),
            },
            StudioError::TokenizerMismatch {
                path: p.clone(),
                reason: "r".into(),
            },
            StudioError::Tokenizer("t".into()),
            StudioError::Download {
                what: "w".into(),
                reason: "r".into(),
            },
            StudioError::Checksum {
                file: "f".into(),
                actual: "a".into(),
                expected: "e".into(),
            },
            StudioError::Diverged {
                value: "NaN".into(),
                step: 3,
                suggestion: 2e-5,
            },
            StudioError::Cancelled,
            StudioError::InvalidSetting("s".into()),
            StudioError::Device("d".into()),
            StudioError::OutOfMemory {
                device: "GPU".into(),
                batch_size: 32,
                max_len: 256,
                smaller_batch: 16,
                smaller_len: 128,
            },
            StudioError::NotText {
                path: p.clone(),
                reason: "r".into(),
            },
            StudioError::HeaderOnly {
                path: p.clone(),
                columns: "c".into(),
            },
            StudioError::BadFile {
                path: p.clone(),
                reason: "r".into(),
            },
            StudioError::NotAProject {
                path: p.clone(),
                reason: "r".into(),
            },
            StudioError::ProjectTooNew {
                path: p.clone(),
                found: 9,
                supported: 3,
            },
            StudioError::UnknownText {
                id: "7".into(),
                hint: "h".into(),
            },
            StudioError::UnknownLabel {
                label: "l".into(),
                known: "k".into(),
            },
            StudioError::LabelNotInModel {
                path: p.clone(),
                label: "l".into(),
                known: "k".into(),
            },
            StudioError::UnknownRun { run: 4 },
            StudioError::RunHasNoModel {
                run: 4,
                status: "s".into(),
            },
            StudioError::NoRuns,
            StudioError::NoTestTexts,
            StudioError::Database(rusqlite::Error::InvalidQuery),
            StudioError::Tensor(candle_core::Error::Msg("m".into())),
            StudioError::Json {
                path: p,
                error: serde_json::from_str::<serde_json::Value>("{").unwrap_err(),
            },
        ]
    }

    #[test]
    fn every_error_has_a_distinct_listed_code_and_the_params_its_message_uses() {
        let all = one_of_each();
        let codes: Vec<&str> = all.iter().map(StudioError::code).collect();
        assert_eq!(codes, CODES, "CODES must list every code, in variant order");
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "codes must be distinct");
        // An I/O error names the operation and the path, in the message and the params.
        let e = &all[0];
        assert_eq!(e.to_string(), "could not read f.csv: x");
        assert_eq!(
            e.params(),
            vec![
                ("op", "read".to_string()),
                ("path", "f.csv".to_string()),
                ("reason", "x".to_string())
            ]
        );
    }

    #[test]
    fn out_of_memory_from_the_backend_says_what_to_try() {
        let cuda = StudioError::Tensor(candle_core::Error::Msg(
            "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")".into(),
        ))
        .explain_out_of_memory("cuda", 32, 256);
        assert_eq!(cuda.code(), "outOfMemory");
        let text = cuda.to_string();
        for part in [
            "GPU ran out of memory",
            "batch size 32",
            "max length 256",
            "batch size 16",
            "max length 128",
            "--batch-size",
            "--max-len",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
        let tiny =
            StudioError::Tensor(candle_core::Error::Msg("CUBLAS_STATUS_ALLOC_FAILED".into()))
                .explain_out_of_memory("cuda", 1, 16);
        assert!(
            tiny.to_string()
                .contains("batch size 1 (--batch-size) or max length 16"),
            "{tiny}"
        );
        let other = StudioError::Tensor(candle_core::Error::Msg("shape mismatch".into()))
            .explain_out_of_memory("cuda", 32, 256);
        assert_eq!(other.code(), "tensor");
        let not_tensor = StudioError::Cancelled.explain_out_of_memory("cuda", 32, 256);
        assert_eq!(not_tensor.code(), "cancelled");
    }
}

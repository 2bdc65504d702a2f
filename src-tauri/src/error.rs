//! The one error type every command returns: a kind the UI can branch on and a message
//! written for the person using the app (the engine's messages already are).

use serde::Serialize;
use std::collections::BTreeMap;
use studio_core::StudioError;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// Something the user gave (a file, a setting) is not usable.
    Input,
    /// A failure while running (disk, memory, a bug).
    Runtime,
    /// The user cancelled.
    Cancelled,
    /// The command needs an open project and there is none.
    NoProject,
}

/// A command's failure.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppError {
    /// Broad kind.
    pub kind: ErrorKind,
    /// A stable code (the engine's `StudioError::code`, or the shell's own: "noProject",
    /// "input", "runtime"): the UI picks its translated message by it.
    pub code: String,
    /// The values the message is built from, by name (paths, labels, numbers).
    pub params: BTreeMap<String, String>,
    /// One sentence in English: what was wrong and what to do (the UI's fallback).
    pub message: String,
}

impl AppError {
    /// A bad input or setting.
    pub fn input(message: impl Into<String>) -> Self {
        Self::shell(ErrorKind::Input, "input", message.into())
    }

    fn shell(kind: ErrorKind, code: &str, message: String) -> Self {
        Self {
            kind,
            code: code.into(),
            params: BTreeMap::from([("message".to_string(), message.clone())]),
            message,
        }
    }

    /// A failure at run time.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::shell(ErrorKind::Runtime, "runtime", message.into())
    }

    /// No project is open.
    pub fn no_project() -> Self {
        Self::shell(
            ErrorKind::NoProject,
            "noProject",
            "no project is open; create or open one on the Start page".into(),
        )
    }
}

impl From<StudioError> for AppError {
    fn from(e: StudioError) -> Self {
        let kind = match &e {
            StudioError::Cancelled => ErrorKind::Cancelled,
            e if e.is_user_error() => ErrorKind::Input,
            _ => ErrorKind::Runtime,
        };
        Self {
            kind,
            code: e.code().into(),
            params: e
                .params()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            message: e.to_string(),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        Self::runtime(e.to_string())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Result alias of every command.
pub type AppResult<T> = Result<T, AppError>;

//! The one error type every command returns: a kind the UI can branch on and a message
//! written for the person using the app (the engine's messages already are).

use serde::Serialize;
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
    /// One sentence: what was wrong and what to do.
    pub message: String,
}

impl AppError {
    /// A bad input or setting.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Input,
            message: message.into(),
        }
    }

    /// A failure at run time.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Runtime,
            message: message.into(),
        }
    }

    /// No project is open.
    pub fn no_project() -> Self {
        Self {
            kind: ErrorKind::NoProject,
            message: "no project is open; create or open one on the Start page".into(),
        }
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

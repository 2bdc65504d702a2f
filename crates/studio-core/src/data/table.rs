//! A small reader for delimited and line-oriented files, UTF-8 only.
//!
//! Good enough for the CLI's `--data` and `--file`. The project importer handles other
//! encodings, spreadsheets and files too large to hold in memory.

use crate::{Result, StudioError};
use std::path::Path;

/// File formats the table reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, header row first.
    Csv,
    /// Tab-separated, header row first.
    Tsv,
    /// One JSON object per line.
    Jsonl,
    /// One text per line, no header.
    Txt,
}

impl Format {
    /// The format named by a file's extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Self::Csv),
            "tsv" | "tab" => Ok(Self::Tsv),
            "jsonl" | "ndjson" => Ok(Self::Jsonl),
            "txt" | "text" => Ok(Self::Txt),
            _ => Err(StudioError::UnknownFormat {
                path: path.to_path_buf(),
                ext,
            }),
        }
    }
}

/// A file read into named columns of strings.
#[derive(Debug, Clone)]
pub struct Table {
    /// The format it was read as.
    pub format: Format,
    /// Column names (for TXT, one column named "text").
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
    /// `lines[i]` is the 1-based line where `rows[i]` starts, for error messages.
    pub lines: Vec<u64>,
    path: std::path::PathBuf,
}

impl Table {
    /// Index of the column `name`, or an error listing the columns there are.
    pub fn column(&self, name: &str, role: &'static str, flag: &'static str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .or_else(|| {
                self.columns
                    .iter()
                    .position(|c| c.trim().eq_ignore_ascii_case(name.trim()))
            })
            .ok_or_else(|| StudioError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                role,
                flag,
                found: self.columns.join(", "),
            })
    }
}

/// Reads `path` as a [`Table`], choosing the format from its extension.
pub fn read_table(path: &Path) -> Result<Table> {
    let format = Format::from_path(path)?;
    let bytes = std::fs::read(path).map_err(|e| StudioError::io(path, e))?;
    let text = decode_utf8(path, &bytes)?;
    if text.trim().is_empty() {
        return Err(StudioError::EmptyData {
            path: path.to_path_buf(),
        });
    }
    let mut table = match format {
        Format::Csv => read_delimited(path, text, b',')?,
        Format::Tsv => read_delimited(path, text, b'\t')?,
        Format::Jsonl => read_jsonl(path, text)?,
        Format::Txt => read_txt(path, text),
    };
    table.format = format;
    if table.rows.is_empty() {
        return Err(StudioError::EmptyData {
            path: path.to_path_buf(),
        });
    }
    Ok(table)
}

fn decode_utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        StudioError::BadRow {
            path: path.to_path_buf(),
            line,
            reason: "the file is not UTF-8 text; import it into a project (`studio project import`), which detects the encoding, or save it as UTF-8".into(),
        }
    })
}

fn read_delimited(path: &Path, text: &str, delimiter: u8) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        lines.push(record.position().map_or(0, |p| p.line()));
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Table {
        format: Format::Csv,
        columns,
        rows,
        lines,
        path: path.to_path_buf(),
    })
}

fn csv_error(path: &Path, e: csv::Error) -> StudioError {
    let line = e.position().map_or(0, |p| p.line());
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "this row has {len} fields but the header has {expected_len}; check for a missing or extra delimiter or an unquoted comma"
        ),
        _ => e.to_string(),
    };
    StudioError::BadRow {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

fn read_jsonl(path: &Path, text: &str) -> Result<Table> {
    let mut columns: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| StudioError::BadRow {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                reason: format!("not valid JSON: {e}"),
            })?;
        let serde_json::Value::Object(map) = value else {
            return Err(StudioError::BadRow {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                reason: "each line must be a JSON object like {\"text\": ..., \"label\": ...}"
                    .into(),
            });
        };
        for k in map.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
        objects.push(map);
        lines.push(i as u64 + 1);
    }
    let rows = objects
        .into_iter()
        .map(|map| {
            columns
                .iter()
                .map(|c| match map.get(c) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(Table {
        format: Format::Jsonl,
        columns,
        rows,
        lines,
        path: path.to_path_buf(),
    })
}

fn read_txt(path: &Path, text: &str) -> Table {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        rows.push(vec![line.to_string()]);
        lines.push(i as u64 + 1);
    }
    Table {
        format: Format::Txt,
        columns: vec!["text".into()],
        rows,
        lines,
        path: path.to_path_buf(),
    }
}

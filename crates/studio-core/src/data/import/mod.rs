//! The project importer: any text table a person is likely to have, read as a stream.
//!
//! Formats: CSV, TSV (and other delimiters, sniffed), JSON (an array of objects), JSONL,
//! TXT (one text a line) and XLSX. Text files are decoded from whatever encoding they
//! are in (see [`encoding`]); the delimiter and whether the first row is a header are
//! sniffed from the first 64 KiB. Nothing is read whole: [`Importer::stream`] hands
//! rows to a callback one at a time, reports progress in bytes and stops when
//! cancelled, so a million-row file costs the memory of one row.
//!
//! The flow the app and the CLI follow:
//! 1. [`Importer::open`] sniffs the file and gives a [`Layout`] (format, encoding,
//!    delimiter, header, column names);
//! 2. [`Importer::preview`] shows the first rows so the person can map columns;
//! 3. [`ColumnMapping`] names the text column (and optionally label and id columns);
//! 4. [`Importer::stream`] delivers every row, or a [`Rejected`] row with its file,
//!    line and reason. The project store (`crate::project`) does the rest.

mod delimited;
pub mod encoding;
mod json;
mod sniff;
mod xlsx;

pub use encoding::{encoding_for_name, DetectedEncoding, EncodingSource};

use crate::progress::{CancelToken, Event, Observer};
use crate::{Result, StudioError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest row we accept, in bytes (after decoding). Longer rows are rejected with
/// their line number; nobody labels a text longer than this by hand.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// The most rows one file may hold. Far past what anyone labels, and past what the
/// encoders can read on a laptop in a day; a file beyond it is refused at the row that
/// passes it (an import keeps none of it) rather than filling the disk.
pub const MAX_IMPORT_ROWS: u64 = 5_000_000;

/// The largest file we read, in bytes (4 GiB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// How much of the start of a file is read to sniff encoding, delimiter and header.
const SAMPLE_BYTES: usize = 64 * 1024;

/// File formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// Delimited text; the delimiter is sniffed (comma, tab, semicolon or pipe).
    Csv,
    /// Tab-separated text.
    Tsv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// One text per line, no header.
    Txt,
    /// An Excel workbook (first sheet unless one is named).
    Xlsx,
}

impl ImportFormat {
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
            "json" => Ok(Self::Json),
            "jsonl" | "ndjson" => Ok(Self::Jsonl),
            "txt" | "text" => Ok(Self::Txt),
            "xlsx" | "xlsm" => Ok(Self::Xlsx),
            _ => Err(StudioError::BadFile {
                path: path.to_path_buf(),
                reason: format!(
                    "cannot tell the format from the extension \"{ext}\"; import .csv, .tsv, .json, .jsonl, .txt or .xlsx (rename the file if it is one of these)"
                ),
            }),
        }
    }

    /// Lower-case name: "csv", "xlsx", ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Json => "json",
            Self::Jsonl => "jsonl",
            Self::Txt => "txt",
            Self::Xlsx => "xlsx",
        }
    }
}

/// Choices the caller may make instead of letting the importer sniff.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The format; by default from the file's extension.
    pub format: Option<ImportFormat>,
    /// An encoding name (`gbk`, `utf-16le`, ...); `None` or `"auto"` detects it.
    pub encoding: Option<String>,
    /// The delimiter of a CSV/TSV file; sniffed by default.
    pub delimiter: Option<u8>,
    /// Whether the first row is a header; sniffed by default.
    pub has_header: Option<bool>,
    /// The worksheet of an Excel file; the first one by default.
    pub sheet: Option<String>,
}

/// Where the bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A file on disk.
    Path(&'a Path),
    /// Bytes in memory (tests, fuzzing, pasted data); `name` appears in messages and
    /// gives the format by its extension.
    Bytes {
        /// Name used in messages.
        name: &'a Path,
        /// The content.
        bytes: &'a [u8],
    },
}

impl Input<'_> {
    fn path(&self) -> &Path {
        match self {
            Input::Path(p) => p,
            Input::Bytes { name, .. } => name,
        }
    }

    fn len(&self) -> Result<u64> {
        match self {
            Input::Path(p) => std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| StudioError::io("read", *p, e)),
            Input::Bytes { bytes, .. } => Ok(bytes.len() as u64),
        }
    }

    fn reader(&self) -> Result<Box<dyn Read + '_>> {
        match self {
            Input::Path(p) => {
                let f = std::fs::File::open(p).map_err(|e| StudioError::io("open", *p, e))?;
                Ok(Box::new(f))
            }
            Input::Bytes { bytes, .. } => Ok(Box::new(*bytes)),
        }
    }

    fn sample(&self) -> Result<(Vec<u8>, bool)> {
        let mut buf = Vec::with_capacity(SAMPLE_BYTES);
        self.reader()?
            .take(SAMPLE_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| StudioError::io("read", self.path(), e))?;
        let complete = buf.len() <= SAMPLE_BYTES;
        buf.truncate(SAMPLE_BYTES);
        Ok((buf, complete))
    }
}

/// What sniffing found out about a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layout {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: ImportFormat,
    /// The encoding it is read with (none for Excel).
    pub encoding: Option<DetectedEncoding>,
    /// The delimiter of a delimited file.
    pub delimiter: Option<char>,
    /// Whether the first row is a header (JSON keys count as one).
    pub has_header: bool,
    /// Column names: from the header, the JSON keys, or "column 1", "column 2", ...
    pub columns: Vec<String>,
    /// The worksheet read, for Excel.
    pub sheet: Option<String>,
    /// Every worksheet of an Excel workbook, in order (for a sheet picker).
    pub sheets: Vec<String>,
    /// File size in bytes.
    pub size_bytes: u64,
}

impl Layout {
    /// One line for people: "CSV, UTF-8 (detected), delimiter ',', header: text, label".
    pub fn describe(&self) -> String {
        let mut parts = vec![self.format.name().to_uppercase()];
        if let Some(e) = &self.encoding {
            parts.push(e.describe());
        }
        if let Some(d) = self.delimiter {
            let d = match d {
                '\t' => "tab".to_string(),
                c => format!("'{c}'"),
            };
            parts.push(format!("delimiter {d}"));
        }
        if let Some(s) = &self.sheet {
            parts.push(format!("sheet \"{s}\""));
        }
        parts.push(if self.has_header {
            format!("header: {}", self.columns.join(", "))
        } else {
            format!("no header, columns: {}", self.columns.join(", "))
        });
        parts.join(", ")
    }
}

/// A row the importer could not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The file it came from.
    pub file: PathBuf,
    /// 1-based line (for Excel: the sheet's row number).
    pub line: u64,
    /// What was wrong, as a code a face words in its own language with `args`.
    pub code: RejectCode,
    /// The values the reason is built from, by name (numbers, ids, an encoding).
    pub args: Vec<(&'static str, String)>,
    /// What was wrong, in English words a person can act on (the CLI's message).
    pub reason: String,
}

/// Why a row was rejected. Stable: the app words each code in English and Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RejectCode {
    /// Longer than the row limit (`bytes`, `limitMib`).
    TooLong,
    /// A quote opened and never closed (`from`, `to`: the lines it swallowed).
    UnclosedQuote,
    /// Bytes not valid in the file's encoding (`encoding`).
    BadBytes,
    /// Another number of values than the header has (`found`, `expected`).
    WrongWidth,
    /// Values in cells beyond the header's columns (`width`).
    ExtraCells,
    /// A JSON value that is not an object (`found`: array, string, ...).
    NotObject,
    /// A line that is not valid JSON (`detail`).
    NotJson,
    /// The id column is empty (`column`).
    EmptyId,
    /// The id repeats one of the same file (`id`, `line`).
    RepeatedId,
    /// The id is already a text of the project (`id`, `text`).
    TakenId,
}

impl RejectCode {
    /// Every code, for the faces' tests that each has its words.
    pub const ALL: [RejectCode; 10] = [
        Self::TooLong,
        Self::UnclosedQuote,
        Self::BadBytes,
        Self::WrongWidth,
        Self::ExtraCells,
        Self::NotObject,
        Self::NotJson,
        Self::EmptyId,
        Self::RepeatedId,
        Self::TakenId,
    ];

    /// The code as the app's message keys spell it ("tooLong", ...).
    pub fn code(self) -> &'static str {
        match self {
            Self::TooLong => "tooLong",
            Self::UnclosedQuote => "unclosedQuote",
            Self::BadBytes => "badBytes",
            Self::WrongWidth => "wrongWidth",
            Self::ExtraCells => "extraCells",
            Self::NotObject => "notObject",
            Self::NotJson => "notJson",
            Self::EmptyId => "emptyId",
            Self::RepeatedId => "repeatedId",
            Self::TakenId => "takenId",
        }
    }
}

/// A reason's values, by name, as [`Rejected::args`] holds them.
pub(crate) fn reject_args<const N: usize>(
    args: [(&'static str, &dyn fmt::Display); N],
) -> Vec<(&'static str, String)> {
    args.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, line {}: {}",
            self.file.display(),
            self.line,
            self.reason
        )
    }
}

/// One row delivered by [`Importer::stream`].
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A good row: one value per column of the [`Layout`].
    Record {
        /// 1-based line (or sheet row) where the row starts.
        line: u64,
        /// Values, as many as there are columns.
        fields: Vec<String>,
    },
    /// A row that could not be read.
    Rejected(Rejected),
}

/// The first rows of a file, for the column-mapping step.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// What sniffing found.
    pub layout: Layout,
    /// The first rows: (line, values).
    pub rows: Vec<(u64, Vec<String>)>,
    /// Rejected rows among them.
    pub rejected: Vec<Rejected>,
}

/// Which columns hold the text, the label and the id. Columns are named as in the
/// [`Layout`]; a number ("2") also selects the 1-based column when no column has that name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ColumnMapping {
    /// The text column.
    pub text: String,
    /// The label column, if any.
    pub label: Option<String>,
    /// The id column, if any.
    pub id: Option<String>,
}

/// Column indices after [`ColumnMapping::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedMapping {
    /// Index of the text column.
    pub text: usize,
    /// Index of the label column.
    pub label: Option<usize>,
    /// Index of the id column.
    pub id: Option<usize>,
}

const TEXT_NAMES: &[&str] = &[
    "text", "sentence", "review", "content", "comment", "body", "message", "tweet", "document",
    "文本", "内容", "评论", "句子",
];
const LABEL_NAMES: &[&str] = &[
    "label",
    "labels",
    "sentiment",
    "class",
    "category",
    "polarity",
    "target",
    "标签",
    "类别",
    "情感",
];
const ID_NAMES: &[&str] = &["id", "text_id", "uid", "key", "编号"];

fn find_named(columns: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| {
        columns
            .iter()
            .position(|c| c.trim().to_lowercase() == n.to_lowercase())
    })
}

impl ColumnMapping {
    /// A mapping guessed from column names: a column called text/sentence/review/...
    /// (else the only column, else the column with the longest values in `rows`), a
    /// column called label/sentiment/class/..., a column called id.
    pub fn guess(columns: &[String], rows: &[(u64, Vec<String>)]) -> ColumnMapping {
        let text = find_named(columns, TEXT_NAMES).unwrap_or_else(|| {
            if columns.len() <= 1 {
                return 0;
            }
            let mut total = vec![0usize; columns.len()];
            for (_, r) in rows {
                for (i, v) in r.iter().enumerate().take(columns.len()) {
                    total[i] += v.chars().count();
                }
            }
            (0..columns.len())
                .max_by_key(|&i| (total[i], usize::MAX - i))
                .unwrap_or(0)
        });
        let label = find_named(columns, LABEL_NAMES).filter(|&i| i != text);
        let id = find_named(columns, ID_NAMES).filter(|&i| i != text && Some(i) != label);
        ColumnMapping {
            text: columns.get(text).cloned().unwrap_or_else(|| "text".into()),
            label: label.map(|i| columns[i].clone()),
            id: id.map(|i| columns[i].clone()),
        }
    }

    /// Column indices in `layout`, or an error naming the missing column and listing
    /// the columns there are.
    pub fn resolve(&self, layout: &Layout) -> Result<ResolvedMapping> {
        let find = |name: &str, role: &'static str, flag: &'static str| -> Result<usize> {
            let cols = &layout.columns;
            cols.iter()
                .position(|c| c == name)
                .or_else(|| {
                    cols.iter()
                        .position(|c| c.trim().eq_ignore_ascii_case(name.trim()))
                })
                .or_else(|| {
                    name.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|&n| n >= 1 && n <= cols.len())
                        .map(|n| n - 1)
                })
                .ok_or_else(|| StudioError::MissingColumn {
                    path: layout.path.clone(),
                    column: name.to_string(),
                    role,
                    flag,
                    found: cols.join(", "),
                })
        };
        let text = find(&self.text, "text", "--text-col")?;
        let label = match &self.label {
            Some(l) => Some(find(l, "label", "--label-col")?),
            None => None,
        };
        let id = match &self.id {
            Some(l) => Some(find(l, "id", "--id-col")?),
            None => None,
        };
        let same = |a: Option<usize>, b: Option<usize>| a.is_some() && a == b;
        if same(Some(text), label) || same(Some(text), id) || same(label, id) {
            return Err(StudioError::InvalidSetting(format!(
                "the text, label and id columns must be different columns (got text = \"{}\", label = {:?}, id = {:?})",
                self.text, self.label, self.id
            )));
        }
        Ok(ResolvedMapping { text, label, id })
    }
}

/// An opened, sniffed file, ready to preview or stream.
pub struct Importer<'a> {
    input: Input<'a>,
    layout: Layout,
    enc: Option<&'static encoding_rs::Encoding>,
    /// Sheet reading needs the same choice as sniffing made.
    header_lines: u64,
}

impl<'a> Importer<'a> {
    /// Opens and sniffs `input`: format, encoding, delimiter, header and columns.
    /// Errors for empty files, binary data and files whose structure cannot be read.
    pub fn open(input: Input<'a>, opts: &ImportOptions) -> Result<Self> {
        let path = input.path().to_path_buf();
        let format = match opts.format {
            Some(f) => f,
            None => ImportFormat::from_path(&path)?,
        };
        let size_bytes = input.len()?;
        if size_bytes > MAX_FILE_BYTES {
            return Err(StudioError::BadFile {
                path,
                reason: format!(
                    "it is {:.1} GiB, over the limit of {} GiB a file; split it into smaller files and import each, or sample the texts you want to label",
                    size_bytes as f64 / (1u64 << 30) as f64,
                    MAX_FILE_BYTES >> 30
                ),
            });
        }
        if format == ImportFormat::Xlsx {
            let (layout, header_lines) = xlsx::sniff(&input, opts, size_bytes)?;
            return Ok(Self {
                input,
                layout,
                enc: None,
                header_lines,
            });
        }
        let (sample, complete) = input.sample()?;
        if sample.starts_with(b"PK\x03\x04") {
            return Err(StudioError::NotText {
                path,
                reason: "it is a zip archive (an Excel .xlsx file is one); if it is a workbook, give it the .xlsx extension".into(),
            });
        }
        let (enc, detected) = encoding::detect(&sample, complete, opts.encoding.as_deref())?;
        let text = sniff::decode_sample(&sample, enc, complete);
        if text
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .is_empty()
        {
            return Err(StudioError::EmptyData { path });
        }
        sniff::check_text(&path, &text, detected)?;
        let mut layout = Layout {
            path,
            format,
            encoding: Some(detected),
            delimiter: None,
            has_header: false,
            columns: Vec::new(),
            sheet: None,
            sheets: Vec::new(),
            size_bytes,
        };
        let mut header_lines = 0;
        match format {
            ImportFormat::Txt => {
                layout.columns = vec!["text".into()];
            }
            ImportFormat::Csv | ImportFormat::Tsv => {
                let delim = match opts.delimiter {
                    Some(d) => d,
                    None if format == ImportFormat::Tsv => b'\t',
                    None => sniff::delimiter(&text),
                };
                let rows = delimited::sample_records(&text, delim, 50);
                let has_header = opts.has_header.unwrap_or_else(|| sniff::has_header(&rows));
                let width = sniff::width(&rows, has_header);
                layout.columns = sniff::column_names(rows.first(), has_header, width);
                layout.delimiter = Some(char::from(delim));
                layout.has_header = has_header;
                header_lines = u64::from(has_header);
            }
            ImportFormat::Json | ImportFormat::Jsonl => {
                layout.has_header = true;
                layout.columns = json::sniff_columns(&input, enc, format)?;
            }
            ImportFormat::Xlsx => {}
        }
        Ok(Self {
            input,
            layout,
            enc: Some(enc),
            header_lines,
        })
    }

    /// What sniffing found.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The first `n` rows (and any rows rejected among them).
    pub fn preview(&self, n: usize) -> Result<Preview> {
        let mut rows = Vec::new();
        let mut rejected = Vec::new();
        self.stream_inner(
            &mut crate::progress::Silent,
            &CancelToken::new(),
            false,
            &mut |row| {
                match row {
                    Row::Record { line, fields } => rows.push((line, fields)),
                    Row::Rejected(r) => rejected.push(r),
                }
                Ok(if rows.len() + rejected.len() >= n {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            },
        )?;
        Ok(Preview {
            layout: self.layout.clone(),
            rows,
            rejected,
        })
    }

    /// Reads every row and hands it to `f`, which may stop early with
    /// `ControlFlow::Break`. Sends `Phase { name: "import" }` and `Advance` events in
    /// bytes (at most ~10 a second) and checks `cancel` every 1024 rows. Errors for a
    /// file with a header and no rows.
    pub fn stream(
        &self,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
        f: &mut dyn FnMut(Row) -> Result<ControlFlow<()>>,
    ) -> Result<()> {
        self.stream_inner(observer, cancel, true, f)
    }

    fn stream_inner(
        &self,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
        report: bool,
        f: &mut dyn FnMut(Row) -> Result<ControlFlow<()>>,
    ) -> Result<()> {
        let total = self.layout.size_bytes;
        if report {
            observer.on_event(&Event::Phase {
                name: "import".into(),
                total: Some(total),
            });
        }
        let mut progress = Progress {
            observer,
            cancel,
            report,
            total,
            last: Instant::now(),
            rows: 0,
        };
        let mut seen = 0u64;
        let path = self.layout.path.clone();
        let mut f2 = |row: Row| -> Result<ControlFlow<()>> {
            seen += 1;
            if seen > MAX_IMPORT_ROWS {
                return Err(StudioError::BadFile {
                    path: path.clone(),
                    reason: format!(
                        "it has more than {MAX_IMPORT_ROWS} rows, the most one file may hold; split it into smaller files and import each, or sample the texts you want to label"
                    ),
                });
            }
            f(row)
        };
        if self.layout.format == ImportFormat::Xlsx {
            xlsx::stream(
                &self.input,
                &self.layout,
                self.header_lines,
                &mut progress,
                &mut f2,
            )?;
        } else {
            let counted = CountingReader {
                inner: self.input.reader()?,
                count: std::rc::Rc::default(),
            };
            let count = counted.count.clone();
            let enc = self.enc.unwrap_or(encoding_rs::UTF_8);
            let decoder = encoding::DecodeReader::new(counted, enc);
            let malformed = decoder.malformed();
            let reader = BufReader::with_capacity(64 * 1024, decoder);
            let src = Stream {
                path: &self.layout.path,
                enc_name: enc.name(),
                count,
                malformed,
            };
            match self.layout.format {
                ImportFormat::Json => {
                    json::stream_array(reader, &src, &self.layout.columns, &mut progress, &mut f2)?
                }
                ImportFormat::Jsonl => {
                    json::stream_lines(reader, &src, &self.layout.columns, &mut progress, &mut f2)?
                }
                _ => stream_delimited(
                    reader,
                    &src,
                    &self.layout,
                    self.header_lines,
                    &mut progress,
                    &mut f2,
                )?,
            }
        }
        progress.finish();
        if report && seen == 0 {
            if self.layout.has_header && self.layout.format != ImportFormat::Json {
                return Err(StudioError::HeaderOnly {
                    path: self.layout.path.clone(),
                    columns: self.layout.columns.join(", "),
                });
            }
            return Err(StudioError::EmptyData {
                path: self.layout.path.clone(),
            });
        }
        Ok(())
    }
}

/// Opens `path`, sniffs it and returns its first `n` rows.
pub fn preview(path: &Path, opts: &ImportOptions, n: usize) -> Result<Preview> {
    Importer::open(Input::Path(path), opts)?.preview(n)
}

/// Shared state of one streaming pass over a text file.
pub(crate) struct Stream<'s> {
    pub path: &'s Path,
    pub enc_name: &'static str,
    pub count: std::rc::Rc<std::cell::Cell<u64>>,
    pub malformed: encoding::Malformed,
}

impl Stream<'_> {
    pub fn reject(
        &self,
        line: u64,
        code: RejectCode,
        args: Vec<(&'static str, String)>,
        reason: impl Into<String>,
    ) -> Row {
        Row::Rejected(Rejected {
            file: self.path.to_path_buf(),
            line,
            code,
            args,
            reason: reason.into(),
        })
    }

    /// A row with bytes that are not valid in the file's encoding.
    pub fn reject_bad_bytes(&self, line: u64, context: Option<&str>) -> Row {
        let reason = match context {
            Some(what) => format!("{what} {}", self.malformed_reason()),
            None => self.malformed_reason(),
        };
        self.reject(
            line,
            RejectCode::BadBytes,
            reject_args([("encoding", &self.enc_name)]),
            reason,
        )
    }

    /// Whether undecodable bytes fell into decoded range `[start, end)`; forgets
    /// positions before `end`.
    pub fn malformed_in(&self, start: u64, end: u64) -> bool {
        let mut m = self.malformed.borrow_mut();
        let mut hit = false;
        while let Some(&p) = m.front() {
            if p >= end {
                break;
            }
            hit |= p >= start;
            m.pop_front();
        }
        hit
    }

    pub fn malformed_reason(&self) -> String {
        format!(
            "has bytes that are not valid {} (the file may be cut short, damaged, or in another encoding; if so, name it with --encoding NAME)",
            self.enc_name
        )
    }
}

/// Rate-limited progress and cancellation, shared by the format readers.
pub(crate) struct Progress<'o> {
    observer: &'o mut dyn Observer,
    cancel: &'o CancelToken,
    report: bool,
    total: u64,
    last: Instant,
    rows: u64,
}

impl Progress<'_> {
    /// Call once per row; `done` is bytes read so far.
    pub fn tick(&mut self, done: impl FnOnce() -> u64) -> Result<()> {
        self.rows += 1;
        if self.rows.is_multiple_of(1024) {
            self.cancel.check()?;
            if self.report && self.last.elapsed() >= Duration::from_millis(100) {
                self.last = Instant::now();
                self.observer.on_event(&Event::Advance {
                    done: done().min(self.total),
                    total: Some(self.total),
                });
            }
        }
        Ok(())
    }

    fn finish(&mut self) {
        if self.report {
            self.observer.on_event(&Event::Advance {
                done: self.total,
                total: Some(self.total),
            });
        }
    }
}

struct CountingReader<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

fn stream_delimited<R: std::io::BufRead>(
    reader: R,
    src: &Stream<'_>,
    layout: &Layout,
    header_lines: u64,
    progress: &mut Progress<'_>,
    f: &mut dyn FnMut(Row) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let delim = match layout.format {
        ImportFormat::Txt => None,
        _ => layout.delimiter.map(|c| c as u8),
    };
    let width = layout.columns.len();
    let mut r = delimited::DelimReader::new(reader, delim, MAX_ROW_BYTES);
    let mut skip = header_lines;
    let io = |e: std::io::Error| StudioError::io("read", src.path, e);
    while let Some(rec) = r.next_record().map_err(io)? {
        progress.tick(|| src.count.get())?;
        let bad_bytes = src.malformed_in(rec.start, rec.end);
        if rec.is_blank() {
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let row = match rec.problem {
            Some(delimited::Problem::TooLong) => src.reject(
                rec.line,
                RejectCode::TooLong,
                reject_args([
                    ("bytes", &(rec.end - rec.start)),
                    ("limitMib", &(MAX_ROW_BYTES >> 20)),
                ]),
                format!(
                    "the row is {} bytes long, more than the limit of {} MiB; split long texts into smaller ones{}",
                    rec.end - rec.start,
                    MAX_ROW_BYTES >> 20,
                    if delim.is_some() {
                        " (or check for a stray quote that runs on)"
                    } else {
                        ""
                    }
                ),
            ),
            Some(delimited::Problem::Unterminated) => src.reject(
                rec.line,
                RejectCode::UnclosedQuote,
                reject_args([("from", &rec.line), ("to", &rec.end_line)]),
                format!(
                    "a quote (\") opened in this row is never closed, so lines {}-{} could not be read; close the quote or remove it",
                    rec.line, rec.end_line
                ),
            ),
            None if bad_bytes => src.reject_bad_bytes(rec.line, None),
            None => {
                let mut fields = rec.fields;
                // A trailing delimiter (empty extra fields) is harmless.
                while fields.len() > width && fields.last().is_some_and(|v| v.trim().is_empty()) {
                    fields.pop();
                }
                if fields.len() != width {
                    let (n, m) = (fields.len(), width);
                    let unit = |k: usize| if k == 1 { "value" } else { "values" };
                    src.reject(
                        rec.line,
                        RejectCode::WrongWidth,
                        reject_args([("found", &n), ("expected", &m)]),
                        format!(
                            "has {n} {} but the {} {m} {}; check for a missing or extra {} or an unquoted {} inside a text",
                            unit(n),
                            if layout.has_header { "header has" } else { "first rows have" },
                            unit(m),
                            delim_name(delim),
                            delim_name(delim),
                        ),
                    )
                } else {
                    Row::Record {
                        line: rec.line,
                        fields,
                    }
                }
            }
        };
        if f(row)?.is_break() {
            break;
        }
    }
    Ok(())
}

fn delim_name(d: Option<u8>) -> &'static str {
    match d {
        Some(b',') => "comma",
        Some(b'\t') => "tab",
        Some(b';') => "semicolon",
        Some(b'|') => "pipe (|)",
        _ => "delimiter",
    }
}

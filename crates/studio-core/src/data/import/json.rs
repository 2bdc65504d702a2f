//! JSON (an array of objects) and JSONL (one object a line), streamed.

use super::delimited::{DelimReader, Problem};
use super::encoding::DecodeReader;
use super::{reject_args, Input, Progress, RejectCode, Row, Stream, MAX_ROW_BYTES};
use crate::{Result, StudioError};
use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::rc::Rc;

/// How many objects sniffing looks at to find the keys.
const SNIFF_OBJECTS: usize = 200;

/// Column names: the keys of the first objects, in order of first appearance.
pub(crate) fn sniff_columns(
    input: &Input<'_>,
    enc: &'static encoding_rs::Encoding,
    format: super::ImportFormat,
) -> Result<Vec<String>> {
    let path = input.path();
    let reader = BufReader::new(DecodeReader::new(input.reader()?, enc));
    let mut keys: Vec<String> = Vec::new();
    let mut add = |m: &Map<String, Value>| {
        for k in m.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    };
    let mut seen = 0usize;
    if format == super::ImportFormat::Jsonl {
        let mut r = DelimReader::new(reader, None, MAX_ROW_BYTES);
        let io = |e| StudioError::io("read", path, e);
        while let Some(rec) = r.next_record().map_err(io)? {
            if rec.is_blank() || rec.problem.is_some() {
                continue;
            }
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&rec.fields[0]) {
                add(&m);
                seen += 1;
                if seen >= SNIFF_OBJECTS {
                    break;
                }
            }
        }
    } else {
        let (counted, (_, pos, element_start)) = LineCounter::new(reader);
        let result = for_each_element(counted, &mut |v| {
            element_start.set(pos.get());
            if let Value::Object(m) = &v {
                add(m);
                seen += 1;
            }
            Ok(if seen >= SNIFF_OBJECTS {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        });
        match result {
            Ok(()) => {}
            // A syntax error past the objects we looked at is reported when importing.
            Err(_) if seen > 0 => {}
            Err(e) => return Err(json_error(path, e)),
        }
    }
    if keys.is_empty() {
        return Err(StudioError::BadFile {
            path: path.to_path_buf(),
            reason: if format == super::ImportFormat::Jsonl {
                "no line holds a JSON object; JSONL needs one object a line, like {\"text\": \"...\", \"label\": \"...\"}".into()
            } else {
                "holds no JSON objects; a .json file needs an array of objects, like [{\"text\": \"...\", \"label\": \"...\"}]".into()
            },
        });
    }
    Ok(keys)
}

enum JsonStop {
    Json(serde_json::Error),
    Ours(StudioError),
}

fn json_error(path: &std::path::Path, e: JsonStop) -> StudioError {
    match e {
        JsonStop::Ours(e) => e,
        JsonStop::Json(e) if e.is_eof() => StudioError::BadFile {
            path: path.to_path_buf(),
            reason: format!(
                "the JSON ends too early ({e}); the file may be cut short: check that the array is closed with ]"
            ),
        },
        JsonStop::Json(e) => StudioError::BadFile {
            path: path.to_path_buf(),
            reason: format!(
                "not valid JSON ({e}); a .json file must be one array of objects (for one object a line, use the .jsonl extension)"
            ),
        },
    }
}

/// Calls `f` on each element of a top-level JSON array, streaming.
fn for_each_element<R: Read>(
    reader: R,
    f: &mut dyn FnMut(Value) -> Result<ControlFlow<()>>,
) -> std::result::Result<(), JsonStop> {
    struct V<'f> {
        f: &'f mut dyn FnMut(Value) -> Result<ControlFlow<()>>,
        stopped: &'f Cell<bool>,
        ours: &'f RefCell<Option<StudioError>>,
    }
    impl<'de> Visitor<'de> for V<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                match (self.f)(v) {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => {
                        self.stopped.set(true);
                        return Err(serde::de::Error::custom("stopped"));
                    }
                    Err(e) => {
                        *self.ours.borrow_mut() = Some(e);
                        return Err(serde::de::Error::custom("stopped"));
                    }
                }
            }
            Ok(())
        }
    }
    let stopped = Cell::new(false);
    let ours = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let r = (&mut de).deserialize_seq(V {
        f,
        stopped: &stopped,
        ours: &ours,
    });
    if let Some(e) = ours.into_inner() {
        return Err(JsonStop::Ours(e));
    }
    if stopped.get() {
        return Ok(());
    }
    r.and_then(|()| de.end()).map_err(JsonStop::Json)
}

/// The most one element of a JSON array may take before the whole file is refused: an
/// element is parsed whole before it can be judged, so this bounds the memory a file
/// can make us use. (Elements over [`MAX_ROW_BYTES`] and under this are rejected one by
/// one, as long lines are.)
pub const MAX_ELEMENT_BYTES: u64 = 64 << 20;

/// Counts lines and bytes as serde_json reads through (it reads a byte at a time), and
/// stops an element that grows past [`MAX_ELEMENT_BYTES`].
struct LineCounter<R> {
    inner: R,
    line: Rc<Cell<u64>>,
    /// Bytes read so far.
    pos: Rc<Cell<u64>>,
    /// Where the element being read began.
    element_start: Rc<Cell<u64>>,
}

/// Shared counters of a [`LineCounter`]: lines, bytes, and where the current element
/// began (the caller moves it on after each element).
type Counters = (Rc<Cell<u64>>, Rc<Cell<u64>>, Rc<Cell<u64>>);

impl<R> LineCounter<R> {
    fn new(inner: R) -> (Self, Counters) {
        let (line, pos, element_start): Counters = (
            Rc::new(Cell::new(1)),
            Rc::new(Cell::new(0)),
            Rc::new(Cell::new(0)),
        );
        let counter = Self {
            inner,
            line: line.clone(),
            pos: pos.clone(),
            element_start: element_start.clone(),
        };
        (counter, (line, pos, element_start))
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let nl = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.line.set(self.line.get() + nl);
        self.pos.set(self.pos.get() + n as u64);
        if self.pos.get() - self.element_start.get() > MAX_ELEMENT_BYTES {
            return Err(std::io::Error::other(format!(
                "an element of the array is over {} MiB; split it, or save the data as JSONL (one object a line)",
                MAX_ELEMENT_BYTES >> 20
            )));
        }
        Ok(n)
    }
}

fn value_to_string(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn object_row(v: Value, columns: &[String], src: &Stream<'_>, line: u64, what: &str) -> Row {
    match v {
        Value::Object(mut m) => Row::Record {
            line,
            fields: columns
                .iter()
                .map(|c| m.remove(c).map(value_to_string).unwrap_or_default())
                .collect(),
        },
        other => src.reject(
            line,
            RejectCode::NotObject,
            reject_args([("found", &kind(&other))]),
            format!(
                "{what} is {} instead of an object like {{\"text\": \"...\"}}",
                kind(&other)
            ),
        ),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a true/false value",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Streams the elements of a JSON array as rows over `columns`.
pub(crate) fn stream_array<R: BufRead>(
    reader: R,
    src: &Stream<'_>,
    columns: &[String],
    progress: &mut Progress<'_>,
    f: &mut dyn FnMut(Row) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let (counted, (line, pos, element_start)) = LineCounter::new(reader);
    let mut index = 0u64;
    let result = for_each_element(counted, &mut |v| {
        index += 1;
        progress.tick(|| src.count.get())?;
        let at = line.get();
        // The element's bytes: from the end of the one before to here (serde_json has
        // read one byte past it at most).
        let (start, end) = (element_start.get(), pos.get());
        element_start.set(end);
        let what = format!("element {index} of the array");
        let row = if src.malformed_in(start, end) {
            src.reject_bad_bytes(at, Some(&what))
        } else if end - start > MAX_ROW_BYTES as u64 {
            src.reject(
                at,
                RejectCode::TooLong,
                reject_args([
                    ("bytes", &(end - start)),
                    ("limitMib", &(MAX_ROW_BYTES >> 20)),
                ]),
                format!(
                    "{what} is {} bytes long, more than the limit of {} MiB; split long texts into smaller ones",
                    end - start,
                    MAX_ROW_BYTES >> 20
                ),
            )
        } else {
            object_row(v, columns, src, at, &what)
        };
        f(row)
    });
    result.map_err(|e| json_error(src.path, e))
}

/// Streams the lines of a JSONL file as rows over `columns`.
pub(crate) fn stream_lines<R: BufRead>(
    reader: R,
    src: &Stream<'_>,
    columns: &[String],
    progress: &mut Progress<'_>,
    f: &mut dyn FnMut(Row) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let mut r = DelimReader::new(reader, None, MAX_ROW_BYTES);
    let io = |e| StudioError::io("read", src.path, e);
    while let Some(rec) = r.next_record().map_err(io)? {
        progress.tick(|| src.count.get())?;
        let bad = src.malformed_in(rec.start, rec.end);
        if rec.is_blank() || rec.fields.first().is_some_and(|l| l.trim().is_empty()) {
            continue;
        }
        let row = match rec.problem {
            Some(Problem::TooLong) => src.reject(
                rec.line,
                RejectCode::TooLong,
                reject_args([
                    ("bytes", &(rec.end - rec.start)),
                    ("limitMib", &(super::MAX_ROW_BYTES >> 20)),
                ]),
                format!(
                    "the line is {} bytes long, more than the limit of {} MiB; split long texts into smaller ones",
                    rec.end - rec.start,
                    super::MAX_ROW_BYTES >> 20
                ),
            ),
            Some(Problem::Unterminated) => src.reject(
                rec.line,
                RejectCode::NotJson,
                reject_args([("detail", &"unterminated")]),
                "unreadable line",
            ),
            None if bad => src.reject_bad_bytes(rec.line, None),
            None => match serde_json::from_str::<Value>(&rec.fields[0]) {
                Ok(v) => object_row(v, columns, src, rec.line, "the line"),
                Err(e) => src.reject(
                    rec.line,
                    RejectCode::NotJson,
                    reject_args([("detail", &e)]),
                    format!("is not valid JSON ({e}); each line must be one JSON object"),
                ),
            },
        };
        if f(row)?.is_break() {
            break;
        }
    }
    Ok(())
}

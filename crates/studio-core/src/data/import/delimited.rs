//! A streaming reader of delimited text (CSV, TSV, semicolon, pipe) and of plain lines.
//!
//! Our own small state machine rather than the `csv` crate, because the importer needs
//! what that crate does not say: the line each record starts and ends on, a cap on how
//! much one record may hold (a 10 MB line must not become a 10 MB allocation per field),
//! and a clear "this quote is never closed" instead of silently eating the rest of the
//! file. Quoting follows RFC 4180 (`"` around a field, `""` inside for a quote) and is
//! lenient where spreadsheets are sloppy: a quote in the middle of an unquoted field is
//! kept as a character.

use std::io::BufRead;

/// Something wrong with one record, found while reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The record held more than the limit; its fields were dropped.
    TooLong,
    /// A quoted field was still open at the end of the file.
    Unterminated,
}

/// One record as read.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawRecord {
    /// Field values.
    pub fields: Vec<String>,
    /// 1-based line the record starts on.
    pub line: u64,
    /// 1-based line the record ends on.
    pub end_line: u64,
    /// Byte offset (in the decoded stream) where the record starts.
    pub start: u64,
    /// Byte offset just past the record (and its line end).
    pub end: u64,
    /// What went wrong, if anything.
    pub problem: Option<Problem>,
}

impl RawRecord {
    /// A blank line: one empty field.
    pub fn is_blank(&self) -> bool {
        self.problem.is_none() && self.fields.len() == 1 && self.fields[0].is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Reads records one at a time from decoded UTF-8.
pub(crate) struct DelimReader<R> {
    inner: R,
    delim: Option<u8>,
    max_record: usize,
    line: u64,
    pos: u64,
    skip_lf: bool,
    quoted_cr: bool,
    field: Vec<u8>,
    done: bool,
}

impl<R: BufRead> DelimReader<R> {
    /// `delim: None` reads each line as one field, with no quoting (plain text).
    pub fn new(inner: R, delim: Option<u8>, max_record: usize) -> Self {
        Self {
            inner,
            delim,
            max_record,
            line: 1,
            pos: 0,
            skip_lf: false,
            quoted_cr: false,
            field: Vec::new(),
            done: false,
        }
    }

    /// The next record, or `None` at the end of the input.
    pub fn next_record(&mut self) -> std::io::Result<Option<RawRecord>> {
        let Self {
            inner,
            delim,
            max_record,
            line,
            pos,
            skip_lf,
            quoted_cr,
            field,
            done,
        } = self;
        let (delim, max_record) = (*delim, *max_record);
        if *done {
            return Ok(None);
        }
        let mut rec = RawRecord {
            line: *line,
            start: *pos,
            ..Default::default()
        };
        let mut state = State::FieldStart;
        let mut size = 0usize;
        let mut any = false;
        loop {
            let buf = inner.fill_buf()?;
            if buf.is_empty() {
                *done = true;
                if !any {
                    return Ok(None);
                }
                if state == State::Quoted {
                    rec.problem = Some(Problem::Unterminated);
                }
                push_field(field, &mut rec, &mut size);
                rec.end_line = *line;
                rec.end = *pos;
                return Ok(Some(rec));
            }
            let mut used = 0usize;
            let mut finished = false;
            for &b in buf {
                used += 1;
                if *skip_lf {
                    *skip_lf = false;
                    if b == b'\n' {
                        rec.start += u64::from(!any);
                        continue;
                    }
                }
                any = true;
                let is_nl = b == b'\n' || b == b'\r';
                match state {
                    State::Quoted => {
                        if b == b'"' {
                            state = State::QuoteInQuoted;
                            continue;
                        }
                        // CR LF inside quotes is one line end, kept as characters.
                        if b == b'\r' || (b == b'\n' && !*quoted_cr) {
                            *line += 1;
                        }
                        *quoted_cr = b == b'\r';
                    }
                    State::QuoteInQuoted => {
                        if b == b'"' {
                            state = State::Quoted;
                        } else if Some(b) == delim {
                            push_field(field, &mut rec, &mut size);
                            state = State::FieldStart;
                            continue;
                        } else if is_nl {
                            *line += 1;
                            *skip_lf = b == b'\r';
                            finished = true;
                            break;
                        } else {
                            // Text after a closing quote: keep it, as spreadsheets do.
                            state = State::Unquoted;
                        }
                    }
                    State::FieldStart | State::Unquoted => {
                        if Some(b) == delim {
                            push_field(field, &mut rec, &mut size);
                            state = State::FieldStart;
                            continue;
                        }
                        if is_nl {
                            *line += 1;
                            *skip_lf = b == b'\r';
                            finished = true;
                            break;
                        }
                        if b == b'"' && state == State::FieldStart && delim.is_some() {
                            state = State::Quoted;
                            continue;
                        }
                        state = State::Unquoted;
                    }
                }
                if rec.problem.is_none() {
                    if size + field.len() >= max_record {
                        rec.problem = Some(Problem::TooLong);
                        rec.fields.clear();
                        field.clear();
                    } else {
                        field.push(b);
                    }
                }
            }
            *pos += used as u64;
            inner.consume(used);
            if finished {
                // A CR just ended the record: a following LF belongs to it.
                push_field(field, &mut rec, &mut size);
                rec.end_line = *line - 1;
                rec.end = *pos;
                return Ok(Some(rec));
            }
        }
    }
}

fn push_field(field: &mut Vec<u8>, rec: &mut RawRecord, size: &mut usize) {
    if rec.problem.is_none() {
        rec.fields.push(bytes_to_string(field));
    }
    *size += field.len();
    field.clear();
}

fn bytes_to_string(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Splits complete lines of a sample into records with `delim`, for sniffing.
pub(crate) fn sample_records(sample: &str, delim: u8, max: usize) -> Vec<Vec<String>> {
    let mut r = DelimReader::new(sample.as_bytes(), Some(delim), usize::MAX / 2);
    let mut out = Vec::new();
    while let Ok(Some(rec)) = r.next_record() {
        if rec.problem.is_some() {
            break;
        }
        if !rec.is_blank() {
            out.push(rec.fields);
        }
        if out.len() >= max {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str, d: Option<u8>) -> Vec<RawRecord> {
        let mut r = DelimReader::new(s.as_bytes(), d, 64);
        let mut v = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            v.push(rec);
        }
        v
    }

    #[test]
    fn quotes_lines_and_endings() {
        let v = read(
            "a,b\r\n\"x, \"\"y\"\"\",2\n\"multi\nline\",3\rlast,4",
            Some(b','),
        );
        let f: Vec<_> = v.iter().map(|r| r.fields.clone()).collect();
        assert_eq!(
            f,
            vec![
                vec!["a", "b"],
                vec!["x, \"y\"", "2"],
                vec!["multi\nline", "3"],
                vec!["last", "4"]
            ]
        );
        let lines: Vec<_> = v.iter().map(|r| (r.line, r.end_line)).collect();
        assert_eq!(lines, vec![(1, 1), (2, 2), (3, 4), (5, 5)]);
    }

    #[test]
    fn unterminated_and_too_long() {
        let v = read("a,b\n\"open,1\n2,3\n", Some(b','));
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].problem, Some(Problem::Unterminated));
        assert_eq!(v[1].line, 2);
        let long = format!("t\n{}\nok\n", "x".repeat(200));
        let v = read(&long, None);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].problem, Some(Problem::TooLong));
        assert!(v[1].end - v[1].start >= 200);
        assert!(v[1].fields.is_empty());
        assert_eq!(v[2].fields, vec!["ok"]);
        assert_eq!(v[2].line, 3);
    }

    #[test]
    fn plain_lines_keep_quotes() {
        let v = read("\"quoted\" text\n\nsecond", None);
        let f: Vec<_> = v.iter().map(|r| r.fields.clone()).collect();
        assert_eq!(f, vec![vec!["\"quoted\" text"], vec![""], vec!["second"]]);
        assert!(v[1].is_blank());
    }
}

//! Guessing the shape of a text table from its first 64 KiB.

use super::delimited::sample_records;
use super::encoding::{DecodeReader, DetectedEncoding, EncodingSource};
use crate::{Result, StudioError};
use std::io::Read;
use std::path::Path;

/// Decodes a sample for sniffing; drops a last line cut off by the sample's end.
pub(crate) fn decode_sample(
    sample: &[u8],
    enc: &'static encoding_rs::Encoding,
    complete: bool,
) -> String {
    let mut s = String::new();
    // Reading from a slice cannot fail; on the impossible error we sniff what we have.
    let _ = DecodeReader::new(sample, enc).read_to_string(&mut s);
    if !complete {
        if let Some(i) = s.rfind('\n') {
            s.truncate(i + 1);
        }
    }
    s
}

/// Refuses binary data: NUL bytes, many control characters, or mostly undecodable bytes.
pub(crate) fn check_text(path: &Path, text: &str, enc: DetectedEncoding) -> Result<()> {
    let mut chars = 0usize;
    let mut control = 0usize;
    let mut replaced = 0usize;
    let mut nul = false;
    for c in text.chars() {
        chars += 1;
        match c {
            '\0' => {
                nul = true;
                control += 1;
            }
            '\t' | '\n' | '\r' | '\x0c' => {}
            c if c.is_control() => control += 1,
            '\u{FFFD}' => replaced += 1,
            _ => {}
        }
    }
    let reason = if nul && enc.source != EncodingSource::Given {
        Some("it contains NUL bytes".to_string())
    } else if control * 100 > chars.max(1) {
        Some(format!(
            "{control} of the first {chars} characters are control characters"
        ))
    } else if replaced * 5 > chars.max(1) && enc.source != EncodingSource::Given {
        Some(format!(
            "{replaced} of the first {chars} characters cannot be decoded as {}",
            enc.name
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StudioError::NotText {
            path: path.to_path_buf(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The delimiter whose field count is most consistent over the sample's lines.
pub(crate) fn delimiter(text: &str) -> u8 {
    let mut best = (b',', 0.0f64, 0usize);
    for &d in b",\t;|" {
        let rows = sample_records(text, d, 50);
        if rows.is_empty() {
            continue;
        }
        let mut counts: Vec<usize> = rows.iter().map(|r| r.len()).collect();
        counts.sort_unstable();
        let mode = mode_of(&counts);
        if mode < 2 {
            continue;
        }
        let consistent = rows.iter().filter(|r| r.len() == mode).count() as f64 / rows.len() as f64;
        if consistent > best.1 + 1e-9
            || (consistent >= best.1 - 1e-9 && mode > best.2 && best.1 < 0.5)
        {
            best = (d, consistent, mode);
        }
    }
    best.0
}

fn mode_of(sorted: &[usize]) -> usize {
    let mut best = (0usize, 0usize);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..]
            .iter()
            .position(|&x| x != sorted[i])
            .map_or(sorted.len(), |k| i + k);
        if j - i > best.1 {
            best = (sorted[i], j - i);
        }
        i = j;
    }
    best.0
}

fn is_number(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.parse::<f64>().is_ok()
}

const KNOWN: &[&str] = &[
    "text",
    "label",
    "labels",
    "id",
    "sentence",
    "review",
    "content",
    "comment",
    "body",
    "message",
    "tweet",
    "document",
    "sentiment",
    "class",
    "category",
    "polarity",
    "target",
    "title",
    "score",
    "rating",
    "文本",
    "标签",
    "内容",
    "评论",
    "类别",
    "情感",
    "编号",
    "句子",
];

/// Whether the first row names the columns rather than holding data.
pub(crate) fn has_header(rows: &[Vec<String>]) -> bool {
    let Some(first) = rows.first() else {
        return false;
    };
    let names: Vec<String> = first.iter().map(|c| c.trim().to_lowercase()).collect();
    if names.iter().any(|n| KNOWN.contains(&n.as_str())) {
        return true;
    }
    let all_named = names
        .iter()
        .all(|n| !n.is_empty() && n.chars().count() <= 40)
        && names.iter().all(|n| !is_number(n));
    let unique = {
        let mut v = names.clone();
        v.sort();
        v.dedup();
        v.len() == names.len()
    };
    if !all_named || !unique {
        return false;
    }
    let rest = &rows[1..];
    if rest.is_empty() {
        // A lone short row of distinct names with no spaces reads as a header.
        return names.iter().all(|n| !n.contains(' ')) && names.len() > 1;
    }
    for (col, name) in names.iter().enumerate() {
        let values: Vec<&str> = rest
            .iter()
            .filter_map(|r| r.get(col).map(|s| s.trim()))
            .collect();
        if values.is_empty() {
            continue;
        }
        // A name over numbers.
        let numeric = values.iter().filter(|v| is_number(v)).count();
        if numeric * 10 >= values.len() * 8 {
            return true;
        }
        // A short name over long texts.
        let mut lens: Vec<usize> = values.iter().map(|v| v.chars().count()).collect();
        lens.sort_unstable();
        let median = lens[lens.len() / 2];
        if median >= 20 && name.chars().count() * 3 <= median && !name.contains(' ') {
            return true;
        }
    }
    false
}

/// The number of columns: the header's width, or the most common width.
pub(crate) fn width(rows: &[Vec<String>], has_header: bool) -> usize {
    if has_header {
        if let Some(first) = rows.first() {
            let mut w = first.len();
            // Trailing empty header cells (a trailing delimiter) do not make columns.
            while w > 1 && first[w - 1].trim().is_empty() {
                w -= 1;
            }
            return w;
        }
    }
    let mut counts: Vec<usize> = rows.iter().map(|r| r.len()).collect();
    counts.sort_unstable();
    mode_of(&counts).max(1)
}

/// Column names from the header (blank or repeated names made unique), else
/// "column 1", "column 2", ...
pub(crate) fn column_names(
    first: Option<&Vec<String>>,
    has_header: bool,
    width: usize,
) -> Vec<String> {
    // Sets, and the next number to try per base name: a header of ten thousand equal
    // names took cubic time with a list and a count from 2 each time.
    let mut names: Vec<String> = Vec::with_capacity(width);
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for i in 0..width {
        let base = match (has_header, first.and_then(|f| f.get(i))) {
            (true, Some(n)) if !n.trim().is_empty() => {
                n.trim().trim_start_matches('\u{feff}').to_string()
            }
            _ => format!("column {}", i + 1),
        };
        let mut name = base.clone();
        let k = next.entry(base.clone()).or_insert(2);
        while taken.contains(&name) {
            name = format!("{base} ({k})");
            *k += 1;
        }
        taken.insert(name.clone());
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(s: &str, d: u8) -> Vec<Vec<String>> {
        sample_records(s, d, 50)
    }

    #[test]
    fn delimiters() {
        assert_eq!(delimiter("a,b\n1,2\n3,4\n"), b',');
        assert_eq!(delimiter("a\tb\n1,5\t2\n3\t4\n"), b'\t');
        assert_eq!(delimiter("text;label\n\"a, b\";pos\nc;neg\n"), b';');
        assert_eq!(delimiter("just one column\nof text, with commas\n"), b',');
    }

    #[test]
    fn headers() {
        assert!(has_header(&rows("text,label\ngood,pos\n", b',')));
        assert!(has_header(&rows(
            "review,stars\nfine film,5\nbad one,1\n",
            b','
        )));
        assert!(has_header(&rows(
            "msg\nthis is a long enough sentence to judge\nanother long sentence of text here\n",
            b','
        )));
        assert!(!has_header(&rows("great film,pos\nawful,neg\n", b',')));
        assert!(!has_header(&rows("1,2\n3,4\n", b',')));
        assert!(has_header(&rows("foo,bar\n", b',')));
        assert_eq!(
            column_names(Some(&vec!["a".into(), "".into(), "a".into()]), true, 3),
            vec!["a", "column 2", "a (2)"]
        );
    }
}

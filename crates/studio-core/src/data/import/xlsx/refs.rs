//! Cell references a workbook part may not hold, found before calamine reads them.
//!
//! calamine turns a reference such as `r="B7"` or `ref="A1:C9"` into numbers by
//! multiplying without a bound and subtracting a range's start from its end, so
//! `AAAAAAAAAAAAAA1` overflows and `B2:A1` underflows: a panic in a build with overflow
//! checks (the fuzz targets, `scripts/run-app --debug`), a wrapped, meaningless position
//! without. Both were found by the coverage-guided fuzzer. This module reads every part
//! with the XML parser calamine uses, set up the way calamine sets it up, and splits
//! each tag's attributes the way calamine splits them, so it sees every `r` and `ref`
//! value calamine would: in single or double quotes, with spaces around `=`, in a part
//! of any name. Text between tags (a review that says `r="AAAA"`) is never a reference.

use quick_xml::events::Event;
use std::io::{BufReader, Read};

use super::MAX_PART_BYTES;

/// The last column a workbook can have, XFD.
const LAST_COLUMN: u32 = 16_384;
/// The last row a workbook can have.
const LAST_ROW: u32 = 1_048_576;

/// Why a part was refused.
#[derive(Debug)]
pub(super) enum PartError {
    /// The part could not be read out of the zip (a damaged stream).
    Io(std::io::Error),
    /// The part holds a reference calamine cannot read safely; the reason says which.
    Reference(String),
}

/// Reads `part` (named `name` in the zip) and refuses it if a tag's `r` or `ref`
/// attribute names a cell past the last column or row, or a range that ends before it
/// starts. XML that does not parse ends the check of that part without refusing it:
/// calamine, with the same parser, stops at the same place with its own error.
pub(super) fn check_part(part: impl Read, name: &str) -> Result<(), PartError> {
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part.take(MAX_PART_BYTES + 1)));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(tag) | Event::Empty(tag)) => {
                for (key, value) in attributes(tag.attributes_raw()) {
                    if key == "r" || key == "ref" {
                        check_value(value).map_err(|why| {
                            PartError::Reference(format!("its part {name} {why}"))
                        })?;
                    }
                }
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(quick_xml::Error::Io(io)) => {
                return Err(PartError::Io(std::io::Error::new(
                    io.kind(),
                    io.to_string(),
                )))
            }
            Err(_) => return Ok(()),
        }
    }
}

/// The `(key, value)` pairs of a tag's raw attribute text, split as calamine splits
/// them: a key runs to the next `=` (trailing spaces dropped), the value is quoted with
/// `"` or `'` and runs to the same quote. Stops at the first pair it cannot split, where
/// calamine stops with an error.
fn attributes(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        let start = rest.trim_start();
        if start.is_empty() {
            return None;
        }
        let (key, after) = start.split_once('=')?;
        let after = after.trim_start();
        let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let body = &after[1..];
        let (value, tail) = body.split_once(quote).unwrap_or((body, ""));
        rest = tail;
        Some((key.trim_end(), value))
    })
}

/// Checks one reference value: a cell (`B7`), a row (`7`) or a range (`A1:C9`), with
/// `$` signs allowed. Anything else is left for calamine to reject with its own error.
fn check_value(value: &str) -> Result<(), String> {
    let pieces: Vec<&str> = value.split(':').collect();
    let mut cells = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        let (letters, digits) = split_reference(piece);
        if letters.len() > 3 || digits.len() > 7 {
            return Err(format!(
                "has a cell reference, {value:?}, past the last column (XFD) or row (1048576)"
            ));
        }
        let column = letters.bytes().fold(0u32, |c, b| {
            c * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1
        });
        let row: u32 = digits.parse().unwrap_or(0);
        if column > LAST_COLUMN || row > LAST_ROW {
            return Err(format!(
                "has a cell reference, {value:?}, past the last column (XFD) or row (1048576)"
            ));
        }
        cells.push((row, column));
    }
    if let [(r0, c0), (r1, c1)] = cells[..] {
        if r1 < r0 || c1 < c0 {
            return Err(format!(
                "has a range, {value:?}, that ends before it starts"
            ));
        }
    }
    Ok(())
}

/// The leading letters of a reference and the digits after them, `$` signs skipped;
/// both stop at the first other character.
fn split_reference(piece: &str) -> (String, String) {
    let mut chars = piece.chars().filter(|c| *c != '$').peekable();
    let mut letters = String::new();
    while let Some(c) = chars.next_if(char::is_ascii_alphabetic) {
        letters.push(c);
    }
    let digits: String = chars.take_while(char::is_ascii_digit).collect();
    (letters, digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_split_like_calamine() {
        let pairs: Vec<_> = attributes(r#" r = "A1" s='2' t="s""#).collect();
        assert_eq!(pairs, [("r", "A1"), ("s", "2"), ("t", "s")]);
        // A pair without `=` ends the list, as it ends calamine's read.
        assert_eq!(attributes(r#" r="A1" broken"#).count(), 1);
        // An unclosed quote runs to the end.
        assert_eq!(
            attributes(r#" ref="A1:B"#).collect::<Vec<_>>(),
            [("ref", "A1:B")]
        );
    }

    #[test]
    fn references_in_range_pass_and_the_rest_are_refused() {
        for ok in [
            "A1",
            "XFD1048576",
            "$A$1:$C$9",
            "7",
            "A1:XFD3",
            "",
            "A1:B2:C3",
            "é",
        ] {
            assert_eq!(check_value(ok), Ok(()), "{ok}");
        }
        for bad in [
            "AAAAAAAAAAAAAA1",
            "A12345678901",
            "XFE1",
            "A1048577",
            "A1:ZZZZ3",
        ] {
            assert!(
                check_value(bad)
                    .unwrap_err()
                    .contains("past the last column"),
                "{bad}"
            );
        }
        for reversed in ["B2:A1", "A2:B1", "$C$3:$A$3"] {
            assert!(
                check_value(reversed)
                    .unwrap_err()
                    .contains("ends before it starts"),
                "{reversed}"
            );
        }
    }

    #[test]
    fn only_tags_are_read_not_the_text_between_them() {
        let text = r#"<si><t>he wrote r="AAAAAAAAAAAA1" and ref='B2:A1'</t></si>"#;
        assert!(check_part(text.as_bytes(), "x").is_ok());
        let quoted = r#"<row><c r = 'AAAAAAAAAAAA1'/></row>"#;
        assert!(matches!(
            check_part(quoted.as_bytes(), "x"),
            Err(PartError::Reference(_))
        ));
    }
}

//! Finding a file's character encoding and decoding it to UTF-8 as a stream.
//!
//! Order of evidence: a byte-order mark wins; then the caller's explicit choice; then a
//! BOM-less UTF-16 guess from the pattern of zero bytes; then "mostly valid UTF-8"; then
//! chardetng's guess over the sample. Bytes that do not decode are not silently
//! replaced: [`DecodeReader`] writes U+FFFD and remembers where, so the row they fall in
//! can be rejected with its line number.

use crate::{Result, StudioError};
use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

/// How the encoding of a file was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingSource {
    /// The file starts with a byte-order mark.
    Bom,
    /// The caller named it (`--encoding NAME`).
    Given,
    /// Guessed from the bytes (chardetng, or the zero-byte pattern of UTF-16).
    Detected,
}

impl EncodingSource {
    /// "bom", "given" or "detected", as the app's message keys spell it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Bom => "bom",
            Self::Given => "given",
            Self::Detected => "detected",
        }
    }
}

/// The encoding a file was read with, and how it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DetectedEncoding {
    /// WHATWG name, e.g. "UTF-8", "GBK", "UTF-16LE", "Shift_JIS".
    pub name: &'static str,
    /// How it was decided.
    pub source: EncodingSource,
}

impl DetectedEncoding {
    /// A short human description: "UTF-8 (byte-order mark)".
    pub fn describe(&self) -> String {
        let how = match self.source {
            EncodingSource::Bom => "byte-order mark",
            EncodingSource::Given => "as given",
            EncodingSource::Detected => "detected",
        };
        format!("{} ({how})", self.name)
    }
}

/// Resolves a user-supplied encoding name ("gbk", "utf-16le", "shift_jis", "latin1").
pub fn encoding_for_name(name: &str) -> Result<&'static Encoding> {
    match Encoding::for_label(name.trim().as_bytes()) {
        // "replacement" and friends name an encoding that cannot decode anything.
        Some(enc) if enc != encoding_rs::REPLACEMENT => Ok(enc),
        _ => Err(StudioError::InvalidSetting(format!(
            "unknown encoding \"{name}\"; use a name such as utf-8, utf-16le, utf-16be, gbk, gb18030, big5, shift_jis, euc-kr or windows-1252, or leave it out (or say auto) to detect it"
        ))),
    }
}

/// Decides the encoding from the first bytes of a file. `complete` says whether
/// `sample` is the whole file (so an incomplete character at its end is a real one).
pub(crate) fn detect(
    sample: &[u8],
    complete: bool,
    given: Option<&str>,
) -> Result<(&'static Encoding, DetectedEncoding)> {
    let given = match given.filter(|n| !n.trim().eq_ignore_ascii_case("auto")) {
        Some(name) => Some(encoding_for_name(name)?),
        None => None,
    };
    if let Some((enc, _)) = Encoding::for_bom(sample) {
        return Ok((
            enc,
            DetectedEncoding {
                name: enc.name(),
                source: EncodingSource::Bom,
            },
        ));
    }
    if let Some(enc) = given {
        return Ok((
            enc,
            DetectedEncoding {
                name: enc.name(),
                source: EncodingSource::Given,
            },
        ));
    }
    let detected = |enc: &'static Encoding| {
        Ok((
            enc,
            DetectedEncoding {
                name: enc.name(),
                source: EncodingSource::Detected,
            },
        ))
    };
    if let Some(enc) = utf16_without_bom(sample) {
        return detected(enc);
    }
    if mostly_utf8(sample) {
        return detected(UTF_8);
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    det.feed(sample, complete);
    detected(det.guess(None, chardetng::Utf8Detection::Allow))
}

/// BOM-less UTF-16: text in a Latin script has a zero in every other byte.
fn utf16_without_bom(sample: &[u8]) -> Option<&'static Encoding> {
    let n = sample.len().min(4096) & !1;
    if n < 8 {
        return None;
    }
    let (mut even0, mut odd0) = (0usize, 0usize);
    for pair in sample[..n].chunks_exact(2) {
        even0 += usize::from(pair[0] == 0);
        odd0 += usize::from(pair[1] == 0);
    }
    let pairs = n / 2;
    if odd0 * 10 >= pairs * 6 && even0 * 20 <= pairs {
        Some(UTF_16LE)
    } else if even0 * 10 >= pairs * 6 && odd0 * 20 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// True when the sample is UTF-8 apart from a few bad bytes (a truncated last
/// character, a damaged row): then it is read as UTF-8 and the bad rows are rejected,
/// rather than the whole file being misread as a legacy encoding.
fn mostly_utf8(sample: &[u8]) -> bool {
    if sample.contains(&0x1B) {
        // Escape sequences: ISO-2022-JP or similar; let chardetng look.
        return false;
    }
    let mut valid_multi = 0usize;
    let mut invalid = 0usize;
    let mut rest = sample;
    let count = |s: &str| s.chars().filter(|c| !c.is_ascii()).count();
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid_multi += count(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                valid_multi += count(&String::from_utf8_lossy(good));
                match e.error_len() {
                    Some(len) => {
                        invalid += 1;
                        rest = &bad[len..];
                    }
                    None => {
                        // An incomplete character at the end: cut off by the sample,
                        // or (when the sample is the whole file) by truncation.
                        break;
                    }
                }
            }
        }
    }
    if invalid == 0 {
        // Valid, perhaps cut short; pure ASCII is UTF-8 too (chardetng would say
        // windows-1252).
        return true;
    }
    valid_multi > 0 && invalid <= (valid_multi / 20).max(1)
}

/// Positions (in the decoded UTF-8 stream) where undecodable bytes were replaced.
pub(crate) type Malformed = Rc<RefCell<VecDeque<u64>>>;

/// A reader that decodes any encoding_rs encoding to UTF-8, removing a BOM and noting
/// where malformed input was replaced.
pub(crate) struct DecodeReader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    inbuf: Vec<u8>,
    in_start: usize,
    in_end: usize,
    outbuf: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
    written: u64,
    malformed: Malformed,
}

impl<R: Read> DecodeReader<R> {
    pub(crate) fn new(inner: R, enc: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: enc.new_decoder_with_bom_removal(),
            inbuf: vec![0; 64 * 1024],
            in_start: 0,
            in_end: 0,
            outbuf: vec![0; 3 * 64 * 1024 + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
            written: 0,
            malformed: Rc::default(),
        }
    }

    /// The shared queue of malformed positions.
    pub(crate) fn malformed(&self) -> Malformed {
        self.malformed.clone()
    }

    fn fill(&mut self) -> std::io::Result<()> {
        while self.out_start == self.out_end && !self.finished {
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.inbuf)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let last = self.eof;
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.inbuf[self.in_start..self.in_end],
                &mut self.outbuf[..],
                last,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::InputEmpty => {
                    if last {
                        self.finished = true;
                    }
                }
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(_, _) => {
                    // Room is guaranteed: the buffer is far larger than one decode step.
                    let at = self.written + written as u64;
                    self.malformed.borrow_mut().push_back(at);
                    let rep = "\u{FFFD}".as_bytes();
                    if self.out_end + rep.len() <= self.outbuf.len() {
                        self.outbuf[self.out_end..self.out_end + rep.len()].copy_from_slice(rep);
                        self.out_end += rep.len();
                    }
                }
            }
            self.written += (self.out_end - self.out_start) as u64;
        }
        Ok(())
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.fill()?;
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.outbuf[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], enc: &'static Encoding) -> (String, Vec<u64>) {
        let mut r = DecodeReader::new(bytes, enc);
        let m = r.malformed();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        let v = m.borrow().iter().copied().collect();
        (s, v)
    }

    #[test]
    fn detects_boms_and_legacy() {
        let (e, d) = detect(b"\xEF\xBB\xBFtext\n", true, None).unwrap();
        assert_eq!((e, d.source), (UTF_8, EncodingSource::Bom));
        let (e, _) = detect(b"\xFF\xFEt\0e\0", true, None).unwrap();
        assert_eq!(e, UTF_16LE);
        let (e, _) = detect(b"\xFE\xFF\0t\0e", true, None).unwrap();
        assert_eq!(e, UTF_16BE);
        let (gbk, _, _) =
            encoding_rs::GBK.encode("文本,标签\n这部电影很好看,正面\n太难看了,负面\n");
        let (e, d) = detect(&gbk, true, None).unwrap();
        assert!(
            e == encoding_rs::GBK || e == encoding_rs::GB18030,
            "{}",
            e.name()
        );
        assert_eq!(d.source, EncodingSource::Detected);
        let (e, _) = detect(b"plain ascii\n", true, None).unwrap();
        assert_eq!(e, UTF_8);
        let (e, d) = detect(b"abc", true, Some("gbk")).unwrap();
        assert_eq!((e, d.source), (encoding_rs::GBK, EncodingSource::Given));
        assert!(detect(b"abc", true, Some("klingon")).is_err());
    }

    #[test]
    fn truncated_utf8_stays_utf8_and_marks_the_bad_byte() {
        let bytes = "caf\u{e9},ok\nna\u{ef}ve,ok\nbad,\u{e9}"
            .as_bytes()
            .split_last()
            .unwrap()
            .1
            .to_vec();
        let (e, _) = detect(&bytes, true, None).unwrap();
        assert_eq!(e, UTF_8);
        let (s, m) = decode(&bytes, e);
        assert!(s.ends_with('\u{FFFD}'));
        assert_eq!(m, vec![(s.len() - 3) as u64]);
    }

    #[test]
    fn decodes_across_buffer_boundaries() {
        let text: String = "你好，世界。".repeat(50_000);
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let (s, m) = decode(&bytes, encoding_rs::GB18030);
        assert_eq!(s, text);
        assert!(m.is_empty());
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let (s, m) = decode(&utf16, UTF_16LE);
        assert_eq!(s, text);
        assert!(m.is_empty());
    }
}

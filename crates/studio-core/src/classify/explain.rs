//! The words behind a prediction: occlusion by word.
//!
//! Each word (each character for Chinese, Japanese and Korean script) is deleted from the
//! text in turn, and its weight is how much the predicted label's probability falls
//! without it: positive words speak for the predicted label, negative ones against it.
//! Why occlusion: it needs only forward passes (one batch of `words + 1` texts), works
//! for every model and mode we train, is already at word level (no merging of sub-word
//! pieces, whose gradients disagree in sign), and it measures exactly what the
//! faithfulness check asks: what deleting a word does (see
//! [`crate::studies::faithfulness`] for the measured table).

use crate::classify::infer::{Prediction, Predictor};
use crate::progress::CancelToken;
use crate::Result;
use serde::{Deserialize, Serialize};

/// The most words of one text that are weighed; later words get no weight (with a
/// note). Keeps a pasted essay from costing hundreds of forward passes.
pub const MAX_EXPLAINED_WORDS: usize = 200;

/// A word of a text, by character (Unicode scalar) offsets: `chars[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordSpan {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// One word's share in a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordWeight {
    /// The word.
    pub word: String,
    /// How much the predicted label's probability falls when the word is deleted
    /// (negative: it rises; the word speaks against the label).
    pub weight: f32,
    /// Its first character's offset in the text (Unicode scalars, not bytes).
    pub start: usize,
    /// One past its last character.
    pub end: usize,
}

/// A prediction and the words behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The prediction for the whole text.
    pub prediction: Prediction,
    /// Every word in text order (at most [`MAX_EXPLAINED_WORDS`]).
    pub words: Vec<WordWeight>,
    /// True when the text had more words than were weighed.
    pub truncated: bool,
}

/// Whether `c` is written without spaces between words (CJK ideographs, kana, hangul):
/// each such character counts as a word.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x2FA1F) // extensions B–F and supplement
}

/// The words of `text`: runs of letters and digits (with inner apostrophes and hyphens,
/// as in "didn't" or "well-made"), and each CJK character on its own. Spaces and
/// punctuation are not words.
pub fn words(text: &str) -> Vec<WordSpan> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            out.push(WordSpan {
                start: i,
                end: i + 1,
            });
            i += 1;
        } else if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() {
                let c = chars[i];
                let joins = (c == '\'' || c == '’' || c == '-')
                    && chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_alphanumeric() && !is_cjk(*n));
                if (c.is_alphanumeric() && !is_cjk(c)) || (joins && i > start) {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(WordSpan { start, end: i });
        } else {
            i += 1;
        }
    }
    out
}

/// `text` without the words in `drop` (character spans).
pub fn without(text: &str, drop: &[WordSpan]) -> String {
    let mut gone = vec![false; text.chars().count()];
    for w in drop {
        for g in &mut gone[w.start..w.end] {
            *g = true;
        }
    }
    text.chars()
        .zip(gone)
        .filter(|(_, g)| !g)
        .map(|(c, _)| c)
        .collect()
}

/// Explains each text's prediction by occlusion (see the module docs). The texts are
/// predicted in one pass with all their variants.
pub fn explain(
    predictor: &Predictor,
    texts: &[String],
    cancel: &CancelToken,
) -> Result<Vec<Explanation>> {
    let spans: Vec<Vec<WordSpan>> = texts.iter().map(|t| words(t)).collect();
    let mut batch: Vec<String> = Vec::new();
    for (text, ws) in texts.iter().zip(&spans) {
        batch.push(text.clone());
        for w in ws.iter().take(MAX_EXPLAINED_WORDS) {
            batch.push(without(text, std::slice::from_ref(w)));
        }
    }
    let preds = predictor.predict(&batch, cancel)?;
    let mut at = 0;
    let mut out = Vec::with_capacity(texts.len());
    for (text, ws) in texts.iter().zip(&spans) {
        let full = preds[at].clone();
        at += 1;
        let chars: Vec<char> = text.chars().collect();
        let label = full.label_id;
        let mut weights = Vec::new();
        for w in ws.iter().take(MAX_EXPLAINED_WORDS) {
            weights.push(WordWeight {
                word: chars[w.start..w.end].iter().collect(),
                weight: full.probs[label] - preds[at].probs[label],
                start: w.start,
                end: w.end,
            });
            at += 1;
        }
        out.push(Explanation {
            prediction: full,
            words: weights,
            truncated: ws.len() > MAX_EXPLAINED_WORDS,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts_of(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        words(text)
            .iter()
            .map(|w| chars[w.start..w.end].iter().collect())
            .collect()
    }

    #[test]
    fn english_words_keep_inner_apostrophes_and_drop_punctuation() {
        assert_eq!(
            texts_of("I didn't like it -- a well-made, dull film!"),
            [
                "I",
                "didn't",
                "like",
                "it",
                "a",
                "well-made",
                "dull",
                "film"
            ]
        );
        assert_eq!(texts_of("'quoted' 3D"), ["quoted", "3D"]);
    }

    #[test]
    fn chinese_is_split_into_characters_and_mixed_text_into_both() {
        assert_eq!(texts_of("房间很干净。"), ["房", "间", "很", "干", "净"]);
        assert_eq!(texts_of("wifi很慢"), ["wifi", "很", "慢"]);
    }

    #[test]
    fn deleting_words_keeps_everything_else() {
        let t = "服务 great, 好!";
        let w = words(t);
        assert_eq!(without(t, &w[2..3]), "服务 , 好!");
        assert_eq!(without(t, &w[1..2]), "服 great, 好!");
        assert_eq!(without(t, &w), " , !");
        assert_eq!(without(t, &[]), t);
    }
}

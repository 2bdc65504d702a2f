//! The words behind a prediction: occlusion by word.
//!
//! Each word (each character for Chinese, Japanese and Korean script) is deleted from the
//! text in turn, and its weight is how much the predicted label's probability falls
//! without it: positive words speak for the predicted label, negative ones against it.
//! Why occlusion: it needs only forward passes (one batch of `words + 1` texts; long
//! texts are weighed in two coarser-then-finer rounds, see [`explain`]), works
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

/// Texts with at most this many words have each word deleted in turn, in one round.
/// Longer texts are weighed in two rounds (see [`explain`]), which keeps a long review
/// from costing a forward pass per word.
pub const ONE_ROUND_WORDS: usize = 32;

/// Groups of a long text that are weighed again word by word in the second round.
const REFINED_GROUPS: usize = 3;

/// The contiguous word groups of a long text's first round: about `sqrt(3n)` of them,
/// which makes the two rounds together cost about `2 sqrt(3n)` forward passes (50 for
/// 200 words, instead of 200).
fn groups(n: usize) -> Vec<std::ops::Range<usize>> {
    let g = ((REFINED_GROUPS * n) as f64).sqrt().ceil() as usize;
    let g = g.clamp(1, n.max(1));
    (0..g).map(|i| i * n / g..(i + 1) * n / g).collect()
}

/// What one text is weighed by in the first round: each word, or groups of them.
fn first_round(n: usize) -> Vec<std::ops::Range<usize>> {
    if n <= ONE_ROUND_WORDS {
        (0..n).map(|i| i..i + 1).collect()
    } else {
        groups(n)
    }
}

/// Explains each text's prediction by occlusion (see the module docs). Short texts are
/// weighed word by word in one pass. A text of more than [`ONE_ROUND_WORDS`] words is
/// weighed in two: first contiguous groups of words are deleted, then the words of the
/// [`REFINED_GROUPS`] groups that moved the prediction most (either way) are deleted one
/// by one; a word of another group gets an equal share of its group's weight. All texts'
/// variants of a round are predicted in one batch.
pub fn explain(
    predictor: &Predictor,
    texts: &[String],
    cancel: &CancelToken,
) -> Result<Vec<Explanation>> {
    let all_spans: Vec<Vec<WordSpan>> = texts.iter().map(|t| words(t)).collect();
    let spans: Vec<&[WordSpan]> = all_spans
        .iter()
        .map(|w| &w[..w.len().min(MAX_EXPLAINED_WORDS)])
        .collect();
    let units: Vec<Vec<std::ops::Range<usize>>> =
        spans.iter().map(|ws| first_round(ws.len())).collect();
    let mut batch: Vec<String> = Vec::new();
    for ((text, ws), us) in texts.iter().zip(&spans).zip(&units) {
        batch.push(text.clone());
        for u in us {
            batch.push(without(text, &ws[u.clone()]));
        }
    }
    let preds = predictor.predict(&batch, cancel)?;
    // First round: each unit's weight, and per text the units to weigh word by word.
    let mut rest = preds.into_iter();
    let mut fulls = Vec::with_capacity(texts.len());
    let mut unit_weights: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
    for us in &units {
        let full = rest.next().expect("one prediction per text");
        let label = full.label_id;
        let gone: Vec<Prediction> = rest.by_ref().take(us.len()).collect();
        unit_weights.push(
            gone.iter()
                .map(|g| full.probs[label] - g.probs[label])
                .collect(),
        );
        fulls.push(full);
    }
    let refined: Vec<Vec<usize>> = units
        .iter()
        .zip(&unit_weights)
        .map(|(us, w)| {
            if us.iter().all(|u| u.len() == 1) {
                return Vec::new();
            }
            let mut order: Vec<usize> = (0..us.len()).collect();
            order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
            order.truncate(REFINED_GROUPS);
            order
        })
        .collect();
    let mut second: Vec<String> = Vec::new();
    for (((text, ws), us), r) in texts.iter().zip(&spans).zip(&units).zip(&refined) {
        for &g in r {
            for w in us[g].clone() {
                second.push(without(text, std::slice::from_ref(&ws[w])));
            }
        }
    }
    let preds2 = if second.is_empty() {
        Vec::new()
    } else {
        predictor.predict(&second, cancel)?
    };
    let mut at2 = 0;
    let mut out = Vec::with_capacity(texts.len());
    for i in 0..texts.len() {
        let (ws, us, full) = (&spans[i], &units[i], &fulls[i]);
        let label = full.label_id;
        let mut weight = vec![0f32; ws.len()];
        for (u, &w) in us.iter().zip(&unit_weights[i]) {
            for x in &mut weight[u.clone()] {
                *x = w / u.len() as f32;
            }
        }
        for &g in &refined[i] {
            for w in us[g].clone() {
                weight[w] = full.probs[label] - preds2[at2].probs[label];
                at2 += 1;
            }
        }
        let chars: Vec<char> = texts[i].chars().collect();
        out.push(Explanation {
            prediction: full.clone(),
            words: ws
                .iter()
                .zip(weight)
                .map(|(w, weight)| WordWeight {
                    word: chars[w.start..w.end].iter().collect(),
                    weight,
                    start: w.start,
                    end: w.end,
                })
                .collect(),
            truncated: all_spans[i].len() > MAX_EXPLAINED_WORDS,
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
    fn long_texts_are_weighed_in_groups_that_cover_every_word_once() {
        for n in [ONE_ROUND_WORDS + 1, 65, 200] {
            let g = groups(n);
            assert_eq!(g.first().map(|r| r.start), Some(0));
            assert_eq!(g.last().map(|r| r.end), Some(n));
            assert!(g
                .windows(2)
                .all(|p| p[0].end == p[1].start && !p[0].is_empty()));
            let passes = g.len() + REFINED_GROUPS * g.iter().map(|r| r.len()).max().unwrap();
            // Fewer passes than one per word, and four times fewer on 200 words.
            assert!(passes < n, "{n} words: {passes} passes");
            assert!(n < 200 || passes * 4 < n, "{n} words: {passes} passes");
        }
        assert_eq!(first_round(3), [0..1, 1..2, 2..3]);
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

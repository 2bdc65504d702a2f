//! Text → token ids, with dynamic padding per batch.

use crate::arch::EncoderConfig;
use crate::error::tok_err;
use crate::{Result, StudioError};
use candle_core::{Device, Tensor};
use std::path::Path;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{Tokenizer, TruncationParams};

/// A model's tokenizer, truncating but never padding (batches pad themselves).
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
    pad_id: u32,
}

/// One padded batch, ready for the encoder.
pub struct Batch {
    /// `[b, s]` u32 token ids.
    pub ids: Tensor,
    /// `[b, s]` u32, 1 on real tokens.
    pub mask: Tensor,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` from `dir`, or builds a WordPiece tokenizer from `vocab.txt`,
    /// and checks that it fits the model.
    pub fn from_dir(dir: &Path, cfg: &EncoderConfig, max_len: usize) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let mut inner = if json.is_file() {
            Tokenizer::from_file(&json).map_err(|e| StudioError::TokenizerMismatch {
                path: dir.to_path_buf(),
                reason: format!("tokenizer.json cannot be read ({e})"),
            })?
        } else {
            from_vocab(dir)?
        };
        let vocab = inner.get_vocab_size(true);
        if vocab > cfg.vocab_size {
            return Err(StudioError::TokenizerMismatch {
                path: dir.to_path_buf(),
                reason: format!(
                    "the tokenizer knows {vocab} tokens but the model's embedding table has only {} rows",
                    cfg.vocab_size
                ),
            });
        }
        let max_len = max_len.clamp(8, cfg.max_tokens());
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(tok_err)?;
        let pad_id = cfg.pad_token_id;
        Ok(Self {
            inner,
            max_len,
            pad_id,
        })
    }

    /// Longest sequence produced, in tokens.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The underlying tokenizer (to save with an export).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// Token ids of each text, with special tokens, truncated.
    pub fn encode_all(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        let encodings = self
            .inner
            .encode_batch(texts.iter().map(String::as_str).collect::<Vec<_>>(), true)
            .map_err(tok_err)?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// Pads `seqs` to the longest one and moves them to `device`.
    pub fn batch(&self, seqs: &[&[u32]], device: &Device) -> Result<Batch> {
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(1).max(1);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for s in seqs {
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(self.pad_id, len - s.len()));
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, len - s.len()));
        }
        Ok(Batch {
            ids: Tensor::from_vec(ids, (seqs.len(), len), device)?,
            mask: Tensor::from_vec(mask, (seqs.len(), len), device)?,
        })
    }
}

/// A BERT WordPiece tokenizer from `vocab.txt`, as transformers' BertTokenizer builds it.
fn from_vocab(dir: &Path) -> Result<Tokenizer> {
    let vocab = dir.join("vocab.txt");
    let lowercase = std::fs::read_to_string(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("do_lower_case").and_then(|b| b.as_bool()))
        .unwrap_or(true);
    let wp = WordPiece::from_file(&vocab.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .map_err(|e| StudioError::TokenizerMismatch {
            path: dir.to_path_buf(),
            reason: format!("vocab.txt cannot be read ({e})"),
        })?;
    let id = |t: &str| {
        tokenizers::Model::token_to_id(&wp, t).ok_or_else(|| StudioError::TokenizerMismatch {
            path: dir.to_path_buf(),
            reason: format!("vocab.txt has no {t} token"),
        })
    };
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    let mut tok = Tokenizer::new(wp);
    tok.with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)))
        .map_err(tok_err)?;
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.with_post_processor(Some(BertProcessing::new(
        ("[SEP]".into(), sep),
        ("[CLS]".into(), cls),
    )));
    Ok(tok)
}

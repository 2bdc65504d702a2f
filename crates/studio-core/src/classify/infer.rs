//! Prediction: label and probabilities for one text or many.

use crate::arch::{Classifier, ForwardCtx, ParamStore, Pooling};
use crate::classify::train::batches;
use crate::models::{ModelFolder, TextTokenizer};
use crate::progress::CancelToken;
use crate::{Result, StudioError};
use candle_core::{Device, Tensor};
use serde::Serialize;

/// One text's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The most probable label.
    pub label: String,
    /// Label id of `label`.
    pub label_id: usize,
    /// Probability per label, in label order.
    pub probs: Vec<f32>,
    /// Raw scores per label, in label order.
    pub logits: Vec<f32>,
}

/// A loaded classifier ready to predict.
pub struct Predictor {
    model: Classifier,
    tokenizer: TextTokenizer,
    labels: Vec<String>,
    device: Device,
    batch_size: usize,
    temperature: f64,
}

impl Predictor {
    /// Loads an exported classifier folder (or any fine-tuned sequence classifier of a
    /// supported family with its head).
    pub fn load(dir: &std::path::Path, device: &Device) -> Result<Self> {
        let folder = ModelFolder::open(dir)?;
        let labels = folder.label_names().ok_or_else(|| StudioError::UnsupportedModel {
            path: dir.to_path_buf(),
            found: "a base model without a trained classifier (config.json has no id2label); train one with `studio train`".into(),
        })?;
        let store = ParamStore::from_tensors(folder.load_tensors(device)?, device)?;
        let model =
            Classifier::load(&store, &folder.config, folder.head_pooling(), 1.0).map_err(|e| {
                StudioError::UnsupportedModel {
                    path: dir.to_path_buf(),
                    found: format!("a model whose classifier head cannot be built ({e})"),
                }
            })?;
        let tokenizer = folder.tokenizer(folder.config.max_tokens())?;
        Ok(Self::new(model, tokenizer, labels, device.clone())?
            .with_temperature(folder.temperature()))
    }

    /// Records the temperature already folded into the head (for the "before
    /// calibration" figures; predictions do not change).
    pub fn with_temperature(mut self, temperature: f64) -> Self {
        self.temperature = temperature;
        self
    }

    /// The temperature folded into the head (1 for a model calibrated by nobody).
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Wraps an in-memory model.
    pub fn new(
        model: Classifier,
        tokenizer: TextTokenizer,
        labels: Vec<String>,
        device: Device,
    ) -> Result<Self> {
        Ok(Self {
            model,
            tokenizer,
            labels,
            device,
            batch_size: 32,
            temperature: 1.0,
        })
    }

    /// Label names in id order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Predicts every text (batched by length internally; results in input order).
    pub fn predict(&self, texts: &[String], cancel: &CancelToken) -> Result<Vec<Prediction>> {
        let seqs = self.tokenizer.encode_all(texts)?;
        let logits = logits_for(
            &self.model,
            &self.tokenizer,
            &seqs,
            &self.device,
            self.batch_size,
            cancel,
        )?;
        Ok(logits
            .into_iter()
            .map(|l| {
                let probs = softmax(&l);
                let label_id = argmax(&probs);
                Prediction {
                    label: self.labels[label_id].clone(),
                    label_id,
                    probs,
                    logits: l,
                }
            })
            .collect())
    }

    /// Predicts one text.
    pub fn predict_one(&self, text: &str) -> Result<Prediction> {
        let mut v = self.predict(&[text.to_string()], &CancelToken::new())?;
        v.pop()
            .ok_or_else(|| StudioError::InvalidSetting("no text to predict".into()))
    }
}

/// Logits of every sequence, in input order, without building an autograd graph.
pub(crate) fn logits_for(
    model: &Classifier,
    tokenizer: &TextTokenizer,
    seqs: &[Vec<u32>],
    device: &Device,
    batch_size: usize,
    cancel: &CancelToken,
) -> Result<Vec<Vec<f32>>> {
    let lengths: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let mut out = vec![Vec::new(); seqs.len()];
    let ctx = ForwardCtx::eval();
    for batch in batches::by_length(&lengths, batch_size) {
        cancel.check()?;
        let refs: Vec<&[u32]> = batch.iter().map(|&i| seqs[i].as_slice()).collect();
        let b = tokenizer.batch(&refs, device)?;
        let logits = model.forward(&b.ids, &b.mask, &ctx)?.detach();
        for (row, &i) in logits.to_vec2::<f32>()?.into_iter().zip(&batch) {
            out[i] = row;
        }
    }
    Ok(out)
}

/// Pooled features of every sequence, in input order, `[n, h]`.
pub(crate) fn features_for(
    model: &Classifier,
    tokenizer: &TextTokenizer,
    seqs: &[Vec<u32>],
    device: &Device,
    batch_size: usize,
    cancel: &CancelToken,
    mut on_batch: impl FnMut(usize),
) -> Result<Tensor> {
    let lengths: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let ctx = ForwardCtx::eval();
    let mut parts: Vec<(Vec<usize>, Tensor)> = Vec::new();
    let mut done = 0;
    for batch in batches::by_length(&lengths, batch_size) {
        cancel.check()?;
        let refs: Vec<&[u32]> = batch.iter().map(|&i| seqs[i].as_slice()).collect();
        let b = tokenizer.batch(&refs, device)?;
        let hidden = model.encode(&b.ids, &b.mask, &ctx)?;
        let f = model.pool(&hidden, &b.mask)?.detach().contiguous()?;
        done += batch.len();
        on_batch(done);
        parts.push((batch, f));
    }
    let order: Vec<u32> = {
        // position of each original index in the concatenation
        let mut pos = vec![0u32; seqs.len()];
        let mut k = 0u32;
        for (batch, _) in &parts {
            for &i in batch {
                pos[i] = k;
                k += 1;
            }
        }
        pos
    };
    let cat = Tensor::cat(&parts.iter().map(|(_, t)| t).collect::<Vec<_>>(), 0)?;
    let order = Tensor::from_vec(order, seqs.len(), device)?;
    Ok(cat.index_select(&order, 0)?)
}

/// Numerically stable softmax of one row.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|x| (x - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// Index of the largest value.
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Sentence vectors from a base model: the normalised mean of its token vectors (the
/// features the head and few-shot modes train on). Used for diversity sampling and for
/// the labelling loop's fast classifier.
pub struct SentenceEmbedder {
    model: Classifier,
    tokenizer: TextTokenizer,
    device: Device,
}

impl SentenceEmbedder {
    /// Loads the encoder of `folder` (any supported base or fine-tuned model).
    pub fn load(folder: &ModelFolder, device: &Device, max_len: usize) -> Result<Self> {
        let mut store = ParamStore::from_tensors(folder.load_tensors(device)?, device)?;
        Classifier::add_missing_head(&mut store, &folder.config, Pooling::Mean, 2, 0)?;
        let model = Classifier::load(&store, &folder.config, Pooling::Mean, 1.0)?;
        Ok(Self {
            model,
            tokenizer: folder.tokenizer(max_len)?,
            device: device.clone(),
        })
    }

    /// One vector per text, `[n, hidden]`.
    pub fn embed_tensor(
        &self,
        texts: &[String],
        cancel: &CancelToken,
        on_progress: impl FnMut(usize),
    ) -> Result<Tensor> {
        let seqs = self.tokenizer.encode_all(texts)?;
        features_for(
            &self.model,
            &self.tokenizer,
            &seqs,
            &self.device,
            32,
            cancel,
            on_progress,
        )
    }

    /// One vector per text, as rows.
    pub fn embed_rows(&self, texts: &[String], cancel: &CancelToken) -> Result<Vec<Vec<f32>>> {
        Ok(self.embed_tensor(texts, cancel, |_| {})?.to_vec2::<f32>()?)
    }
}

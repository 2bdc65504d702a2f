//! A model folder on disk: `config.json`, weights, tokenizer.

use super::tokenizer::TextTokenizer;
use crate::arch::{names, EncoderConfig, Family, Pooling};
use crate::{Result, StudioError};
use candle_core::{Device, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A Hugging Face model folder we know how to load.
#[derive(Debug, Clone)]
pub struct ModelFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Parsed hyper-parameters.
    pub config: EncoderConfig,
    /// The raw `config.json`, kept so the export can carry every original field.
    pub config_json: Value,
    /// The weights file (`model.safetensors` or `pytorch_model.bin`).
    pub weights: PathBuf,
    /// Mean pooling if the folder is a sentence-transformers model, else CLS.
    pub natural_pooling: Pooling,
}

impl ModelFolder {
    /// Opens `dir`, checking that it holds a supported model with weights and a tokenizer.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(StudioError::UnsupportedModel {
                path: dir.to_path_buf(),
                found: "no such folder".into(),
            });
        }
        let (config, config_json) = EncoderConfig::from_dir(dir)?;
        let weights = ["model.safetensors", "pytorch_model.bin"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| StudioError::UnsupportedModel {
                path: dir.to_path_buf(),
                found: "a config.json but no model.safetensors or pytorch_model.bin".into(),
            })?;
        if !dir.join("tokenizer.json").is_file() && !dir.join("vocab.txt").is_file() {
            return Err(StudioError::UnsupportedModel {
                path: dir.to_path_buf(),
                found: "weights but no tokenizer.json or vocab.txt".into(),
            });
        }
        let sentence_transformers =
            dir.join("modules.json").is_file() || dir.join("1_Pooling").is_dir();
        let declared = config_json
            .get("studio_pooling")
            .and_then(Value::as_str)
            .map(|p| p == "mean");
        let natural_pooling = if declared.unwrap_or(sentence_transformers) {
            Pooling::Mean
        } else {
            Pooling::Cls
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            config_json,
            weights,
            natural_pooling,
        })
    }

    /// The model's family.
    pub fn family(&self) -> Family {
        self.config.family
    }

    /// Labels of a fine-tuned classifier (`id2label`), in id order, if it has them.
    pub fn label_names(&self) -> Option<Vec<String>> {
        let map = self.config_json.get("id2label")?.as_object()?;
        let mut pairs: Vec<(usize, String)> = map
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
            .collect();
        pairs.sort();
        let names: Vec<String> = pairs.into_iter().map(|(_, n)| n).collect();
        // transformers writes LABEL_0.. for heads that were never named: not ours.
        (!names.is_empty() && !names.iter().all(|n| n.starts_with("LABEL_"))).then_some(names)
    }

    /// Loads the weights as f32 tensors under transformers' sequence-classification names
    /// (adding the family prefix that sentence-transformers checkpoints lack, dropping
    /// pre-training heads).
    pub fn load_tensors(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let raw: Vec<(String, Tensor)> = if self.weights.extension().is_some_and(|e| e == "bin") {
            candle_core::pickle::read_all(&self.weights).map_err(|e| self.corrupt(e))?
        } else {
            candle_core::safetensors::load(&self.weights, &Device::Cpu)
                .map_err(|e| self.corrupt(e))?
                .into_iter()
                .collect()
        };
        let prefix = names::prefix(self.config.family);
        let mut out = HashMap::new();
        for (name, t) in raw {
            if !t.dtype().is_float() || name.ends_with("position_ids") {
                continue;
            }
            let Some(name) = canonical_name(&name, prefix) else {
                continue;
            };
            let t = t.to_dtype(candle_core::DType::F32)?.to_device(device)?;
            out.insert(name, t);
        }
        let word = names::word_embeddings(self.config.family);
        match out.get(&word) {
            None => {
                return Err(StudioError::UnsupportedModel {
                    path: self.dir.clone(),
                    found: format!(
                        "weights without {word}; the file does not look like a {} model",
                        self.config.family.model_type()
                    ),
                })
            }
            Some(t) if t.dims() != [self.config.vocab_size, self.config.hidden] => {
                return Err(StudioError::UnsupportedModel {
                    path: self.dir.clone(),
                    found: format!(
                        "a word-embedding table of shape {:?} where config.json says [{}, {}]",
                        t.dims(),
                        self.config.vocab_size,
                        self.config.hidden
                    ),
                })
            }
            Some(_) => {}
        }
        Ok(out)
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> StudioError {
        StudioError::UnsupportedModel {
            path: self.dir.clone(),
            found: format!("a weights file that cannot be read ({e})"),
        }
    }

    /// The tokenizer, truncating at `max_len` tokens (capped by the position table).
    pub fn tokenizer(&self, max_len: usize) -> Result<TextTokenizer> {
        TextTokenizer::from_dir(&self.dir, &self.config, max_len)
    }
}

/// Maps a checkpoint tensor name to ours, or `None` for tensors we don't use.
fn canonical_name(name: &str, prefix: &str) -> Option<String> {
    let name = name.replace(".gamma", ".weight").replace(".beta", ".bias");
    let head_names = ["classifier.", "pre_classifier.", "studio."];
    if name.starts_with(&format!("{prefix}.")) || head_names.iter().any(|h| name.starts_with(h)) {
        return Some(name);
    }
    let encoder_parts = ["embeddings.", "encoder.", "transformer.", "pooler."];
    if encoder_parts.iter().any(|p| name.starts_with(p)) {
        return Some(format!("{prefix}.{name}"));
    }
    // "model.", "bert.", "roberta." under another family's prefix, MLM heads (cls.,
    // lm_head., vocab_*): not part of an encoder we build.
    None
}

#[cfg(test)]
mod tests {
    use super::canonical_name;

    #[test]
    fn names_gain_the_prefix_and_heads_are_dropped() {
        assert_eq!(
            canonical_name("embeddings.LayerNorm.gamma", "bert").as_deref(),
            Some("bert.embeddings.LayerNorm.weight")
        );
        assert_eq!(
            canonical_name("bert.pooler.dense.weight", "bert").as_deref(),
            Some("bert.pooler.dense.weight")
        );
        assert_eq!(canonical_name("cls.predictions.bias", "bert"), None);
        assert_eq!(
            canonical_name("classifier.out_proj.weight", "roberta").as_deref(),
            Some("classifier.out_proj.weight")
        );
    }
}

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
    /// How the model was trained to turn a text into one vector (see [`PoolingSource`]).
    pub natural_pooling: Pooling,
    /// Where [`ModelFolder::natural_pooling`] came from.
    pub pooling_source: PoolingSource,
    /// True for one of our exports trained with mean pooling: its last encoder layer
    /// only computes the mean and its head is linearised (see `classify::export`). We
    /// read such a folder back as the model that was trained: without that layer, with
    /// mean pooling and the mean head, so it can be trained further or predict directly.
    pub mean_layer: bool,
}

/// Where a folder's pooling was read from. Why it matters: a sentence encoder read with
/// the wrong pooling still trains, silently worse (all-MiniLM-L6-v2 with CLS: 0.579
/// against 0.688 with mean, head only, 64 labels per class).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "detail")]
pub enum PoolingSource {
    /// Our own export's `studio_pooling` field.
    Studio,
    /// The sentence-transformers pooling module's config (`modules.json`,
    /// `1_Pooling/config.json`, `sentence_bert_config.json`); the detail names the file.
    SentenceTransformers(String),
    /// A bare copy of a catalog model, recognised; the detail is its catalog id.
    Catalog(String),
    /// Nothing said: [CLS], what transformers' classifiers use.
    Default,
}

impl ModelFolder {
    /// One sentence on which pooling the model uses and why, for the CLI's notes, the
    /// app and the model card.
    pub fn pooling_note(&self) -> String {
        let p = match self.natural_pooling {
            Pooling::Mean => "mean pooling",
            Pooling::Cls => "[CLS] pooling",
        };
        match &self.pooling_source {
            PoolingSource::Studio => format!("{p}, as recorded by the Sentiment Studio export it came from"),
            PoolingSource::SentenceTransformers(f) => format!("{p}, as {f} says"),
            PoolingSource::Catalog(id) => format!(
                "{p}: the folder has no pooling files, but it is a copy of {id}, which was built for it"
            ),
            PoolingSource::Default => format!(
                "{p}: the folder does not say how it pools (no modules.json or 1_Pooling/) and is not a model we know; pass --pooling mean if it is a sentence encoder"
            ),
        }
    }
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
        let (mut natural_pooling, mut pooling_source) = pooling_of(dir, &config_json);
        let mut config = config;
        let mean_layer = exported_with_mean_layer(dir) && config.layers > 1;
        if mean_layer {
            config.layers -= 1;
            natural_pooling = Pooling::Mean;
            pooling_source = PoolingSource::Studio;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            config_json,
            weights,
            natural_pooling,
            pooling_source,
            mean_layer,
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

    /// The temperature our export folded into the classifier (`training_args.json`);
    /// 1 for any other folder.
    pub fn temperature(&self) -> f64 {
        std::fs::read_to_string(self.dir.join("training_args.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v.get("temperature").and_then(Value::as_f64))
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(1.0)
    }

    /// Loads the weights as f32 tensors under transformers' sequence-classification names
    /// (adding the family prefix that sentence-transformers checkpoints lack, dropping
    /// pre-training heads).
    pub fn load_tensors(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let raw: Vec<(String, Tensor)> = if self.weights.extension().is_some_and(|e| e == "bin") {
            self.check_pickle_sizes()?;
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
        if self.mean_layer {
            self.undo_mean_export(&mut out)?;
        }
        Ok(out)
    }

    /// The pooling a classifier read from this folder predicts with: the mean for our
    /// exports read back without their mean layer, else the first token (what
    /// transformers' sequence classifiers use).
    pub fn head_pooling(&self) -> Pooling {
        if self.mean_layer {
            Pooling::Mean
        } else {
            Pooling::Cls
        }
    }

    /// Drops the export's mean layer and composes its linearised head back into the
    /// mean head: the head computes `O·act(D·f + d) + o` with `act` linear on its inputs
    /// (tanh near 0 with `D = εI`; ReLU shifted positive for DistilBERT), which is
    /// `(O·D)·f + (O·d + o)`.
    fn undo_mean_export(&self, t: &mut HashMap<String, Tensor>) -> Result<()> {
        let n = names::layer(self.config.family, self.config.layers);
        for lin in [
            &n.query,
            &n.key,
            &n.value,
            &n.attn_out,
            &n.attn_norm,
            &n.ffn_in,
            &n.ffn_out,
            &n.ffn_norm,
        ] {
            t.remove(&lin.weight());
            t.remove(&lin.bias());
        }
        let (dense, out) = (
            names::head_dense(self.config.family),
            names::head_out(self.config.family),
        );
        let mut take = |name: String| {
            t.remove(&name)
                .ok_or_else(|| StudioError::UnsupportedModel {
                    path: self.dir.clone(),
                    found: format!("an export without its classifier weight {name}"),
                })
        };
        let (d_w, d_b, o_w, o_b) = (
            take(dense.weight())?,
            take(dense.bias())?,
            take(out.weight())?,
            take(out.bias())?,
        );
        let w = o_w.matmul(&d_w)?;
        let b = (o_w.matmul(&d_b.unsqueeze(1)?)?.squeeze(1)? + o_b)?;
        let mean = names::mean_head();
        t.insert(mean.weight(), w);
        t.insert(mean.bias(), b);
        Ok(())
    }

    /// Refuses a PyTorch pickle whose tensors declare more bytes than the file holds.
    /// candle allocates each tensor by its declared shape before reading it, so a file of
    /// a few KB declaring a shape of billions of elements would abort the process.
    /// PyTorch stores tensor data uncompressed, so real weights always fit in the file;
    /// views that share one storage are counted once.
    fn check_pickle_sizes(&self) -> Result<()> {
        let infos = candle_core::pickle::read_pth_tensor_info(&self.weights, false, None)
            .map_err(|e| self.corrupt(e))?;
        let mut storages: HashMap<String, u64> = HashMap::new();
        for i in &infos {
            let end = (i.layout.start_offset() as u64).saturating_add(
                (i.layout.shape().elem_count() as u64)
                    .saturating_mul(i.dtype.size_in_bytes() as u64),
            );
            let e = storages.entry(i.path.clone()).or_default();
            *e = (*e).max(end);
        }
        let declared = storages
            .values()
            .fold(0u64, |sum, &b| sum.saturating_add(b));
        let held = std::fs::metadata(&self.weights)
            .map_err(|e| StudioError::io("read", &self.weights, e))?
            .len();
        if declared > held {
            return Err(self.corrupt(format!(
                "its tensors declare {declared} bytes but the file holds only {held}; it is damaged or was made to exhaust memory"
            )));
        }
        Ok(())
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

/// Whether `dir` is one of our exports of a mean-pooled classifier (its
/// `training_args.json` says so).
fn exported_with_mean_layer(dir: &Path) -> bool {
    read_json(&dir.join("training_args.json")).is_some_and(|a| {
        a.get("pooling_export")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("mean pooling exported as an extra encoder layer"))
    })
}

/// The pooling a folder was built for, and where that was read (see [`PoolingSource`]):
/// our own field, then sentence-transformers' files, then a known catalog model, then
/// [CLS].
fn pooling_of(dir: &Path, config_json: &Value) -> (Pooling, PoolingSource) {
    let studio = config_json
        .get("studio_pooling")
        .and_then(Value::as_str)
        .and_then(parse_pooling_word);
    if let Some(p) = studio {
        return (p, PoolingSource::Studio);
    }
    if let Some((p, file)) = sentence_transformers_pooling(dir) {
        return (p, PoolingSource::SentenceTransformers(file));
    }
    if let Some(entry) = known_catalog_model(dir, config_json) {
        return (entry.pooling, PoolingSource::Catalog(entry.id.clone()));
    }
    (Pooling::Cls, PoolingSource::Default)
}

fn parse_pooling_word(s: &str) -> Option<Pooling> {
    match s {
        "mean" => Some(Pooling::Mean),
        "cls" => Some(Pooling::Cls),
        _ => None,
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Pooling from a sentence-transformers folder: the Pooling module that `modules.json`
/// names (else `1_Pooling/`), its `config.json` flags; `sentence_bert_config.json`'s
/// `pooling_mode` as a last word.
fn sentence_transformers_pooling(dir: &Path) -> Option<(Pooling, String)> {
    let module_dir = read_json(&dir.join("modules.json"))
        .and_then(|m| {
            m.as_array()?.iter().find_map(|entry| {
                let ty = entry.get("type")?.as_str()?;
                ty.ends_with("Pooling")
                    .then(|| entry.get("path")?.as_str().map(str::to_string))?
            })
        })
        .unwrap_or_else(|| "1_Pooling".into());
    let cfg_path = dir.join(&module_dir).join("config.json");
    if let Some(cfg) = read_json(&cfg_path) {
        let on = |k: &str| cfg.get(k).and_then(Value::as_bool).unwrap_or(false);
        let label = format!("{module_dir}/config.json");
        if on("pooling_mode_mean_tokens") {
            return Some((Pooling::Mean, label));
        }
        if on("pooling_mode_cls_token") {
            return Some((Pooling::Cls, label));
        }
    }
    let sbert = read_json(&dir.join("sentence_bert_config.json"))?;
    let mode = sbert.get("pooling_mode")?.as_str()?;
    Some((
        parse_pooling_word(mode)?,
        "sentence_bert_config.json".into(),
    ))
}

/// The catalog model a bare folder is a copy of: its `config.json` is byte for byte the
/// catalog's, or its `_name_or_path` or folder name is the model's.
fn known_catalog_model(dir: &Path, config_json: &Value) -> Option<super::CatalogEntry> {
    use sha2::Digest;
    let catalog = super::Catalog::builtin();
    let config_sha = std::fs::read(dir.join("config.json"))
        .ok()
        .map(|b| format!("{:x}", sha2::Sha256::digest(&b)));
    let name_or_path = config_json
        .get("_name_or_path")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    catalog
        .models
        .iter()
        .find(|m| {
            let repo = m.hf_repo.to_lowercase();
            let repo_name = repo.rsplit('/').next().unwrap_or(&repo).to_string();
            let same_config = match (&config_sha, &m.pypi) {
                (Some(sha), Some(pypi)) => pypi.files.get("config.json") == Some(sha),
                _ => false,
            };
            same_config
                || (!name_or_path.is_empty()
                    && (name_or_path == repo || name_or_path.ends_with(&format!("/{repo_name}"))))
                || folder == m.id
                || folder == repo_name
        })
        .cloned()
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

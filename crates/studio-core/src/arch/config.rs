//! Encoder hyper-parameters, read from a Hugging Face `config.json`.

use crate::{Result, StudioError};
use serde_json::Value;
use std::path::Path;

/// The model families we can load, train and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// BERT and BERT-architecture models (MiniLM, e5).
    #[serde(rename = "bert")]
    Bert,
    /// DistilBERT.
    #[serde(rename = "distilbert")]
    DistilBert,
    /// XLM-RoBERTa (and RoBERTa-shaped checkpoints with that model type).
    #[serde(rename = "xlm-roberta")]
    XlmRoberta,
}

impl Family {
    /// The `architectures` entry transformers expects for a sequence classifier.
    pub fn classifier_class(self) -> &'static str {
        match self {
            Self::Bert => "BertForSequenceClassification",
            Self::DistilBert => "DistilBertForSequenceClassification",
            Self::XlmRoberta => "XLMRobertaForSequenceClassification",
        }
    }

    /// The `model_type` in config.json.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Bert => "bert",
            Self::DistilBert => "distilbert",
            Self::XlmRoberta => "xlm-roberta",
        }
    }
}

/// Hidden-layer activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU with erf (transformers' "gelu").
    GeluErf,
    /// GELU with the tanh approximation ("gelu_new", "gelu_pytorch_tanh").
    GeluTanh,
    /// ReLU.
    Relu,
    /// tanh (classification heads only).
    Tanh,
}

/// Everything needed to build an encoder and its head.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// Which family (names, heads, positions).
    pub family: Family,
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Number of transformer layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward inner size.
    pub intermediate: usize,
    /// Rows of the position-embedding table.
    pub max_positions: usize,
    /// Rows of the token-type table (0 for DistilBERT).
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Feed-forward activation.
    pub activation: Activation,
    /// Dropout on hidden states.
    pub hidden_dropout: f32,
    /// Dropout on attention probabilities.
    pub attention_dropout: f32,
    /// Dropout before the classifier.
    pub classifier_dropout: f32,
    /// Id of the padding token.
    pub pad_token_id: u32,
    /// First position id (XLM-R counts from padding_idx + 1, the others from 0).
    pub position_offset: usize,
    /// Standard deviation for new weights.
    pub initializer_range: f64,
}

/// The largest encoder dimensions we accept from a `config.json` (xlm-roberta-large
/// is well inside: vocabulary 250,002, hidden 1,024, 24 layers, 16 heads, 4,096
/// intermediate, 514 positions, 0.56 billion parameters).
pub struct ConfigLimits {
    /// Vocabulary rows.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward size.
    pub intermediate: usize,
    /// Position rows.
    pub max_positions: usize,
    /// Token-type rows.
    pub type_vocab_size: usize,
    /// Tokens a text must be allowed at least.
    pub min_tokens: usize,
    /// Parameters in all (about 4 bytes each to train).
    pub parameters: usize,
}

/// See [`ConfigLimits`].
pub const LIMITS: ConfigLimits = ConfigLimits {
    vocab_size: 1_000_000,
    hidden: 4_096,
    layers: 48,
    heads: 64,
    intermediate: 16_384,
    max_positions: 65_536,
    type_vocab_size: 16,
    min_tokens: 8,
    parameters: 2_000_000_000,
};

impl EncoderConfig {
    /// Reads `config.json` in `dir`.
    pub fn from_dir(dir: &Path) -> Result<(Self, Value)> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|_| StudioError::UnsupportedModel {
            path: dir.to_path_buf(),
            found: "no config.json".into(),
        })?;
        let value: Value =
            serde_json::from_str(&text).map_err(|error| StudioError::Json { path, error })?;
        let cfg = Self::from_json(dir, &value)?;
        Ok((cfg, value))
    }

    /// Interprets a parsed `config.json`.
    pub fn from_json(dir: &Path, v: &Value) -> Result<Self> {
        let model_type = v.get("model_type").and_then(Value::as_str).unwrap_or("");
        let unsupported = |found: String| StudioError::UnsupportedModel {
            path: dir.to_path_buf(),
            found,
        };
        let family = match model_type {
            "bert" => Family::Bert,
            "distilbert" => Family::DistilBert,
            "xlm-roberta" | "roberta" => Family::XlmRoberta,
            "" => return Err(unsupported("config.json has no model_type".into())),
            other => return Err(unsupported(format!("a \"{other}\" model"))),
        };
        let int = |keys: &[&str]| -> Result<usize> {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_u64))
                .map(|x| x as usize)
                .ok_or_else(|| unsupported(format!("config.json lacks \"{}\"", keys[0])))
        };
        let float = |keys: &[&str], default: f64| -> f64 {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_f64))
                .unwrap_or(default)
        };
        let act_name = v
            .get(if family == Family::DistilBert {
                "activation"
            } else {
                "hidden_act"
            })
            .and_then(Value::as_str)
            .unwrap_or("gelu");
        let activation = match act_name {
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(unsupported(format!(
                    "an unsupported activation \"{other}\""
                )))
            }
        };
        let pad_token_id =
            v.get("pad_token_id")
                .and_then(Value::as_u64)
                .unwrap_or(if family == Family::XlmRoberta { 1 } else { 0 }) as u32;
        let cfg = match family {
            Family::DistilBert => Self {
                family,
                vocab_size: int(&["vocab_size"])?,
                hidden: int(&["dim"])?,
                layers: int(&["n_layers"])?,
                heads: int(&["n_heads"])?,
                intermediate: int(&["hidden_dim"])?,
                max_positions: int(&["max_position_embeddings"])?,
                type_vocab_size: 0,
                layer_norm_eps: 1e-12,
                activation,
                hidden_dropout: float(&["dropout"], 0.1) as f32,
                attention_dropout: float(&["attention_dropout"], 0.1) as f32,
                classifier_dropout: float(&["seq_classif_dropout"], 0.2) as f32,
                pad_token_id,
                position_offset: 0,
                initializer_range: float(&["initializer_range"], 0.02),
            },
            Family::Bert | Family::XlmRoberta => {
                let hidden_dropout = float(&["hidden_dropout_prob"], 0.1) as f32;
                Self {
                    family,
                    vocab_size: int(&["vocab_size"])?,
                    hidden: int(&["hidden_size"])?,
                    layers: int(&["num_hidden_layers"])?,
                    heads: int(&["num_attention_heads"])?,
                    intermediate: int(&["intermediate_size"])?,
                    max_positions: int(&["max_position_embeddings"])?,
                    type_vocab_size: int(&["type_vocab_size"]).unwrap_or(2),
                    layer_norm_eps: float(&["layer_norm_eps"], 1e-12),
                    activation,
                    hidden_dropout,
                    attention_dropout: float(&["attention_probs_dropout_prob"], 0.1) as f32,
                    classifier_dropout: v
                        .get("classifier_dropout")
                        .and_then(Value::as_f64)
                        .map_or(hidden_dropout, |x| x as f32),
                    pad_token_id,
                    position_offset: if family == Family::XlmRoberta {
                        pad_token_id as usize + 1
                    } else {
                        0
                    },
                    initializer_range: float(&["initializer_range"], 0.02),
                }
            }
        };
        cfg.check().map_err(unsupported)?;
        Ok(cfg)
    }

    /// Refuses dimensions no encoder we can train has: zero, or so large that building
    /// the model would allocate without bound. A `config.json` comes from whoever made
    /// the folder; a bad one must be an error naming the field, never a panic or an
    /// out-of-memory abort.
    fn check(&self) -> std::result::Result<(), String> {
        let field = |name: &str, value: usize, max: usize| {
            if value == 0 || value > max {
                Err(format!(
                    "config.json says {name} = {value}; a model we can train has between 1 and {max}"
                ))
            } else {
                Ok(())
            }
        };
        let names = match self.family {
            Family::DistilBert => ["vocab_size", "dim", "n_layers", "n_heads", "hidden_dim"],
            _ => [
                "vocab_size",
                "hidden_size",
                "num_hidden_layers",
                "num_attention_heads",
                "intermediate_size",
            ],
        };
        field(names[0], self.vocab_size, LIMITS.vocab_size)?;
        field(names[1], self.hidden, LIMITS.hidden)?;
        field(names[2], self.layers, LIMITS.layers)?;
        field(names[3], self.heads, LIMITS.heads)?;
        field(names[4], self.intermediate, LIMITS.intermediate)?;
        field(
            "max_position_embeddings",
            self.max_positions,
            LIMITS.max_positions,
        )?;
        if self.type_vocab_size > LIMITS.type_vocab_size {
            return Err(format!(
                "config.json says type_vocab_size = {}; at most {} are supported",
                self.type_vocab_size, LIMITS.type_vocab_size
            ));
        }
        if self.max_tokens() < LIMITS.min_tokens {
            return Err(format!(
                "config.json says max_position_embeddings = {}, which leaves {} tokens a text; at least {} are needed",
                self.max_positions,
                self.max_tokens(),
                LIMITS.min_tokens
            ));
        }
        if !self.hidden.is_multiple_of(self.heads) {
            return Err(format!(
                "hidden size {} is not a multiple of {} heads",
                self.hidden, self.heads
            ));
        }
        let params = self.vocab_size * self.hidden
            + self.layers * (4 * self.hidden * self.hidden + 2 * self.hidden * self.intermediate);
        if params > LIMITS.parameters {
            return Err(format!(
                "its config.json describes about {:.1} billion parameters; the largest model we train has {:.1} billion",
                params as f64 / 1e9,
                LIMITS.parameters as f64 / 1e9
            ));
        }
        Ok(())
    }

    /// Longest input (in tokens) the position table allows.
    pub fn max_tokens(&self) -> usize {
        self.max_positions.saturating_sub(self.position_offset)
    }
}

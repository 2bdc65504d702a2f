//! Tensor names, exactly as Hugging Face transformers writes them, per family.

use super::Family;

/// Names of one linear layer's weight and bias.
#[derive(Debug, Clone)]
pub struct LinearNames {
    /// Dotted path without `.weight` / `.bias`.
    pub base: String,
}

impl LinearNames {
    fn new(base: String) -> Self {
        Self { base }
    }
    /// `<base>.weight`.
    pub fn weight(&self) -> String {
        format!("{}.weight", self.base)
    }
    /// `<base>.bias`.
    pub fn bias(&self) -> String {
        format!("{}.bias", self.base)
    }
}

/// Names inside one transformer layer.
#[derive(Debug, Clone)]
pub struct LayerNames {
    /// Query projection.
    pub query: LinearNames,
    /// Key projection.
    pub key: LinearNames,
    /// Value projection.
    pub value: LinearNames,
    /// Attention output projection.
    pub attn_out: LinearNames,
    /// LayerNorm after attention.
    pub attn_norm: LinearNames,
    /// Feed-forward up projection.
    pub ffn_in: LinearNames,
    /// Feed-forward down projection.
    pub ffn_out: LinearNames,
    /// LayerNorm after the feed-forward block.
    pub ffn_norm: LinearNames,
}

/// The prefix of the encoder's tensors in a sequence-classification checkpoint.
pub fn prefix(family: Family) -> &'static str {
    match family {
        Family::Bert => "bert",
        Family::DistilBert => "distilbert",
        Family::XlmRoberta => "roberta",
    }
}

/// Word-embedding table.
pub fn word_embeddings(f: Family) -> String {
    format!("{}.embeddings.word_embeddings.weight", prefix(f))
}

/// Position-embedding table.
pub fn position_embeddings(f: Family) -> String {
    format!("{}.embeddings.position_embeddings.weight", prefix(f))
}

/// Token-type table (absent in DistilBERT).
pub fn token_type_embeddings(f: Family) -> Option<String> {
    (f != Family::DistilBert)
        .then(|| format!("{}.embeddings.token_type_embeddings.weight", prefix(f)))
}

/// LayerNorm after the embeddings.
pub fn embeddings_norm(f: Family) -> LinearNames {
    LinearNames::new(format!("{}.embeddings.LayerNorm", prefix(f)))
}

/// Names of layer `i`.
pub fn layer(f: Family, i: usize) -> LayerNames {
    let p = prefix(f);
    let n = |s: &str| LinearNames::new(s.to_string());
    match f {
        Family::DistilBert => {
            let b = format!("{p}.transformer.layer.{i}");
            LayerNames {
                query: n(&format!("{b}.attention.q_lin")),
                key: n(&format!("{b}.attention.k_lin")),
                value: n(&format!("{b}.attention.v_lin")),
                attn_out: n(&format!("{b}.attention.out_lin")),
                attn_norm: n(&format!("{b}.sa_layer_norm")),
                ffn_in: n(&format!("{b}.ffn.lin1")),
                ffn_out: n(&format!("{b}.ffn.lin2")),
                ffn_norm: n(&format!("{b}.output_layer_norm")),
            }
        }
        Family::Bert | Family::XlmRoberta => {
            let b = format!("{p}.encoder.layer.{i}");
            LayerNames {
                query: n(&format!("{b}.attention.self.query")),
                key: n(&format!("{b}.attention.self.key")),
                value: n(&format!("{b}.attention.self.value")),
                attn_out: n(&format!("{b}.attention.output.dense")),
                attn_norm: n(&format!("{b}.attention.output.LayerNorm")),
                ffn_in: n(&format!("{b}.intermediate.dense")),
                ffn_out: n(&format!("{b}.output.dense")),
                ffn_norm: n(&format!("{b}.output.LayerNorm")),
            }
        }
    }
}

/// The head's hidden projection: BERT's pooler, DistilBERT's pre-classifier, XLM-R's
/// `classifier.dense`.
pub fn head_dense(f: Family) -> LinearNames {
    LinearNames::new(
        match f {
            Family::Bert => "bert.pooler.dense",
            Family::DistilBert => "pre_classifier",
            Family::XlmRoberta => "classifier.dense",
        }
        .to_string(),
    )
}

/// The final projection to one logit per label.
pub fn head_out(f: Family) -> LinearNames {
    LinearNames::new(
        match f {
            Family::Bert | Family::DistilBert => "classifier",
            Family::XlmRoberta => "classifier.out_proj",
        }
        .to_string(),
    )
}

/// Our name for the linear classifier trained on mean-pooled features; converted to the
/// family's head when exported (see `export`).
pub fn mean_head() -> LinearNames {
    LinearNames::new("studio.mean_head".to_string())
}

/// LoRA matrices of the linear layer `base`: (A `[r, in]`, B `[out, r]`).
pub fn lora(base: &LinearNames) -> (String, String) {
    (
        format!("{}.lora_A.weight", base.base),
        format!("{}.lora_B.weight", base.base),
    )
}

//! `studio predict`: labels and probabilities for texts.

use anyhow::Result;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use studio_core::data::read_texts;
use studio_core::device::{self, DeviceChoice};
use studio_core::infer::Predictor;
use studio_core::progress::CancelToken;

/// Arguments of `studio predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// An exported classifier folder.
    #[arg(long)]
    model: PathBuf,
    /// Print JSON Lines: one {"text", "label", "probs", "logits"} object per text.
    #[arg(long)]
    json: bool,
    /// Texts from a file: .txt (one a line), or the text column of a CSV, TSV or JSONL.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Column holding the text, for --file.
    #[arg(long, default_value = "text")]
    text_col: String,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Texts to classify (without any, and without --file, texts are read from stdin, one a line).
    texts: Vec<String>,
}

/// Runs `studio predict`.
pub fn run(a: PredictArgs) -> Result<()> {
    let mut texts = a.texts.clone();
    if let Some(f) = &a.file {
        texts.extend(read_texts(f, &a.text_col)?);
    }
    if texts.is_empty() && a.file.is_none() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if !line.trim().is_empty() {
                texts.push(line);
            }
        }
    }
    if texts.is_empty() {
        return Err(studio_core::StudioError::InvalidSetting(
            "no texts to classify; pass them as arguments, with --file, or on stdin".into(),
        )
        .into());
    }
    let dev = device::open(a.device)?;
    let predictor = Predictor::load(&a.model, &dev.device)?;
    let preds = predictor.predict(&texts, &CancelToken::new())?;
    let labels = predictor.labels();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (text, p) in texts.iter().zip(&preds) {
        if a.json {
            let probs: serde_json::Map<String, serde_json::Value> = labels
                .iter()
                .cloned()
                .zip(p.probs.iter().map(|&x| serde_json::json!(x)))
                .collect();
            let logits: serde_json::Map<String, serde_json::Value> = labels
                .iter()
                .cloned()
                .zip(p.logits.iter().map(|&x| serde_json::json!(x)))
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::json!({"text": text, "label": p.label, "probs": probs, "logits": logits})
            )?;
        } else {
            writeln!(out, "{}\t{:.4}\t{}", p.label, p.probs[p.label_id], text)?;
        }
    }
    out.flush()?;
    Ok(())
}

//! `studio predict`: labels and probabilities for texts.

use crate::render::Terminal;
use anyhow::Result;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use studio_core::data::read_texts;
use studio_core::device::DeviceChoice;
use studio_core::ops::predict::{predict_file, predict_texts, PredictFile};
use studio_core::ops::Engine;
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
    /// Texts from a file: .txt (one a line), or the text column of a CSV, TSV, JSON(L)
    /// or XLSX file in any encoding.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Column holding the text, for --file (default: the column the importer guesses).
    #[arg(long)]
    text_col: Option<String>,
    /// With --file: write the predictions to this CSV (UTF-8 with BOM) instead of stdout.
    #[arg(long, requires = "file")]
    out: Option<PathBuf>,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Texts to classify (without any, and without --file, texts are read from stdin, one a line).
    texts: Vec<String>,
}

/// Runs `studio predict`.
pub fn run(a: PredictArgs) -> Result<()> {
    let engine = Engine::with_device(&super::studio_home(), a.device);
    let cancel = CancelToken::new();
    if let (Some(input), Some(output)) = (&a.file, &a.out) {
        let r = predict_file(
            &engine,
            &PredictFile {
                model: a.model.clone(),
                input: input.clone(),
                text_col: a.text_col.clone(),
                output: Some(output.clone()),
            },
            &mut Terminal::new(false),
            &cancel,
        )?;
        println!(
            "{} texts predicted; written to {}",
            r.count,
            r.output.display()
        );
        return Ok(());
    }
    let mut texts = a.texts.clone();
    if let Some(f) = &a.file {
        texts.extend(read_texts(f, a.text_col.as_deref())?);
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
    let (preds, labels) = predict_texts(&engine, &a.model, &texts, &cancel)?;
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

//! `studio predict`: labels and probabilities for texts.

use crate::render::Terminal;
use anyhow::Result;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use studio_core::classify::calibrate::{is_unsure, DEFAULT_UNSURE_BELOW};
use studio_core::data::read_texts;
use studio_core::device::DeviceChoice;
use studio_core::ops::predict::{explain_texts, predict_file, predict_texts, PredictFile};
use studio_core::ops::Engine;
use studio_core::progress::CancelToken;

/// Arguments of `studio predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// An exported classifier folder.
    #[arg(long)]
    model: PathBuf,
    /// Print JSON Lines: one {"text", "label", "probs", "logits", "unsure"} object per text.
    #[arg(long)]
    json: bool,
    /// Texts from a file: .txt (one a line), or the text column of a CSV, TSV, JSON(L)
    /// or XLSX file in any encoding.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Column holding the text, for --file (default: the column the importer guesses).
    #[arg(long)]
    text_col: Option<String>,
    /// With --file: write the predictions to this file instead of stdout: .csv (UTF-8
    /// with BOM, for Excel), .jsonl or .xlsx. Streams in constant memory; a run that was
    /// killed resumes where it stopped when run again with the same input and model.
    #[arg(long, requires = "file")]
    out: Option<PathBuf>,
    /// Also weigh the words behind each prediction (occlusion by word; Chinese by
    /// character). With --json each line gains "words": [{"word", "weight"}], weights
    /// signed toward the predicted label.
    #[arg(long, conflicts_with = "out")]
    explain: bool,
    /// Call a prediction "unsure" when its (calibrated) top probability is below this.
    #[arg(long, default_value_t = DEFAULT_UNSURE_BELOW, value_parser = parse_share)]
    unsure_below: f32,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Texts to classify (without any, and without --file, texts are read from stdin, one a line).
    texts: Vec<String>,
}

/// A share between 0 and 1.
fn parse_share(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a share between 0 and 1 (say 0.7)")),
    }
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
        if r.resumed > 0 {
            println!(
                "resumed an interrupted run: {} texts were already done",
                r.resumed
            );
        }
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
    let (preds, labels, explained) = if a.explain {
        let e = explain_texts(&engine, &a.model, &texts, &cancel)?;
        let labels = engine.predictor(&a.model)?.labels().to_vec();
        let preds = e.iter().map(|x| x.prediction.clone()).collect();
        (preds, labels, Some(e))
    } else {
        let (p, l) = predict_texts(&engine, &a.model, &texts, &cancel)?;
        (p, l, None)
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, (text, p)) in texts.iter().zip(&preds).enumerate() {
        let top = p.probs[p.label_id];
        let unsure = is_unsure(top, a.unsure_below);
        let words = explained.as_ref().map(|e| &e[i].words);
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
            let mut line = serde_json::json!({"text": text, "label": p.label, "probs": probs,
                "logits": logits, "unsure": unsure});
            if let Some(words) = words {
                line["words"] = serde_json::json!(words
                    .iter()
                    .map(|w| serde_json::json!({"word": w.word, "weight": w.weight}))
                    .collect::<Vec<_>>());
            }
            writeln!(out, "{line}")?;
        } else {
            let mark = if unsure { " (unsure)" } else { "" };
            writeln!(out, "{}\t{top:.4}{mark}\t{text}", p.label)?;
            if let Some(words) = words {
                writeln!(out, "\t{}", crate::render::weighted_words(words, 5))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

//! `studio eval`: metrics of a trained classifier on labelled data.

use anyhow::Result;
use std::path::PathBuf;
use studio_core::data::{read_labeled, LabeledData};
use studio_core::device::{self, DeviceChoice};
use studio_core::eval::Metrics;
use studio_core::infer::Predictor;
use studio_core::progress::CancelToken;

/// Arguments of `studio eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// An exported classifier folder.
    #[arg(long)]
    model: PathBuf,
    /// Labelled data: CSV, TSV or JSONL.
    #[arg(long)]
    data: PathBuf,
    /// Column holding the text.
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Column holding the label.
    #[arg(long, default_value = "label")]
    label_col: String,
    /// Print JSON: accuracy, macro_f1, per_class, confusion, labels.
    #[arg(long)]
    json: bool,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

/// Predicts every text of `data` and scores the predictions.
pub fn evaluate(predictor: &Predictor, data: &LabeledData) -> Result<Metrics> {
    let preds = predictor.predict(&data.texts, &CancelToken::new())?;
    let predicted: Vec<usize> = preds.iter().map(|p| p.label_id).collect();
    Ok(Metrics::compute(
        &data.labels,
        &predicted,
        predictor.labels(),
    ))
}

/// Runs `studio eval`.
pub fn run(a: EvalArgs) -> Result<()> {
    let dev = device::open(a.device)?;
    let predictor = Predictor::load(&a.model, &dev.device)?;
    let labels = predictor.labels().to_vec();
    let data = read_labeled(&a.data, &a.text_col, &a.label_col, Some(&labels))?;
    let m = evaluate(&predictor, &data)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(());
    }
    println!(
        "{} texts: accuracy {:.4}, macro-F1 {:.4} (always guessing the most frequent label: {:.4})",
        m.n,
        m.accuracy,
        m.macro_f1,
        m.majority_baseline()
    );
    println!(
        "\n{:<20} {:>9} {:>9} {:>9} {:>8}",
        "label", "precision", "recall", "F1", "support"
    );
    for l in &m.labels {
        let c = &m.per_class[l];
        println!(
            "{:<20} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            l, c.precision, c.recall, c.f1, c.support
        );
    }
    println!("\nconfusion (rows: true label, columns: predicted)");
    print!("{:<20}", "");
    for l in &m.labels {
        print!(" {:>10}", truncate(l, 10));
    }
    println!();
    for (l, row) in m.labels.iter().zip(&m.confusion) {
        print!("{:<20}", truncate(l, 20));
        for c in row {
            print!(" {c:>10}");
        }
        println!();
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

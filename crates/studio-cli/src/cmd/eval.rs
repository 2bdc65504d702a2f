//! `studio eval`: metrics of an exported classifier on a labelled file, or of a project's
//! run on the project's test split (an adapter over [`studio_core::ops::evaluate`]).

use anyhow::Result;
use std::path::PathBuf;
use studio_core::device::DeviceChoice;
use studio_core::ops::evaluate::{evaluate_file, evaluate_run, CvMethod, EvaluateFile};
use studio_core::ops::Engine;
use studio_core::progress::{CancelToken, Silent};

/// Arguments of `studio eval`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["model", "project"])))]
pub struct EvalArgs {
    /// An exported classifier folder.
    #[arg(long, requires = "data")]
    model: Option<PathBuf>,
    /// Labelled data: CSV, TSV, JSON(L) or XLSX, in any encoding.
    #[arg(long, conflicts_with = "project")]
    data: Option<PathBuf>,
    /// A project file: scores one of its runs on its test split.
    #[arg(long)]
    project: Option<PathBuf>,
    /// The run to score (default: the newest finished one).
    #[arg(long, requires = "project")]
    run: Option<i64>,
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

/// Runs `studio eval`.
pub fn run(a: EvalArgs) -> Result<()> {
    let engine = Engine::with_device(&super::studio_home(), a.device);
    let cancel = CancelToken::new();
    let mut cv = None;
    let scored = match (&a.model, &a.project) {
        (_, Some(project)) => {
            let e = evaluate_run(&engine, project, a.run, &mut Silent, &cancel)?;
            if !a.json {
                println!(
                    "run {} ({}) on the project's test split",
                    e.run.id, e.run.base_model
                );
            }
            cv = Some((e.cross_validation, e.headline));
            e.score
        }
        (Some(model), None) => evaluate_file(
            &engine,
            &EvaluateFile {
                model: model.clone(),
                data: a.data.clone().expect("clap requires --data with --model"),
                text_col: a.text_col.clone(),
                label_col: a.label_col.clone(),
            },
            &cancel,
        )?,
        (None, None) => unreachable!("clap requires --model or --project"),
    };
    let m = &scored.metrics;
    if a.json {
        let mut v = serde_json::to_value(m)?;
        if let Some(c) = &m.calibration {
            v["ece"] = serde_json::json!(c.ece);
            v["ece_uncalibrated"] = serde_json::json!(c.ece_uncalibrated);
        }
        if let Some((cross, headline)) = &cv {
            v["headline"] = serde_json::to_value(headline)?;
            v["cross_validation"] = serde_json::to_value(cross)?;
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if let Some((Some(c), _)) = &cv {
        let method = match c.method {
            CvMethod::Run => "the run's own method (a head on the base model's sentence vectors)",
            CvMethod::Fast => "the fast classifier (a head on the base model's sentence vectors) in place of the run's method, which would take too long to train on every fold",
        };
        println!(
            "The test split is too small to trust, so the headline is a {}-fold cross-validation over all {} labelled texts, with {method}:\n  {}\n\nThe small test split, for reference:",
            c.k,
            c.score.metrics.n,
            c.score.metrics.headline()
        );
    }
    println!(
        "{} texts: {}{}",
        m.n,
        m.headline(),
        crate::render::trust_note(m)
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

//! `studio report curve|active`: learning curves and the active-learning simulation.

use crate::render::Terminal;
use anyhow::{Context, Result};
use std::path::PathBuf;
use studio_core::active::Pick;
use studio_core::classify::train::Mode;
use studio_core::device::DeviceChoice;
use studio_core::ops::studies::{active_report, curve_report, ActiveSettings, StudyFiles};
use studio_core::ops::Engine;
use studio_core::progress::CancelToken;

/// Arguments of `studio report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Labelled training pool: CSV, TSV or JSONL.
    #[arg(long)]
    data: PathBuf,
    /// Labelled held-out test file.
    #[arg(long)]
    test: PathBuf,
    /// Use only the first N test rows (faster).
    #[arg(long)]
    test_limit: Option<usize>,
    /// Base model: catalog id, store name or folder.
    #[arg(long, default_value = "all-minilm-l6-v2")]
    model: String,
    /// Column holding the text.
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Column holding the label.
    #[arg(long, default_value = "label")]
    label_col: String,
    /// Seeds, comma-separated, or a count (5 → 1,2,3,4,5).
    #[arg(long, default_value = "5")]
    seeds: String,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Folder for the report (JSON, CSV, SVG).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum ReportCommand {
    /// Accuracy and macro-F1 against labels per class, per method, over seeds.
    Curve {
        #[command(flatten)]
        common: Common,
        /// Sizes in labels per class.
        #[arg(long, default_value = "8,16,32,64", value_delimiter = ',')]
        per_class: Vec<usize>,
        /// Also train on the whole pool.
        #[arg(long)]
        all: bool,
        /// Methods: head, fewshot, lora, full.
        #[arg(long, default_value = "head,fewshot,lora,full", value_delimiter = ',')]
        methods: Vec<Mode>,
    },
    /// Labels revealed in the order each strategy asks, with a fast classifier retrained
    /// every round: accuracy against labels, and labels needed to reach a target.
    Active {
        #[command(flatten)]
        common: Common,
        /// Random labels per class to start with.
        #[arg(long, default_value_t = 4)]
        start: usize,
        /// Labels per round.
        #[arg(long, default_value_t = 8)]
        step: usize,
        /// Rounds.
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        /// Target accuracy for "labels needed".
        #[arg(long, default_value_t = 0.75)]
        target: f64,
        /// Strategies: random, uncertain, diverse, uncertain-diverse.
        #[arg(
            long,
            default_value = "random,uncertain,diverse,uncertain-diverse",
            value_delimiter = ','
        )]
        strategies: Vec<String>,
        /// Fit the fast classifier without class balancing (the earlier fit), to
        /// compare.
        #[arg(long)]
        unbalanced: bool,
    },
}

fn seeds(s: &str) -> Result<Vec<u64>> {
    if !s.contains(',') {
        if let Ok(n) = s.trim().parse::<u64>() {
            return Ok((1..=n).collect());
        }
    }
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<u64>()
                .with_context(|| format!("bad seed \"{x}\""))
        })
        .collect()
}

impl Common {
    fn files(&self) -> Result<StudyFiles> {
        Ok(StudyFiles {
            data: self.data.clone(),
            test: self.test.clone(),
            test_limit: self.test_limit,
            text_col: self.text_col.clone(),
            label_col: self.label_col.clone(),
            model: self.model.clone(),
            seeds: seeds(&self.seeds)?,
            out: self.out.clone(),
        })
    }
}

/// Runs `studio report`: one study of `studio_core::ops::studies`, printed.
pub fn run(a: ReportArgs) -> Result<()> {
    match a.command {
        ReportCommand::Curve {
            common,
            per_class,
            all,
            methods,
        } => {
            let engine = Engine::with_device(&super::studio_home(), common.device);
            let mut term = Terminal::new(false);
            let report = curve_report(
                &engine,
                &common.files()?,
                &per_class,
                all,
                &methods,
                &mut term,
                &CancelToken::new(),
            )?;
            term.finish();
            println!(
                "{:<9} {:>9} {:>7} {:>4}  {:>15}  {:>15}  {:>8}",
                "method", "per class", "labels", "runs", "accuracy", "macro-F1", "train s"
            );
            for r in &report.rows {
                println!(
                    "{:<9} {:>9} {:>7.0} {:>4}  {:.4} ± {:.4}  {:.4} ± {:.4}  {:>8.1}",
                    r.method.to_string(),
                    r.per_class.map_or("all".into(), |k| k.to_string()),
                    r.n_labels,
                    r.runs,
                    r.accuracy_mean,
                    r.accuracy_std,
                    r.macro_f1_mean,
                    r.macro_f1_std,
                    r.train_secs_mean
                );
            }
            for f in &report.forecasts {
                match f.per_class_needed {
                    Some(k) => println!(
                        "forecast {}: {:+.3} accuracy per doubling of labels; {:.3} → {:.3} needs about {:.0} labels per class",
                        f.method, f.gain_per_doubling, f.current, f.next, k
                    ),
                    None => println!("forecast {}: the curve is flat; more labels of the same kind will not help much", f.method),
                }
            }
            println!("report written to {}", common.out.display());
            Ok(())
        }
        ReportCommand::Active {
            common,
            start,
            step,
            rounds,
            target,
            strategies,
            unbalanced,
        } => {
            let strategies: Vec<Pick> = strategies
                .iter()
                .map(|s| match s.as_str() {
                    "random" => Ok(Pick::Random),
                    "uncertain" => Ok(Pick::Uncertain),
                    "diverse" => Ok(Pick::Diverse),
                    "uncertain-diverse" => Ok(Pick::UncertainDiverse),
                    other => Err(anyhow::anyhow!("unknown strategy \"{other}\"; use random, uncertain, diverse or uncertain-diverse")),
                })
                .collect::<Result<_>>()?;
            let engine = Engine::with_device(&super::studio_home(), common.device);
            let mut term = Terminal::new(false);
            let report = active_report(
                &engine,
                &common.files()?,
                &ActiveSettings {
                    start,
                    step,
                    rounds,
                    target,
                    strategies,
                    unbalanced,
                },
                &mut term,
                &CancelToken::new(),
            )?;
            term.finish();
            println!("labels needed to reach {target:.2} test accuracy (mean over seeds that reached it):");
            for (s, m, r, n) in &report.reach {
                println!(
                    "  {:<18} {:>8}  ({r}/{n} seeds)",
                    format!("{s:?}"),
                    m.map_or("never".into(), |m| format!("{m:.0}"))
                );
            }
            println!("report written to {}", common.out.display());
            Ok(())
        }
    }
}

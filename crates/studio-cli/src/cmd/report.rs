//! `studio report curve|active|explain|transfer`: learning curves, the active-learning
//! simulation, the faithfulness of explanations and continued training on a new domain.

use crate::render::Terminal;
use anyhow::{Context, Result};
use std::path::PathBuf;
use studio_core::active::Pick;
use studio_core::classify::train::Mode;
use studio_core::classify::train::TrainOptions;
use studio_core::device::DeviceChoice;
use studio_core::ops::studies::{
    active_report, curve_report, faithfulness_report, transfer_report, ActiveSettings, CurveAsk,
    StudyFiles,
};
use studio_core::ops::Engine;
use studio_core::progress::CancelToken;
use studio_core::studies::transfer::TransferStart;

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
        /// Strength of the label-name prior in head and few-shot runs (0: off; default 25).
        #[arg(long)]
        label_prior: Option<f64>,
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
    /// Faithfulness of the explanations: deleting each text's top-k words against k
    /// random words, and the time one explanation takes.
    Explain {
        /// An exported classifier folder.
        #[arg(long)]
        classifier: PathBuf,
        /// Labelled held-out texts to explain.
        #[arg(long)]
        test: PathBuf,
        /// Use only the first N texts.
        #[arg(long)]
        test_limit: Option<usize>,
        /// Column holding the text.
        #[arg(long, default_value = "text")]
        text_col: String,
        /// Column holding the label.
        #[arg(long, default_value = "label")]
        label_col: String,
        /// Words deleted per text.
        #[arg(long, default_value = "1,3,5", value_delimiter = ',')]
        k: Vec<usize>,
        /// Seed of the random deletions.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// auto, cpu, cuda or metal.
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        /// Folder for the report.
        #[arg(long)]
        out: PathBuf,
    },
    /// Continue training on a new domain: from a fine-tuned classifier against from the
    /// base model, with a few labels per class of the new domain (--data samples them,
    /// --test scores them), and the fine-tuned classifier alone.
    Transfer {
        #[command(flatten)]
        common: Common,
        /// The fine-tuned classifier (an exported folder) to continue from.
        #[arg(long)]
        from: PathBuf,
        /// Sizes in labels per class of the new domain.
        #[arg(long, default_value = "8,16,32", value_delimiter = ',')]
        per_class: Vec<usize>,
        /// Method of every run (default: what the quick preset picks).
        #[arg(long)]
        mode: Option<Mode>,
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
        ReportCommand::Explain {
            classifier,
            test,
            test_limit,
            text_col,
            label_col,
            k,
            seed,
            device,
            out,
        } => {
            let engine = Engine::with_device(&super::studio_home(), device);
            let mut term = Terminal::new(false);
            let files = StudyFiles {
                data: test.clone(),
                test,
                test_limit,
                text_col,
                label_col,
                model: String::new(),
                seeds: vec![seed],
                out: out.clone(),
            };
            let f = faithfulness_report(
                &engine,
                &classifier,
                &files,
                &k,
                &mut term,
                &CancelToken::new(),
            )?;
            term.finish();
            println!(
                "{:>3} {:>6}  {:>14}  {:>14}  {:>9}",
                "k", "texts", "top-k drop", "random drop", "top wins"
            );
            for r in &f.rows {
                println!(
                    "{:>3} {:>6}  {:>14.4}  {:>14.4}  {:>8.1}%",
                    r.k,
                    r.texts,
                    r.top_drop,
                    r.random_drop,
                    r.top_wins * 100.0
                );
            }
            let l = &f.latency;
            println!(
                "one text at a time ({} texts, {:.1} words on average): median {:.1} ms, 90th percentile {:.1} ms",
                l.texts, l.mean_words, l.median_ms, l.p90_ms
            );
            println!(
                "  of them as long as a typed sentence (at most {} words; {} texts): median {:.1} ms, 90th percentile {:.1} ms",
                studio_core::ops::studies::TYPED_WORDS,
                l.typed_texts,
                l.typed_median_ms,
                l.typed_p90_ms
            );
            println!("report written to {}", out.display());
            Ok(())
        }
        ReportCommand::Transfer {
            common,
            from,
            per_class,
            mode,
        } => {
            let engine = Engine::with_device(&super::studio_home(), common.device);
            let mut term = Terminal::new(false);
            let options = TrainOptions {
                mode,
                ..TrainOptions::default()
            };
            let t = transfer_report(
                &engine,
                &from,
                &common.files()?,
                &per_class,
                &options,
                &mut term,
                &CancelToken::new(),
            )?;
            term.finish();
            println!(
                "{:>9}  {:>22}  {:>22}",
                "per class", "continued: accuracy", "base model: accuracy"
            );
            for &k in &per_class {
                let stats = |start: TransferStart| {
                    let xs: Vec<f64> = t
                        .points
                        .iter()
                        .filter(|p| p.per_class == k && p.start == start)
                        .map(|p| p.accuracy)
                        .collect();
                    let n = xs.len().max(1) as f64;
                    let mean = xs.iter().sum::<f64>() / n;
                    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                        / (n - 1.0).max(1.0))
                    .sqrt();
                    format!("{mean:.4} ± {sd:.4} ({})", xs.len())
                };
                println!(
                    "{k:>9}  {:>22}  {:>22}",
                    stats(TransferStart::Continued),
                    stats(TransferStart::Base)
                );
            }
            println!(
                "the fine-tuned model alone: accuracy {:.4} (95% interval {:.3}–{:.3}) on {} texts",
                t.from_alone.accuracy,
                t.from_alone.accuracy_ci[0],
                t.from_alone.accuracy_ci[1],
                t.from_alone.n
            );
            println!("report written to {}", common.out.display());
            Ok(())
        }
        ReportCommand::Curve {
            common,
            per_class,
            all,
            methods,
            label_prior,
        } => {
            let engine = Engine::with_device(&super::studio_home(), common.device);
            let mut term = Terminal::new(false);
            let ask = CurveAsk {
                per_class,
                include_all: all,
                methods,
                options: TrainOptions {
                    label_prior,
                    ..TrainOptions::default()
                },
            };
            let report = curve_report(
                &engine,
                &common.files()?,
                &ask,
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

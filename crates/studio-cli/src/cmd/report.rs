//! `studio report curve|active`: learning curves and the active-learning simulation.

use crate::render::Terminal;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use studio_core::active::Pick;
use studio_core::classify::infer::SentenceEmbedder;
use studio_core::classify::probe::ProbeOptions;
use studio_core::classify::train::{Mode, Target, TrainOptions};
use studio_core::data::{read_labeled, LabeledData};
use studio_core::device::{self, DeviceChoice};
use studio_core::progress::CancelToken;
use studio_core::studies::active::{labels_to_reach, simulate, ActiveSpec};
use studio_core::studies::curve::{
    curve_svg, forecast, learning_curve, sample_per_class, summarize, CurveSpec,
};

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
        /// Fit the fast classifier without class balancing (as before session 3), to
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

fn load(c: &Common) -> Result<(LabeledData, LabeledData)> {
    let train = read_labeled(&c.data, &c.text_col, &c.label_col, None)?;
    let mut test = read_labeled(&c.test, &c.text_col, &c.label_col, Some(&train.label_names))?;
    if let Some(n) = c.test_limit {
        let idx: Vec<usize> = (0..test.len().min(n)).collect();
        test = test.subset(&idx);
    }
    Ok((train, test))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs `studio report`.
pub fn run(a: ReportArgs) -> Result<()> {
    let (store, catalog) = super::store_and_catalog();
    match a.command {
        ReportCommand::Curve {
            common,
            per_class,
            all,
            methods,
        } => {
            let base = store.resolve(&common.model, &catalog)?;
            let (train, test) = load(&common)?;
            let dev = device::open(common.device)?;
            std::fs::create_dir_all(common.out.join("samples"))?;
            let seeds = seeds(&common.seeds)?;
            // The exact training sets, so a peer (scripts/bench-fewshot) can train on them.
            for &k in &per_class {
                for &seed in &seeds {
                    let s = sample_per_class(&train, k, seed);
                    let mut w = csv_writer(&common.out.join(format!("samples/{k}_{seed}.csv")))?;
                    for (t, l) in s.texts.iter().zip(&s.labels) {
                        w.write_record([t.as_str(), s.label_names[*l].as_str()])?;
                    }
                }
            }
            let spec = CurveSpec {
                per_class,
                include_all: all,
                seeds,
                methods,
                options: TrainOptions::default(),
            };
            let mut term = Terminal::new(false);
            let points = learning_curve(
                &base,
                &train,
                &test,
                &spec,
                Target {
                    device: &dev.device,
                    kind: dev.kind,
                },
                &mut term,
                &CancelToken::new(),
            )?;
            term.finish();
            let rows = summarize(&points);
            let forecasts: Vec<_> = spec
                .methods
                .iter()
                .filter_map(|&m| forecast(&rows, m, 0.02))
                .collect();
            write(
                &common.out.join("curve.json"),
                &serde_json::to_string_pretty(&serde_json::json!({
                    "points": points, "summary": rows, "forecast": forecasts,
                    "data": common.data, "test": common.test, "test_size": test.len(), "model": common.model,
                }))?,
            )?;
            write(
                &common.out.join("curve.svg"),
                &curve_svg(&rows, "Learning curve"),
            )?;
            println!(
                "{:<9} {:>9} {:>7} {:>4}  {:>15}  {:>15}  {:>8}",
                "method", "per class", "labels", "runs", "accuracy", "macro-F1", "train s"
            );
            for r in &rows {
                println!(
                    "{:<9} {:>9} {:>7.0} {:>4}  {:.4} ± {:.4}  {:.4} ± {:.4}  {:>8.1}",
                    format!("{:?}", r.method).to_lowercase(),
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
            for f in &forecasts {
                match f.per_class_needed {
                    Some(k) => println!(
                        "forecast {:?}: {:+.3} accuracy per doubling of labels; {:.3} → {:.3} needs about {:.0} labels per class",
                        f.method, f.gain_per_doubling, f.current, f.next, k
                    ),
                    None => println!("forecast {:?}: the curve is flat; more labels of the same kind will not help much", f.method),
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
            let base = store.resolve(&common.model, &catalog)?;
            let (train, test) = load(&common)?;
            let dev = device::open(common.device)?;
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
            std::fs::create_dir_all(&common.out)?;
            let mut term = Terminal::new(false);
            let embedder = SentenceEmbedder::load(&base, &dev.device, 128)?;
            let cancel = CancelToken::new();
            let pool = embedder.embed_rows(&train.texts, &cancel)?;
            let test_x = embedder
                .embed_tensor(&test.texts, &cancel, |_| {})?
                .to_device(&candle_core::Device::Cpu)?;
            let spec = ActiveSpec {
                start_per_class: start,
                step,
                rounds,
                strategies,
                seeds: seeds(&common.seeds)?,
                probe: ProbeOptions {
                    balanced: !unbalanced,
                    ..ProbeOptions::LOOP
                },
            };
            let points = simulate(
                &pool,
                &train.labels,
                &test_x,
                &test.labels,
                train.label_names.len(),
                &spec,
                &mut term,
                &cancel,
            )?;
            term.finish();
            let reach = labels_to_reach(&points, target);
            write(
                &common.out.join("active.json"),
                &serde_json::to_string_pretty(&serde_json::json!({
                    "points": points,
                    "target": target,
                    "labels_to_reach": reach.iter().map(|(s, m, r, n)| serde_json::json!({"strategy": s, "mean_labels": m, "seeds_reached": r, "seeds": n})).collect::<Vec<_>>(),
                }))?,
            )?;
            println!("labels needed to reach {target:.2} test accuracy (mean over seeds that reached it):");
            for (s, m, r, n) in &reach {
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

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    w.write_record(["text", "label"])?;
    Ok(w)
}

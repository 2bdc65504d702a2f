//! `studio train`: fine-tune, evaluate on the validation split, export.

use crate::render::{human_secs, Terminal};
use anyhow::Result;
use std::path::PathBuf;
use studio_core::arch::Pooling;
use studio_core::data::read_labeled;
use studio_core::device::{self, DeviceChoice};
use studio_core::export::{export, CardInfo};
use studio_core::infer::Predictor;
use studio_core::progress::CancelToken;
use studio_core::train::{estimate, train, Mode, Preset, Target, TrainOptions};

/// Arguments of `studio train`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["data", "project"])))]
pub struct TrainArgs {
    /// Labelled data: CSV, TSV or JSONL.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A project file: trains on its labelled texts.
    #[arg(long)]
    project: Option<PathBuf>,
    /// Column holding the text.
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Column holding the label.
    #[arg(long, default_value = "label")]
    label_col: String,
    /// Base model: a catalog id, a model in the store, or a folder.
    #[arg(long, default_value = "all-minilm-l6-v2")]
    model: String,
    /// What to train: full (every weight), lora (adapters), head (classifier only),
    /// fewshot (contrastive pairs, then the classifier; chosen by the presets when labels are few).
    #[arg(long)]
    mode: Option<Mode>,
    /// quick, balanced or best.
    #[arg(long, default_value = "balanced")]
    preset: Preset,
    /// Maximum epochs (early stopping may end sooner).
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Examples per step.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Longest input in tokens.
    #[arg(long)]
    max_len: Option<usize>,
    /// Pooling: cls or mean (default: the model's own).
    #[arg(long, value_parser = parse_pooling)]
    pooling: Option<Pooling>,
    /// Weigh the loss by inverse class frequency (imbalanced data).
    #[arg(long)]
    class_weights: bool,
    /// Head mode: L2 penalty on the classifier (1/C of a logistic regression; default 1).
    #[arg(long)]
    l2: Option<f64>,
    /// Seed for split, shuffling, dropout and new weights.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Also evaluate on this held-out labelled file and put the result in the model card.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Where to write the exported classifier.
    #[arg(long, required_unless_present = "estimate")]
    out: Option<PathBuf>,
    /// Print the settings the run would use and a measured time estimate; train nothing.
    #[arg(long)]
    estimate: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_pooling(s: &str) -> Result<Pooling, String> {
    match s {
        "cls" => Ok(Pooling::Cls),
        "mean" => Ok(Pooling::Mean),
        _ => Err(format!("unknown pooling \"{s}\"; use cls or mean")),
    }
}

/// Runs `studio train`.
pub fn run(a: TrainArgs) -> Result<()> {
    let (store, catalog) = super::store_and_catalog();
    let base = store.resolve(&a.model, &catalog)?;
    let (data, source) = match (&a.data, &a.project) {
        (Some(path), _) => (
            read_labeled(path, &a.text_col, &a.label_col, None)?,
            path.display().to_string(),
        ),
        (None, Some(p)) => (
            studio_core::project::Project::open(p)?.training_data()?,
            format!("project {}", p.display()),
        ),
        (None, None) => unreachable!("clap requires --data or --project"),
    };
    let dev = device::open(a.device)?;
    let mut term = Terminal::new(a.quiet);
    if !a.quiet {
        eprintln!("· {}", dev.explanation);
        if data.skipped_empty > 0 {
            eprintln!("· skipped {} rows with an empty text", data.skipped_empty);
        }
    }
    let opts = TrainOptions {
        preset: a.preset,
        mode: a.mode,
        epochs: a.epochs,
        lr: a.lr,
        batch_size: a.batch_size,
        max_len: a.max_len,
        pooling: a.pooling,
        seed: a.seed,
        class_weights: a.class_weights,
        head_l2: a.l2,
        ..TrainOptions::default()
    };
    let cancel = CancelToken::new();
    let target = Target {
        device: &dev.device,
        kind: dev.kind,
    };
    if a.estimate {
        let e = estimate(&base, &data, &opts, target, &cancel)?;
        let epochs = match e.plan.mode {
            Mode::Full | Mode::Lora => format!(", up to {} epochs", e.plan.epochs),
            Mode::Head | Mode::Fewshot => String::new(),
        };
        println!(
            "{}\nmode {}{epochs}; {} texts to train on, {} for validation\nforward pass {:.1} ms per text here; about {} if every epoch runs",
            e.plan.why,
            format!("{:?}", e.plan.mode).to_lowercase(),
            e.train_texts,
            e.validation_texts,
            e.forward_secs_per_text * 1e3,
            crate::render::human_secs(e.seconds)
        );
        return Ok(());
    }
    let out = a
        .out
        .clone()
        .expect("clap requires --out unless --estimate");
    let model = train(&base, &data, &opts, target, &mut term, &cancel)?;
    term.finish();
    let base_name = catalog
        .models
        .iter()
        .find(|m| store.path_of(&m.id) == base.dir)
        .map_or_else(|| base.dir.display().to_string(), |m| m.hf_repo.clone());
    let mut card = CardInfo {
        base_name,
        data_source: source,
        test_metrics: None,
    };
    if let Some(test) = &a.test {
        let predictor = Predictor::new(
            model.classifier()?,
            model.tokenizer.clone(),
            model.label_names.clone(),
            dev.device.clone(),
        )?;
        let data = read_labeled(test, &a.text_col, &a.label_col, Some(&model.label_names))?;
        card.test_metrics = Some(super::eval::evaluate(&predictor, &data)?);
    }
    let out = export(&model, &out, &card)?;
    let v = &model.validation;
    let validation = if v.n == 0 {
        "no validation split (fewer than 20 texts of some label, so all of them trained; pass --test to measure)".to_string()
    } else {
        format!(
            "validation accuracy {:.4}, macro-F1 {:.4} on {} texts",
            v.accuracy, v.macro_f1, v.n
        )
    };
    println!(
        "trained {:?} in {} ({} epochs, {} steps): {validation}",
        model.plan.mode,
        human_secs(model.seconds),
        model.history.len(),
        model.step_losses.len(),
    );
    if let Some(t) = &card.test_metrics {
        println!(
            "held-out test: accuracy {:.4}, macro-F1 {:.4} on {} texts",
            t.accuracy, t.macro_f1, t.n
        );
    }
    println!("exported to {}", out.display());
    Ok(())
}

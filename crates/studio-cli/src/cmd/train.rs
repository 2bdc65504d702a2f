//! `studio train`: an adapter over [`studio_core::ops::train`]. With `--project` it
//! trains a project run exactly as the app's Train pane does (train and validation
//! splits, test kept out, the run recorded); with `--data` it trains from a file.

use crate::render::{human_secs, Terminal};
use anyhow::Result;
use std::path::PathBuf;
use studio_core::arch::Pooling;
use studio_core::classify::eval::Metrics;
use studio_core::classify::train::{Estimate, Mode, Preset, TrainOptions, TrainedModel};
use studio_core::data::read_labeled;
use studio_core::device::DeviceChoice;
use studio_core::ops::train::{self as op, TrainFile, TrainRequest};
use studio_core::ops::Engine;
use studio_core::progress::CancelToken;
use studio_core::project::Project;

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
    /// Continue from a fine-tuned classifier instead of a base model: an exported
    /// folder, or with --project one of its runs by id. Same labels: the classifier
    /// trains on; other labels: its encoder is kept with a new head.
    #[arg(long, conflicts_with = "model")]
    from: Option<String>,
    /// What to train: full (every weight), lora (adapters), head (classifier only),
    /// fewshot (contrastive pairs, then the classifier; chosen by the presets when labels are few).
    #[arg(long)]
    mode: Option<Mode>,
    /// quick, balanced or best (default: quick, as in the app).
    #[arg(long)]
    preset: Option<Preset>,
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
    /// Head and few-shot modes: how strongly the label names pull the classifier
    /// (0: off; default 25). The labels' names are embedded as "The sentiment is NAME."
    #[arg(long)]
    label_prior: Option<f64>,
    /// Seed for split, shuffling, dropout and new weights.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Also evaluate on this held-out labelled file and put the result in the model card
    /// (with --data; a project run is scored on the project's test split).
    #[arg(long, conflicts_with = "project")]
    test: Option<PathBuf>,
    /// Where to write the exported classifier. A project run also keeps its model with
    /// the project's runs (`studio project runs`); --out then copies it there too.
    #[arg(long, required_unless_present_any = ["estimate", "project"])]
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
    let engine = Engine::with_device(&super::studio_home(), a.device);
    let model = match &a.from {
        Some(from) => op::continue_from(a.project.as_deref(), from)?
            .display()
            .to_string(),
        None => a.model.clone(),
    };
    let req = TrainRequest {
        model,
        options: TrainOptions {
            preset: a.preset.unwrap_or_default(),
            mode: a.mode,
            epochs: a.epochs,
            lr: a.lr,
            batch_size: a.batch_size,
            max_len: a.max_len,
            pooling: a.pooling,
            seed: a.seed,
            class_weights: a.class_weights,
            head_l2: a.l2,
            label_prior: a.label_prior,
            ..TrainOptions::default()
        },
    };
    let cancel = CancelToken::new();
    if a.estimate {
        let data = match (&a.data, &a.project) {
            (Some(path), _) => read_labeled(path, &a.text_col, &a.label_col, None)?,
            (None, Some(p)) => op::project_data(&Project::open(p)?)?.0,
            (None, None) => unreachable!("clap requires --data or --project"),
        };
        let e = op::estimate(
            &engine,
            &req,
            &data,
            &mut op::measured_speed(&engine, &data, &cancel),
        )?;
        print_estimate(&e);
        return Ok(());
    }
    let mut term = Terminal::new(a.quiet);
    match (&a.data, &a.project) {
        (_, Some(project)) => {
            if let Some(out) = &a.out {
                studio_core::classify::export::check_destination(out)?;
            }
            let o = op::train_project_run(&engine, project, &req, &mut term, &cancel)?;
            term.finish();
            print_trained(&o.trained);
            print_test("project test split", o.test.as_ref());
            println!(
                "run {} recorded in {}; its model: {}",
                o.run_id,
                project.display(),
                o.model_dir.display()
            );
            if let Some(out) = &a.out {
                let e = studio_core::ops::export::copy_model_folder(&o.model_dir, out, &cancel)?;
                println!("exported to {}", e.path.display());
            }
        }
        (Some(data), None) => {
            let files = TrainFile {
                data: data.clone(),
                text_col: a.text_col.clone(),
                label_col: a.label_col.clone(),
                test: a.test.clone(),
                out: a.out.clone().expect("clap requires --out with --data"),
            };
            let o = op::train_file(&engine, &req, &files, &mut term, &cancel)?;
            term.finish();
            if !a.quiet && o.skipped > 0 {
                eprintln!("· left out {} rows with an empty text", o.skipped);
            }
            print_trained(&o.trained);
            if a.test.is_some() {
                print_test("held-out test", o.test.as_ref());
            }
            println!("exported to {}", o.out.display());
        }
        (None, None) => unreachable!("clap requires --data or --project"),
    }
    Ok(())
}

fn print_estimate(e: &Estimate) {
    let epochs = match e.plan.mode {
        Mode::Full | Mode::Lora => format!(", up to {} epochs", e.plan.epochs),
        Mode::Head | Mode::Fewshot => String::new(),
    };
    println!(
        "{}\nmode {}{epochs}; {} texts to train on, {} for validation\nforward pass {:.1} ms per text here; about {} if every epoch runs",
        e.plan.why,
        e.plan.mode,
        e.train_texts,
        e.validation_texts,
        e.forward_secs_per_text * 1e3,
        human_secs(e.seconds)
    );
}

fn print_trained(model: &TrainedModel) {
    let v = &model.validation;
    let validation = if v.n == 0 {
        "no validation split (fewer than 20 texts of some label, so all of them trained)"
            .to_string()
    } else {
        format!(
            "validation accuracy {:.4}, macro-F1 {:.4} on {} texts",
            v.accuracy, v.macro_f1, v.n
        )
    };
    println!(
        "trained {} in {} ({} epochs, {} steps): {validation}",
        model.plan.mode,
        human_secs(model.seconds),
        model.history.len(),
        model.step_losses.len(),
    );
    if let Some(o) = &model.overfitting {
        println!("{}", o.message());
    }
    if model.calibrated_on != "none" {
        println!(
            "confidence calibrated: temperature {:.3}, fitted on {} predictions",
            model.temperature, model.calibrated_on
        );
    } else {
        println!(
            "confidence not calibrated: nothing held out could calibrate it (too few texts, or held-out predictions no better than always naming the most common label)"
        );
    }
}

fn print_test(what: &str, m: Option<&Metrics>) {
    match m {
        Some(t) => println!(
            "{what}: accuracy {:.4}, macro-F1 {:.4} on {} texts{}",
            t.accuracy,
            t.macro_f1,
            t.n,
            crate::render::trust_note(t)
        ),
        None => println!("{what}: — (no labelled texts held out for testing)"),
    }
}

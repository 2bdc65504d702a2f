//! `studio serve`: a trained classifier behind HTTP (an adapter over
//! `studio_core::ops::serve`). SIGTERM or Ctrl-C stop it after answering every request
//! already queued.

use anyhow::Result;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use studio_core::device::DeviceChoice;
use studio_core::ops::serve::{start, ServeOptions};
use studio_core::ops::Engine;

/// Arguments of `studio serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// An exported classifier folder.
    #[arg(long)]
    model: PathBuf,
    /// Address to listen on. The default answers this machine only; 0.0.0.0 opens it
    /// to the network (put it behind a proxy with authentication).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port (0 picks a free one, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Most texts run through the model at once (concurrent requests are batched).
    #[arg(long, default_value_t = 32)]
    max_batch: usize,
    /// Requests that may wait for the model; beyond them the server answers 503.
    #[arg(long, default_value_t = 256)]
    queue: usize,
    /// Most texts in one request (more: 413).
    #[arg(long, default_value_t = 256)]
    max_texts: usize,
    /// Largest request body in bytes (more: 413).
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// auto, cpu, cuda or metal.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

/// Runs `studio serve` until SIGTERM or Ctrl-C.
pub fn run(a: ServeArgs) -> Result<()> {
    let engine = Engine::with_device(&super::studio_home(), a.device);
    let predictor = engine.predictor(&a.model)?;
    let options = ServeOptions {
        host: a.host,
        port: a.port,
        max_batch: a.max_batch,
        queue: a.queue,
        max_texts: a.max_texts,
        max_body_bytes: a.max_body_bytes,
        ..ServeOptions::default()
    };
    let stop_flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop_flag.clone())?;
    }
    let serving = start(&a.model, predictor, options)?;
    println!(
        "serving {} ({}) on http://{}  (POST /predict, GET /health, GET /info; Ctrl-C stops)",
        a.model.display(),
        engine.device()?.explanation,
        serving.addr
    );
    while !stop_flag.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    serving.shutdown();
    println!("stopped: every queued request was answered");
    Ok(())
}

//! `studio-bench`: times studio-core's training and inference on the real default model,
//! one task per process (so each task's peak RSS is its own), and prints the comparison
//! table against the PyTorch side (`scripts/bench_torch.py`).
//!
//! `scripts/bench` is the one command; it runs every task on both sides and then
//! `studio-bench report`. Each `task` prints one JSON object on stdout.

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor, Var};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;
use studio_core::arch::params::{mask_rng, MaskRng};
use studio_core::arch::{names, Classifier, EncoderConfig, ForwardCtx, ParamStore, Pooling};
use studio_core::classify::infer::Predictor;
use studio_core::classify::train::cross_entropy;
use studio_core::classify::train::optim::{clip_grad_norm, linear_schedule, AdamW};
use studio_core::data::{read_labeled, LabeledData};
use studio_core::models::{ModelFolder, TextTokenizer};
use studio_core::progress::CancelToken;

/// Benchmark studio-core against PyTorch.
#[derive(Debug, Parser)]
#[command(name = "studio-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one timed task and prints its figures as one JSON object.
    Task(TaskArgs),
    /// Reads both sides' JSON lines and prints the table (and writes the summary JSON).
    Report(ReportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TaskKind {
    /// Full fine-tune step (forward, backward, clipping, AdamW) at a fixed length.
    Full,
    /// LoRA step (r 8 on q/k/v/attention output) at a fixed length.
    Lora,
    /// One epoch of the head on cached embeddings.
    Head,
    /// Inference throughput at batch 1 and 32, single-text latency.
    Infer,
    /// Full fine-tune for one epoch on a subset, then held-out accuracy.
    Accuracy,
}

#[derive(Debug, clap::Args)]
struct TaskArgs {
    /// Which task.
    task: TaskKind,
    /// The model folder (all-MiniLM-L6-v2).
    #[arg(long)]
    model: PathBuf,
    /// Folder with train.csv and test.csv (text,label).
    #[arg(long)]
    data: PathBuf,
    /// Sequence length for the step tasks.
    #[arg(long, default_value_t = 64)]
    seq: usize,
    /// Batch size for the step tasks.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Timed repetitions.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Untimed warm-up repetitions.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Training texts for the head and accuracy tasks.
    #[arg(long, default_value_t = 2000)]
    train_n: usize,
    /// Test texts for the accuracy task.
    #[arg(long, default_value_t = 1000)]
    test_n: usize,
    /// Texts for batch-32 inference.
    #[arg(long, default_value_t = 320)]
    infer_n: usize,
    /// Single-text calls for the latency figures.
    #[arg(long, default_value_t = 100)]
    latency_n: usize,
    /// Inference on test texts packed to this many tokens ([`packed_texts`]); 0: the
    /// test texts as they are, truncated at 128 tokens.
    #[arg(long, default_value_t = 0)]
    seq_infer: usize,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// JSON lines from `studio-bench task`.
    #[arg(long)]
    ours: PathBuf,
    /// JSON lines from `bench_torch.py`.
    #[arg(long)]
    torch: PathBuf,
    /// Also write the summary object here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> Result<()> {
    studio_core::runtime::tune_process();
    let cli = Cli::parse();
    match cli.command {
        Command::Task(a) => {
            let mut out = run_task(&a)?;
            out["side"] = json!("ours");
            out["peak_rss_mb"] = json!(peak_rss_mb());
            out["threads"] = json!(candle_core::utils::get_num_threads());
            out["blas"] = json!(studio_core::arch::blas::backend_name());
            out["openblas_coretype"] = json!(std::env::var("OPENBLAS_CORETYPE").ok());
            println!("{out}");
            Ok(())
        }
        Command::Report(a) => report(&a),
    }
}

/// Peak resident set size of this process in MiB (VmHWM, else ru_maxrss).
fn peak_rss_mb() -> f64 {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        if let Some(kb) = s
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        {
            return kb / 1024.0;
        }
    }
    // SAFETY: getrusage writes into the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u.ru_maxrss as f64 / 1024.0
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (s.len() - 1) as f64).round() as usize;
    s[idx.min(s.len() - 1)]
}

struct Env {
    folder: ModelFolder,
    dev: Device,
    train: LabeledData,
    test: LabeledData,
}

fn env(a: &TaskArgs) -> Result<Env> {
    let folder = ModelFolder::open(&a.model)
        .with_context(|| format!("opening the model folder {}", a.model.display()))?;
    let read = |name: &str| -> Result<LabeledData> {
        let p = a.data.join(name);
        read_labeled(&p, "text", "label", None).with_context(|| format!("reading {}", p.display()))
    };
    Ok(Env {
        folder,
        dev: Device::Cpu,
        train: read("train.csv")?,
        test: read("test.csv")?,
    })
}

/// The model and optimizer of one training mode.
struct Trainer {
    _store: ParamStore,
    model: Classifier,
    opt: AdamW,
    vars: Vec<Var>,
    rng: MaskRng,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Train {
    Full,
    Lora,
    Head,
}

fn trainer(e: &Env, mode: Train, seed: u64) -> Result<Trainer> {
    let cfg: &EncoderConfig = &e.folder.config;
    let mut store = ParamStore::from_tensors(e.folder.load_tensors(&e.dev)?, &e.dev)?;
    let pooling = if mode == Train::Head {
        store.remove(&names::head_dense(cfg.family).weight());
        store.remove(&names::head_dense(cfg.family).bias());
        Pooling::Mean
    } else {
        Pooling::Cls
    };
    Classifier::add_missing_head(&mut store, cfg, pooling, 2, seed)?;
    let head_bases = [
        names::head_dense(cfg.family).base,
        names::head_out(cfg.family).base,
        names::mean_head().base,
    ];
    let is_head = move |n: &str| head_bases.iter().any(|b| n.starts_with(&format!("{b}.")));
    let (rank, alpha) = (8usize, 16.0f64);
    match mode {
        Train::Full => store.set_trainable(|_| true),
        Train::Head => store.set_trainable(is_head),
        Train::Lora => {
            // As the trainer's LoRA mode: A small and random, B zero, on q/k/v/o.
            for i in 0..cfg.layers {
                let n = names::layer(cfg.family, i);
                for lin in [&n.query, &n.key, &n.value, &n.attn_out] {
                    let (out_dim, in_dim) = store.get(&lin.weight())?.dims2()?;
                    let (la, lb) = names::lora(lin);
                    store.insert_normal(
                        &la,
                        &[rank, in_dim],
                        1.0 / (in_dim as f64).sqrt(),
                        seed,
                        true,
                    )?;
                    store.insert_zeros(&lb, &[out_dim, rank], true)?;
                }
            }
            store.set_trainable(|n| is_head(n) || n.contains(".lora_"));
        }
    }
    let model = Classifier::load(&store, cfg, pooling, alpha / rank as f64)?;
    let trainable = store.trainable();
    let vars = trainable.iter().map(|(_, v)| v.clone()).collect();
    let opt = AdamW::new(trainable, 0.01)?;
    Ok(Trainer {
        _store: store,
        model,
        opt,
        vars,
        rng: mask_rng(seed + 2),
    })
}

/// Seconds spent in forward (+loss), backward, and clipping + optimizer.
struct StepTimes {
    fwd: f64,
    bwd: f64,
    opt: f64,
    loss: f32,
}

impl Trainer {
    fn step(
        &mut self,
        logits_of: impl FnOnce(&Classifier, &ForwardCtx) -> Result<Tensor>,
        targets: &Tensor,
        lr: f64,
    ) -> Result<StepTimes> {
        let t0 = Instant::now();
        let ctx = ForwardCtx::train(self.rng.clone());
        let logits = logits_of(&self.model, &ctx)?;
        if let Some(r) = ctx.into_rng() {
            self.rng = r;
        }
        let loss = cross_entropy(&logits, targets, None)?;
        let value = loss.to_scalar::<f32>()?;
        let t1 = Instant::now();
        let mut grads = loss.backward()?;
        let t2 = Instant::now();
        clip_grad_norm(&mut grads, &self.vars, 1.0)?;
        self.opt.step(&grads, lr)?;
        drop(grads);
        let t3 = Instant::now();
        if !value.is_finite() {
            bail!("the loss is not finite ({value})");
        }
        Ok(StepTimes {
            fwd: (t1 - t0).as_secs_f64(),
            bwd: (t2 - t1).as_secs_f64(),
            opt: (t3 - t2).as_secs_f64(),
            loss: value,
        })
    }
}

fn pad_id(tok: &TextTokenizer) -> u32 {
    tok.inner().token_to_id("[PAD]").unwrap_or(0)
}

/// `n` texts tokenized (truncated at `len`) and padded to exactly `len`.
fn fixed_batch(
    tok: &TextTokenizer,
    texts: &[String],
    len: usize,
    dev: &Device,
) -> Result<(Tensor, Tensor)> {
    let seqs = tok.encode_all(texts)?;
    let pad = pad_id(tok);
    let mut ids = Vec::with_capacity(texts.len() * len);
    let mut mask = Vec::with_capacity(texts.len() * len);
    for s in &seqs {
        let s = &s[..s.len().min(len)];
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(pad, len - s.len()));
        mask.extend(std::iter::repeat_n(1u32, s.len()));
        mask.extend(std::iter::repeat_n(0u32, len - s.len()));
    }
    Ok((
        Tensor::from_vec(ids, (texts.len(), len), dev)?,
        Tensor::from_vec(mask, (texts.len(), len), dev)?,
    ))
}

fn targets(labels: &[usize], dev: &Device) -> Result<Tensor> {
    Ok(Tensor::from_vec(
        labels.iter().map(|&l| l as u32).collect::<Vec<_>>(),
        labels.len(),
        dev,
    )?)
}

fn run_task(a: &TaskArgs) -> Result<Value> {
    let e = env(a)?;
    match a.task {
        TaskKind::Full | TaskKind::Lora => step_task(a, &e),
        TaskKind::Head => head_task(a, &e),
        TaskKind::Infer => infer_task(a, &e),
        TaskKind::Accuracy => accuracy_task(a, &e),
    }
}

fn step_task(a: &TaskArgs, e: &Env) -> Result<Value> {
    let mode = if a.task == TaskKind::Full {
        Train::Full
    } else {
        Train::Lora
    };
    let mut t = trainer(e, mode, 0)?;
    let tok = e.folder.tokenizer(a.seq)?;
    let (mut fwd, mut bwd, mut opt, mut total) = (vec![], vec![], vec![], vec![]);
    for i in 0..a.warmup + a.reps {
        let lo = (i * a.batch) % (e.train.len() - a.batch);
        let (ids, mask) = fixed_batch(&tok, &e.train.texts[lo..lo + a.batch], a.seq, &e.dev)?;
        let y = targets(&e.train.labels[lo..lo + a.batch], &e.dev)?;
        let s = t.step(|m, ctx| Ok(m.forward(&ids, &mask, ctx)?), &y, 5e-5)?;
        if i >= a.warmup {
            fwd.push(s.fwd);
            bwd.push(s.bwd);
            opt.push(s.opt);
            total.push(s.fwd + s.bwd + s.opt);
        }
    }
    Ok(json!({
        "task": if mode == Train::Full { "full" } else { "lora" },
        "seq": a.seq, "batch": a.batch,
        "median_s": median(&total), "all_s": total,
        "fwd_s": median(&fwd), "bwd_s": median(&bwd), "opt_s": median(&opt),
    }))
}

/// Pooled features of `texts`, batches of 32 in order, padded to the longest.
fn features(
    model: &Classifier,
    tok: &TextTokenizer,
    texts: &[String],
    dev: &Device,
) -> Result<Tensor> {
    let seqs = tok.encode_all(texts)?;
    let ctx = ForwardCtx::eval();
    let mut parts = Vec::new();
    for chunk in seqs.chunks(32) {
        let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
        let b = tok.batch(&refs, dev)?;
        let h = model.encode(&b.ids, &b.mask, &ctx)?;
        parts.push(model.pool(&h, &b.mask)?.detach());
    }
    Ok(Tensor::cat(&parts, 0)?)
}

fn head_task(a: &TaskArgs, e: &Env) -> Result<Value> {
    let mut t = trainer(e, Train::Head, 0)?;
    let tok = e.folder.tokenizer(128)?;
    let n = a.train_n.min(e.train.len());
    let feats = features(&t.model, &tok, &e.train.texts[..n], &e.dev)?;
    let bs = 32;
    let mut epochs = vec![];
    for r in 0..a.warmup.min(1) + a.reps {
        let started = Instant::now();
        for lo in (0..n).step_by(bs) {
            let hi = (lo + bs).min(n);
            let rows = Tensor::arange(lo as u32, hi as u32, &e.dev)?;
            let x = feats.index_select(&rows, 0)?;
            let y = targets(&e.train.labels[lo..hi], &e.dev)?;
            t.step(|m, ctx| Ok(m.head(&x, ctx)?), &y, 3e-3)?;
        }
        if r >= a.warmup.min(1) {
            epochs.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(json!({
        "task": "head", "n": n, "batch": bs,
        "median_s": median(&epochs), "all_s": epochs,
    }))
}

/// Consecutive texts joined with a space until each string has at least `8 * seq`
/// characters, so that it fills `seq` tokens: real text at one length, for the sweep.
/// `bench_torch.py` builds the same strings.
fn packed_texts(texts: &[String], seq: usize) -> Vec<String> {
    let mut out = vec![];
    let mut cur: Vec<&str> = vec![];
    // Characters of `cur` joined with spaces.
    let mut chars = 0;
    for t in texts {
        chars += t.chars().count() + usize::from(!cur.is_empty());
        cur.push(t);
        if chars >= 8 * seq {
            out.push(cur.join(" "));
            cur.clear();
            chars = 0;
        }
    }
    out
}

fn infer_task(a: &TaskArgs, e: &Env) -> Result<Value> {
    let cfg = &e.folder.config;
    let mut store = ParamStore::from_tensors(e.folder.load_tensors(&e.dev)?, &e.dev)?;
    Classifier::add_missing_head(&mut store, cfg, Pooling::Cls, 2, 0)?;
    let model = Classifier::load(&store, cfg, Pooling::Cls, 1.0)?;
    let (texts, max_len) = match a.seq_infer {
        0 => (e.test.texts.clone(), 128),
        seq => (packed_texts(&e.test.texts, seq), seq),
    };
    let tok = e.folder.tokenizer(max_len)?;
    let p = Predictor::new(model, tok, e.test.label_names.clone(), e.dev.clone())?;
    let cancel = CancelToken::new();
    let texts = &texts;
    // Batch 32: the texts in order, 32 per call.
    let n32 = a.infer_n.min(texts.len());
    let mut b32 = vec![];
    p.predict(&texts[..32.min(n32)], &cancel)?;
    for _ in 0..a.reps.clamp(1, 3) {
        let started = Instant::now();
        for chunk in texts[..n32].chunks(32) {
            p.predict(chunk, &cancel)?;
        }
        b32.push(n32 as f64 / started.elapsed().as_secs_f64());
    }
    // Batch 1: one text per call; latency includes tokenizing and the softmax.
    let n1 = a.latency_n.min(texts.len());
    for t in &texts[..5.min(n1)] {
        p.predict_one(t)?;
    }
    let mut lat = vec![];
    for t in &texts[..n1] {
        let started = Instant::now();
        p.predict_one(t)?;
        lat.push(started.elapsed().as_secs_f64());
    }
    let mut out = json!({
        "task": "infer",
        "b32_sps": median(&b32), "b32_all": b32,
        "b1_sps": n1 as f64 / lat.iter().sum::<f64>(),
        "p50_ms": percentile(&lat, 50.0) * 1e3,
        "p95_ms": percentile(&lat, 95.0) * 1e3,
    });
    if a.seq_infer > 0 {
        out["seq"] = json!(a.seq_infer);
    }
    Ok(out)
}

fn accuracy_task(a: &TaskArgs, e: &Env) -> Result<Value> {
    let mut t = trainer(e, Train::Full, 0)?;
    let tok = e.folder.tokenizer(128)?;
    let n = a.train_n.min(e.train.len());
    let seqs = tok.encode_all(&e.train.texts[..n])?;
    let bs = 16;
    let total = n.div_ceil(bs);
    let warmup = (total as f64 * 0.1).round() as usize;
    let started = Instant::now();
    let mut losses = vec![];
    for (step, lo) in (0..n).step_by(bs).enumerate() {
        let hi = (lo + bs).min(n);
        let refs: Vec<&[u32]> = seqs[lo..hi].iter().map(Vec::as_slice).collect();
        let b = tok.batch(&refs, &e.dev)?;
        let y = targets(&e.train.labels[lo..hi], &e.dev)?;
        let lr = linear_schedule(step, warmup, total, 5e-5);
        let s = t.step(|m, ctx| Ok(m.forward(&b.ids, &b.mask, ctx)?), &y, lr)?;
        losses.push(s.loss);
    }
    let train_s = started.elapsed().as_secs_f64();
    let m = e.test.len().min(a.test_n);
    let test = tok.encode_all(&e.test.texts[..m])?;
    let ctx = ForwardCtx::eval();
    let mut correct = 0usize;
    for (ci, chunk) in test.chunks(64).enumerate() {
        let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
        let b = tok.batch(&refs, &e.dev)?;
        let logits = t
            .model
            .forward(&b.ids, &b.mask, &ctx)?
            .detach()
            .to_vec2::<f32>()?;
        for (j, row) in logits.iter().enumerate() {
            let pred = if row[1] > row[0] { 1 } else { 0 };
            correct += usize::from(pred == e.test.labels[ci * 64 + j]);
        }
    }
    let first: f32 = losses.iter().take(10).sum::<f32>() / losses.len().min(10) as f32;
    let last: f32 = losses.iter().rev().take(10).sum::<f32>() / losses.len().min(10) as f32;
    Ok(json!({
        "task": "accuracy", "train_n": n, "test_n": m, "steps": total,
        "accuracy": correct as f64 / m as f64,
        "train_s": train_s, "loss_first10": first, "loss_last10": last,
    }))
}

// ---------------------------------------------------------------------------------------
// The table.

fn read_lines(p: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    Ok(text
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The line of `task` at sequence length `seq` (`None`: a line without one: the head,
/// the accuracy run, inference on the texts as they are) and, for ONNX Runtime's lines,
/// quantisation `quant`.
fn find<'a>(
    v: &'a [Value],
    task: &str,
    quant: Option<&str>,
    seq: Option<u64>,
) -> Option<&'a Value> {
    v.iter().find(|o| {
        o["task"] == task && quant.is_none_or(|q| o["quant"] == q) && o["seq"].as_u64() == seq
    })
}

fn num(v: Option<&Value>, key: &str) -> Option<f64> {
    v.and_then(|o| o[key].as_f64())
}

/// One table row: label, ours, torch, ratio (> 1: ours is better), unit.
type Row = (String, Option<f64>, Option<f64>, Option<f64>, &'static str);

fn report(a: &ReportArgs) -> Result<()> {
    let ours = read_lines(&a.ours)?;
    let torch = read_lines(&a.torch)?;
    let mut rows: Vec<Row> = vec![];
    let lower_better = |o: Option<f64>, t: Option<f64>| o.zip(t).map(|(o, t)| t / o);
    let higher_better = |o: Option<f64>, t: Option<f64>| o.zip(t).map(|(o, t)| o / t);
    let mut summary = serde_json::Map::new();
    let mut seqs: Vec<u64> = ours
        .iter()
        .filter(|o| o["task"] == "full" || o["task"] == "lora")
        .filter_map(|o| o["seq"].as_u64())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    for task in ["full", "lora"] {
        let mut worst: Option<f64> = None;
        for &s in &seqs {
            let (o, t) = (
                find(&ours, task, None, Some(s)),
                find(&torch, task, None, Some(s)),
            );
            let (om, tm) = (num(o, "median_s"), num(t, "median_s"));
            let r = lower_better(om, tm);
            rows.push((format!("{task} step, seq {s} (s)"), om, tm, r, "s"));
            for part in ["fwd_s", "bwd_s", "opt_s"] {
                let (op, tp) = (num(o, part), num(t, part));
                rows.push((
                    format!("  {} part", &part[..3]),
                    op,
                    tp,
                    lower_better(op, tp),
                    "s",
                ));
            }
            if let Some(r) = r {
                summary.insert(format!("{task}_step_ratio_seq{s}"), json!(r));
                worst = Some(worst.map_or(r, |w: f64| w.min(r)));
            }
        }
        summary.insert(format!("{task}_step_ratio"), json!(worst));
    }
    let (o, t) = (
        find(&ours, "head", None, None),
        find(&torch, "head", None, None),
    );
    let r = lower_better(num(o, "median_s"), num(t, "median_s"));
    rows.push((
        "head epoch, cached embeddings (s)".into(),
        num(o, "median_s"),
        num(t, "median_s"),
        r,
        "s",
    ));
    summary.insert("head_epoch_ratio".into(), json!(r));
    let (o, t) = (
        find(&ours, "infer", None, None),
        find(&torch, "infer", None, None),
    );
    for (key, label, sk) in [
        (
            "b1_sps",
            "inference, batch 1 (sentences/s)",
            "infer_b1_ratio",
        ),
        (
            "b32_sps",
            "inference, batch 32 (sentences/s)",
            "infer_b32_ratio",
        ),
    ] {
        let r = higher_better(num(o, key), num(t, key));
        rows.push((label.into(), num(o, key), num(t, key), r, "/s"));
        summary.insert(sk.into(), json!(r));
    }
    for (key, label) in [
        ("p50_ms", "single-text latency p50 (ms)"),
        ("p95_ms", "single-text latency p95 (ms)"),
    ] {
        let r = lower_better(num(o, key), num(t, key));
        rows.push((label.into(), num(o, key), num(t, key), r, "ms"));
        summary.insert(format!("latency_{key}_ratio"), json!(r));
    }
    // ONNX Runtime on the PyTorch side's export, the same texts and protocol; the ratio
    // is ours over ORT in sentences per second (> 1: ours is faster).
    for quant in ["fp32", "int8"] {
        let r = find(&torch, "ort", Some(quant), None);
        for (key, batch) in [("b1_sps", "b1"), ("b32_sps", "b32")] {
            let ratio = higher_better(num(o, key), num(r, key));
            rows.push((
                format!("  vs ONNX Runtime {quant}, {batch} (sentences/s)"),
                num(o, key),
                num(r, key),
                ratio,
                "/s",
            ));
            summary.insert(format!("ort_{quant}_{batch}_ratio"), json!(ratio));
        }
    }
    let mut infer_seqs: Vec<u64> = ours
        .iter()
        .filter(|o| o["task"] == "infer")
        .filter_map(|o| o["seq"].as_u64())
        .collect();
    infer_seqs.sort_unstable();
    infer_seqs.dedup();
    for &s in &infer_seqs {
        let o = find(&ours, "infer", None, Some(s));
        let peers = [
            ("PyTorch", "infer", find(&torch, "infer", None, Some(s))),
            (
                "ONNX Runtime fp32",
                "ort_fp32",
                find(&torch, "ort", Some("fp32"), Some(s)),
            ),
            (
                "ONNX Runtime int8",
                "ort_int8",
                find(&torch, "ort", Some("int8"), Some(s)),
            ),
        ];
        for (i, (peer, key, t)) in peers.into_iter().enumerate() {
            let ratio = higher_better(num(o, "b32_sps"), num(t, "b32_sps"));
            let label = if i == 0 {
                format!("inference b32, texts of {s} tokens, vs {peer} (/s)")
            } else {
                format!("  vs {peer}")
            };
            rows.push((label, num(o, "b32_sps"), num(t, "b32_sps"), ratio, "/s"));
            summary.insert(format!("{key}_b32_ratio_seq{s}"), json!(ratio));
        }
    }
    let peak = |v: &[Value]| {
        v.iter()
            .filter_map(|o| o["peak_rss_mb"].as_f64())
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    for task in ["full", "lora", "head", "infer"] {
        let pick = |v: &[Value]| {
            v.iter()
                .filter(|o| o["task"] == task)
                .filter_map(|o| o["peak_rss_mb"].as_f64())
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
        };
        let (om, tm) = (pick(&ours), pick(&torch));
        rows.push((
            format!("peak RSS, {task} (MiB)"),
            om,
            tm,
            lower_better(om, tm),
            "MiB",
        ));
    }
    let (om, tm) = (peak(&ours), peak(&torch));
    let r = lower_better(om, tm);
    rows.push(("peak RSS, largest task (MiB)".into(), om, tm, r, "MiB"));
    summary.insert("rss_ratio".into(), json!(r));
    let (o, t) = (
        find(&ours, "accuracy", None, None),
        find(&torch, "accuracy", None, None),
    );
    rows.push((
        "held-out accuracy".into(),
        num(o, "accuracy"),
        num(t, "accuracy"),
        None,
        "",
    ));
    let tr = lower_better(num(o, "train_s"), num(t, "train_s"));
    rows.push((
        "  its training epoch (s)".into(),
        num(o, "train_s"),
        num(t, "train_s"),
        tr,
        "s",
    ));
    summary.insert("accuracy_ours".into(), json!(num(o, "accuracy")));
    summary.insert("accuracy_torch".into(), json!(num(t, "accuracy")));
    summary.insert("accuracy_epoch_ratio".into(), json!(tr));
    for quant in ["fp32", "int8"] {
        let key = format!("accuracy_ort_{quant}");
        rows.push((
            format!("  ONNX Runtime {quant} on the export"),
            None,
            num(t, &key),
            None,
            "",
        ));
        summary.insert(key.clone(), json!(num(t, &key)));
    }
    // Ours has no int8 runtime yet (the int8 ONNX export runs in ONNX Runtime): the key
    // is there, empty, until it has one.
    summary.insert("accuracy_int8_ours".into(), Value::Null);
    summary.insert("ours".into(), Value::Array(ours.clone()));
    summary.insert("torch".into(), Value::Array(torch.clone()));

    let threads = ours
        .first()
        .and_then(|o| o["threads"].as_u64())
        .unwrap_or(0);
    println!("studio-core vs PyTorch and ONNX Runtime (threads {threads}); ratio = peer/ours in time or memory, ours/peer in sentences per second, so > 1 means ours is better");
    println!(
        "{:<52} {:>12} {:>12} {:>9}",
        "figure", "ours", "peer", "ratio"
    );
    let f = |x: Option<f64>| match x {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.3}"),
        Some(v) => format!("{v:.4}"),
        None => "-".into(),
    };
    for (label, o, t, r, _) in &rows {
        let r = r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "".into());
        println!("{label:<52} {:>12} {:>12} {r:>9}", f(*o), f(*t));
    }
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_string_pretty(&Value::Object(summary))?)
            .with_context(|| format!("writing {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    Ok(())
}

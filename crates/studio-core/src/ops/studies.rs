//! Studies on labelled files, written to a report folder: the fine-tuning learning curve
//! (`studio report curve`), the active-learning simulation (`studio report active`), the
//! faithfulness of explanations (`studio report explain`) and continued training on a
//! new domain (`studio report transfer`).
//! Not to be confused with the project learning curve the app draws after a run
//! ([`super::suggest::learning_curve`]: the fast classifier on a project's own labels).

use super::Engine;
use crate::active::Pick;
use crate::charts::ChartStyle;
use crate::classify::probe::ProbeOptions;
use crate::classify::train::{Mode, Target, TrainOptions};
use crate::data::{read_labeled, LabeledData};
use crate::progress::{CancelToken, Observer};
use crate::studies::active::{labels_to_reach, simulate, ActivePoint, ActiveSpec};
use crate::studies::curve::{
    curve_svg, forecast, learning_curve, sample_per_class, summarize, CurvePoint, CurveRow,
    CurveSpec, Forecast,
};
pub use crate::studies::faithfulness::TYPED_WORDS;
use crate::studies::faithfulness::{faithfulness, Faithfulness};
use crate::studies::transfer::{transfer, Transfer, TransferSpec};
use crate::{Result, StudioError};
use std::path::{Path, PathBuf};

/// The data, model and report folder of a study.
#[derive(Debug, Clone)]
pub struct StudyFiles {
    /// Labelled texts to sample training sets from.
    pub data: PathBuf,
    /// Held-out labelled texts to test on.
    pub test: PathBuf,
    /// Test on the first this many held-out texts only.
    pub test_limit: Option<usize>,
    /// The text column of both files.
    pub text_col: String,
    /// The label column of both files.
    pub label_col: String,
    /// The base model.
    pub model: String,
    /// Seeds: each draws another sample per size.
    pub seeds: Vec<u64>,
    /// The report folder.
    pub out: PathBuf,
}

impl StudyFiles {
    fn load(&self) -> Result<(LabeledData, LabeledData)> {
        let train = read_labeled(&self.data, &self.text_col, &self.label_col, None)?;
        let mut test = read_labeled(
            &self.test,
            &self.text_col,
            &self.label_col,
            Some(&train.label_names),
        )?;
        if let Some(n) = self.test_limit {
            let idx: Vec<usize> = (0..test.len().min(n)).collect();
            test = test.subset(&idx);
        }
        Ok((train, test))
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| StudioError::io("write", path, e))
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| StudioError::Json {
        path: path.to_path_buf(),
        error: e,
    })?;
    write(path, &text)
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| StudioError::io("create the folder", dir, e))
}

/// A finished learning curve.
#[derive(Debug, Clone)]
pub struct CurveReport {
    /// Every trained and tested model.
    pub points: Vec<CurvePoint>,
    /// Mean and spread per method and size.
    pub rows: Vec<CurveRow>,
    /// What the next step of accuracy would take, per method.
    pub forecasts: Vec<Forecast>,
    /// Held-out texts tested on.
    pub test_size: usize,
}

/// What a learning curve trains: which sizes, which methods, and the options every run
/// shares (mode and seed are set per run).
#[derive(Debug, Clone, Default)]
pub struct CurveAsk {
    /// Sizes in labels per class.
    pub per_class: Vec<usize>,
    /// Also train on the whole pool.
    pub include_all: bool,
    /// Training modes.
    pub methods: Vec<Mode>,
    /// Everything else, as `studio train` takes it.
    pub options: TrainOptions,
}

/// Trains every method at every size and seed, tests each model, and writes
/// `samples/<k>_<seed>.csv` (the exact training sets, so a peer can train on them),
/// `curve.json` and `curve.svg` into the report folder.
pub fn curve_report(
    engine: &Engine,
    files: &StudyFiles,
    ask: &CurveAsk,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<CurveReport> {
    let CurveAsk {
        per_class,
        include_all,
        methods,
        options,
    } = ask;
    let base = engine.base_model(&files.model)?;
    let (train, test) = files.load()?;
    let dev = engine.device()?;
    let samples = files.out.join("samples");
    create_dir(&samples)?;
    for &k in per_class {
        for &seed in &files.seeds {
            let s = sample_per_class(&train, k, seed);
            let mut csv = String::from("text,label\n");
            for (t, l) in s.texts.iter().zip(&s.labels) {
                csv.push_str(&crate::data::csv_field(t));
                csv.push(',');
                csv.push_str(&crate::data::csv_field(&s.label_names[*l]));
                csv.push('\n');
            }
            write(&samples.join(format!("{k}_{seed}.csv")), &csv)?;
        }
    }
    let spec = CurveSpec {
        per_class: per_class.clone(),
        include_all: *include_all,
        seeds: files.seeds.clone(),
        methods: methods.clone(),
        options: options.clone(),
    };
    let target = Target {
        device: &dev.device,
        kind: dev.kind,
    };
    let points = learning_curve(&base, &train, &test, &spec, target, observer, cancel)?;
    let rows = summarize(&points);
    let forecasts: Vec<Forecast> = methods
        .iter()
        .filter_map(|&m| forecast(&rows, m, 0.02))
        .collect();
    write_json(
        &files.out.join("curve.json"),
        &serde_json::json!({
            "points": points, "summary": rows, "forecast": forecasts,
            "data": files.data, "test": files.test, "test_size": test.len(), "model": files.model,
        }),
    )?;
    write(
        &files.out.join("curve.svg"),
        &curve_svg(&rows, &ChartStyle::default()),
    )?;
    Ok(CurveReport {
        points,
        rows,
        forecasts,
        test_size: test.len(),
    })
}

/// How the simulation labels.
#[derive(Debug, Clone)]
pub struct ActiveSettings {
    /// Labels per class to start from.
    pub start: usize,
    /// Labels added per round.
    pub step: usize,
    /// Rounds.
    pub rounds: usize,
    /// The accuracy to reach.
    pub target: f64,
    /// The strategies to compare.
    pub strategies: Vec<Pick>,
    /// Fit the fast classifier without class balancing (the earlier fit).
    pub unbalanced: bool,
}

/// A finished simulation.
#[derive(Debug, Clone)]
pub struct ActiveReport {
    /// Accuracy after every round, per strategy and seed.
    pub points: Vec<ActivePoint>,
    /// Per strategy: mean labels to reach the target, seeds that reached it, seeds.
    pub reach: Vec<(Pick, Option<f64>, usize, usize)>,
}

/// Simulates labelling the data file with each strategy (the labels are known, so
/// "labelling" reveals them), testing the fast classifier after every round; writes
/// `active.json` into the report folder.
pub fn active_report(
    engine: &Engine,
    files: &StudyFiles,
    settings: &ActiveSettings,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<ActiveReport> {
    let base = engine.base_model(&files.model)?;
    let (train, test) = files.load()?;
    create_dir(&files.out)?;
    let embedder = engine.embedder(&base)?;
    let pool = embedder.embed_rows(&train.texts, cancel)?;
    let test_x = embedder
        .embed_tensor(&test.texts, cancel, |_| {})?
        .to_device(&candle_core::Device::Cpu)?;
    let spec = ActiveSpec {
        start_per_class: settings.start,
        step: settings.step,
        rounds: settings.rounds,
        strategies: settings.strategies.clone(),
        seeds: files.seeds.clone(),
        probe: ProbeOptions {
            balanced: !settings.unbalanced,
            ..ProbeOptions::LOOP
        },
    };
    let points = simulate(
        &pool,
        &train.labels,
        &test_x,
        &test.labels,
        train.label_names.len(),
        &spec,
        observer,
        cancel,
    )?;
    let reach = labels_to_reach(&points, settings.target);
    write_json(
        &files.out.join("active.json"),
        &serde_json::json!({
            "points": points,
            "target": settings.target,
            "labels_to_reach": reach.iter().map(|(s, m, r, n)| serde_json::json!({"strategy": s, "mean_labels": m, "seeds_reached": r, "seeds": n})).collect::<Vec<_>>(),
        }),
    )?;
    Ok(ActiveReport { points, reach })
}

/// Measures how faithful the explanations of the exported model `model` are on the
/// labelled file `files.test` (the first `files.test_limit` texts), for each `k`, and
/// how long one explanation takes; writes `faithfulness.json` into `files.out`.
pub fn faithfulness_report(
    engine: &Engine,
    model: &Path,
    files: &StudyFiles,
    ks: &[usize],
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Faithfulness> {
    let predictor = engine.predictor(model)?;
    let mut test = read_labeled(&files.test, &files.text_col, &files.label_col, None)?;
    if let Some(n) = files.test_limit {
        let idx: Vec<usize> = (0..test.len().min(n)).collect();
        test = test.subset(&idx);
    }
    create_dir(&files.out)?;
    let seed = files.seeds.first().copied().unwrap_or(1);
    let f = faithfulness(&predictor, &test.texts, ks, 100, seed, observer, cancel)?;
    write_json(
        &files.out.join("faithfulness.json"),
        &serde_json::json!({
            "model": model, "test": files.test, "texts": test.len(),
            "method": "occlusion by word (CJK by character)", "rows": f.rows, "latency": f.latency,
        }),
    )?;
    Ok(f)
}

/// Compares continuing from the fine-tuned classifier `from` with starting from
/// `files.model` on a new domain (`files.data` to sample from, `files.test` to test
/// on), at each size and seed; writes `transfer.json` into `files.out`.
pub fn transfer_report(
    engine: &Engine,
    from: &Path,
    files: &StudyFiles,
    per_class: &[usize],
    options: &TrainOptions,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Transfer> {
    let base = engine.base_model(&files.model)?;
    let from_folder = crate::models::ModelFolder::open(from)?;
    let (pool, test) = files.load()?;
    let dev = engine.device()?;
    create_dir(&files.out)?;
    let spec = TransferSpec {
        per_class: per_class.to_vec(),
        seeds: files.seeds.clone(),
        options: options.clone(),
    };
    let target = Target {
        device: &dev.device,
        kind: dev.kind,
    };
    let t = transfer(
        &from_folder,
        &base,
        &pool,
        &test,
        &spec,
        target,
        observer,
        cancel,
    )?;
    write_json(
        &files.out.join("transfer.json"),
        &serde_json::json!({
            "from": from, "base": files.model, "data": files.data, "test": files.test,
            "test_size": test.len(), "options": options, "points": t.points,
            "from_alone": t.from_alone,
        }),
    )?;
    Ok(t)
}

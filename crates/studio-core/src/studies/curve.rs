//! Learning curves: accuracy and macro-F1 against the number of labels, per training
//! method, over several seeds; and a forecast of how many more labels the next step of
//! accuracy would take.

use crate::charts::ChartStyle;
use crate::classify::eval::Metrics;
use crate::classify::infer::Predictor;
use crate::classify::probe::{rows_tensor, LinearProbe, ProbeOptions};
use crate::classify::train::{train, Mode, Target, TrainOptions};
use crate::data::LabeledData;
use crate::models::ModelFolder;
use crate::progress::{CancelToken, Event, NoteCode, Observer};
use crate::Result;
use plotters::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

/// One trained and tested model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Training method.
    pub method: Mode,
    /// Labels per class given (the "all" point: the whole training set, `None`).
    pub per_class: Option<usize>,
    /// Labelled examples in all.
    pub n_labels: usize,
    /// Seed of the sample and the run.
    pub seed: u64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Test macro-F1.
    pub macro_f1: f64,
    /// Seconds to train.
    pub train_secs: f64,
}

/// Mean and spread over seeds at one size, for one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveRow {
    /// Training method.
    pub method: Mode,
    /// Labels per class (`None`: all).
    pub per_class: Option<usize>,
    /// Mean labelled examples.
    pub n_labels: f64,
    /// Runs averaged.
    pub runs: usize,
    /// Mean test accuracy.
    pub accuracy_mean: f64,
    /// Sample standard deviation of the accuracy.
    pub accuracy_std: f64,
    /// Mean test macro-F1.
    pub macro_f1_mean: f64,
    /// Sample standard deviation of macro-F1.
    pub macro_f1_std: f64,
    /// Mean training seconds.
    pub train_secs_mean: f64,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct CurveSpec {
    /// Sizes, in labels per class.
    pub per_class: Vec<usize>,
    /// Also train on the whole training set (once per seed).
    pub include_all: bool,
    /// Seeds (each gives a different sample and run).
    pub seeds: Vec<u64>,
    /// Methods.
    pub methods: Vec<Mode>,
    /// Settings shared by every run (mode and seed are set per run).
    pub options: TrainOptions,
}

/// `k` examples of each label (all of a label that has fewer), drawn with `seed`.
pub fn sample_per_class(data: &LabeledData, k: usize, seed: u64) -> LabeledData {
    data.subset(&sample_indices_per_class(
        &data.labels,
        data.label_names.len(),
        k,
        seed,
    ))
}

/// Indices of `k` examples of each of `n_classes` labels (all of a label that has
/// fewer), drawn with `seed`, in ascending order.
pub fn sample_indices_per_class(
    labels: &[usize],
    n_classes: usize,
    k: usize,
    seed: u64,
) -> Vec<usize> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut idx = Vec::new();
    for class in 0..n_classes {
        let mut c: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        c.shuffle(&mut rng);
        idx.extend(c.into_iter().take(k));
    }
    idx.sort_unstable();
    idx
}

/// Sizes for a curve when the rarest label has `rarest` examples: 4, 8, 16, … below it.
pub fn doubling_sizes(rarest: usize) -> Vec<usize> {
    std::iter::successors(Some(4usize), |k| Some(k * 2))
        .take_while(|&k| k < rarest)
        .collect()
}

/// The learning curve of the fast classifier (an L2 logistic regression on frozen
/// sentence vectors) on the user's own labels: for each size of
/// [`doubling_sizes`] and each seed, fit on that many labels per class drawn from
/// `pool` and test on `eval`; then once on the whole pool (`per_class: None`).
///
/// Why this method: it costs milliseconds per point, so the app can redraw the curve
/// after every training run, and its slope is a fair guide to what more labels buy the
/// slower methods too (they rise at least as fast, see the learning-curve tables).
pub fn probe_curve(
    pool: &[Vec<f32>],
    pool_labels: &[usize],
    eval: &[Vec<f32>],
    eval_labels: &[usize],
    label_names: &[String],
    seeds: &[u64],
    cancel: &CancelToken,
) -> Result<Vec<CurvePoint>> {
    let n_classes = label_names.len();
    let dev = candle_core::Device::Cpu;
    let eval_t = rows_tensor(eval, &(0..eval.len()).collect::<Vec<_>>(), &dev)?;
    let rarest = (0..n_classes)
        .map(|c| pool_labels.iter().filter(|&&l| l == c).count())
        .filter(|&n| n > 0)
        .min()
        .unwrap_or(0);
    let score = |idx: &[usize], per_class: Option<usize>, seed: u64| -> Result<CurvePoint> {
        let started = std::time::Instant::now();
        let y: Vec<usize> = idx.iter().map(|&i| pool_labels[i]).collect();
        let probe = LinearProbe::fit(
            &rows_tensor(pool, idx, &dev)?,
            &y,
            n_classes,
            &ProbeOptions::LOOP,
        )?;
        let predicted: Vec<usize> = probe
            .predict_proba(&eval_t)?
            .iter()
            .map(|p| crate::classify::infer::argmax(p))
            .collect();
        let m = Metrics::compute(eval_labels, &predicted, label_names);
        Ok(CurvePoint {
            method: Mode::Head,
            per_class,
            n_labels: idx.len(),
            seed,
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            train_secs: started.elapsed().as_secs_f64(),
        })
    };
    let mut points = Vec::new();
    for k in doubling_sizes(rarest) {
        for &seed in seeds {
            cancel.check()?;
            let idx = sample_indices_per_class(pool_labels, n_classes, k, seed);
            points.push(score(&idx, Some(k), seed)?);
        }
    }
    // The whole pool: one fit (it does not depend on the seed).
    points.push(score(&(0..pool.len()).collect::<Vec<_>>(), None, 0)?);
    Ok(points)
}

/// Trains and tests every (method, size, seed) of `spec`. Reports each finished point as
/// a note; checks `cancel` between runs and inside each.
pub fn learning_curve(
    base: &ModelFolder,
    train_data: &LabeledData,
    test_data: &LabeledData,
    spec: &CurveSpec,
    target: Target<'_>,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Vec<CurvePoint>> {
    let mut sizes: Vec<Option<usize>> = spec.per_class.iter().map(|&k| Some(k)).collect();
    if spec.include_all {
        sizes.push(None);
    }
    let total = (spec.methods.len() * sizes.len() * spec.seeds.len()) as u64;
    observer.on_event(&Event::Phase {
        name: "learning curve".into(),
        total: Some(total),
    });
    let mut points = Vec::new();
    for &method in &spec.methods {
        for &size in &sizes {
            for &seed in &spec.seeds {
                cancel.check()?;
                let data = match size {
                    Some(k) => sample_per_class(train_data, k, seed),
                    None => train_data.clone(),
                };
                let opts = TrainOptions {
                    mode: Some(method),
                    seed,
                    ..spec.options.clone()
                };
                let t = Target {
                    device: target.device,
                    kind: target.kind,
                };
                let model = train(base, &data, &opts, t, &mut crate::progress::Silent, cancel)?;
                let predictor = Predictor::new(
                    model.classifier()?,
                    model.tokenizer.clone(),
                    model.label_names.clone(),
                    target.device.clone(),
                )?;
                let preds = predictor.predict(&test_data.texts, cancel)?;
                let predicted: Vec<usize> = preds.iter().map(|p| p.label_id).collect();
                let m = Metrics::compute(&test_data.labels, &predicted, &test_data.label_names);
                let point = CurvePoint {
                    method,
                    per_class: size,
                    n_labels: data.len(),
                    seed,
                    accuracy: m.accuracy,
                    macro_f1: m.macro_f1,
                    train_secs: model.seconds,
                };
                observer.on_event(&Event::note(
                    NoteCode::StudyPoint,
                    format!(
                        "{:?} {} seed {}: accuracy {:.4}, macro-F1 {:.4} ({:.0} s)",
                        method,
                        size.map_or("all".to_string(), |k| format!("{k}/class")),
                        seed,
                        m.accuracy,
                        m.macro_f1,
                        model.seconds
                    ),
                    Vec::new(),
                ));
                points.push(point);
                observer.on_event(&Event::Advance {
                    done: points.len() as u64,
                    total: Some(total),
                });
            }
        }
    }
    Ok(points)
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let m = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// Mean and spread per (method, size), in the order the points came.
pub fn summarize(points: &[CurvePoint]) -> Vec<CurveRow> {
    let mut keys: Vec<(Mode, Option<usize>)> = Vec::new();
    for p in points {
        if !keys.contains(&(p.method, p.per_class)) {
            keys.push((p.method, p.per_class));
        }
    }
    keys.into_iter()
        .map(|(method, per_class)| {
            let ps: Vec<&CurvePoint> = points
                .iter()
                .filter(|p| p.method == method && p.per_class == per_class)
                .collect();
            let acc: Vec<f64> = ps.iter().map(|p| p.accuracy).collect();
            let f1: Vec<f64> = ps.iter().map(|p| p.macro_f1).collect();
            let (accuracy_mean, accuracy_std) = mean_std(&acc);
            let (macro_f1_mean, macro_f1_std) = mean_std(&f1);
            CurveRow {
                method,
                per_class,
                n_labels: ps.iter().map(|p| p.n_labels as f64).sum::<f64>() / ps.len() as f64,
                runs: ps.len(),
                accuracy_mean,
                accuracy_std,
                macro_f1_mean,
                macro_f1_std,
                train_secs_mean: ps.iter().map(|p| p.train_secs).sum::<f64>() / ps.len() as f64,
            }
        })
        .collect()
}

/// How many labels the next accuracy step would take, from a straight-line fit of
/// accuracy against log2(labels per class).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Method.
    pub method: Mode,
    /// Best mean accuracy so far.
    pub current: f64,
    /// The next step aimed at (`current + step`).
    pub next: f64,
    /// Accuracy gained per doubling of the labels (the fitted slope).
    pub gain_per_doubling: f64,
    /// Labels per class the fit says reach `next` (`None` when the curve is flat).
    pub per_class_needed: Option<f64>,
}

/// Fits `accuracy = a + b·log2(per_class)` to one method's sized rows and solves for
/// `current + step`.
pub fn forecast(rows: &[CurveRow], method: Mode, step: f64) -> Option<Forecast> {
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.method == method)
        .filter_map(|r| r.per_class.map(|k| ((k as f64).log2(), r.accuracy_mean)))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let a = my - b * mx;
    let current = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let next = (current + step).min(1.0);
    Some(Forecast {
        method,
        current,
        next,
        gain_per_doubling: b,
        per_class_needed: (b > 1e-4).then(|| 2f64.powf((next - a) / b)),
    })
}

/// Accuracy against labels per class (log scale), one line per method, ±1 std bars,
/// titled and labelled with `style`'s words.
pub fn curve_svg(rows: &[CurveRow], style: &ChartStyle) -> String {
    crate::charts::render_svg((720, 420), |root| draw_curve(root, rows, style))
}

fn draw_curve(
    root: &crate::charts::SvgArea<'_>,
    rows: &[CurveRow],
    style: &ChartStyle,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let text = &style.text;
    root.fill(&style.paper())?;
    let sized: Vec<&CurveRow> = rows.iter().filter(|r| r.per_class.is_some()).collect();
    let xs: Vec<f64> = sized
        .iter()
        .filter_map(|r| r.per_class)
        .map(|k| (k as f64).log2())
        .collect();
    let (x0, x1) = (
        xs.iter().copied().fold(f64::MAX, f64::min).min(3.0) - 0.3,
        xs.iter().copied().fold(f64::MIN, f64::max).max(4.0) + 0.3,
    );
    let lo = sized
        .iter()
        .map(|r| r.accuracy_mean - r.accuracy_std)
        .fold(1.0f64, f64::min)
        .clamp(0.0, 0.9)
        - 0.02;
    let mut chart = ChartBuilder::on(root)
        .caption(&text.curve, style.font(20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, lo.max(0.0)..1.0f64)?;
    // Ticks only at powers of two: the sizes a curve is measured at.
    let powers_of_two = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{:.0}", 2f64.powf(x.round()))
        } else {
            String::new()
        }
    };
    crate::charts::draw_mesh(
        &mut chart,
        style,
        &text.labels_per_class,
        Some(&text.test_accuracy),
        Some(&powers_of_two),
    )?;
    let mut methods: Vec<Mode> = Vec::new();
    for r in &sized {
        if !methods.contains(&r.method) {
            methods.push(r.method);
        }
    }
    for (i, m) in methods.iter().enumerate() {
        let color = style.series(i);
        let line: Vec<(f64, f64)> = sized
            .iter()
            .filter(|r| r.method == *m)
            .filter_map(|r| r.per_class.map(|k| ((k as f64).log2(), r.accuracy_mean)))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(text.method(&m.to_string()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        for r in sized.iter().filter(|r| r.method == *m) {
            if let Some(k) = r.per_class {
                let x = (k as f64).log2();
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![
                        (x, r.accuracy_mean - r.accuracy_std),
                        (x, r.accuracy_mean + r.accuracy_std),
                    ],
                    color,
                )))?;
                chart.draw_series(std::iter::once(Circle::new(
                    (x, r.accuracy_mean),
                    3,
                    color.filled(),
                )))?;
            }
        }
    }
    crate::charts::draw_legend(&mut chart, style, SeriesLabelPosition::LowerRight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(method: Mode, k: usize, seed: u64, acc: f64) -> CurvePoint {
        CurvePoint {
            method,
            per_class: Some(k),
            n_labels: 2 * k,
            seed,
            accuracy: acc,
            macro_f1: acc - 0.01,
            train_secs: 1.0,
        }
    }

    #[test]
    fn doubling_sizes_stay_below_the_rarest_label() {
        assert_eq!(doubling_sizes(4), Vec::<usize>::new());
        assert_eq!(doubling_sizes(5), vec![4]);
        assert_eq!(doubling_sizes(33), vec![4, 8, 16, 32]);
    }

    /// Two classes along one axis with heavy noise on another: more labels help, the
    /// last point uses the whole pool, and every size has one point per seed.
    #[test]
    fn probe_curve_rises_with_labels() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut make = |n: usize| -> (Vec<Vec<f32>>, Vec<usize>) {
            use rand::Rng;
            (0..n)
                .map(|i| {
                    let c = i % 2;
                    let signal = if c == 0 { -0.5 } else { 0.5 };
                    (
                        vec![
                            signal + rng.random_range(-1.0f32..1.0),
                            rng.random_range(-3.0f32..3.0),
                            1.0,
                        ],
                        c,
                    )
                })
                .unzip()
        };
        let (pool, pool_y) = make(256);
        let (eval, eval_y) = make(400);
        let names = vec!["a".to_string(), "b".to_string()];
        let pts = probe_curve(
            &pool,
            &pool_y,
            &eval,
            &eval_y,
            &names,
            &[1, 2, 3, 4, 5],
            &CancelToken::new(),
        )
        .unwrap();
        let sizes: Vec<Option<usize>> = pts.iter().map(|p| p.per_class).collect();
        assert_eq!(pts.len(), 5 * 5 + 1, "{sizes:?}");
        assert_eq!(pts.last().unwrap().per_class, None);
        assert_eq!(pts.last().unwrap().n_labels, 256);
        let rows = summarize(&pts);
        let first = rows.first().unwrap();
        let all = rows.last().unwrap();
        assert_eq!(first.per_class, Some(4));
        assert!(
            all.accuracy_mean > first.accuracy_mean + 0.04,
            "{} vs {}",
            all.accuracy_mean,
            first.accuracy_mean
        );
        assert!(all.accuracy_mean > 0.68, "{}", all.accuracy_mean);
    }

    #[test]
    fn summary_means_and_spreads() {
        let pts = vec![
            pt(Mode::Head, 8, 1, 0.6),
            pt(Mode::Head, 8, 2, 0.7),
            pt(Mode::Head, 16, 1, 0.8),
        ];
        let rows = summarize(&pts);
        assert_eq!(rows.len(), 2);
        assert!((rows[0].accuracy_mean - 0.65).abs() < 1e-12);
        assert!((rows[0].accuracy_std - (0.005f64).sqrt()).abs() < 1e-12);
        assert_eq!(rows[1].runs, 1);
        assert_eq!(rows[1].accuracy_std, 0.0);
    }

    #[test]
    fn forecast_solves_the_log_linear_fit() {
        // accuracy = 0.5 + 0.05·log2(k): 8 → 0.65, 16 → 0.70, 32 → 0.75.
        let pts = vec![
            pt(Mode::Fewshot, 8, 1, 0.65),
            pt(Mode::Fewshot, 16, 1, 0.70),
            pt(Mode::Fewshot, 32, 1, 0.75),
        ];
        let f = forecast(&summarize(&pts), Mode::Fewshot, 0.05).unwrap();
        assert!((f.gain_per_doubling - 0.05).abs() < 1e-9);
        assert!((f.next - 0.80).abs() < 1e-9);
        assert!((f.per_class_needed.unwrap() - 64.0).abs() < 1e-6);
        // A flat curve forecasts nothing.
        let flat = vec![pt(Mode::Head, 8, 1, 0.7), pt(Mode::Head, 16, 1, 0.7)];
        assert_eq!(
            forecast(&summarize(&flat), Mode::Head, 0.02)
                .unwrap()
                .per_class_needed,
            None
        );
    }

    #[test]
    fn per_class_sampling_is_balanced_and_seeded() {
        let d = crate::testing::tiny_data(20, 1);
        let s = sample_per_class(&d, 5, 3);
        assert_eq!(s.counts(), vec![5, 5]);
        assert_eq!(s, sample_per_class(&d, 5, 3));
        assert_ne!(s.texts, sample_per_class(&d, 5, 4).texts);
        assert_eq!(sample_per_class(&d, 100, 3).len(), 40);
    }

    #[test]
    fn curve_chart_draws_every_method() {
        let pts = vec![
            pt(Mode::Head, 8, 1, 0.6),
            pt(Mode::Head, 16, 1, 0.7),
            pt(Mode::Fewshot, 8, 1, 0.7),
            pt(Mode::Fewshot, 16, 1, 0.8),
        ];
        let svg = curve_svg(&summarize(&pts), &ChartStyle::default());
        assert!(svg.contains("head") && svg.contains("fewshot") && svg.contains("Learning curve"));
        // The legend names the methods in the words it is given.
        let mut style = ChartStyle::default();
        style.text.methods = vec![("fewshot".into(), "少样本".into())];
        let svg = curve_svg(&summarize(&pts), &style);
        assert!(svg.contains("少样本") && !svg.contains("fewshot") && svg.contains("head"));
    }
}

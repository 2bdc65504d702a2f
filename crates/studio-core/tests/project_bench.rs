//! The project benchmark on a million rows (ignored by default; `scripts/bench-project`
//! runs it): import rows/s, label-page query latency, "next most uncertain" latency.
//! Prints numbers; asserts nothing about time (DESIGN.md §6).

use std::io::Write;
use std::time::Instant;
use studio_core::data::import::ImportOptions;
use studio_core::progress::{CancelToken, Silent};
use studio_core::project::{Filter, LabelFilter, PageQuery, Project, SplitName, Strategy};

fn rows() -> usize {
    std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn median_ms(mut f: impl FnMut(), reps: usize) -> (f64, f64) {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[reps / 2], t[reps - 1])
}

#[test]
#[ignore = "a benchmark: run scripts/bench-project"]
fn bench_million_rows() {
    let n = rows();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("big.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&data).unwrap());
        writeln!(w, "id,text,label").unwrap();
        let words = [
            "good", "bad", "film", "plot", "acting", "slow", "great", "boring", "music", "story",
        ];
        let mut x = 0x9e3779b97f4a7c15u64;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 8 + (x % 20) as usize;
            let text: Vec<&str> = (0..len)
                .map(|k| words[((x >> (k * 3)) % 10) as usize])
                .collect();
            // One row in five comes labelled.
            let label = match i % 5 {
                0 => "positive",
                1 if i % 2 == 0 => "negative",
                _ => "",
            };
            writeln!(w, "r{i},\"{} {i}\",{label}", text.join(" ")).unwrap();
        }
    }
    let size = std::fs::metadata(&data).unwrap().len();
    let path = dir.path().join("bench.studio");
    let p = Project::create(&path).unwrap();
    p.set_label_set(&["negative".into(), "positive".into()])
        .unwrap();

    let t = Instant::now();
    let r = p
        .import(
            &data,
            &ImportOptions::default(),
            None,
            &Default::default(),
            &mut Silent,
            &CancelToken::new(),
        )
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.imported as usize, n);
    println!(
        "import: {n} rows ({:.0} MB, {} labelled) in {secs:.2} s = {:.0} rows/s ({:.1} MB/s)",
        size as f64 / 1e6,
        r.labelled,
        n as f64 / secs,
        size as f64 / 1e6 / secs
    );

    // Predictions for every text, as the engine would store them.
    let preds: Vec<(i64, Vec<f32>)> = (1..=n as i64)
        .map(|id| {
            let p = ((id.wrapping_mul(2654435761) % 1000) as f32) / 1000.0;
            (id, vec![1.0 - p, p])
        })
        .collect();
    let t = Instant::now();
    p.store_predictions(1, &preds).unwrap();
    println!(
        "store_predictions: {n} rows in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    drop(preds);

    let reps = 21;
    let q = |filter: Filter, offset: u64| PageQuery {
        filter,
        offset,
        ..Default::default()
    };
    let cases: Vec<(&str, PageQuery)> = vec![
        ("page: all, first 50", q(Filter::default(), 0)),
        (
            "page: unlabelled, first 50",
            q(
                Filter {
                    label: LabelFilter::Unlabelled,
                    ..Default::default()
                },
                0,
            ),
        ),
        (
            "page: label=negative, first 50",
            q(
                Filter {
                    label: LabelFilter::Is("negative".into()),
                    ..Default::default()
                },
                0,
            ),
        ),
        (
            "page: label=negative, offset 50k",
            q(
                Filter {
                    label: LabelFilter::Is("negative".into()),
                    ..Default::default()
                },
                50_000,
            ),
        ),
        (
            "page: split=test, first 50",
            q(
                Filter {
                    split: Some(SplitName::Test),
                    ..Default::default()
                },
                0,
            ),
        ),
        (
            "page: disagrees with model, first 50",
            q(
                Filter {
                    disagrees_with_model: true,
                    ..Default::default()
                },
                0,
            ),
        ),
        (
            "page: search \"boring music story\", first 50",
            q(
                Filter {
                    search: Some("boring music story".into()),
                    ..Default::default()
                },
                0,
            ),
        ),
        (
            "page: search (rare) \"9999\"",
            q(
                Filter {
                    search: Some("99999".into()),
                    ..Default::default()
                },
                0,
            ),
        ),
    ];
    for (name, query) in &cases {
        let mut got = 0;
        let (med, max) = median_ms(|| got = p.page(query).unwrap().len(), reps);
        println!("{name}: median {med:.2} ms, max {max:.2} ms ({got} rows)");
    }
    let keyset = PageQuery {
        filter: Filter {
            label: LabelFilter::Is("positive".into()),
            ..Default::default()
        },
        after_id: Some(n as i64 / 2),
        ..Default::default()
    };
    let (med, max) = median_ms(|| drop(p.page(&keyset).unwrap()), reps);
    println!(
        "page: label=positive after row {} (keyset): median {med:.2} ms, max {max:.2} ms",
        n / 2
    );
    let (med, max) = median_ms(|| drop(p.label_counts().unwrap()), reps);
    println!("counts per label: median {med:.2} ms, max {max:.2} ms");
    let (med, max) = median_ms(|| drop(p.stats().unwrap()), 5);
    println!("stats (totals, per label, per split): median {med:.2} ms, max {max:.2} ms");
    for (name, s) in [
        ("next most uncertain (10)", Strategy::Uncertain),
        ("next in order (10)", Strategy::Order),
        ("next random (10)", Strategy::Random { seed: 3 }),
    ] {
        let (med, max) = median_ms(
            || assert_eq!(p.next_to_label(s, 10).unwrap().len(), 10),
            reps,
        );
        println!("{name}: median {med:.2} ms, max {max:.2} ms");
    }
    // Labelling the most uncertain text, then asking again (the pane's loop).
    let (med, max) = median_ms(
        || {
            let next = p.next_to_label(Strategy::Uncertain, 1).unwrap();
            p.label(next[0].id, "positive").unwrap();
        },
        reps,
    );
    println!("label + next most uncertain (durable commit): median {med:.2} ms, max {max:.2} ms");
    let t = Instant::now();
    let data = p.all_labelled().unwrap();
    println!(
        "all_labelled: {} texts in {:.2} s",
        data.len(),
        t.elapsed().as_secs_f64()
    );
    println!(
        "project file: {:.0} MB",
        std::fs::metadata(&path).unwrap().len() as f64 / 1e6
    );
}

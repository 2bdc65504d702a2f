//! `studio project ...`: create a project, import texts, label them, look at them.

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use studio_core::data::import::{ImportOptions, Importer, Input};
use studio_core::progress::CancelToken;
use studio_core::project::{
    Filter, IdKind, ImportReport, ImportSettings, LabelFilter, PageQuery, Project, SplitName,
    Strategy, TextRow,
};
use studio_core::StudioError;

/// Arguments of `studio project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Create a new, empty project file.
    New {
        /// The project file to create (e.g. reviews.studio).
        project: PathBuf,
    },
    /// Import texts from a CSV, TSV, JSON, JSONL, TXT or XLSX file.
    Import(ImportArgs),
    /// Show the label set, or define or change it with --set.
    Labels {
        /// The project file.
        project: PathBuf,
        /// The labels in order, comma-separated: e.g. negative,positive.
        #[arg(long, value_delimiter = ',')]
        set: Option<Vec<String>>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Label one text; exits 0 only once the label is safely on disk.
    Label {
        /// The project file.
        project: PathBuf,
        /// The text: the id column's value if one was imported, else its row number
        /// (#N always means row number N).
        #[arg(required_unless_present = "stdin")]
        text_id: Option<String>,
        /// The label (one of the label set).
        #[arg(required_unless_present_any = ["stdin", "clear"])]
        label: Option<String>,
        /// Remove the text's label instead.
        #[arg(long, conflicts_with = "stdin")]
        clear: bool,
        /// Read "TEXT-ID LABEL" lines from standard input; print "ok TEXT-ID LABEL" after
        /// each one is on disk.
        #[arg(long)]
        stdin: bool,
    },
    /// Undo the last labelling action.
    Undo {
        /// The project file.
        project: PathBuf,
    },
    /// Redo the last undone action.
    Redo {
        /// The project file.
        project: PathBuf,
    },
    /// Counts: texts, labelled, per label, per split.
    Stats {
        /// The project file.
        project: PathBuf,
        /// Print JSON: total, labelled, unlabelled, per_label, per_split.
        #[arg(long)]
        json: bool,
    },
    /// Write the labelled texts to a .csv or .jsonl file.
    Export {
        /// The project file.
        project: PathBuf,
        /// The file to write: .csv or .jsonl.
        #[arg(long)]
        out: PathBuf,
    },
    /// The next texts to label.
    Next {
        /// The project file.
        project: PathBuf,
        /// How to pick them.
        #[arg(long, value_enum, default_value_t = StrategyArg::Order)]
        strategy: StrategyArg,
        /// How many.
        #[arg(long, default_value_t = 10)]
        n: usize,
        /// Seed for --strategy random (default: a new one each time).
        #[arg(long)]
        seed: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// For uncertain/diverse: the model whose sentence vectors the suggestion
        /// classifier uses.
        #[arg(long, default_value = "all-minilm-l6-v2")]
        model: String,
        /// For uncertain/diverse: retrain the suggestion classifier once this many new
        /// labels have arrived since the last time.
        #[arg(long, default_value_t = 10)]
        every: usize,
    },
    /// List texts, filtered.
    List(ListArgs),
    /// How accuracy grows with labels on this project (the fast classifier on its own
    /// labels, tested on its test split): what the app draws after a run.
    Curve {
        /// The project file.
        project: PathBuf,
        /// The base model whose sentence vectors the classifier reads.
        #[arg(long, default_value = "all-minilm-l6-v2")]
        model: String,
        /// Print JSON: rows, forecast, eval_texts.
        #[arg(long)]
        json: bool,
    },
    /// The project's training runs: id, base model, method, labels, test score.
    Runs {
        /// The project file.
        project: PathBuf,
        /// Print JSON: one object per run; a score that was not measured is null.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    Uncertain,
    Diverse,
    Random,
    Order,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum YesNo {
    Yes,
    No,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The project file.
    project: PathBuf,
    /// The file to import.
    data: PathBuf,
    /// The column holding the texts (a name, or a 1-based number). Default: a column
    /// named text/sentence/review/..., else the one with the longest values.
    #[arg(long)]
    text_col: Option<String>,
    /// The column holding labels, if any. Default: a column named label/sentiment/class.
    #[arg(long)]
    label_col: Option<String>,
    /// The column holding ids, if any. Default: a column named id.
    #[arg(long)]
    id_col: Option<String>,
    /// The file's encoding: auto, or a name like utf-8, gbk, big5, shift_jis, utf-16le.
    #[arg(long, default_value = "auto")]
    encoding: String,
    /// The delimiter of a delimited file (default: sniffed). Use "tab" for tabs.
    #[arg(long)]
    delimiter: Option<String>,
    /// Whether the first row is a header (default: sniffed).
    #[arg(long, value_enum)]
    header: Option<YesNo>,
    /// The worksheet of an Excel file (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Merge texts already in the project (or repeated in the file) into the first copy.
    #[arg(long)]
    merge_duplicates: bool,
    /// Only show what was detected and the first rows; import nothing.
    #[arg(long)]
    preview: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The project file.
    project: PathBuf,
    /// Only texts with this label.
    #[arg(long, conflicts_with_all = ["unlabelled", "labelled"])]
    label: Option<String>,
    /// Only texts without a label.
    #[arg(long)]
    unlabelled: bool,
    /// Only texts with a label.
    #[arg(long)]
    labelled: bool,
    /// Only texts in this split: train, validation or test.
    #[arg(long)]
    split: Option<String>,
    /// Only texts containing this.
    #[arg(long)]
    search: Option<String>,
    /// Only texts whose label differs from the model's prediction.
    #[arg(long)]
    disagree: bool,
    /// Page size.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Skip this many.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `studio project`.
pub fn run(args: ProjectArgs) -> Result<()> {
    match args.verb {
        Verb::New { project } => {
            Project::create(&project)?;
            println!(
                "created {}; next: studio project import {} <file>",
                project.display(),
                project.display()
            );
            Ok(())
        }
        Verb::Import(a) => import(a),
        Verb::Labels { project, set, json } => labels(project, set, json),
        Verb::Label {
            project,
            text_id,
            label,
            clear,
            stdin,
        } => {
            let p = Project::open(&project)?;
            if stdin {
                return label_stdin(&p);
            }
            let given = text_id.unwrap_or_default();
            let id = p.resolve_text_id(&given)?;
            let change = if clear {
                p.clear_label(id)?
            } else {
                p.label(id, label.as_deref().unwrap_or_default())?
            };
            let was = change.old.as_deref().unwrap_or("no label");
            match &change.new {
                Some(l) => println!(
                    "{given}: {l} (was {was}; split {})",
                    change.split.map_or("none", |s| s.as_str())
                ),
                None => println!("{given}: no label (was {was})"),
            }
            Ok(())
        }
        Verb::Undo { project } => replay(project, true),
        Verb::Redo { project } => replay(project, false),
        Verb::Stats { project, json } => stats(project, json),
        Verb::Export { project, out } => {
            let p = Project::open(&project)?;
            let n = p.export(&out)?;
            println!("wrote {n} labelled texts to {}", out.display());
            Ok(())
        }
        Verb::Next {
            project,
            strategy,
            n,
            seed,
            json,
            model,
            every,
        } => {
            let strategy = match strategy {
                StrategyArg::Order => Strategy::Order,
                StrategyArg::Random => Strategy::Random {
                    seed: seed.unwrap_or_else(time_seed),
                },
                StrategyArg::Uncertain => Strategy::Uncertain,
                StrategyArg::Diverse => Strategy::Diverse,
            };
            let engine = studio_core::ops::Engine::new(&super::studio_home());
            let next = studio_core::ops::suggest::next_to_label(
                &engine,
                &project,
                &studio_core::ops::suggest::NextRequest {
                    strategy,
                    n,
                    model,
                    every,
                },
                &mut studio_core::progress::Silent,
                &studio_core::progress::CancelToken::new(),
            )?;
            if let Some(r) = &next.refresh {
                report_refresh(r);
            }
            print_rows(&next.rows, json);
            Ok(())
        }
        Verb::List(a) => list(a),
        Verb::Runs { project, json } => runs(project, json),
        Verb::Curve {
            project,
            model,
            json,
        } => curve(project, model, json),
    }
}

fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

fn import(a: ImportArgs) -> Result<()> {
    let delimiter = match a.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => {
            return Err(StudioError::InvalidSetting(format!(
                "--delimiter \"{d}\" must be one character (or \"tab\")"
            ))
            .into())
        }
    };
    let opts = ImportOptions {
        format: None,
        encoding: Some(a.encoding.clone()),
        delimiter,
        has_header: a.header.map(|h| matches!(h, YesNo::Yes)),
        sheet: a.sheet.clone(),
    };
    if a.preview {
        let importer = Importer::open(Input::Path(&a.data), &opts)?;
        let preview = importer.preview(10)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&preview)?);
        } else {
            println!("{}: {}", a.data.display(), preview.layout.describe());
            for (line, fields) in &preview.rows {
                let cells: Vec<String> = fields.iter().map(|f| clip(f, 40)).collect();
                println!("  line {line}: {}", cells.join(" | "));
            }
            for r in &preview.rejected {
                println!("  rejected: {r}");
            }
        }
        return Ok(());
    }
    let mut term = crate::render::Terminal::new(a.quiet || a.json);
    let report = studio_core::ops::project::import_file(
        &a.project,
        &studio_core::ops::project::ImportRequest {
            data: a.data.clone(),
            options: opts,
            text_col: a.text_col.clone(),
            label_col: a.label_col.clone(),
            id_col: a.id_col.clone(),
            settings: ImportSettings {
                merge_duplicates: a.merge_duplicates,
            },
        },
        &mut term,
        &CancelToken::new(),
    )?;
    term.finish();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, &a.project);
    }
    Ok(())
}

fn clip(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        format!("{}…", one.chars().take(n).collect::<String>())
    } else {
        one
    }
}

fn print_report(r: &ImportReport, project: &std::path::Path) {
    println!("read {}: {}", r.layout.path.display(), r.layout.describe());
    println!(
        "columns: text = \"{}\", label = {}, id = {}",
        r.mapping.text,
        r.mapping
            .label
            .as_ref()
            .map_or("none".to_string(), |l| format!("\"{l}\"")),
        r.mapping
            .id
            .as_ref()
            .map_or("none".to_string(), |l| format!("\"{l}\""))
    );
    let ids = match (&r.id_kind, r.first_id, r.last_id) {
        (IdKind::Column(c), _, _) => format!("text ids: the values of column \"{c}\""),
        (IdKind::RowNumber, Some(a), Some(b)) => {
            format!("text ids: row numbers {a}-{b} in import order")
        }
        (IdKind::RowNumber, _, _) => "text ids: row numbers in import order".to_string(),
    };
    println!("imported {} texts ({ids})", r.imported);
    if r.labelled > 0 {
        println!("  {} came with a label", r.labelled);
    }
    if !r.labels_added.is_empty() {
        println!(
            "  label set taken from the file: {}",
            r.labels_added.join(", ")
        );
    }
    if !r.unknown_labels.is_empty() {
        let list: Vec<String> = r
            .unknown_labels
            .iter()
            .map(|(k, v)| format!("\"{k}\" ({v})"))
            .collect();
        println!(
            "  labels not in the label set, imported without a label: {}",
            list.join(", ")
        );
    }
    if r.skipped_empty > 0 {
        println!("  skipped {} rows with empty text", r.skipped_empty);
    }
    if r.duplicates > 0 {
        let ex: Vec<String> = r
            .duplicate_examples
            .iter()
            .take(5)
            .map(|d| format!("line {} = text {}", d.line, d.first_id))
            .collect();
        if r.merged > 0 {
            println!(
                "  {} duplicate texts, {} merged into their first copy (e.g. {})",
                r.duplicates,
                r.merged,
                ex.join(", ")
            );
        } else {
            println!(
                "  {} duplicate texts kept (e.g. {}); re-import with --merge-duplicates to merge them",
                r.duplicates,
                ex.join(", ")
            );
        }
    }
    if r.rejected_count > 0 {
        println!("  rejected {} rows:", r.rejected_count);
        for rej in r.rejected.iter().take(20) {
            println!("    {rej}");
        }
        if r.rejected_count > 20 {
            println!("    ... and {} more (see --json)", r.rejected_count - 20);
        }
    }
    println!(
        "next: studio project labels {} --set a,b   or   studio project next {}",
        project.display(),
        project.display()
    );
}

fn labels(project: PathBuf, set: Option<Vec<String>>, json: bool) -> Result<()> {
    let p = Project::open(&project)?;
    if let Some(names) = set {
        let change = p.set_label_set(&names)?;
        if !json {
            let mut msg = format!("labels: {}", change.labels.join(", "));
            if !change.added.is_empty() {
                msg += &format!(" (added {})", change.added.join(", "));
            }
            if !change.removed.is_empty() {
                msg += &format!(" (removed {})", change.removed.join(", "));
            }
            println!("{msg}");
            return Ok(());
        }
    }
    let set = p.label_set_with_counts()?;
    if json {
        let v: Vec<Value> = set
            .iter()
            .map(|(d, n)| json!({"name": d.name, "position": d.position, "color": d.color, "key": d.key, "count": n}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if set.is_empty() {
        println!(
            "no labels yet; define them with: studio project labels {} --set negative,positive",
            project.display()
        );
    } else {
        for (d, n) in set {
            println!(
                "{}  {:<20} {:>8} texts  key {}  {}",
                d.position,
                d.name,
                n,
                d.key.as_deref().unwrap_or("-"),
                d.color
            );
        }
    }
    Ok(())
}

fn label_stdin(p: &Project) -> Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut failed = 0usize;
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| StudioError::io("read", "<stdin>", e))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, label) = match line.split_once(['\t', ' ']) {
            Some((a, b)) => (a.trim(), b.trim()),
            None => {
                eprintln!("studio: stdin line {}: expected \"TEXT-ID LABEL\"", i + 1);
                failed += 1;
                continue;
            }
        };
        let result = p.resolve_text_id(id).and_then(|t| p.label(t, label));
        match result {
            Ok(_) => {
                writeln!(out, "ok {id} {label}")?;
                out.flush()?;
            }
            Err(e) if e.is_user_error() => {
                eprintln!("studio: stdin line {}: {e}", i + 1);
                failed += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if failed > 0 {
        return Err(StudioError::InvalidSetting(format!(
            "{failed} lines could not be labelled (see above); the others were"
        ))
        .into());
    }
    Ok(())
}

fn replay(project: PathBuf, undo: bool) -> Result<()> {
    let p = Project::open(&project)?;
    let done = if undo { p.undo()? } else { p.redo()? };
    let verb = if undo { "undid" } else { "redid" };
    match done {
        None => println!("nothing to {}", if undo { "undo" } else { "redo" }),
        Some(a) => {
            let parts: Vec<String> = a
                .changes
                .iter()
                .take(10)
                .map(|(id, l)| format!("text {id} is now {}", l.as_deref().unwrap_or("unlabelled")))
                .collect();
            let more = if a.changes.len() > 10 {
                format!(" and {} more", a.changes.len() - 10)
            } else {
                String::new()
            };
            println!("{verb} {}: {}{more}", a.kind, parts.join(", "));
        }
    }
    Ok(())
}

fn stats(project: PathBuf, json: bool) -> Result<()> {
    let p = Project::open(&project)?;
    let s = p.stats()?;
    if json {
        let mut per_label = Map::new();
        for (k, v) in &s.per_label {
            per_label.insert(k.clone(), json!(v));
        }
        let mut per_split = Map::new();
        for (k, v) in &s.per_split {
            per_split.insert(k.clone(), json!(v));
        }
        let v = json!({
            "total": s.total,
            "labelled": s.labelled,
            "unlabelled": s.unlabelled,
            "per_label": per_label,
            "per_split": per_split,
            "labels": s.per_label.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            "model_version": s.model_version,
            "undoable": s.undoable,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} texts: {} labelled, {} unlabelled",
            s.total, s.labelled, s.unlabelled
        );
        for (k, v) in &s.per_label {
            println!("  {k:<20} {v:>8}");
        }
        let splits: Vec<String> = s
            .per_split
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("splits: {}", splits.join(", "));
        if let Some(v) = s.model_version {
            println!("predictions from model version {v}");
        }
    }
    Ok(())
}

fn list(a: ListArgs) -> Result<()> {
    let p = Project::open(&a.project)?;
    let label = match (a.label, a.unlabelled, a.labelled) {
        (Some(l), _, _) => LabelFilter::Is(l),
        (None, true, _) => LabelFilter::Unlabelled,
        (None, false, true) => LabelFilter::Labelled,
        _ => LabelFilter::Any,
    };
    let split = a.split.as_deref().map(SplitName::parse).transpose()?;
    let q = PageQuery {
        filter: Filter {
            label,
            split,
            search: a.search,
            disagrees_with_model: a.disagree,
        },
        after_id: None,
        offset: a.offset,
        limit: a.limit,
    };
    let rows = p.page(&q)?;
    print_rows(&rows, a.json);
    Ok(())
}

fn print_rows(rows: &[TextRow], json: bool) {
    if json {
        let v: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.display_id(),
                    "row": r.id,
                    "text": r.text,
                    "label": r.label,
                    "split": r.split.map(|s| s.as_str()),
                    "predicted": r.predicted,
                    "confidence": r.confidence,
                    "margin": r.margin,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if rows.is_empty() {
        println!("no texts match");
    } else {
        for r in rows {
            let mut extra = String::new();
            if let Some(l) = &r.label {
                extra += &format!(" [{l}]");
            }
            if let (Some(pl), Some(c)) = (&r.predicted, r.confidence) {
                extra += &format!(" (model: {pl} {c:.2})");
            }
            println!("{}{extra}\t{}", r.display_id(), clip(&r.text, 100));
        }
    }
}

/// One line on stderr when the suggestion classifier was refitted.
fn report_refresh(r: &studio_core::active::suggest::Refresh) {
    eprintln!(
        "retrained the suggestion model on {} labels and predicted {} texts ({:.1} s)",
        r.labelled, r.predicted, r.seconds
    );
}

/// `studio project runs`: what `studio_core::ops::runs::list_runs` returns, as a table or
/// JSON. A score that was not measured is "—" (null in JSON), never 0.
fn runs(project: PathBuf, json: bool) -> Result<()> {
    let runs = studio_core::ops::runs::list_runs(&project)?;
    if json {
        let rows: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "base_model": r.base_model,
                    "method": r.method,
                    "label_count": r.label_count,
                    "status": r.status,
                    "test_accuracy": r.test.as_ref().map(|m| m.accuracy),
                    "test_accuracy_ci": r.test.as_ref().map(|m| m.accuracy_ci),
                    "test_macro_f1": r.test.as_ref().map(|m| m.macro_f1),
                    "test_macro_f1_ci": r.test.as_ref().map(|m| m.macro_f1_ci),
                    "test_n": r.test.as_ref().map(|m| m.n),
                    "baseline_accuracy": r.test.as_ref().map(|m| m.majority_baseline()),
                    "model_dir": r.model_dir,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!(
            "no runs yet; train one with `studio train --project {}`",
            project.display()
        );
        return Ok(());
    }
    println!(
        "{:>4}  {:<24} {:<8} {:>6}  {:<10} {:>9}",
        "run", "base model", "method", "labels", "status", "test acc."
    );
    for r in &runs {
        let test = r.test.as_ref().map(|m| m.accuracy);
        let note = r
            .test
            .as_ref()
            .map(crate::render::trust_note)
            .unwrap_or_default();
        println!(
            "{:>4}  {:<24} {:<8} {:>6}  {:<10} {:>9}{note}",
            r.id,
            r.base_model,
            r.method.map_or_else(|| "—".to_string(), |m| m.to_string()),
            r.label_count.map_or_else(|| "—".into(), |n| n.to_string()),
            r.status.as_str(),
            crate::render::percent(test),
        );
    }
    Ok(())
}

/// `studio project curve`: `studio_core::ops::suggest::learning_curve`, printed.
fn curve(project: PathBuf, model: String, json: bool) -> Result<()> {
    let engine = studio_core::ops::Engine::new(&super::studio_home());
    let c =
        studio_core::ops::suggest::learning_curve(&engine, &project, &model, &CancelToken::new())?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "rows": c.rows,
                "forecast": c.forecast,
                "eval_texts": c.eval_texts,
            }))?
        );
        return Ok(());
    }
    println!("tested on {} texts of the test split", c.eval_texts);
    for r in &c.rows {
        println!(
            "{:>9} {:>7.0} labels: accuracy {:.4} ± {:.4}",
            r.per_class.map_or("all".into(), |k| format!("{k} a label")),
            r.n_labels,
            r.accuracy_mean,
            r.accuracy_std
        );
    }
    if let Some(f) = &c.forecast {
        match f.per_class_needed {
            Some(k) => println!(
                "about {k:.0} labels a label should reach {:.3} accuracy (now {:.3})",
                f.next, f.current
            ),
            None => println!("the curve is flat: more labels of the same kind will not help much"),
        }
    }
    Ok(())
}

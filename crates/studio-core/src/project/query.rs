//! What the labelling pane asks: pages of texts, counts, what to label next, the
//! training view and export.

use super::{LabelDef, Project, SplitName};
use crate::data::LabeledData;
use crate::{Result, StudioError};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Which texts by label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LabelFilter {
    /// All texts.
    #[default]
    Any,
    /// Texts without a label.
    Unlabelled,
    /// Texts with any label.
    Labelled,
    /// Texts with this label.
    Is(String),
}

/// A filter over the project's texts. All parts must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// By label.
    pub label: LabelFilter,
    /// Only texts in this split (which only labelled texts have).
    pub split: Option<SplitName>,
    /// Only texts containing this (case-insensitive for ASCII letters).
    pub search: Option<String>,
    /// Only labelled texts whose label differs from the current model's prediction.
    pub disagrees_with_model: bool,
}

/// One page of texts, in row-number order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Which texts.
    pub filter: Filter,
    /// Start after this row number (keyset paging: fast on any page).
    pub after_id: Option<i64>,
    /// Skip this many matches first (simple paging).
    pub offset: u64,
    /// Page size.
    pub limit: u32,
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery {
            filter: Filter::default(),
            after_id: None,
            offset: 0,
            limit: 50,
        }
    }
}

/// One text as the labelling pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextRow {
    /// Row number in import order.
    pub id: i64,
    /// The imported id column's value, if there was one.
    pub ext_id: Option<String>,
    /// The text.
    pub text: String,
    /// Its label.
    pub label: Option<String>,
    /// Its split (assigned at its first label).
    pub split: Option<SplitName>,
    /// The line of the source file it came from.
    pub source_line: Option<i64>,
    /// The current model's predicted label.
    pub predicted: Option<String>,
    /// The probability of that prediction.
    pub confidence: Option<f32>,
    /// Top-1 minus top-2 probability: small means uncertain.
    pub margin: Option<f32>,
}

impl TextRow {
    /// What to type on the command line for this text: the id column's value, else the
    /// row number.
    pub fn display_id(&self) -> String {
        self.ext_id.clone().unwrap_or_else(|| self.id.to_string())
    }
}

/// Counts for the project overview (`studio project stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Texts in the project.
    pub total: u64,
    /// Texts with a label.
    pub labelled: u64,
    /// Texts without one.
    pub unlabelled: u64,
    /// Labelled texts per label, in label order (zeros included).
    pub per_label: Vec<(String, u64)>,
    /// Labelled texts per split: train, validation, test.
    pub per_split: Vec<(String, u64)>,
    /// The model version whose predictions the queries use, if any.
    pub model_version: Option<i64>,
    /// Labelling actions that can be undone.
    pub undoable: u64,
}

/// How to pick the next texts to label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Unlabelled texts in import order.
    Order,
    /// Unlabelled texts at random (seeded).
    Random {
        /// The seed; the same seed and project give the same picks.
        seed: u64,
    },
    /// Unlabelled texts the current model is least sure about (smallest margin between
    /// its top two probabilities). Needs predictions ([`Project::store_predictions`]).
    Uncertain,
    /// Unlabelled texts unlike each other. Needs text embeddings: call
    /// `crate::active::diverse::next_diverse` with an embedder.
    Diverse,
}

impl Strategy {
    /// Parses "order", "random", "uncertain" or "diverse" (random takes `seed`).
    pub fn parse(s: &str, seed: u64) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "order" | "in-order" => Ok(Self::Order),
            "random" => Ok(Self::Random { seed }),
            "uncertain" | "most-uncertain" => Ok(Self::Uncertain),
            "diverse" => Ok(Self::Diverse),
            other => Err(StudioError::InvalidSetting(format!(
                "unknown strategy \"{other}\"; use order, random, uncertain or diverse"
            ))),
        }
    }
}

/// The labelled data divided by split, for training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSplits {
    /// Training texts.
    pub train: LabeledData,
    /// Validation texts.
    pub validation: LabeledData,
    /// Test texts.
    pub test: LabeledData,
}

const ROW_SELECT: &str = "SELECT t.id, t.ext_id, t.text, ls.name, t.split, t.source_line, pl.name, p.confidence, p.margin
FROM texts t
LEFT JOIN labels l ON l.text_id = t.id
LEFT JOIN label_set ls ON ls.id = l.label_id
LEFT JOIN predictions p ON p.model_version = ?1 AND p.text_id = t.id
LEFT JOIN label_set pl ON pl.id = p.label_id";

/// The same columns, driven by the labels table (for filters that only match
/// labelled texts); `CROSS JOIN` keeps SQLite from reordering the loops.
const ROW_SELECT_BY_LABEL: &str = "SELECT t.id, t.ext_id, t.text, ls.name, t.split, t.source_line, pl.name, p.confidence, p.margin
FROM labels l
CROSS JOIN texts t ON t.id = l.text_id
LEFT JOIN label_set ls ON ls.id = l.label_id
LEFT JOIN predictions p ON p.model_version = ?1 AND p.text_id = t.id
LEFT JOIN label_set pl ON pl.id = p.label_id";

fn labelled_only(f: &Filter) -> bool {
    matches!(f.label, LabelFilter::Is(_) | LabelFilter::Labelled) || f.disagrees_with_model
}

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<TextRow> {
    Ok(TextRow {
        id: r.get(0)?,
        ext_id: r.get(1)?,
        text: r.get(2)?,
        label: r.get(3)?,
        split: r.get::<_, Option<i64>>(4)?.and_then(SplitName::from_code),
        source_line: r.get(5)?,
        predicted: r.get(6)?,
        confidence: r.get::<_, Option<f64>>(7)?.map(|v| v as f32),
        margin: r.get::<_, Option<f64>>(8)?.map(|v| v as f32),
    })
}

fn like_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Project {
    /// The model version whose predictions are current: the newest stored.
    pub fn model_version(&self) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT max(model_version) FROM prediction_sets", [], |r| {
                r.get(0)
            })?)
    }

    /// WHERE clause and parameters (after ?1 = model version) for a filter.
    fn where_clause(&self, f: &Filter, version: Option<i64>) -> Result<(String, Vec<SqlValue>)> {
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<SqlValue> = Vec::new();
        let next = |args: &mut Vec<SqlValue>, v: SqlValue| {
            args.push(v);
            format!("?{}", args.len() + 1)
        };
        match &f.label {
            LabelFilter::Any => {}
            LabelFilter::Unlabelled => conds.push("l.text_id IS NULL".into()),
            LabelFilter::Labelled => conds.push("l.text_id IS NOT NULL".into()),
            LabelFilter::Is(name) => {
                let id = self.label_id(name)?;
                let p = next(&mut args, SqlValue::Integer(id));
                conds.push(format!("l.label_id = {p}"));
            }
        }
        if let Some(s) = f.split {
            let p = next(&mut args, SqlValue::Integer(s.code()));
            conds.push(format!("t.split = {p}"));
        }
        if let Some(q) = f.search.as_deref().filter(|q| !q.is_empty()) {
            let p = next(&mut args, SqlValue::Text(like_pattern(q)));
            conds.push(format!("t.text LIKE {p} ESCAPE '\\'"));
        }
        if f.disagrees_with_model {
            if version.is_none() {
                return Err(no_predictions());
            }
            conds.push(
                "l.label_id IS NOT NULL AND p.label_id IS NOT NULL AND p.label_id <> l.label_id"
                    .into(),
            );
        }
        let clause = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        Ok((clause, args))
    }

    /// One page of texts matching the filter, in row-number order.
    pub fn page(&self, q: &PageQuery) -> Result<Vec<TextRow>> {
        let version = self.model_version()?;
        let (mut clause, mut args) = self.where_clause(&q.filter, version)?;
        if let Some(after) = q.after_id {
            args.push(SqlValue::Integer(after));
            let col = if labelled_only(&q.filter) {
                "l.text_id"
            } else {
                "t.id"
            };
            let p = format!("{col} > ?{}", args.len() + 1);
            clause = if clause.is_empty() {
                format!(" WHERE {p}")
            } else {
                format!("{clause} AND {p}")
            };
        }
        let sql = if labelled_only(&q.filter) {
            // Walk the labels index (label, text) in text order rather than every text.
            format!(
                "{ROW_SELECT_BY_LABEL}{clause} ORDER BY l.text_id LIMIT {} OFFSET {}",
                q.limit, q.offset
            )
        } else {
            format!(
                "{ROW_SELECT}{clause} ORDER BY t.id LIMIT {} OFFSET {}",
                q.limit, q.offset
            )
        };
        let mut all = vec![SqlValue::from(version)];
        all.extend(args);
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(all), row_of)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// How many texts match the filter.
    pub fn count(&self, f: &Filter) -> Result<u64> {
        let version = self.model_version()?;
        let (clause, args) = self.where_clause(f, version)?;
        let sql = format!(
            "SELECT count(*) FROM texts t LEFT JOIN labels l ON l.text_id = t.id
             LEFT JOIN predictions p ON p.model_version = ?1 AND p.text_id = t.id{clause}"
        );
        let mut all = vec![SqlValue::from(version)];
        all.extend(args);
        let n: i64 = self
            .conn()
            .query_row(&sql, params_from_iter(all), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// One text by row number.
    pub fn text(&self, id: i64) -> Result<TextRow> {
        let version = self.model_version()?;
        let sql = format!("{ROW_SELECT} WHERE t.id = ?2");
        self.conn()
            .prepare_cached(&sql)?
            .query_row(params![version, id], row_of)
            .optional()?
            .ok_or_else(|| StudioError::UnknownText {
                id: id.to_string(),
                hint: "it is not in the project".into(),
            })
    }

    /// Labelled texts per label (in label order, zeros included).
    pub fn label_counts(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT ls.name, (SELECT count(*) FROM labels l WHERE l.label_id = ls.id)
             FROM label_set ls ORDER BY ls.position, ls.id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Totals, per label and per split.
    pub fn stats(&self) -> Result<Stats> {
        let c = self.conn();
        let total: i64 = c.query_row("SELECT count(*) FROM texts", [], |r| r.get(0))?;
        let labelled: i64 = c.query_row("SELECT count(*) FROM labels", [], |r| r.get(0))?;
        let mut per_split = Vec::new();
        for s in [SplitName::Train, SplitName::Validation, SplitName::Test] {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM texts t JOIN labels l ON l.text_id = t.id WHERE t.split = ?1",
                [s.code()],
                |r| r.get(0),
            )?;
            per_split.push((s.as_str().to_string(), n as u64));
        }
        let undoable: i64 =
            c.query_row("SELECT count(*) FROM actions WHERE undone = 0", [], |r| {
                r.get(0)
            })?;
        Ok(Stats {
            total: total as u64,
            labelled: labelled as u64,
            unlabelled: (total - labelled).max(0) as u64,
            per_label: self.label_counts()?,
            per_split,
            model_version: self.model_version()?,
            undoable: undoable as u64,
        })
    }

    fn rows_by_ids(&self, ids: &[i64]) -> Result<Vec<TextRow>> {
        ids.iter().map(|&id| self.text(id)).collect()
    }

    /// The next `n` unlabelled texts to label, picked by `strategy`. For
    /// [`Strategy::Diverse`] use [`crate::active::diverse::next_diverse`].
    pub fn next_to_label(&self, strategy: Strategy, n: usize) -> Result<Vec<TextRow>> {
        let c = self.conn();
        let ids: Vec<i64> = match strategy {
            Strategy::Order => c
                .prepare_cached(
                    "SELECT t.id FROM texts t WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.text_id = t.id)
                     ORDER BY t.id LIMIT ?1",
                )?
                .query_map([n as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            Strategy::Random { seed } => self.random_unlabelled(n, seed)?,
            Strategy::Uncertain => {
                let v = self.model_version()?.ok_or_else(no_predictions)?;
                c.prepare_cached(
                    "SELECT p.text_id FROM predictions p
                     WHERE p.model_version = ?1 AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.text_id = p.text_id)
                     ORDER BY p.margin, p.text_id LIMIT ?2",
                )?
                .query_map(params![v, n as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
            }
            Strategy::Diverse => {
                return Err(StudioError::InvalidSetting(
                    "the diverse strategy needs text embeddings from a trained model, and this project has none yet; train a model first, or use --strategy uncertain, random or order".into(),
                ))
            }
        };
        self.rows_by_ids(&ids)
    }

    fn random_unlabelled(&self, n: usize, seed: u64) -> Result<Vec<i64>> {
        let c = self.conn();
        let (lo, hi): (Option<i64>, Option<i64>) =
            c.query_row("SELECT min(id), max(id) FROM texts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(Vec::new());
        };
        let mut stmt = c.prepare_cached(
            "SELECT t.id FROM texts t WHERE t.id >= ?1
             AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.text_id = t.id) ORDER BY t.id LIMIT 1",
        )?;
        let mut state = seed ^ 0x5eed;
        let mut picked: Vec<i64> = Vec::new();
        let span = (hi - lo + 1) as u64;
        let mut tries = 0;
        while picked.len() < n && tries < n * 20 + 100 {
            tries += 1;
            let start = lo + (super::splitmix(&mut state) % span) as i64;
            let found: Option<i64> = stmt.query_row([start], |r| r.get(0)).optional()?;
            let found = match found {
                Some(f) => Some(f),
                None => stmt.query_row([lo], |r| r.get(0)).optional()?,
            };
            match found {
                None => break, // everything is labelled
                Some(id) if !picked.contains(&id) => picked.push(id),
                Some(_) => {}
            }
        }
        if picked.len() < n {
            // Few unlabelled texts left: take the rest in order.
            for row in self.next_to_label(Strategy::Order, n + picked.len())? {
                if picked.len() >= n {
                    break;
                }
                if !picked.contains(&row.id) {
                    picked.push(row.id);
                }
            }
        }
        Ok(picked)
    }

    /// Every labelled text, of every split, with `label_names` in the project's label
    /// order. Not what a run learns from: that is the train and validation splits
    /// (`crate::ops::train::project_data`), with the test split kept for evaluation.
    pub fn all_labelled(&self) -> Result<LabeledData> {
        let names = self.label_names()?;
        let pairs = self.labelled_pairs(None)?;
        LabeledData::from_pairs(pairs, Some(&names))
    }

    /// Every labelled text of `split`, in id order: what a run is scored on (the test
    /// split), with ids so each result can name its text.
    pub fn labelled_rows(&self, split: SplitName) -> Result<Vec<TextRow>> {
        self.page(&PageQuery {
            filter: Filter {
                label: LabelFilter::Labelled,
                split: Some(split),
                ..Filter::default()
            },
            after_id: None,
            offset: 0,
            limit: u32::MAX,
        })
    }

    /// [`Project::all_labelled`] divided by the project's stable splits.
    pub fn training_splits(&self) -> Result<TrainingSplits> {
        let names = self.label_names()?;
        let part = |s: SplitName| -> Result<LabeledData> {
            LabeledData::from_pairs(self.labelled_pairs(Some(s))?, Some(&names))
        };
        Ok(TrainingSplits {
            train: part(SplitName::Train)?,
            validation: part(SplitName::Validation)?,
            test: part(SplitName::Test)?,
        })
    }

    fn labelled_pairs(&self, split: Option<SplitName>) -> Result<Vec<(String, String)>> {
        let sql = "SELECT t.text, ls.name FROM texts t JOIN labels l ON l.text_id = t.id
             JOIN label_set ls ON ls.id = l.label_id WHERE (?1 IS NULL OR t.split = ?1) ORDER BY t.id";
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt
            .query_map([split.map(|s| s.code())], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Writes the labelled texts to `out`: CSV (`id,text,label,split`) or JSONL
    /// (`{"id", "text", "label", "split"}`), by extension. Written to a temporary file
    /// beside it, then renamed, so a failure never leaves half a file. Returns the rows.
    pub fn export(&self, out: &Path) -> Result<u64> {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let jsonl = match ext.as_str() {
            "csv" => false,
            "jsonl" | "ndjson" => true,
            _ => {
                return Err(StudioError::InvalidSetting(format!(
                    "cannot export to {}: name the file .csv or .jsonl",
                    out.display()
                )))
            }
        };
        let tmp = out.with_extension(format!("{ext}.partial"));
        let io = |e: std::io::Error| StudioError::io("write", &tmp, e);
        let csv_err = |e: csv::Error| StudioError::io("write", &tmp, std::io::Error::other(e));
        let file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        enum Out {
            Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
            Jsonl(std::io::BufWriter<std::fs::File>),
        }
        let mut w = if jsonl {
            Out::Jsonl(file)
        } else {
            let mut c = csv::Writer::from_writer(file);
            c.write_record(["id", "text", "label", "split"])
                .map_err(csv_err)?;
            Out::Csv(Box::new(c))
        };
        let mut stmt = self.conn().prepare(
            "SELECT t.id, t.ext_id, t.text, ls.name, t.split FROM texts t
             JOIN labels l ON l.text_id = t.id JOIN label_set ls ON ls.id = l.label_id ORDER BY t.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let ext: Option<String> = r.get(1)?;
            let text: String = r.get(2)?;
            let label: String = r.get(3)?;
            let split = r
                .get::<_, Option<i64>>(4)?
                .and_then(SplitName::from_code)
                .map_or("", |s| s.as_str());
            let shown = ext.unwrap_or_else(|| id.to_string());
            match &mut w {
                Out::Csv(c) => c
                    .write_record([shown.as_str(), text.as_str(), label.as_str(), split])
                    .map_err(csv_err)?,
                Out::Jsonl(f) => {
                    let line = serde_json::json!({"id": shown, "text": text, "label": label, "split": split});
                    writeln!(f, "{line}").map_err(io)?;
                }
            }
            n += 1;
        }
        let mut file = match w {
            Out::Csv(c) => (*c)
                .into_inner()
                .map_err(|e| io(std::io::Error::other(e.to_string())))?,
            Out::Jsonl(f) => f,
        };
        file.flush().map_err(io)?;
        file.get_ref().sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, out).map_err(|e| StudioError::io("move", out, e))?;
        Ok(n)
    }

    /// The label set with counts, for display.
    pub fn label_set_with_counts(&self) -> Result<Vec<(LabelDef, u64)>> {
        let counts = self.label_counts()?;
        Ok(self
            .label_set()?
            .into_iter()
            .zip(counts)
            .map(|(d, (_, n))| (d, n))
            .collect())
    }
}

fn no_predictions() -> StudioError {
    StudioError::InvalidSetting(
        "there are no model predictions in this project yet: train a model on it first (studio train --project ...), or use --strategy order or random".into(),
    )
}

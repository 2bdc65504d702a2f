//! What the engine writes into a project: training runs and model predictions.

use super::{now_ms, Project};
use crate::{Result, StudioError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::path::PathBuf;

/// A training run as the engine records it. Settings and metrics are free-form JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The base model id or folder.
    pub model: String,
    /// "running", "finished", "failed", "cancelled".
    pub status: String,
    /// The settings (mode, preset, epochs, lr, seed, device, ...).
    pub settings: serde_json::Value,
    /// One JSON object per finished epoch (losses, validation metrics).
    pub epochs: Vec<serde_json::Value>,
    /// Final metrics (e.g. test accuracy, macro-F1), when known.
    pub metrics: Option<serde_json::Value>,
    /// Where the exported model was written.
    pub export_path: Option<PathBuf>,
    /// Milliseconds since the Unix epoch; 0 means "now".
    pub started_at_ms: i64,
    /// When it ended, if it has.
    pub finished_at_ms: Option<i64>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// The run's id (also usable as the model version of its predictions).
    pub id: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub record: RunRecord,
}

/// A `runs` row as stored: id, started, finished, model, status, then JSON texts.
type RawRun = (
    i64,
    i64,
    Option<i64>,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn json_text(v: &impl Serialize) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| StudioError::InvalidSetting(format!("cannot store run data as JSON: {e}")))
}

impl Project {
    /// Records a run; returns its id.
    pub fn record_run(&self, run: &RunRecord) -> Result<i64> {
        let started = if run.started_at_ms == 0 {
            now_ms()
        } else {
            run.started_at_ms
        };
        self.conn().execute(
            "INSERT INTO runs(started_at, finished_at, model, status, settings, epochs, metrics, export_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                started,
                run.finished_at_ms,
                run.model,
                run.status,
                json_text(&run.settings)?,
                json_text(&run.epochs)?,
                run.metrics.as_ref().map(json_text).transpose()?,
                run.export_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
            ],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Replaces what is stored for run `id` (e.g. after each epoch, and at the end).
    pub fn update_run(&self, id: i64, run: &RunRecord) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE runs SET finished_at = ?1, model = ?2, status = ?3, settings = ?4, epochs = ?5,
             metrics = ?6, export_path = ?7 WHERE id = ?8",
            params![
                run.finished_at_ms,
                run.model,
                run.status,
                json_text(&run.settings)?,
                json_text(&run.epochs)?,
                run.metrics.as_ref().map(json_text).transpose()?,
                run.export_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                id
            ],
        )?;
        if n == 0 {
            return Err(StudioError::InvalidSetting(format!(
                "there is no run {id} in this project"
            )));
        }
        Ok(())
    }

    /// All runs, oldest first.
    pub fn runs(&self) -> Result<Vec<Run>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, started_at, finished_at, model, status, settings, epochs, metrics, export_path
             FROM runs ORDER BY id",
        )?;
        let raw: Vec<RawRun> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let parse = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
        Ok(raw
            .into_iter()
            .map(
                |(id, started, finished, model, status, settings, epochs, metrics, export)| Run {
                    id,
                    record: RunRecord {
                        model,
                        status,
                        settings: parse(&settings),
                        epochs: match parse(&epochs) {
                            serde_json::Value::Array(a) => a,
                            _ => Vec::new(),
                        },
                        metrics: metrics.as_deref().map(parse),
                        export_path: export.map(PathBuf::from),
                        started_at_ms: started,
                        finished_at_ms: finished,
                    },
                },
            )
            .collect())
    }

    /// Stores a model's predictions: for each text (row number), its probabilities in
    /// the project's label order. Replaces earlier predictions of the same
    /// `model_version`; the newest version is the one queries use. One transaction.
    pub fn store_predictions(&self, model_version: i64, rows: &[(i64, Vec<f32>)]) -> Result<()> {
        let labels = self.label_ids()?;
        if let Some((id, p)) = rows.iter().find(|(_, p)| p.len() != labels.len()) {
            return Err(StudioError::InvalidSetting(format!(
                "predictions for text {id} have {} probabilities but the project has {} labels; predict with a model trained on this project's label set",
                p.len(),
                labels.len()
            )));
        }
        let names: Vec<&str> = labels.iter().map(|(_, n)| n.as_str()).collect();
        let tx = self.write_tx()?;
        tx.execute(
            "DELETE FROM predictions WHERE model_version = ?1",
            [model_version],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO prediction_sets(model_version, label_names, created_at) VALUES (?1, ?2, ?3)",
            params![model_version, json_text(&names)?, now_ms()],
        )?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO predictions(model_version, text_id, label_id, confidence, margin, probs)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut blob = Vec::new();
            for (text_id, probs) in rows {
                let (mut best, mut top1, mut top2) = (0usize, f32::NEG_INFINITY, f32::NEG_INFINITY);
                for (i, &p) in probs.iter().enumerate() {
                    let p = if p.is_finite() { p } else { 0.0 };
                    if p > top1 {
                        top2 = top1;
                        top1 = p;
                        best = i;
                    } else if p > top2 {
                        top2 = p;
                    }
                }
                let margin = if top2.is_finite() { top1 - top2 } else { top1 };
                blob.clear();
                for p in probs {
                    blob.extend_from_slice(&p.to_le_bytes());
                }
                let label_id = labels.get(best).map(|(id, _)| *id);
                ins.execute(params![
                    model_version,
                    text_id,
                    label_id,
                    f64::from(top1.max(0.0)),
                    f64::from(margin),
                    blob
                ])
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _)
                        if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        StudioError::UnknownText {
                            id: text_id.to_string(),
                            hint: "predictions must name texts of this project by row number"
                                .into(),
                        }
                    }
                    other => StudioError::Database(other),
                })?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored probabilities of one text under the current model, with the label
    /// names they are in order of.
    pub fn prediction(&self, text_id: i64) -> Result<Option<(Vec<String>, Vec<f32>)>> {
        let Some(v) = self.model_version()? else {
            return Ok(None);
        };
        let names: String = self.conn().query_row(
            "SELECT label_names FROM prediction_sets WHERE model_version = ?1",
            [v],
            |r| r.get(0),
        )?;
        let names: Vec<String> = serde_json::from_str(&names).unwrap_or_default();
        let blob: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT probs FROM predictions WHERE model_version = ?1 AND text_id = ?2",
                params![v, text_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(blob.map(|b| {
            let probs = b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (names, probs)
        }))
    }
}

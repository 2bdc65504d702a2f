//! Importing a file into a project: one transaction, streamed row by row.

use super::{now_ms, split_for, text_hash, Project};
use crate::data::import::{
    ColumnMapping, ImportOptions, Importer, Input, Layout, RejectCode, Rejected, Row,
};
use crate::progress::{CancelToken, Observer};
use crate::{Result, StudioError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::Path;

/// How many rejected rows and duplicates an [`ImportReport`] lists one by one (all are
/// counted).
pub const REPORT_LIMIT: usize = 1000;

/// Choices about what to do with what the file holds.
#[derive(Debug, Clone, Default)]
pub struct ImportSettings {
    /// Merge a text that is already in the project (or earlier in the file) into the
    /// first copy instead of adding it again. A label it carries goes to the first copy
    /// when that copy has none.
    pub merge_duplicates: bool,
}

/// How the texts of an import are named on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "column", rename_all = "snake_case")]
pub enum IdKind {
    /// By the 1-based row number in import order.
    RowNumber,
    /// By the value of this id column.
    Column(String),
}

/// A row whose text was already there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// Line of the repeated row in the file.
    pub line: u64,
    /// Row number of the first copy in the project.
    pub first_id: i64,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// What sniffing found (format, encoding, delimiter, header, columns).
    pub layout: Layout,
    /// The columns used.
    pub mapping: ColumnMapping,
    /// How these texts are named on the command line.
    pub id_kind: IdKind,
    /// Row numbers given to the new texts: `first_id..=last_id` (none if no text was added).
    pub first_id: Option<i64>,
    /// See `first_id`.
    pub last_id: Option<i64>,
    /// Data rows read (good and rejected, not counting blank lines and the header).
    pub rows_read: u64,
    /// Texts added to the project.
    pub imported: u64,
    /// Rows skipped because their text was empty.
    pub skipped_empty: u64,
    /// Texts that arrived with a label from the label column.
    pub labelled: u64,
    /// Labels added to the label set (only when the project had none).
    pub labels_added: Vec<String>,
    /// Label values outside the label set, with how often each occurred; those texts
    /// were imported without a label.
    pub unknown_labels: BTreeMap<String, u64>,
    /// Rows whose text was already in the project or earlier in the file.
    pub duplicates: u64,
    /// The first [`REPORT_LIMIT`] of them.
    pub duplicate_examples: Vec<Duplicate>,
    /// Duplicates merged into their first copy (with `merge_duplicates`).
    pub merged: u64,
    /// Rows rejected (bad rows, bad ids): all counted.
    pub rejected_count: u64,
    /// The first [`REPORT_LIMIT`] rejected rows, each with file, line and reason.
    pub rejected: Vec<Rejected>,
}

impl Project {
    /// Imports a file: sniffs it, maps columns (`mapping`, or a guess from the column
    /// names when `None`), and adds every good row in one transaction. Rows it cannot
    /// take are counted and listed with their line; a cancelled or failed import
    /// leaves the project as it was.
    pub fn import(
        &self,
        path: &Path,
        opts: &ImportOptions,
        mapping: Option<&ColumnMapping>,
        settings: &ImportSettings,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<ImportReport> {
        self.import_input(Input::Path(path), opts, mapping, settings, observer, cancel)
    }

    /// [`Project::import`] from any [`Input`] (a file or bytes in memory).
    pub fn import_input(
        &self,
        input: Input<'_>,
        opts: &ImportOptions,
        mapping: Option<&ColumnMapping>,
        settings: &ImportSettings,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<ImportReport> {
        let importer = Importer::open(input, opts)?;
        let layout = importer.layout().clone();
        let mapping = match mapping {
            Some(m) => m.clone(),
            None => {
                let preview = importer.preview(20)?;
                ColumnMapping::guess(&layout.columns, &preview.rows)
            }
        };
        let cols = mapping.resolve(&layout)?;
        let conn = self.conn();
        let tx = self.write_tx()?;
        let at = now_ms();
        conn.execute(
            "INSERT INTO sources(path, format, encoding, text_column, label_column, id_column, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                layout.path.to_string_lossy(),
                layout.format.name(),
                layout.encoding.map(|e| e.name),
                mapping.text,
                mapping.label,
                mapping.id,
                at
            ],
        )?;
        let source_id = conn.last_insert_rowid();
        let seed = self.split_seed()?;

        // Labels: name -> (id, assigned so far). An empty label set adopts the file's.
        let mut labels: HashMap<String, (i64, i64)> = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT name, id, assigned FROM label_set")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
            for row in rows {
                let (n, v): (String, (i64, i64)) = row?;
                labels.insert(n, v);
            }
        }
        let adopt_labels = labels.is_empty();
        let mut next_pos = 0i64;

        // Existing texts by hash, for the duplicate check.
        let mut seen: HashMap<i64, i64> = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT hash, min(id) FROM texts GROUP BY hash")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                let (h, id) = row?;
                seen.insert(h, id);
            }
        }
        let mut ids_here: HashMap<String, u64> = HashMap::new();

        let mut report = ImportReport {
            layout: layout.clone(),
            mapping: mapping.clone(),
            id_kind: match &mapping.id {
                Some(c) => IdKind::Column(c.clone()),
                None => IdKind::RowNumber,
            },
            first_id: None,
            last_id: None,
            rows_read: 0,
            imported: 0,
            skipped_empty: 0,
            labelled: 0,
            labels_added: Vec::new(),
            unknown_labels: BTreeMap::new(),
            duplicates: 0,
            duplicate_examples: Vec::new(),
            merged: 0,
            rejected_count: 0,
            rejected: Vec::new(),
        };
        let file = layout.path.clone();
        let reject = |report: &mut ImportReport, r: Rejected| {
            report.rejected_count += 1;
            if report.rejected.len() < REPORT_LIMIT {
                report.rejected.push(r);
            }
        };

        let mut insert_text = conn.prepare_cached(
            "INSERT INTO texts(ext_id, text, hash, source_id, source_line) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut get_text = conn.prepare_cached("SELECT text FROM texts WHERE id = ?1")?;
        let mut ext_exists = conn.prepare_cached("SELECT id FROM texts WHERE ext_id = ?1")?;
        let mut insert_label =
            conn.prepare_cached("INSERT INTO labels(text_id, label_id, at) VALUES (?1, ?2, ?3)")?;
        let mut insert_history = conn.prepare_cached(
            "INSERT INTO history(text_id, old_label, new_label, at, action_id, cause) VALUES (?1, NULL, ?2, ?3, NULL, 'import')",
        )?;
        let mut set_split = conn.prepare_cached("UPDATE texts SET split = ?1 WHERE id = ?2")?;
        let mut has_label =
            conn.prepare_cached("SELECT label_id FROM labels WHERE text_id = ?1")?;
        let mut insert_labeldef = conn.prepare_cached(
            "INSERT INTO label_set(name, position, color, key) VALUES (?1, ?2, ?3, ?4)",
        )?;

        importer.stream(observer, cancel, &mut |row| {
            report.rows_read += 1;
            let (line, mut fields) = match row {
                Row::Rejected(r) => {
                    reject(&mut report, r);
                    return Ok(ControlFlow::Continue(()));
                }
                Row::Record { line, fields } => (line, fields),
            };
            let text = std::mem::take(&mut fields[cols.text]);
            if text.trim().is_empty() {
                report.skipped_empty += 1;
                return Ok(ControlFlow::Continue(()));
            }
            let ext_id = match cols.id {
                None => None,
                Some(i) => {
                    let v = fields[i].trim().to_string();
                    if v.is_empty() {
                        let column = mapping.id.as_deref().unwrap_or("");
                        reject(&mut report, Rejected {
                            file: file.clone(),
                            line,
                            code: RejectCode::EmptyId,
                            args: vec![("column", column.to_string())],
                            reason: format!("the id column \"{column}\" is empty in this row; every row needs an id, or import without --id-col"),
                        });
                        return Ok(ControlFlow::Continue(()));
                    }
                    if let Some(prev) = ids_here.get(&v) {
                        reject(&mut report, Rejected {
                            file: file.clone(),
                            line,
                            code: RejectCode::RepeatedId,
                            args: vec![("id", v.clone()), ("line", prev.to_string())],
                            reason: format!("the id \"{v}\" was already used on line {prev}; ids must be unique"),
                        });
                        return Ok(ControlFlow::Continue(()));
                    }
                    if let Some(other) = ext_exists.query_row([&v], |r| r.get::<_, i64>(0)).optional()? {
                        reject(&mut report, Rejected {
                            file: file.clone(),
                            line,
                            code: RejectCode::TakenId,
                            args: vec![("id", v.clone()), ("text", other.to_string())],
                            reason: format!("the id \"{v}\" is already used by text {other} of the project; ids must be unique"),
                        });
                        return Ok(ControlFlow::Continue(()));
                    }
                    ids_here.insert(v.clone(), line);
                    Some(v)
                }
            };
            // The label, if any, and whether it is in the label set.
            let mut label: Option<(i64, String)> = None;
            if let Some(i) = cols.label {
                let v = fields[i].trim();
                if !v.is_empty() {
                    if let Some((id, _)) = labels.get(v) {
                        label = Some((*id, v.to_string()));
                    } else if adopt_labels && super::is_label_name(v) {
                        if labels.len() >= super::MAX_LABELS {
                            return Err(StudioError::InvalidSetting(format!(
                                "the label column \"{}\" has more than {} different values, so it is probably not a label column; pick another column for the labels, or import the texts without labels",
                                mapping.label.as_deref().unwrap_or_default(),
                                super::MAX_LABELS
                            )));
                        }
                        let pos = next_pos;
                        let key = if pos < 9 { Some((pos + 1).to_string()) } else { None };
                        insert_labeldef.execute(params![v, pos, super::PALETTE[pos as usize % super::PALETTE.len()], key])?;
                        next_pos += 1;
                        let id = conn.last_insert_rowid();
                        labels.insert(v.to_string(), (id, 0));
                        report.labels_added.push(v.to_string());
                        label = Some((id, v.to_string()));
                    } else {
                        *report.unknown_labels.entry(v.to_string()).or_insert(0) += 1;
                    }
                }
            }
            let hash = text_hash(&text);
            let mut dup_of = None;
            if let Some(&first) = seen.get(&hash) {
                let existing: Option<String> = get_text.query_row([first], |r| r.get(0)).optional()?;
                if existing.as_deref() == Some(text.as_str()) {
                    dup_of = Some(first);
                }
            }
            if let Some(first) = dup_of {
                report.duplicates += 1;
                if report.duplicate_examples.len() < REPORT_LIMIT {
                    report.duplicate_examples.push(super::import::Duplicate { line, first_id: first });
                }
                if settings.merge_duplicates && ext_id.is_none() {
                    report.merged += 1;
                    if let Some((lid, _)) = &label {
                        let current: Option<i64> = has_label.query_row([first], |r| r.get(0)).optional()?;
                        if current.is_none() {
                            label_new_text(first, *lid, &mut labels, seed, at, &mut insert_label, &mut insert_history, &mut set_split, conn)?;
                            report.labelled += 1;
                        }
                    }
                    return Ok(ControlFlow::Continue(()));
                }
            }
            insert_text.execute(params![ext_id, text, hash, source_id, line as i64])?;
            let id = conn.last_insert_rowid();
            seen.entry(hash).or_insert(id);
            report.first_id.get_or_insert(id);
            report.last_id = Some(id);
            report.imported += 1;
            if let Some((lid, _)) = &label {
                label_new_text(id, *lid, &mut labels, seed, at, &mut insert_label, &mut insert_history, &mut set_split, conn)?;
                report.labelled += 1;
            }
            Ok(ControlFlow::Continue(()))
        })?;
        drop((
            insert_text,
            get_text,
            ext_exists,
            insert_label,
            insert_history,
            set_split,
            has_label,
            insert_labeldef,
        ));
        // Write back how many texts of each label have a split.
        for (id, assigned) in labels.values() {
            conn.execute(
                "UPDATE label_set SET assigned = ?1 WHERE id = ?2",
                params![assigned, id],
            )?;
        }
        conn.execute(
            "UPDATE sources SET rows = ?1 WHERE id = ?2",
            params![report.imported as i64, source_id],
        )?;
        if report.imported == 0 && report.merged == 0 && report.rejected_count > 0 {
            return Err(StudioError::BadFile {
                path: layout.path.clone(),
                reason: format!(
                    "no row could be imported: all {} rows were rejected; the first: line {}: {}",
                    report.rejected_count,
                    report.rejected.first().map_or(0, |r| r.line),
                    report.rejected.first().map_or("", |r| r.reason.as_str())
                ),
            });
        }
        tx.commit()?;
        Ok(report)
    }
}

#[allow(clippy::too_many_arguments)]
fn label_new_text(
    text_id: i64,
    label_id: i64,
    labels: &mut HashMap<String, (i64, i64)>,
    seed: u64,
    at: i64,
    insert_label: &mut rusqlite::CachedStatement<'_>,
    insert_history: &mut rusqlite::CachedStatement<'_>,
    set_split: &mut rusqlite::CachedStatement<'_>,
    conn: &rusqlite::Connection,
) -> Result<()> {
    insert_label.execute(params![text_id, label_id, at])?;
    insert_history.execute(params![text_id, label_id, at])?;
    let has_split: Option<i64> = conn
        .prepare_cached("SELECT split FROM texts WHERE id = ?1")?
        .query_row([text_id], |r| r.get(0))?;
    if has_split.is_none() {
        if let Some(entry) = labels.values_mut().find(|(id, _)| *id == label_id) {
            let k = entry.1;
            entry.1 += 1;
            set_split.execute(params![split_for(seed, label_id, k as u64).code(), text_id])?;
        }
    }
    Ok(())
}

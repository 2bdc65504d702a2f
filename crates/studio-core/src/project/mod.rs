//! The project file: one SQLite database per labelling project.
//!
//! A project holds the imported texts (with their source file and line), the label set
//! (names, colours, keyboard keys, order), the labels with their time and full history,
//! an undo/redo stack of labelling actions, the train/validation/test assignment, the
//! engine's runs and a model's predictions. It is opened in WAL mode with
//! `synchronous = FULL` and foreign keys on: when [`Project::label`] returns, the label
//! is on disk and survives a crash or a killed process.
//!
//! Texts are numbered 1, 2, 3, ... in import order (the "row number"); a text imported
//! with an id column also answers to that id (see [`Project::resolve_text_id`]).
//!
//! Splits are assigned when a text first gets a label and never change afterwards, so
//! they stay stable as labels arrive. Each label's texts are dealt out in blocks of ten,
//! eight to train, one to validation, one to test, in an order fixed by the project's
//! seed: the splits are stratified to within one text per label and block.

mod import;
mod query;
mod runs;
pub mod schema;

pub use import::{Duplicate, IdKind, ImportReport, ImportSettings};
pub use query::{Filter, LabelFilter, PageQuery, Stats, Strategy, TextRow, TrainingSplits};
pub use runs::{Run, RunRecord};

use crate::{Result, StudioError};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The seed of the split assignment in a new project.
pub const DEFAULT_SPLIT_SEED: u64 = 42;

/// Colours given to labels in order (the app may change them).
const PALETTE: &[&str] = &[
    "#d1495b", "#2e86ab", "#66a182", "#edae49", "#8d6a9f", "#00798c", "#f28482", "#6c757d",
    "#a44a3f", "#3d5a80",
];

/// Which part of the data a labelled text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitName {
    /// Used to fit the model.
    Train,
    /// Used to pick the best epoch and stop early.
    Validation,
    /// Held out for the final evaluation.
    Test,
}

impl SplitName {
    fn code(self) -> i64 {
        match self {
            Self::Train => 0,
            Self::Validation => 1,
            Self::Test => 2,
        }
    }

    fn from_code(c: i64) -> Option<Self> {
        match c {
            0 => Some(Self::Train),
            1 => Some(Self::Validation),
            2 => Some(Self::Test),
            _ => None,
        }
    }

    /// "train", "validation" or "test".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::Test => "test",
        }
    }

    /// Parses "train", "validation"/"val"/"valid" or "test".
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Self::Train),
            "validation" | "val" | "valid" => Ok(Self::Validation),
            "test" => Ok(Self::Test),
            other => Err(StudioError::InvalidSetting(format!(
                "unknown split \"{other}\"; use train, validation or test"
            ))),
        }
    }
}

/// One label of the label set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelDef {
    /// The label's name.
    pub name: String,
    /// 0-based position: the class id models use.
    pub position: usize,
    /// Display colour, `#rrggbb`.
    pub color: String,
    /// Keyboard key that applies it in the app.
    pub key: Option<String>,
}

/// What a change of the label set did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelSetChange {
    /// Labels that are new.
    pub added: Vec<String>,
    /// Labels that were removed (they had no texts).
    pub removed: Vec<String>,
    /// The label set now, in order.
    pub labels: Vec<String>,
}

/// What one labelling call changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelChange {
    /// The text's row number.
    pub text_id: i64,
    /// Its label before.
    pub old: Option<String>,
    /// Its label now.
    pub new: Option<String>,
    /// The split it belongs to (assigned on its first label).
    pub split: Option<SplitName>,
}

/// What an undo or redo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionSummary {
    /// "label", "clear" or "label_many".
    pub kind: String,
    /// The texts whose labels changed back (or again): (row number, label after).
    pub changes: Vec<(i64, Option<String>)>,
}

/// One entry of a text's label history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The label before.
    pub old: Option<String>,
    /// The label after.
    pub new: Option<String>,
    /// "label", "clear", "import", "undo" or "redo".
    pub cause: String,
}

/// An open project file.
pub struct Project {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project").field("path", &self.path).finish()
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// 64-bit FNV-1a of a text: the duplicate check's key (confirmed by comparing texts).
pub(crate) fn text_hash(text: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The split of the `k`-th text (0-based) ever to get label `label_id`.
pub(crate) fn split_for(seed: u64, label_id: i64, k: u64) -> SplitName {
    let mut state =
        seed ^ (label_id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (k / 10).rotate_left(32);
    let mut slots: [u8; 10] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 2];
    for i in (1..10).rev() {
        let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
        slots.swap(i, j);
    }
    SplitName::from_code(i64::from(slots[(k % 10) as usize])).unwrap_or(SplitName::Train)
}

/// The most labels a project may have: each needs its own examples, and a label column
/// with more distinct values than this is almost surely not a label column.
pub const MAX_LABELS: usize = 200;

/// Whether `name` can be a label: 1 to 200 characters, no line breaks or other control
/// characters (labels are shown on one line and typed as keys and column headers).
pub fn is_label_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=200).contains(&n) && !name.chars().any(char::is_control)
}

impl Project {
    /// Creates a new, empty project file. Errors if `path` already exists.
    pub fn create(path: &Path) -> Result<Project> {
        if path.exists() {
            return Err(StudioError::InvalidSetting(format!(
                "{} already exists; open it, or pick a new file name for the new project",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(path, e))?;
        let p = Project {
            conn,
            path: path.to_path_buf(),
        };
        p.configure()?;
        p.conn
            .pragma_update(None, "application_id", schema::APPLICATION_ID)?;
        p.migrate()?;
        p.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?1), ('split_seed', ?2)",
            params![now_ms().to_string(), DEFAULT_SPLIT_SEED.to_string()],
        )?;
        Ok(p)
    }

    /// Opens an existing project, bringing its schema up to date.
    pub fn open(path: &Path) -> Result<Project> {
        if !path.is_file() {
            return Err(StudioError::NotAProject {
                path: path.to_path_buf(),
                reason: "there is no such file".into(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(path, e))?;
        let p = Project {
            conn,
            path: path.to_path_buf(),
        };
        let app_id: i32 = p
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| open_error(path, e))?;
        if app_id != schema::APPLICATION_ID {
            return Err(StudioError::NotAProject {
                path: path.to_path_buf(),
                reason: "it is an SQLite database of another program".into(),
            });
        }
        p.configure()?;
        p.migrate()?;
        Ok(p)
    }

    fn configure(&self) -> Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StudioError::InvalidSetting(format!(
                "{} cannot use SQLite's WAL journal (got {mode}); keep projects on a local disk, not a network share",
                self.path.display()
            )));
        }
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // A project file may come from someone else: its schema must not run functions
        // or reach outside the file, and SQL may not corrupt it on purpose.
        self.conn.pragma_update(None, "trusted_schema", "OFF")?;
        self.conn
            .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
        Ok(())
    }

    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`): when
    /// another process is writing, it waits up to the busy timeout instead of failing
    /// when a read inside it tries to become a write.
    pub(crate) fn write_tx(&self) -> Result<rusqlite::Transaction<'_>> {
        Ok(rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?)
    }

    fn migrate(&self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > schema::SCHEMA_VERSION {
            return Err(StudioError::ProjectTooNew {
                path: self.path.clone(),
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        if version == schema::SCHEMA_VERSION {
            return Ok(());
        }
        // One immediate transaction, the version read again inside it: two processes
        // opening an old project at once migrate it once, one after the other.
        let tx = self.write_tx()?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The file this project lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file (after migration: [`schema::SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// SQLite's `PRAGMA integrity_check`: "ok" for a sound file.
    pub fn integrity_check(&self) -> Result<String> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows.join("; "))
    }

    /// The seed of the split assignment.
    pub fn split_seed(&self) -> Result<u64> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'split_seed'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v.and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SPLIT_SEED))
    }

    /// Changes the split seed. Only allowed before any text has a split, so existing
    /// assignments never move.
    pub fn set_split_seed(&self, seed: u64) -> Result<()> {
        let assigned: i64 = self.conn.query_row(
            "SELECT count(*) FROM texts WHERE split IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        if assigned > 0 {
            return Err(StudioError::InvalidSetting(format!(
                "the split seed cannot change now: {assigned} labelled texts already have a split, and moving them would mix test data into training"
            )));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('split_seed', ?1)",
            params![seed.to_string()],
        )?;
        Ok(())
    }

    // ----- label set -----

    /// The label set, in order.
    pub fn label_set(&self) -> Result<Vec<LabelDef>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, position, color, key FROM label_set ORDER BY position, id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LabelDef {
                    name: r.get(0)?,
                    position: r.get::<_, i64>(1)? as usize,
                    color: r.get(2)?,
                    key: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Label names in order: index = class id.
    pub fn label_names(&self) -> Result<Vec<String>> {
        Ok(self.label_set()?.into_iter().map(|l| l.name).collect())
    }

    /// Label-set ids in order.
    fn label_ids(&self) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name FROM label_set ORDER BY position, id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn label_id(&self, name: &str) -> Result<i64> {
        let name = name.trim();
        let id: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM label_set WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        match id {
            Some(id) => Ok(id),
            None => {
                let known = self.label_names()?;
                Err(StudioError::UnknownLabel {
                    label: name.to_string(),
                    known: if known.is_empty() {
                        "none yet".into()
                    } else {
                        known.join(", ")
                    },
                })
            }
        }
    }

    /// Defines or changes the label set: `names` in the order wanted. New names are
    /// added, existing ones reordered, and names left out are removed, which is only
    /// allowed for labels no text has (relabel those texts first, or rename the label).
    pub fn set_label_set(&self, names: &[String]) -> Result<LabelSetChange> {
        let names: Vec<String> = names.iter().map(|n| n.trim().to_string()).collect();
        if names.len() > MAX_LABELS {
            return Err(StudioError::InvalidSetting(format!(
                "{} labels are more than the {MAX_LABELS} a project can have; a classifier learns each from its own examples, so use fewer, broader labels",
                names.len()
            )));
        }
        if names.is_empty() || names.iter().any(|n| n.is_empty()) {
            return Err(StudioError::InvalidSetting(
                "a label set needs at least one label, and labels cannot be empty; e.g. --set negative,positive".into(),
            ));
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(StudioError::InvalidSetting(format!(
                    "the label \"{n}\" is listed twice; each label must appear once"
                )));
            }
            if !is_label_name(n) {
                return Err(StudioError::InvalidSetting(format!(
                    "the label \"{}\" is too long or has a line break or control character; use short single-line names",
                    n.chars().take(40).collect::<String>()
                )));
            }
        }
        let tx = self.write_tx()?;
        let current = self.label_ids()?;
        let mut removed = Vec::new();
        for (id, name) in &current {
            if !names.contains(name) {
                let used: i64 = tx.query_row(
                    "SELECT count(*) FROM labels WHERE label_id = ?1",
                    [id],
                    |r| r.get(0),
                )?;
                if used > 0 {
                    return Err(StudioError::InvalidSetting(format!(
                        "the label \"{name}\" cannot be removed: {used} texts have it; relabel them first, or rename the label instead"
                    )));
                }
                tx.execute(
                    "UPDATE history SET old_label = NULL WHERE old_label = ?1",
                    [id],
                )?;
                tx.execute(
                    "UPDATE history SET new_label = NULL WHERE new_label = ?1",
                    [id],
                )?;
                tx.execute(
                    "UPDATE predictions SET label_id = NULL WHERE label_id = ?1",
                    [id],
                )?;
                tx.execute("DELETE FROM label_set WHERE id = ?1", [id])?;
                removed.push(name.clone());
            }
        }
        let mut added = Vec::new();
        // Park positions out of the way, then write the new order.
        tx.execute("UPDATE label_set SET position = position + 1000000", [])?;
        for (pos, name) in names.iter().enumerate() {
            let n = tx.execute(
                "UPDATE label_set SET position = ?1 WHERE name = ?2",
                params![pos as i64, name],
            )?;
            if n == 0 {
                let key = if pos < 9 {
                    Some((pos + 1).to_string())
                } else {
                    None
                };
                tx.execute(
                    "INSERT INTO label_set(name, position, color, key) VALUES (?1, ?2, ?3, ?4)",
                    params![name, pos as i64, PALETTE[pos % PALETTE.len()], key],
                )?;
                added.push(name.clone());
            }
        }
        tx.commit()?;
        Ok(LabelSetChange {
            added,
            removed,
            labels: names,
        })
    }

    /// Renames a label; its texts keep it.
    pub fn rename_label(&self, old: &str, new: &str) -> Result<()> {
        let id = self.label_id(old)?;
        let new = new.trim();
        if new.is_empty() {
            return Err(StudioError::InvalidSetting(
                "a label cannot be empty".into(),
            ));
        }
        if self.label_id(new).is_ok() {
            return Err(StudioError::InvalidSetting(format!(
                "there is already a label \"{new}\"; pick another name"
            )));
        }
        self.conn.execute(
            "UPDATE label_set SET name = ?1 WHERE id = ?2",
            params![new, id],
        )?;
        Ok(())
    }

    /// Sets a label's colour (`#rrggbb`) and/or keyboard key.
    pub fn set_label_style(
        &self,
        name: &str,
        color: Option<&str>,
        key: Option<&str>,
    ) -> Result<()> {
        let id = self.label_id(name)?;
        if let Some(c) = color {
            let ok =
                c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit());
            if !ok {
                return Err(StudioError::InvalidSetting(format!(
                    "\"{c}\" is not a colour; write it as #rrggbb, e.g. #2e86ab"
                )));
            }
            self.conn.execute(
                "UPDATE label_set SET color = ?1 WHERE id = ?2",
                params![c, id],
            )?;
        }
        if let Some(k) = key {
            self.conn
                .execute("UPDATE label_set SET key = NULL WHERE key = ?1", [k])?;
            self.conn.execute(
                "UPDATE label_set SET key = ?1 WHERE id = ?2",
                params![k, id],
            )?;
        }
        Ok(())
    }

    // ----- texts and labels -----

    /// Turns what a person typed into a text's row number: the id column's value where
    /// an id column was imported, else the 1-based row number in import order. `#N`
    /// always means row number N (useful when id values look like row numbers).
    pub fn resolve_text_id(&self, given: &str) -> Result<i64> {
        let given_t = given.trim();
        if let Some(n) = given_t
            .strip_prefix('#')
            .and_then(|n| n.parse::<i64>().ok())
        {
            let exists: Option<i64> = self
                .conn
                .prepare_cached("SELECT id FROM texts WHERE id = ?1")?
                .query_row([n], |r| r.get(0))
                .optional()?;
            if let Some(id) = exists {
                return Ok(id);
            }
        }
        let by_ext: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM texts WHERE ext_id = ?1")?
            .query_row([given_t], |r| r.get(0))
            .optional()?;
        if let Some(id) = by_ext {
            return Ok(id);
        }
        if let Ok(n) = given_t.parse::<i64>() {
            let row: Option<Option<String>> = self
                .conn
                .prepare_cached("SELECT ext_id FROM texts WHERE id = ?1")?
                .query_row([n], |r| r.get(0))
                .optional()?;
            if let Some(None) = row {
                return Ok(n);
            }
        }
        let (with_ext, max): (i64, Option<i64>) =
            self.conn
                .query_row("SELECT count(ext_id), max(id) FROM texts", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let hint = match (with_ext, max) {
            (_, None) => "the project has no texts yet; import a file first".to_string(),
            (0, Some(m)) => format!("texts are numbered 1 to {m} in import order"),
            (_, Some(m)) => {
                let example: String = self.conn.query_row(
                    "SELECT ext_id FROM texts WHERE ext_id IS NOT NULL ORDER BY id LIMIT 1",
                    [],
                    |r| r.get(0),
                )?;
                format!("texts are named by the imported id column (e.g. \"{example}\"), or by row number as #1 to #{m}")
            }
        };
        Err(StudioError::UnknownText {
            id: given.to_string(),
            hint,
        })
    }

    fn current_label(&self, text_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT label_id FROM labels WHERE text_id = ?1")?
            .query_row([text_id], |r| r.get(0))
            .optional()?)
    }

    fn label_name_of(&self, id: Option<i64>) -> Result<Option<String>> {
        match id {
            None => Ok(None),
            Some(id) => Ok(self
                .conn
                .prepare_cached("SELECT name FROM label_set WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?),
        }
    }

    /// Sets `text_id`'s label to `new` (or clears it), recording history. Inside a
    /// transaction. Returns the old label id and the split.
    fn apply_label(
        &self,
        text_id: i64,
        new: Option<i64>,
        action: Option<i64>,
        cause: &str,
        at: i64,
    ) -> Result<(Option<i64>, Option<SplitName>)> {
        let split_now: Option<Option<i64>> = self
            .conn
            .prepare_cached("SELECT split FROM texts WHERE id = ?1")?
            .query_row([text_id], |r| r.get(0))
            .optional()?;
        let Some(split_now) = split_now else {
            return Err(StudioError::UnknownText {
                id: text_id.to_string(),
                hint: "it may have been removed".into(),
            });
        };
        let old = self.current_label(text_id)?;
        match new {
            Some(l) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO labels(text_id, label_id, at) VALUES (?1, ?2, ?3)
                         ON CONFLICT(text_id) DO UPDATE SET label_id = excluded.label_id, at = excluded.at",
                    )?
                    .execute(params![text_id, l, at])?;
            }
            None => {
                self.conn
                    .prepare_cached("DELETE FROM labels WHERE text_id = ?1")?
                    .execute([text_id])?;
            }
        }
        self.conn
            .prepare_cached(
                "INSERT INTO history(text_id, old_label, new_label, at, action_id, cause)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![text_id, old, new, at, action, cause])?;
        let mut split = split_now.and_then(SplitName::from_code);
        if let (None, Some(l)) = (split, new) {
            let k: i64 = self
                .conn
                .prepare_cached("UPDATE label_set SET assigned = assigned + 1 WHERE id = ?1 RETURNING assigned - 1")?
                .query_row([l], |r| r.get(0))?;
            let s = split_for(self.split_seed()?, l, k as u64);
            self.conn
                .prepare_cached("UPDATE texts SET split = ?1 WHERE id = ?2")?
                .execute(params![s.code(), text_id])?;
            split = Some(s);
        }
        Ok((old, split))
    }

    fn begin_action(&self, kind: &str, at: i64) -> Result<i64> {
        // A new action forgets what could be redone.
        self.conn
            .prepare_cached("DELETE FROM actions WHERE undone = 1")?
            .execute([])?;
        self.conn
            .prepare_cached("INSERT INTO actions(kind, at) VALUES (?1, ?2)")?
            .execute(params![kind, at])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Labels one text (its row number; see [`Project::resolve_text_id`]). Returns only
    /// once the label is committed to disk (WAL, `synchronous = FULL`). Can be undone.
    pub fn label(&self, text_id: i64, label: &str) -> Result<LabelChange> {
        let l = self.label_id(label)?;
        let at = now_ms();
        let tx = self.write_tx()?;
        let action = self.begin_action("label", at)?;
        let (old, split) = self.apply_label(text_id, Some(l), Some(action), "label", at)?;
        tx.commit()?;
        Ok(LabelChange {
            text_id,
            old: self.label_name_of(old)?,
            new: Some(label.trim().to_string()),
            split,
        })
    }

    /// Removes a text's label. Can be undone.
    pub fn clear_label(&self, text_id: i64) -> Result<LabelChange> {
        let at = now_ms();
        let tx = self.write_tx()?;
        let action = self.begin_action("clear", at)?;
        let (old, split) = self.apply_label(text_id, None, Some(action), "clear", at)?;
        tx.commit()?;
        Ok(LabelChange {
            text_id,
            old: self.label_name_of(old)?,
            new: None,
            split,
        })
    }

    /// Labels many texts as one action (one undo step), in one transaction.
    pub fn label_many(&self, items: &[(i64, String)]) -> Result<usize> {
        let ids: Vec<i64> = items
            .iter()
            .map(|(_, l)| self.label_id(l))
            .collect::<Result<_>>()?;
        let at = now_ms();
        let tx = self.write_tx()?;
        let action = self.begin_action("label_many", at)?;
        for ((text, _), l) in items.iter().zip(ids) {
            self.apply_label(*text, Some(l), Some(action), "label", at)?;
        }
        tx.commit()?;
        Ok(items.len())
    }

    /// The label of one text.
    pub fn label_of(&self, text_id: i64) -> Result<Option<String>> {
        let l = self.current_label(text_id)?;
        self.label_name_of(l)
    }

    fn replay(&self, undo: bool) -> Result<Option<ActionSummary>> {
        let pick = if undo {
            "SELECT id, kind FROM actions WHERE undone = 0 ORDER BY id DESC LIMIT 1"
        } else {
            "SELECT id, kind FROM actions WHERE undone = 1 ORDER BY id ASC LIMIT 1"
        };
        let tx = self.write_tx()?;
        let Some((action, kind)): Option<(i64, String)> = tx
            .query_row(pick, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        else {
            return Ok(None);
        };
        let order = if undo { "DESC" } else { "ASC" };
        let steps: Vec<(i64, Option<i64>, Option<i64>)> = tx
            .prepare(&format!(
                "SELECT text_id, old_label, new_label FROM history WHERE action_id = ?1 AND cause IN ('label', 'clear') ORDER BY id {order}"
            ))?
            .query_map([action], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let at = now_ms();
        let mut changes = Vec::new();
        for (text, old, new) in steps {
            let target = if undo { old } else { new };
            self.apply_label(text, target, None, if undo { "undo" } else { "redo" }, at)?;
            changes.push((text, self.label_name_of(target)?));
        }
        tx.execute(
            "UPDATE actions SET undone = ?1 WHERE id = ?2",
            params![i64::from(undo), action],
        )?;
        tx.commit()?;
        Ok(Some(ActionSummary { kind, changes }))
    }

    /// Undoes the most recent labelling action; `None` when there is nothing to undo.
    pub fn undo(&self) -> Result<Option<ActionSummary>> {
        self.replay(true)
    }

    /// Redoes the most recently undone action; `None` when there is nothing to redo.
    pub fn redo(&self) -> Result<Option<ActionSummary>> {
        self.replay(false)
    }

    /// Every label change of one text, oldest first.
    pub fn history(&self, text_id: i64) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.at, o.name, n.name, h.cause FROM history h
             LEFT JOIN label_set o ON o.id = h.old_label
             LEFT JOIN label_set n ON n.id = h.new_label
             WHERE h.text_id = ?1 ORDER BY h.id",
        )?;
        let rows = stmt
            .query_map([text_id], |r| {
                Ok(HistoryEntry {
                    at_ms: r.get(0)?,
                    old: r.get(1)?,
                    new: r.get(2)?,
                    cause: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn open_error(path: &Path, e: rusqlite::Error) -> StudioError {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            StudioError::NotAProject {
                path: path.to_path_buf(),
                reason: "it is not an SQLite database".into(),
            }
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
            StudioError::io(
                "open",
                path,
                std::io::Error::other(
                    "cannot open the file (check the folder exists and is writable)",
                ),
            )
        }
        other => StudioError::Database(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_stratified_per_block() {
        for label in 1..4 {
            let mut counts = [0usize; 3];
            for k in 0..1000 {
                counts[split_for(7, label, k).code() as usize] += 1;
            }
            assert_eq!(counts, [800, 100, 100]);
        }
        let a: Vec<_> = (0..30).map(|k| split_for(1, 1, k)).collect();
        let b: Vec<_> = (0..30).map(|k| split_for(2, 1, k)).collect();
        assert_ne!(a, b);
    }
}

#[cfg(test)]
mod hardening_tests {
    use super::*;

    /// A project file may come from anyone: its schema is not trusted to run functions,
    /// and SQL cannot rewrite the schema table to corrupt it.
    #[test]
    fn a_project_is_opened_without_trusting_its_schema_and_defensively() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.studio");
        drop(Project::create(&path).unwrap());
        let p = Project::open(&path).unwrap();
        let trusted: i64 = p
            .conn
            .pragma_query_value(None, "trusted_schema", |r| r.get(0))
            .unwrap();
        assert_eq!(trusted, 0);
        assert!(p
            .conn
            .db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE)
            .unwrap());
        p.conn.pragma_update(None, "writable_schema", "ON").unwrap();
        let r = p.conn.execute(
            "UPDATE sqlite_master SET sql = 'junk' WHERE name = 'labels'",
            [],
        );
        assert!(r.is_err(), "the schema table was writable");
        drop(p);
        assert_eq!(
            Project::open(&path).unwrap().integrity_check().unwrap(),
            "ok"
        );
    }
}

//! The project file's schema, as an append-only list of migrations.
//!
//! Migration `i` (0-based) takes a file from `PRAGMA user_version = i` to `i + 1`. Never
//! edit a migration that has shipped: add a new one. A test pins the text of each
//! shipped migration by hash, and another opens a file written by schema v1.

/// `PRAGMA application_id` of a project file ("STUD"), so we never mistake another
/// program's SQLite database for a project.
pub const APPLICATION_ID: i32 = 0x5354_5544;

/// The migrations, oldest first.
pub const MIGRATIONS: &[&str] = &[
    // v1: texts, the label set, labels with history and undo, import sources.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sources (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    path         TEXT NOT NULL,
    format       TEXT NOT NULL,
    encoding     TEXT,
    text_column  TEXT NOT NULL,
    label_column TEXT,
    id_column    TEXT,
    imported_at  INTEGER NOT NULL,
    rows         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE label_set (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    color    TEXT NOT NULL,
    key      TEXT,
    assigned INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE texts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ext_id      TEXT UNIQUE,
    text        TEXT NOT NULL,
    hash        INTEGER NOT NULL,
    source_id   INTEGER REFERENCES sources(id),
    source_line INTEGER,
    split       INTEGER CHECK (split IN (0, 1, 2))
);
CREATE INDEX texts_hash ON texts(hash);

CREATE TABLE labels (
    text_id  INTEGER PRIMARY KEY REFERENCES texts(id) ON DELETE CASCADE,
    label_id INTEGER NOT NULL REFERENCES label_set(id),
    at       INTEGER NOT NULL
);
CREATE INDEX labels_label ON labels(label_id, text_id);

CREATE TABLE actions (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL,
    at     INTEGER NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    text_id   INTEGER NOT NULL REFERENCES texts(id) ON DELETE CASCADE,
    old_label INTEGER REFERENCES label_set(id),
    new_label INTEGER REFERENCES label_set(id),
    at        INTEGER NOT NULL,
    action_id INTEGER REFERENCES actions(id) ON DELETE SET NULL,
    cause     TEXT NOT NULL
);
CREATE INDEX history_text ON history(text_id);
CREATE INDEX history_action ON history(action_id);
"#,
    // v2: what the engine writes: runs and model predictions; a split index.
    r#"
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    model       TEXT NOT NULL,
    status      TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    epochs      TEXT NOT NULL DEFAULT '[]',
    metrics     TEXT,
    export_path TEXT
);

CREATE TABLE prediction_sets (
    model_version INTEGER PRIMARY KEY,
    label_names   TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE predictions (
    model_version INTEGER NOT NULL REFERENCES prediction_sets(model_version) ON DELETE CASCADE,
    text_id       INTEGER NOT NULL REFERENCES texts(id) ON DELETE CASCADE,
    label_id      INTEGER REFERENCES label_set(id),
    confidence    REAL NOT NULL,
    margin        REAL NOT NULL,
    probs         BLOB NOT NULL,
    PRIMARY KEY (model_version, text_id)
) WITHOUT ROWID;
CREATE INDEX predictions_margin ON predictions(model_version, margin);

CREATE INDEX texts_split ON texts(split, id);
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

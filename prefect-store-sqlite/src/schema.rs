//! The SQLite schema and its migrations, versioned with `PRAGMA
//! user_version`.
//!
//! Rows are compact: run ids are 16-byte BLOBs, state types and log levels
//! small integers (see `codec`), timestamps integers (microseconds since
//! the Unix epoch), a state name is NULL when it is its type's default
//! name. Each run row carries its current state, so listings never read the
//! history. The history is clustered by run and time (a state's timestamp
//! is moved up by a microsecond when it would not be later than the run's
//! previous state, so it is unique within the run).
//!
//! Version 2 stores each run's history on its own row, in the `history`
//! BLOB column (see `history`); the `states` table keeps the history
//! written by version 1 and is read along with the blob.
//!
//! Version 4 makes `flow_runs` a table clustered by run id (`WITHOUT
//! ROWID`: the separate index on the id goes) and drops its index by
//! state, which filters used but no query needs: each commit of a root
//! flow run touches two fewer pages, each a write into the log.
//!
//! Version 5 adds the run queue: deployments, work queues and workers, and
//! on each flow run its deployment, work queue, whether a schedule made it
//! and when it was due (`expected_start`, kept when the run starts). Runs waiting for a worker are found by a partial index holding only
//! unclaimed Scheduled runs of deployments, so the runs the engine records
//! (never in it) pay nothing for it.

use rusqlite::{Connection, TransactionBehavior};

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = 7;

/// Migration `i` takes a database from version `i` to `i + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3, V4, V5, V6, V7];

const V1: &str = "
CREATE TABLE flows (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL
);

CREATE TABLE leases (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    pid       INTEGER NOT NULL,
    host      TEXT NOT NULL,
    boot_id   TEXT,
    pid_start INTEGER,
    acquired  INTEGER NOT NULL,
    expires   INTEGER NOT NULL
);

CREATE TABLE flow_runs (
    id                 BLOB PRIMARY KEY,
    flow_id            INTEGER NOT NULL REFERENCES flows(id),
    name               TEXT NOT NULL,
    flow_version       TEXT,
    parameters         TEXT NOT NULL,
    tags               TEXT,
    parent_flow_run_id BLOB,
    parent_task_run_id BLOB,
    created            INTEGER NOT NULL,
    start_time         INTEGER,
    end_time           INTEGER,
    run_count          INTEGER NOT NULL DEFAULT 0,
    state_type         INTEGER,
    state_name         TEXT,
    state_message      TEXT,
    state_time         INTEGER,
    state_scheduled    INTEGER,
    lease_id           INTEGER
);
CREATE INDEX flow_runs_by_created ON flow_runs(created);
CREATE INDEX flow_runs_by_flow ON flow_runs(flow_id, created);
CREATE INDEX flow_runs_by_state ON flow_runs(state_type, created);
CREATE INDEX flow_runs_open ON flow_runs(lease_id) WHERE end_time IS NULL;

CREATE TABLE task_runs (
    id                 BLOB PRIMARY KEY,
    flow_run_id        BLOB,
    name               TEXT NOT NULL,
    task_name          TEXT NOT NULL,
    parent_task_run_id BLOB,
    subflow_run_id     BLOB,
    map_index          INTEGER,
    tags               TEXT,
    created            INTEGER NOT NULL,
    start_time         INTEGER,
    end_time           INTEGER,
    run_count          INTEGER NOT NULL DEFAULT 0,
    state_type         INTEGER,
    state_name         TEXT,
    state_message      TEXT,
    state_time         INTEGER,
    state_scheduled    INTEGER,
    lease_id           INTEGER
) WITHOUT ROWID;
CREATE INDEX task_runs_by_flow_run ON task_runs(flow_run_id, created);
CREATE INDEX task_runs_open ON task_runs(lease_id) WHERE end_time IS NULL;

CREATE TABLE states (
    run_id    BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    type      INTEGER NOT NULL,
    name      TEXT,
    message   TEXT,
    scheduled INTEGER,
    PRIMARY KEY (run_id, timestamp)
) WITHOUT ROWID;

CREATE TABLE task_run_dependencies (
    downstream    BLOB NOT NULL,
    upstream      BLOB NOT NULL,
    upstream_kind INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
    argument      TEXT
);
CREATE INDEX task_run_dependencies_by_downstream ON task_run_dependencies(downstream);

CREATE TABLE logs (
    id          INTEGER PRIMARY KEY,
    flow_run_id BLOB,
    task_run_id BLOB,
    timestamp   INTEGER NOT NULL,
    level       INTEGER NOT NULL,
    message     TEXT NOT NULL,
    target      TEXT NOT NULL,
    fields      TEXT
);
CREATE INDEX logs_by_flow_run ON logs(flow_run_id, id);
CREATE INDEX logs_by_task_run ON logs(task_run_id, id) WHERE task_run_id IS NOT NULL;

CREATE TABLE result_references (
    key     TEXT PRIMARY KEY,
    run_id  BLOB NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX result_references_by_run ON result_references(run_id);

CREATE TABLE concurrency_limits (
    tag          TEXT PRIMARY KEY,
    slot_limit   INTEGER NOT NULL,
    active_slots INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL
);

CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value
);
";

/// Runs keep their state history on their own row.
const V2: &str = "
ALTER TABLE flow_runs ADD COLUMN history BLOB;
ALTER TABLE task_runs ADD COLUMN history BLOB;
";

/// Our mark in the database header (`PRAGMA application_id`, "PrFt"):
/// what tells a run database from another program's SQLite file.
pub(crate) const APPLICATION_ID: i64 = 0x5072_4674;

/// The tables of every schema version, and those every version has.
const OUR_TABLES: [&str; 16] = [
    "flows",
    "leases",
    "flow_runs",
    "task_runs",
    "states",
    "task_run_dependencies",
    "logs",
    "result_references",
    "concurrency_limits",
    "store_meta",
    "concurrency_slots",
    "deployments",
    "work_queues",
    "workers",
    "event_batches",
    "run_results",
];
const CORE_TABLES: [&str; 4] = ["flows", "leases", "flow_runs", "task_runs"];

/// What a SQLite file is, judged from its header and schema before anything
/// is written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    /// A run database at a version this build knows (older ones migrate).
    Ours(i64),
    /// A run database written by a newer build.
    TooNew(i64),
    /// No tables at all: a new (or empty) file, ours to set up.
    Empty,
    /// Anything else: another program's database.
    Foreign,
}

/// Reads the header and the table names. Files written before the
/// application id existed (versions 1 to 3) are recognised by holding our
/// tables and only ours.
pub(crate) fn identify(conn: &Connection) -> rusqlite::Result<Identity> {
    let application: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let ours_at = |version: i64| {
        if version > SCHEMA_VERSION { Identity::TooNew(version) } else { Identity::Ours(version) }
    };
    if application == APPLICATION_ID {
        return Ok(ours_at(version));
    }
    if application != 0 {
        return Ok(Identity::Foreign);
    }
    let tables = table_names(conn)?;
    if tables.is_empty() {
        return Ok(if version == 0 { Identity::Empty } else { Identity::Foreign });
    }
    let only_ours = tables.iter().all(|t| OUR_TABLES.contains(&t.as_str()));
    let has_core = CORE_TABLES.iter().all(|t| tables.iter().any(|have| have == t));
    Ok(if version >= 1 && only_ours && has_core { ours_at(version) } else { Identity::Foreign })
}

fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
    let names = stmt.query_map([], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// The schema version, as migrations read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// Known to this build (possibly older: it gets migrated).
    Known(i64),
    /// Written by a newer build.
    TooNew(i64),
}

/// Reads the schema version.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<Version> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(if found > SCHEMA_VERSION { Version::TooNew(found) } else { Version::Known(found) })
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one write transaction.
/// Another process may migrate first; the version is read again inside
/// the transaction.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<Version> {
    let marked =
        conn.pragma_query_value(None, "application_id", |row| row.get::<_, i64>(0))? == APPLICATION_ID;
    if marked && version(conn)? == Version::Known(SCHEMA_VERSION) {
        return Ok(Version::Known(SCHEMA_VERSION));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = match version(&tx)? {
        Version::Known(v) => v,
        too_new => return Ok(too_new),
    };
    for sql in MIGRATIONS.iter().skip(current as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(Version::Known(SCHEMA_VERSION))
}

/// Version 3: the holders of tag concurrency slots, with the identity of
/// their process, so slots of a process that died are freed.
const V3: &str = "
CREATE TABLE concurrency_slots (
    holder    BLOB NOT NULL,
    tag       TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    host      TEXT NOT NULL,
    boot_id   TEXT,
    pid_start INTEGER,
    acquired  INTEGER NOT NULL,
    PRIMARY KEY (holder, tag)
) WITHOUT ROWID;
CREATE INDEX concurrency_slots_tag ON concurrency_slots (tag);
";

/// Version 4: `flow_runs` clustered by id, without its index by state.
const V4: &str = "
CREATE TABLE flow_runs_v4 (
    id                 BLOB PRIMARY KEY,
    flow_id            INTEGER NOT NULL REFERENCES flows(id),
    name               TEXT NOT NULL,
    flow_version       TEXT,
    parameters         TEXT NOT NULL,
    tags               TEXT,
    parent_flow_run_id BLOB,
    parent_task_run_id BLOB,
    created            INTEGER NOT NULL,
    start_time         INTEGER,
    end_time           INTEGER,
    run_count          INTEGER NOT NULL DEFAULT 0,
    state_type         INTEGER,
    state_name         TEXT,
    state_message      TEXT,
    state_time         INTEGER,
    state_scheduled    INTEGER,
    lease_id           INTEGER,
    history            BLOB
) WITHOUT ROWID;
INSERT INTO flow_runs_v4 (id, flow_id, name, flow_version, parameters, tags, parent_flow_run_id,
    parent_task_run_id, created, start_time, end_time, run_count, state_type, state_name,
    state_message, state_time, state_scheduled, lease_id, history)
SELECT id, flow_id, name, flow_version, parameters, tags, parent_flow_run_id,
    parent_task_run_id, created, start_time, end_time, run_count, state_type, state_name,
    state_message, state_time, state_scheduled, lease_id, history FROM flow_runs;
DROP TABLE flow_runs;
ALTER TABLE flow_runs_v4 RENAME TO flow_runs;
CREATE INDEX flow_runs_by_created ON flow_runs(created);
CREATE INDEX flow_runs_by_flow ON flow_runs(flow_id, created);
CREATE INDEX flow_runs_open ON flow_runs(lease_id) WHERE end_time IS NULL;
";

/// Version 5: the run queue. State code 1 is Scheduled (see `codec`).
const V5: &str = "
CREATE TABLE deployments (
    id               BLOB PRIMARY KEY,
    flow_name        TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    version          TEXT,
    tags             TEXT,
    work_queue       TEXT NOT NULL,
    labels           TEXT,
    parameters       TEXT NOT NULL,
    parameter_schema TEXT,
    schedules        TEXT NOT NULL,
    catchup          TEXT NOT NULL,
    paused           INTEGER NOT NULL DEFAULT 0,
    created          INTEGER NOT NULL,
    updated          INTEGER NOT NULL,
    UNIQUE (flow_name, name)
) WITHOUT ROWID;

CREATE TABLE work_queues (
    name              TEXT PRIMARY KEY,
    priority          INTEGER NOT NULL DEFAULT 1,
    concurrency_limit INTEGER,
    paused            INTEGER NOT NULL DEFAULT 0,
    description       TEXT,
    created           INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE workers (
    name      TEXT PRIMARY KEY,
    queues    TEXT NOT NULL,
    flows     TEXT NOT NULL,
    labels    TEXT,
    lease_id  INTEGER NOT NULL,
    status    TEXT NOT NULL,
    started   INTEGER NOT NULL,
    heartbeat INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE flow_runs ADD COLUMN deployment_id BLOB;
ALTER TABLE flow_runs ADD COLUMN work_queue TEXT;
ALTER TABLE flow_runs ADD COLUMN auto_scheduled INTEGER;
ALTER TABLE flow_runs ADD COLUMN expected_start INTEGER;
ALTER TABLE flow_runs ADD COLUMN cancel_requested INTEGER;
ALTER TABLE flow_runs ADD COLUMN resume_input TEXT;
CREATE INDEX flow_runs_queued ON flow_runs(state_scheduled)
    WHERE state_type = 1 AND lease_id IS NULL AND deployment_id IS NOT NULL;
CREATE INDEX flow_runs_queued_by_queue ON flow_runs(work_queue, state_scheduled)
    WHERE state_type = 1 AND lease_id IS NULL AND deployment_id IS NOT NULL;
CREATE INDEX flow_runs_by_deployment ON flow_runs(deployment_id, expected_start)
    WHERE deployment_id IS NOT NULL;
CREATE INDEX flow_runs_crashed ON flow_runs(end_time)
    WHERE state_type = 8 AND deployment_id IS NOT NULL;
";

/// Version 6: the ids of event batches sent by remote recorders, so that a
/// batch sent again (its answer was lost) is stored once.
const V6: &str = "
CREATE TABLE event_batches (
    id     BLOB PRIMARY KEY,
    stored INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX event_batches_by_stored ON event_batches(stored);
";

/// Where each run's value is kept (`Event::ResultStored`): one row per run, the
/// latest record it wrote or read. Replaces `result_references`, which no
/// version wrote to.
const V7: &str = "
DROP TABLE result_references;
CREATE TABLE run_results (
    run_id      BLOB PRIMARY KEY,
    run_kind    INTEGER NOT NULL,
    flow_run_id BLOB,
    location    TEXT NOT NULL,
    cache_key   TEXT,
    from_cache  INTEGER NOT NULL,
    created     INTEGER NOT NULL
);
CREATE INDEX run_results_by_flow_run ON run_results(flow_run_id, created) WHERE flow_run_id IS NOT NULL;
";

//! The tables, versioned: `prefect_meta.schema_version` says which
//! migrations ran. Opening applies the missing ones in one transaction
//! under an advisory lock (several processes may open at once), and refuses
//! a database written by a newer build.
//!
//! Times are microseconds since the Unix epoch (`BIGINT`), as in the SQLite
//! store; ids are `UUID`; state types are `prefect_store::codes`; a run's
//! state history is a `BYTEA` on its row (`prefect_store::history`).

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = 4;

/// Migration `i` takes a database from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3, V4];

/// The advisory lock key migrations hold ("PrFt").
pub(crate) const MIGRATION_LOCK: i64 = 0x5072_4674;

/// The table that holds the version, created before anything else.
pub(crate) const META: &str = "
CREATE TABLE IF NOT EXISTS prefect_meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
)";

const V1: &str = "
CREATE TABLE flows (
    id      BIGSERIAL PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL
);

CREATE TABLE leases (
    id        BIGSERIAL PRIMARY KEY,
    pid       BIGINT NOT NULL,
    host      TEXT NOT NULL,
    boot_id   TEXT,
    pid_start BIGINT,
    acquired  BIGINT NOT NULL,
    expires   BIGINT NOT NULL
);

CREATE TABLE flow_runs (
    id                 UUID PRIMARY KEY,
    flow_id            BIGINT NOT NULL REFERENCES flows(id),
    name               TEXT NOT NULL,
    flow_version       TEXT,
    parameters         TEXT NOT NULL,
    tags               TEXT,
    parent_flow_run_id UUID,
    parent_task_run_id UUID,
    created            BIGINT NOT NULL,
    start_time         BIGINT,
    end_time           BIGINT,
    run_count          BIGINT NOT NULL DEFAULT 0,
    state_type         BIGINT,
    state_name         TEXT,
    state_message      TEXT,
    state_time         BIGINT,
    state_scheduled    BIGINT,
    lease_id           BIGINT,
    history            BYTEA,
    deployment_id      UUID,
    work_queue         TEXT,
    expected_start     BIGINT
);
CREATE INDEX flow_runs_by_created ON flow_runs(created DESC, id DESC);
CREATE INDEX flow_runs_by_flow ON flow_runs(flow_id, created DESC, id DESC);
CREATE INDEX flow_runs_open ON flow_runs(lease_id) WHERE end_time IS NULL;

CREATE TABLE task_runs (
    id                 UUID PRIMARY KEY,
    flow_run_id        UUID,
    name               TEXT NOT NULL,
    task_name          TEXT NOT NULL,
    parent_task_run_id UUID,
    subflow_run_id     UUID,
    map_index          BIGINT,
    tags               TEXT,
    created            BIGINT NOT NULL,
    start_time         BIGINT,
    end_time           BIGINT,
    run_count          BIGINT NOT NULL DEFAULT 0,
    state_type         BIGINT,
    state_name         TEXT,
    state_message      TEXT,
    state_time         BIGINT,
    state_scheduled    BIGINT,
    lease_id           BIGINT,
    history            BYTEA
);
CREATE INDEX task_runs_by_flow_run ON task_runs(flow_run_id, created, id);
CREATE INDEX task_runs_open ON task_runs(lease_id) WHERE end_time IS NULL;

CREATE TABLE task_run_dependencies (
    seq           BIGSERIAL PRIMARY KEY,
    downstream    UUID NOT NULL,
    upstream      UUID NOT NULL,
    upstream_kind BIGINT NOT NULL,
    kind          BIGINT NOT NULL,
    argument      TEXT
);
CREATE INDEX task_run_dependencies_by_downstream ON task_run_dependencies(downstream, seq);

CREATE TABLE logs (
    id          BIGSERIAL PRIMARY KEY,
    flow_run_id UUID,
    task_run_id UUID,
    timestamp   BIGINT NOT NULL,
    level       BIGINT NOT NULL,
    message     TEXT NOT NULL,
    target      TEXT NOT NULL,
    fields      TEXT
);
CREATE INDEX logs_by_flow_run ON logs(flow_run_id, id);
CREATE INDEX logs_by_task_run ON logs(task_run_id, id) WHERE task_run_id IS NOT NULL;

CREATE TABLE run_results (
    run_id      UUID PRIMARY KEY,
    run_kind    BIGINT NOT NULL,
    flow_run_id UUID,
    location    TEXT NOT NULL,
    cache_key   TEXT,
    from_cache  BOOLEAN NOT NULL,
    created     BIGINT NOT NULL
);
CREATE INDEX run_results_by_flow_run ON run_results(flow_run_id, created) WHERE flow_run_id IS NOT NULL;

CREATE TABLE event_batches (
    id     UUID PRIMARY KEY,
    stored BIGINT NOT NULL
);
";

/// Tag concurrency limits and the slots taken of them.
const V2: &str = "
CREATE TABLE concurrency_limits (
    tag          TEXT PRIMARY KEY,
    slot_limit   BIGINT NOT NULL,
    active_slots BIGINT NOT NULL DEFAULT 0,
    created      BIGINT NOT NULL,
    updated      BIGINT NOT NULL
);

CREATE TABLE concurrency_slots (
    holder    UUID NOT NULL,
    tag       TEXT NOT NULL,
    pid       BIGINT NOT NULL,
    host      TEXT NOT NULL,
    boot_id   TEXT,
    pid_start BIGINT,
    acquired  BIGINT NOT NULL,
    PRIMARY KEY (holder, tag)
);
CREATE INDEX concurrency_slots_tag ON concurrency_slots(tag);
";

/// The run queue: deployments, work queues, workers, and what a flow run
/// of a deployment needs besides its recorded states. State code 1 is
/// Scheduled, 8 Crashed (`prefect_store::codes`).
const V3: &str = "
CREATE TABLE deployments (
    id               UUID PRIMARY KEY,
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
    paused           BOOLEAN NOT NULL DEFAULT FALSE,
    created          BIGINT NOT NULL,
    updated          BIGINT NOT NULL,
    UNIQUE (flow_name, name)
);

CREATE TABLE work_queues (
    name              TEXT PRIMARY KEY,
    priority          BIGINT NOT NULL DEFAULT 1,
    concurrency_limit BIGINT,
    paused            BOOLEAN NOT NULL DEFAULT FALSE,
    description       TEXT,
    created           BIGINT NOT NULL
);

CREATE TABLE workers (
    name      TEXT PRIMARY KEY,
    queues    TEXT NOT NULL,
    flows     TEXT NOT NULL,
    labels    TEXT,
    lease_id  BIGINT NOT NULL,
    status    TEXT NOT NULL,
    started   BIGINT NOT NULL,
    heartbeat BIGINT NOT NULL
);

ALTER TABLE flow_runs ADD COLUMN auto_scheduled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE flow_runs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE flow_runs ADD COLUMN resume_input TEXT;
CREATE INDEX flow_runs_queued_by_queue ON flow_runs(work_queue, state_scheduled)
    WHERE state_type = 1 AND lease_id IS NULL AND deployment_id IS NOT NULL;
CREATE INDEX flow_runs_by_deployment ON flow_runs(deployment_id, expected_start)
    WHERE deployment_id IS NOT NULL;
CREATE INDEX flow_runs_crashed ON flow_runs(end_time)
    WHERE state_type = 8 AND deployment_id IS NOT NULL;
CREATE INDEX flow_runs_started_by_queue ON flow_runs(work_queue)
    WHERE end_time IS NULL AND lease_id IS NOT NULL AND deployment_id IS NOT NULL;
";

/// The lease a slot's process renews: a slot whose lease lapsed (its
/// process died on another machine, or lost the database) is freed.
const V4: &str = "
ALTER TABLE concurrency_slots ADD COLUMN lease_id BIGINT;
";

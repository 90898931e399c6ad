//! Transactions, as in Prefect 3: task runs whose work stands or falls
//! together.
//!
//! [`transaction(key, body)`](transaction) runs `body` (any future giving a
//! `Result`). Inside it, the result records the task runs write are
//! *staged*, not stored: they are written together when the body returns
//! `Ok`, and the tasks' `on_commit` hooks then run, in the order the runs
//! ended. When the body returns `Err`, panics, or its future is dropped,
//! the staged records are discarded, every task run of the transaction
//! that had completed gets the state `RolledBack` (type Completed), and the
//! tasks' `on_rollback` hooks run, newest first, to undo what the runs did.
//!
//! Task runs inside a transaction see its staged records (a cached task
//! called twice is served from the first call's uncommitted record); code
//! outside sees only what was committed.
//!
//! A transaction inside another commits into it: its records and runs join
//! the outer one, and are written (or rolled back) with it. Rolling back the
//! inner one rolls back only its own work; the error it returns usually
//! rolls back the outer one too.
//!
//! Isolation: [`Isolation::ReadCommitted`] (the default) lets transactions
//! with one key run at once; [`Isolation::Serializable`] holds a lock on the
//! key for the whole transaction (in this process, and across processes on
//! the host when the default result storage is local files), so they run
//! one at a time.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use prefect_core::hooks::hook;
//! use prefect_core::{Task, task_call, transaction::transaction};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let h = prefect_core::testing::harness();
//! let undone = Arc::new(Mutex::new(Vec::new()));
//! let log = undone.clone();
//! let write = Task::new("write_file").on_rollback(hook(move |ctx: &prefect_core::HookContext| {
//!     log.lock().unwrap().push(ctx.transaction_key().unwrap().to_owned());
//! }));
//! let outcome: Result<(), &str> = h
//!     .run(transaction("order-42", async {
//!         task_call(write.clone(), || async { Ok::<_, std::io::Error>(()) }).await.unwrap();
//!         Err("the quality check failed")
//!     }))
//!     .await;
//! assert!(outcome.is_err());
//! assert_eq!(*undone.lock().unwrap(), ["order-42"]);
//! assert_eq!(h.task_runs()[0].states.last().unwrap().name, "RolledBack");
//! # }
//! ```
//!
//! Await the task runs you start inside a transaction before its body
//! returns: a run that ends after the transaction has committed writes its
//! record directly, and one that ends after a rollback is rolled back at
//! once.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use futures::FutureExt;
use prefect_results::{ResultStorage, StorageKey};

use crate::context::{Scope, TaskRunContext};
use crate::engine::io::off_runtime;
use crate::engine::key_locks::{self, KeyGuard};
use crate::engine::run_hooks;
use crate::hooks::{HookContext, HookFn, RunContext};
use crate::record::{Event, StateChange};
use crate::state::{StateMeta, StateType, names};

/// How a transaction treats others with the same key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isolation {
    /// Transactions with one key may run at once; each sees what the
    /// others committed (default).
    #[default]
    ReadCommitted,
    /// One transaction per key at a time: the key is locked while it runs.
    Serializable,
}

/// A transaction's options; [`run`](Transaction::run) runs a body in it.
#[derive(Debug, Clone)]
pub struct Transaction {
    key: Arc<str>,
    isolation: Isolation,
}

/// Runs `body` in a transaction named `key` with the default options
/// (see the [module docs](self)).
pub async fn transaction<F, T, E>(key: impl Into<String>, body: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    Transaction::new(key).run(body).await
}

impl Transaction {
    /// A read-committed transaction named `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Transaction { key: Arc::from(key.into()), isolation: Isolation::default() }
    }

    /// Sets the isolation level.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Runs `body` in the transaction: commits when it gives `Ok`, rolls
    /// back when it gives `Err`, panics (the panic then goes on), or is
    /// dropped before it ends.
    pub async fn run<F, T, E>(self, body: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let scope = Scope::current();
        let state = Arc::new(TxnState::new(self.key, scope.txn.clone()));
        let lock = match self.isolation {
            Isolation::Serializable if !state.held_by_an_ancestor() => Some(lock(&state.key).await),
            _ => None,
        };
        state.locked.store(lock.is_some(), Ordering::Relaxed);
        let mut open = Open(Some(state.clone()));
        let inner = Scope { txn: Some(state.clone()), ..scope };
        let outcome = AssertUnwindSafe(inner.enter(body)).catch_unwind().await;
        open.0 = None;
        match outcome {
            Ok(Ok(value)) => {
                state.commit().await;
                Ok(value)
            }
            Ok(Err(error)) => {
                state.roll_back("its body returned an error");
                Err(error)
            }
            Err(panic) => {
                state.roll_back("its body panicked");
                drop(lock);
                std::panic::resume_unwind(panic)
            }
        }
    }
}

/// The key of the innermost transaction around the current code.
pub(crate) fn current_key() -> Option<Arc<str>> {
    Scope::with_current(|scope| scope.and_then(|s| s.txn.as_ref().map(|t| t.key.clone())))
}

/// Rolls back a transaction whose future is dropped while its body runs.
struct Open(Option<Arc<TxnState>>);

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            state.roll_back("its future was dropped before it ended");
        }
    }
}

/// Takes the lock of a serializable transaction's key, in the result
/// storage runs use by default (a file lock when it is local files).
async fn lock(key: &str) -> KeyGuard {
    let storage = crate::results::storage_for_run();
    let name = StorageKey::new(format!("transactions/{key}")).unwrap_or_else(|_| {
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        StorageKey::new(format!("transactions/{hex}")).expect("hex digits make a valid key")
    });
    key_locks::hold(&storage, &name).await
}

/// One transaction while it runs: what it has staged and who took part.
pub(crate) struct TxnState {
    pub(crate) key: Arc<str>,
    parent: Option<Arc<TxnState>>,
    /// True when this transaction holds its key's lock.
    locked: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    status: Status,
    records: Vec<StagedRecord>,
    members: Vec<Member>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Status {
    #[default]
    Active,
    Committed,
    RolledBack,
}

/// A result record waiting for its transaction to commit.
pub(crate) struct StagedRecord {
    pub(crate) storage: Arc<dyn ResultStorage>,
    pub(crate) key: StorageKey,
    pub(crate) location: String,
    pub(crate) bytes: Arc<[u8]>,
    /// Whether the record is kept in memory once written (local files).
    pub(crate) memo: bool,
}

/// What [`TxnState::stage`] did with a record.
pub(crate) enum Staging {
    /// Held until the transaction commits.
    Held,
    /// The transaction has committed: write it now.
    WriteNow(StagedRecord),
    /// The transaction has rolled back: the record is dropped.
    Discarded,
}

/// A completed task run that belongs to a transaction.
pub(crate) struct Member {
    /// The run's own scope, for its hooks' log lines.
    pub(crate) scope: Scope,
    pub(crate) context: TaskRunContext,
    pub(crate) ended: StateMeta,
    pub(crate) on_commit: Vec<HookFn>,
    pub(crate) on_rollback: Vec<HookFn>,
}

impl TxnState {
    fn new(key: Arc<str>, parent: Option<Arc<TxnState>>) -> Self {
        TxnState { key, parent, locked: AtomicBool::new(false), inner: Mutex::default() }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when an enclosing transaction holds this key's lock already
    /// (taking it again would wait for ourselves).
    fn held_by_an_ancestor(&self) -> bool {
        let mut next = self.parent.as_deref();
        while let Some(txn) = next {
            if txn.key == self.key && txn.locked.load(Ordering::Relaxed) {
                return true;
            }
            next = txn.parent.as_deref();
        }
        false
    }

    /// The bytes of the newest record staged at `location` here or in an
    /// enclosing transaction.
    pub(crate) fn find(&self, location: &str) -> Option<Arc<[u8]>> {
        let own = self.inner().records.iter().rev().find(|r| r.location == location).map(|r| r.bytes.clone());
        own.or_else(|| self.parent.as_ref().and_then(|p| p.find(location)))
    }

    /// Holds `record` until the transaction commits.
    pub(crate) fn stage(&self, record: StagedRecord) -> Staging {
        let mut inner = self.inner();
        match inner.status {
            Status::Active => {
                inner.records.push(record);
                Staging::Held
            }
            Status::RolledBack => Staging::Discarded,
            Status::Committed => {
                drop(inner);
                match &self.parent {
                    Some(parent) => parent.stage(record),
                    None => Staging::WriteNow(record),
                }
            }
        }
    }

    /// Adds a completed run to the transaction (or, once it has ended,
    /// commits or rolls the run back at once).
    pub(crate) fn enlist(&self, member: Member) {
        let mut inner = self.inner();
        match inner.status {
            Status::Active => inner.members.push(member),
            Status::RolledBack => {
                drop(inner);
                member.roll_back(&self.key);
            }
            Status::Committed => {
                drop(inner);
                match &self.parent {
                    Some(parent) => parent.enlist(member),
                    None => member.commit(&self.key),
                }
            }
        }
    }

    /// Commits: into the enclosing transaction, or writes the records and
    /// runs the `on_commit` hooks.
    async fn commit(&self) {
        let (records, members) = {
            let mut inner = self.inner();
            inner.status = Status::Committed;
            (std::mem::take(&mut inner.records), std::mem::take(&mut inner.members))
        };
        if let Some(parent) = &self.parent {
            tracing::debug!("Transaction '{}' committed into '{}'", self.key, parent.key);
            for record in records {
                if let Staging::WriteNow(record) = parent.stage(record) {
                    write(record).await;
                }
            }
            for member in members {
                parent.enlist(member);
            }
            return;
        }
        let count = records.len();
        for record in records {
            write(record).await;
        }
        for member in &members {
            member.commit(&self.key);
        }
        tracing::debug!("Transaction '{}' committed: {count} records, {} task runs", self.key, members.len());
    }

    /// Discards the staged records and rolls back every member run,
    /// newest first.
    fn roll_back(&self, why: &str) {
        let members = {
            let mut inner = self.inner();
            inner.status = Status::RolledBack;
            inner.records.clear();
            std::mem::take(&mut inner.members)
        };
        tracing::warn!(
            "Transaction '{}' rolled back: {why}; {} task runs rolled back",
            self.key,
            members.len()
        );
        for member in members.iter().rev() {
            member.roll_back(&self.key);
        }
    }
}

/// Writes a committed record; a failure is logged, like any result write.
/// Writes a staged record; true once it is stored (a failure is logged).
pub(crate) async fn write(record: StagedRecord) -> bool {
    let StagedRecord { storage, key, location, bytes, memo } = record;
    let written = bytes.clone();
    match off_runtime(move || storage.write(&key, &written)).await {
        Some(Ok(())) => {
            if memo {
                crate::engine::record_memo::put(&location, bytes);
            }
            tracing::debug!("Result persisted to {location}");
            true
        }
        Some(Err(e)) => {
            tracing::error!("Failed to persist the result: {e}");
            false
        }
        None => {
            tracing::error!("Failed to persist the result to {location}: the runtime shut down");
            false
        }
    }
}

impl Member {
    fn hook_context(&self, state: StateMeta, key: &Arc<str>) -> HookContext {
        HookContext {
            run: RunContext::Task(self.context.clone()),
            state,
            error: None,
            transaction: Some(key.clone()),
        }
    }

    fn commit(&self, key: &Arc<str>) {
        if self.on_commit.is_empty() {
            return;
        }
        let ctx = self.hook_context(self.ended.clone(), key);
        self.scope.clone().enter_sync(|| run_hooks(&self.on_commit, &ctx));
    }

    /// Records the run's `RolledBack` state, then runs its `on_rollback` hooks.
    fn roll_back(&self, key: &Arc<str>) {
        let mut state = StateMeta::new(StateType::Completed)
            .named(names::ROLLED_BACK)
            .with_message(format!("Transaction '{key}' was rolled back"));
        state.timestamp = after(self.ended.timestamp);
        self.scope.recorder.record(Event::StateChanged(StateChange {
            run: self.context.id().into(),
            state: state.clone(),
            run_count: self.context.run_count(),
        }));
        if self.on_rollback.is_empty() {
            return;
        }
        let ctx = self.hook_context(state, key);
        self.scope.clone().enter_sync(|| run_hooks(&self.on_rollback, &ctx));
    }
}

/// Now, or just after `ended` when the clock has not moved past it.
fn after(ended: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(ended + TimeDelta::nanoseconds(1))
}

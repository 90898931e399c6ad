//! Transactions: task records committed together, rolled back with
//! on_rollback hooks, nesting, isolation, and what code inside and outside
//! sees.

use std::sync::{Arc, Mutex};

use prefect::prelude::*;
use prefect::results::{CachePolicy, MemoryStorage};
use prefect::testing::{self, Harness};
use prefect::transaction::{Isolation, Transaction, transaction};

/// What the hooks saw, in order.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Tests share EVENTS: each takes this lock for its whole run.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn events() -> Vec<String> {
    std::mem::take(&mut *EVENTS.lock().unwrap())
}

fn committed(ctx: &HookContext) {
    let run = ctx.task_run().unwrap();
    EVENTS.lock().unwrap().push(format!("commit {} in {}", run.task_name(), ctx.transaction_key().unwrap()));
}

fn rolled_back(ctx: &HookContext) {
    let run = ctx.task_run().unwrap();
    assert_eq!(ctx.state().name, "RolledBack");
    EVENTS.lock().unwrap().push(format!("undo {} in {}", run.task_name(), ctx.transaction_key().unwrap()));
}

#[task(on_commit = [committed], on_rollback = [rolled_back])]
async fn write_file(name: String) -> String {
    name
}

#[task(on_commit = [committed], on_rollback = [rolled_back])]
async fn quality_check(ok: bool) -> Result<(), std::io::Error> {
    if ok { Ok(()) } else { Err(std::io::Error::other("the data is bad")) }
}

#[task]
async fn square(x: u64) -> u64 {
    x * x
}

/// An isolated recorder and result storage for one test.
fn env(storage: &Arc<MemoryStorage>) -> (Harness, prefect::env::Env) {
    let h = testing::harness();
    let env = prefect::env::Env::new().recorder(h.recorder()).result_storage(storage.clone());
    (h, env)
}

fn cached_square(storage: &Arc<MemoryStorage>) -> impl Fn(prefect::Task) -> prefect::Task + Copy + '_ {
    move |t| t.cache_policy(CachePolicy::inputs()).result_storage(storage.clone())
}

fn last_state(h: &Harness, task: &str) -> Vec<String> {
    h.task_runs_of(task).iter().map(|r| r.states.last().unwrap().name.to_string()).collect()
}

#[tokio::test]
async fn a_transaction_commits_its_records_together_then_runs_on_commit_hooks() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (h, env) = env(&storage);
    let opts = cached_square(&storage);
    let seen_inside = env
        .run(transaction("nightly", async {
            square(2).with_options(opts).await?;
            write_file("a.txt").await?;
            square(3).with_options(opts).await?;
            // Staged, not stored, until the body returns Ok.
            Ok::<_, prefect::Error>(storage.len())
        }))
        .await
        .unwrap();
    assert_eq!(seen_inside, 0, "nothing is stored before the commit");
    assert_eq!(storage.len(), 2, "both records are stored at the commit");
    assert_eq!(events(), ["commit write_file in nightly"]);
    assert_eq!(last_state(&h, "square"), ["Completed", "Completed"]);
    // Committed records serve later calls as usual.
    let again = env.run(square(3).with_options(opts).return_state()).await;
    assert_eq!(again.name(), "Cached");
}

#[tokio::test]
async fn a_failure_inside_rolls_back_records_and_runs_then_runs_on_rollback_newest_first() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (h, env) = env(&storage);
    let opts = cached_square(&storage);
    let outcome = env
        .run(transaction("order-42", async {
            write_file("first").await?;
            square(4).with_options(opts).await?;
            write_file("second").await?;
            quality_check(false).await?;
            Ok::<_, prefect::Error>(())
        }))
        .await;
    let err = outcome.unwrap_err();
    assert!(err.downcast_ref::<std::io::Error>().is_some(), "the body's own error comes back: {err}");
    assert!(storage.is_empty(), "the staged record was discarded");
    assert_eq!(events(), ["undo write_file in order-42", "undo write_file in order-42"]);
    assert_eq!(last_state(&h, "write_file"), ["RolledBack", "RolledBack"]);
    assert_eq!(last_state(&h, "square"), ["RolledBack"]);
    assert_eq!(last_state(&h, "quality_check"), ["Failed"], "the failed run is not rolled back");
    let first = &h.task_runs_of("write_file")[0];
    let names: Vec<&str> = first.states.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["Pending", "Running", "Completed", "RolledBack"]);
    // Nothing was committed: the same call runs again.
    assert_eq!(env.run(square(4).with_options(opts).return_state()).await.name(), "Completed");
}

#[tokio::test]
async fn runs_inside_see_uncommitted_records_and_runs_outside_do_not() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (h, env) = env(&storage);
    let opts = cached_square(&storage);
    let (inside_ran, go_on) = tokio::sync::oneshot::channel::<()>();
    let (outside_done, outside_seen) = tokio::sync::oneshot::channel::<String>();
    let inside = env.run(transaction("shared", async {
        square(5).with_options(opts).await?;
        let again = square(5).with_options(opts).return_state().await;
        inside_ran.send(()).unwrap();
        let outside = outside_seen.await.unwrap();
        Ok::<_, prefect::Error>((again.name().to_owned(), outside))
    }));
    let outside = async {
        go_on.await.unwrap();
        let state = env.run(square(5).with_options(opts).return_state()).await;
        outside_done.send(state.name().to_owned()).unwrap();
    };
    let (result, ()) = tokio::join!(inside, outside);
    let (again, outside) = result.unwrap();
    assert_eq!(again, "Cached", "a run inside is served from the staged record");
    assert_eq!(outside, "Completed", "a run outside does not see it");
    assert_eq!(h.task_runs_of("square").len(), 3);
}

#[tokio::test]
async fn a_nested_transaction_commits_into_its_parent_and_rolls_back_alone() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (h, env) = env(&storage);
    let opts = cached_square(&storage);
    // The inner one commits into the outer, which then fails: both roll back.
    let outcome = env
        .run(transaction("outer", async {
            write_file("outer-1").await?;
            transaction("inner", async {
                square(6).with_options(opts).await?;
                write_file("inner-1").await
            })
            .await?;
            assert!(storage.is_empty(), "committed into the outer transaction, not stored");
            quality_check(false).await
        }))
        .await;
    assert!(outcome.is_err());
    assert!(storage.is_empty());
    assert_eq!(events(), ["undo write_file in outer", "undo write_file in outer"]);
    assert_eq!(last_state(&h, "square"), ["RolledBack"]);

    // The inner one fails and the outer goes on: only the inner is undone.
    let outcome = env
        .run(transaction("outer", async {
            write_file("kept").await?;
            let inner: Result<(), prefect::Error> = transaction("inner", async {
                write_file("undone").await?;
                quality_check(false).await
            })
            .await;
            assert!(inner.is_err());
            square(7).with_options(opts).await
        }))
        .await;
    assert_eq!(outcome.unwrap(), 49);
    assert_eq!(events(), ["undo write_file in inner", "commit write_file in outer"]);
    assert_eq!(storage.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn serializable_transactions_with_one_key_run_one_at_a_time() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (_h, env) = env(&storage);
    let order = Arc::new(Mutex::new(Vec::new()));
    let body = |name: &'static str, started: Option<tokio::sync::oneshot::Sender<()>>| {
        let order = order.clone();
        async move {
            order.lock().unwrap().push(format!("{name} starts"));
            if let Some(started) = started {
                started.send(()).unwrap();
            }
            // Give the other transaction every chance to run meanwhile.
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
            order.lock().unwrap().push(format!("{name} ends"));
            Ok::<_, prefect::Error>(())
        }
    };
    for isolation in [Isolation::Serializable, Isolation::ReadCommitted] {
        order.lock().unwrap().clear();
        let (started, first_started) = tokio::sync::oneshot::channel();
        let first =
            env.run(Transaction::new("ledger").isolation(isolation).run(body("first", Some(started))));
        let second = async {
            first_started.await.unwrap();
            env.run(Transaction::new("ledger").isolation(isolation).run(body("second", None))).await
        };
        let (a, b) = tokio::join!(first, second);
        a.unwrap();
        b.unwrap();
        let order = order.lock().unwrap().clone();
        match isolation {
            Isolation::Serializable => {
                assert_eq!(order, ["first starts", "first ends", "second starts", "second ends"])
            }
            _ => assert_eq!(order, ["first starts", "second starts", "first ends", "second ends"]),
        }
    }
}

#[tokio::test]
async fn a_nested_serializable_transaction_with_its_parents_key_does_not_wait_for_itself() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (_h, env) = env(&storage);
    let serial = || Transaction::new("ledger").isolation(Isolation::Serializable);
    let value = env
        .run(serial().run(async { serial().run(async { Ok::<_, prefect::Error>(7) }).await }))
        .await
        .unwrap();
    assert_eq!(value, 7);
}

#[tokio::test]
async fn a_panic_or_a_dropped_future_rolls_back() {
    let _serial = SERIAL.lock().await;
    let storage = Arc::new(MemoryStorage::new());
    let (h, env) = env(&storage);
    let panicked = tokio::spawn({
        let env = env.clone();
        async move {
            env.run(transaction("doomed", async {
                write_file("x").await?;
                let fail = true;
                if fail {
                    panic!("boom");
                }
                Ok::<_, prefect::Error>(())
            }))
            .await
        }
    })
    .await;
    assert!(panicked.unwrap_err().is_panic(), "the panic goes on");
    assert_eq!(events(), ["undo write_file in doomed"]);

    let (_never, pending) = tokio::sync::oneshot::channel::<()>();
    let (ran, wrote) = tokio::sync::oneshot::channel();
    let dropped = env.run(transaction("abandoned", async {
        write_file("y").await?;
        ran.send(()).unwrap();
        pending.await.ok();
        Ok::<_, prefect::Error>(())
    }));
    tokio::select! {
        _ = dropped => unreachable!("the body waits forever"),
        _ = wrote => {}
    }
    assert_eq!(events(), ["undo write_file in abandoned"]);
    assert_eq!(last_state(&h, "write_file"), ["RolledBack", "RolledBack"]);
}

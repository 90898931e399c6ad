//! Process isolation: a worker runs a claimed flow run in a child process
//! of its own binary, so that a crash (an abort, a segfault in native
//! code) or a body that ignores its timeout cannot take the worker down.
//!
//! The child is the same program started with the same arguments and
//! `PREFECT_WORKER_RUN=<run id>`: when its `serve` or `Worker::run` starts,
//! it runs that one run (already claimed by the parent, so nobody else
//! takes it) and exits. Its states and logs are recorded as in the worker.
//! The parent waits for it: a child that dies before the run ends leaves
//! the run Crashed; one still running after the flow's timeout plus a grace
//! period is killed and the run ends Failed (TimedOut). Cancelling the run
//! sends the child SIGTERM: it cancels the run, whose hooks run.

use std::process::Stdio;
use std::time::Duration;

use prefect_core::entry::ExistingRun;
use prefect_core::{FlowRegistry, FlowRunId, StateMeta, StateType};
use prefect_store::AnyStore;
use tokio_util::sync::CancellationToken;

use crate::Error;

/// The variable that makes a worker's program run one claimed run.
pub(crate) const RUN_ONE: &str = "PREFECT_WORKER_RUN";

/// How claimed runs execute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isolation {
    /// In the worker's process, as a task of its runtime (the default).
    #[default]
    InProcess,
    /// In a child process of the worker's own binary, one per run.
    Process,
}

/// How long a child may outlive its flow's timeout before it is killed, by
/// default.
pub(crate) const HARD_TIMEOUT_GRACE: Duration = Duration::from_secs(10);

/// The run this process was started to run, if it was.
pub(crate) fn assigned_run() -> Option<String> {
    std::env::var(RUN_ONE).ok().filter(|id| !id.is_empty())
}

/// In the child: runs the claimed run `id` and returns its final state.
pub(crate) async fn run_assigned(
    store: &AnyStore,
    registry: &FlowRegistry,
    id: &str,
) -> Result<StateType, Error> {
    let id: FlowRunId =
        id.parse::<uuid::Uuid>().map(FlowRunId).map_err(|_| Error::InvalidRunAssignment(id.to_owned()))?;
    let detail = store.inspect_flow_run(id, 0).await?;
    let call = match registry.call(&detail.run.flow_name, detail.parameters.clone()) {
        Ok(call) => call,
        Err(error) => {
            let failed = StateMeta::new(StateType::Failed).with_message(error.to_string());
            store.set_flow_run_state(id, &failed, &[StateType::Pending]).await?;
            return Ok(StateType::Failed);
        }
    };
    let cancel = CancellationToken::new();
    listen_for_terminate(cancel.clone());
    let existing =
        ExistingRun { id, name: detail.run.name, runs_before: detail.run.run_count, cancel: Some(cancel) };
    Ok(call.existing_run(existing).return_state().await.state_type())
}

/// SIGTERM (from the parent worker) cancels the run.
fn listen_for_terminate(cancel: CancellationToken) {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        tokio::spawn(async move {
            if term.recv().await.is_some() {
                cancel.cancel();
            }
        });
    }
    #[cfg(not(unix))]
    let _ = cancel;
}

/// In the parent: runs `run` in a child process and waits for it; returns
/// the run's final state as stored.
pub(crate) async fn run_in_child(
    store: AnyStore,
    run: FlowRunId,
    timeout: Option<Duration>,
    kill_grace: Duration,
    cancel: CancellationToken,
) -> StateType {
    let spawned = std::env::current_exe().and_then(|exe| {
        tokio::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(RUN_ONE, run.to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let message = format!("could not start a process for the run: {error}");
            return end_if_open(&store, run, StateMeta::new(StateType::Crashed).with_message(message)).await;
        }
    };
    let hard_limit = timeout.map(|t| t + kill_grace);
    let sleep = async {
        match hard_limit {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    let mut asked_to_cancel = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = cancel.cancelled(), if !asked_to_cancel => {
                asked_to_cancel = true;
                terminate(&child);
            }
            () = &mut sleep => {
                let _ = child.kill().await;
                let limit = hard_limit.unwrap_or_default();
                let message = format!("killed: still running {} after its timeout", humantime::format_duration(limit - timeout.unwrap_or_default()));
                let timed_out = StateMeta::new(StateType::Failed).named(prefect_model::state::names::TIMED_OUT).with_message(message);
                return end_if_open(&store, run, timed_out).await;
            }
        }
    };
    let message = match status {
        Ok(status) if status.success() => "its process ended before the run did".to_owned(),
        Ok(status) => format!("its process ended with {status}"),
        Err(error) => format!("waiting for its process failed: {error}"),
    };
    end_if_open(&store, run, StateMeta::new(StateType::Crashed).with_message(message)).await
}

fn terminate(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        // SIGTERM: the child cancels the run and exits.
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    #[cfg(not(unix))]
    let _ = child;
}

/// Moves `run` into `state` unless it has ended; returns its final state.
async fn end_if_open(store: &AnyStore, run: FlowRunId, state: StateMeta) -> StateType {
    let open = [
        StateType::Scheduled,
        StateType::Pending,
        StateType::Running,
        StateType::Paused,
        StateType::Cancelling,
    ];
    let _ = store.set_flow_run_state(run, &state, &open).await;
    match store.inspect_flow_run(run, 0).await {
        Ok(detail) => detail.run.state.map_or(StateType::Crashed, |s| s.state_type),
        Err(_) => StateType::Crashed,
    }
}

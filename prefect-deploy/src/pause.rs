//! Pausing a flow run until someone resumes it: [`pause_flow_run`], and
//! [`pause_flow_run_with_input`] for a typed answer (the approval step of a
//! pipeline). `prefect flow-run resume RUN [--input JSON]` resumes it.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use prefect_core::{StateMeta, StateType};
use prefect_store::control::INPUT_ACCEPTED;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::run_deployment::shared_store;

/// How often a paused flow reads the store's change counter.
const POLL: Duration = Duration::from_millis(50);

/// Pauses the current flow run: it goes Paused, and this waits until
/// `prefect flow-run resume` resumes it (it goes Running again), or
/// `timeout` passes.
///
/// # Errors
/// [`Error::NotInFlow`] outside a flow; [`Error::PauseTimedOut`] when
/// nobody resumed it in time: returned with `?`, the run ends Failed with a
/// message that says so.
pub async fn pause_flow_run(timeout: Duration) -> Result<(), Error> {
    pause(timeout, "", |_| Ok(())).await
}

/// Pauses the current flow run until it is resumed with an input that
/// reads as `T` (`prefect flow-run resume RUN --input '{"approved": true}'`),
/// and gives it. An input that does not read is refused: the run goes back
/// to Paused with a message naming the field, and waits on (the CLI reports
/// the refusal).
///
/// # Errors
/// As [`pause_flow_run`].
pub async fn pause_flow_run_with_input<T: DeserializeOwned>(timeout: Duration) -> Result<T, Error> {
    let expects = format!("; resume with --input: a JSON `{}`", short_type_name::<T>());
    let mut value = None;
    pause(timeout, &expects, |input| {
        let input = input.ok_or_else(|| "an input is needed".to_owned())?;
        value = Some(serde_json::from_value::<T>(input).map_err(|e| e.to_string())?);
        Ok(())
    })
    .await?;
    value.ok_or(Error::NotInFlow)
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

async fn pause(
    timeout: Duration,
    expects: &str,
    mut accept: impl FnMut(Option<serde_json::Value>) -> Result<(), String>,
) -> Result<(), Error> {
    let context = prefect_core::context::flow_run().map_err(|_| Error::NotInFlow)?;
    let run = context.id();
    // The store must hold the run's Running state before its Paused one.
    prefect_core::record::flush_current().await;
    let store = shared_store()?;
    let until = Utc::now() + TimeDelta::from_std(timeout).unwrap_or(TimeDelta::MAX);
    let paused = |message: String| StateMeta::new(StateType::Paused).with_message(message);
    let waiting = format!("paused until resumed, or until {}{expects}", until.to_rfc3339());
    let active = [StateType::Running, StateType::Pending];
    if store.set_flow_run_state(run, &paused(waiting.clone()), &active).await?.is_none() {
        let state = store.inspect_flow_run(run, 0).await?.run.state;
        return Err(Error::CannotPause { run, state: state.map(|s| s.name.to_string()).unwrap_or_default() });
    }
    tracing::info!("flow run paused; resume it with `prefect flow-run resume {run}`");
    let deadline = tokio::time::Instant::now() + timeout;
    let mut counter = None;
    loop {
        let changed = match store.change_counter().await? {
            Some(now) => counter.replace(now) != Some(now),
            None => true,
        };
        if changed && let Some(state) = store.inspect_flow_run(run, 0).await?.run.state {
            match state.state_type {
                StateType::Paused => {}
                StateType::Running => {
                    let input = store.take_resume_input(run).await?;
                    let had_input = input.is_some();
                    match accept(input) {
                        Ok(()) => {
                            if had_input {
                                // What `prefect flow-run resume --input` waits for.
                                let accepted =
                                    StateMeta::new(StateType::Running).with_message(INPUT_ACCEPTED);
                                store.set_flow_run_state(run, &accepted, &[StateType::Running]).await?;
                            }
                            tracing::info!("flow run resumed");
                            return Ok(());
                        }
                        Err(reason) => {
                            tracing::warn!("resume input refused: {reason}");
                            let refused = paused(format!("input refused: {reason}; {waiting}"));
                            store.set_flow_run_state(run, &refused, &[StateType::Running]).await?;
                        }
                    }
                }
                // Cancelled or ended from outside: the engine's own state follows.
                _ => return Ok(()),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::PauseTimedOut { run, timeout });
        }
        crate::wake::nap(store, counter, POLL, Some(deadline)).await;
    }
}

//! `GET /api/flow_runs/{id}/events`: a run's states and log lines as
//! Server-Sent Events, as they are recorded, until it has ended.
//!
//! Each event is `state` (the run's current state, sent when it changes),
//! `tasks` (`{"count": n, "states": {"COMPLETED": n, ...}}`: how many task
//! runs it has in each state, sent when that changes; the page then reads
//! its graph again) or `log` (a line, with its cursor as the event id, so a
//! client that reconnects with `Last-Event-ID` misses nothing and sees
//! nothing twice).
//! The stream ends after the final state and the lines recorded before it.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use prefect_model::{FlowRunId, StateMeta};
use prefect_store::{AnyStore, LogCursor, LogFilter};

use crate::api::{on_store, parse_id};
use crate::error::ApiError;

/// How often the store is asked whether anything changed (a cheap read of
/// its change counter; the queries run only when it moved).
const POLL: Duration = Duration::from_millis(100);
/// Log lines read per query.
const PAGE: usize = 500;

/// Where a stream is.
struct Follow {
    store: AnyStore,
    run: FlowRunId,
    after: Option<LogCursor>,
    state: Option<StateMeta>,
    /// Its task runs' count in each state, when last sent.
    tasks: Option<(u64, Vec<(prefect_model::StateType, u64)>)>,
    /// The store's change counter when last read (`None`: it cannot tell).
    seen: Option<u64>,
    /// Events read but not yet sent.
    ready: std::collections::VecDeque<Event>,
    /// The run has ended and every line before its end was sent.
    done: bool,
    /// Nothing was read yet: read without waiting.
    first: bool,
    /// When the page was last read again.
    read_at: tokio::time::Instant,
}

/// The handler.
#[utoipa::path(get, path = "/api/flow_runs/{id}/events", tag = "flow runs",
    params(("id" = String, Path, description = "The flow run's id"), ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this line")),
    responses((status = 200, description = "`text/event-stream`: `state` and `log` events until the run has ended", content_type = "text/event-stream"), (status = 404, description = "No such run")))]
pub(crate) async fn events(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let run = FlowRunId(parse_id(&id)?);
    // Unknown runs are a 404 now, not an empty stream.
    on_store(&store, move |s| s.inspect_flow_run(run, 0)).await?;
    let after = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(text) => Some(LogCursor(
            text.parse().map_err(|_| ApiError::bad("Last-Event-ID", format!("not a cursor: `{text}`")))?,
        )),
        None => None,
    };
    let follow = Follow {
        store,
        run,
        after,
        state: None,
        tasks: None,
        seen: None,
        ready: Default::default(),
        done: false,
        first: true,
        read_at: tokio::time::Instant::now(),
    };
    let stream = futures::stream::unfold(follow, |mut follow| async move {
        loop {
            if let Some(event) = follow.ready.pop_front() {
                return Some((Ok(event), follow));
            }
            if follow.done {
                return None;
            }
            if let Err(error) = follow.read().await {
                tracing::warn!(?error, run = %follow.run, "following a run failed");
                return None;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

impl Follow {
    /// Waits until the store changed (unless this is the first read), then
    /// queues the new state and lines.
    async fn read(&mut self) -> Result<(), ApiError> {
        if !self.first {
            self.wait_for_change().await?;
        }
        self.first = false;
        let run = self.run;
        // The state first: lines recorded before a final state are read
        // after it, so none is left out when the stream ends.
        let detail = on_store(&self.store, move |s| s.inspect_flow_run(run, 0)).await?;
        let state = detail.run.state;
        let ended = state.as_ref().is_some_and(StateMeta::is_final);
        loop {
            let mut filter = LogFilter::of(run).limit(PAGE);
            if let Some(after) = self.after {
                filter = filter.after(after);
            }
            let lines =
                on_store(&self.store, move |s| Box::pin(async move { s.logs(&filter).await })).await?;
            let full = lines.len() == PAGE;
            for line in lines {
                self.after = Some(line.cursor);
                let data = serde_json::to_string(&line.record).map_err(|_| ApiError::Internal)?;
                self.ready.push_back(Event::default().event("log").id(line.cursor.0.to_string()).data(data));
            }
            if !full {
                break;
            }
        }
        let tasks = Some((detail.task_run_count, detail.task_run_states));
        if tasks != self.tasks {
            let (count, states) = tasks.as_ref().map(|(n, s)| (*n, s.as_slice())).unwrap_or_default();
            let states: serde_json::Map<String, serde_json::Value> =
                states.iter().map(|(state, n)| (state.as_str().to_owned(), (*n).into())).collect();
            let data = serde_json::json!({ "count": count, "states": states }).to_string();
            self.ready.push_back(Event::default().event("tasks").data(data));
            self.tasks = tasks;
        }
        if state != self.state {
            if let Some(state) = &state {
                let data = serde_json::to_string(state).map_err(|_| ApiError::Internal)?;
                self.ready.push_back(Event::default().event("state").data(data));
            }
            self.state = state;
        }
        self.done = ended;
        Ok(())
    }

    /// Returns once the store's change counter moves (or after one poll when
    /// the store cannot tell). A store that is told of changes (PostgreSQL)
    /// wakes the stream when one comes rather than at the next poll; either
    /// way the page is read at most once per [`POLL`].
    async fn wait_for_change(&mut self) -> Result<(), ApiError> {
        loop {
            match self.seen {
                // Short waits: a stream whose page was closed ends soon.
                Some(seen) => match self.store.wait_for_change(seen, Duration::from_secs(5)).await {
                    Ok(Some(_)) => {}
                    _ => tokio::time::sleep(POLL).await,
                },
                None => tokio::time::sleep(POLL).await,
            }
            tokio::time::sleep_until(self.read_at + POLL).await;
            let now = on_store(&self.store, |s| s.change_counter()).await?;
            if now.is_none() || now != self.seen {
                self.seen = now;
                self.read_at = tokio::time::Instant::now();
                return Ok(());
            }
        }
    }
}

/// How often the runs list's stream looks at the change counter.
const LIST_POLL: Duration = Duration::from_millis(500);
/// How long one runs-list stream lasts; the browser's `EventSource`
/// reconnects by itself, so no stream is held open for ever.
const LIST_STREAM_FOR: Duration = Duration::from_secs(600);

/// `GET /api/flow_runs/changes`: a `changed` event whenever the store has
/// changed (at most every half second; every 5 s for a store that cannot
/// tell), for the runs list to read its page again.
#[utoipa::path(get, path = "/api/flow_runs/changes", tag = "flow runs",
    responses((status = 200, description = "`text/event-stream`: a `changed` event when anything was recorded; ends after 10 minutes (clients reconnect)", content_type = "text/event-stream")))]
pub(crate) async fn changes(
    State(store): State<AnyStore>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let first = on_store(&store, |s| s.change_counter()).await?;
    let until = tokio::time::Instant::now() + LIST_STREAM_FOR;
    let stream = futures::stream::unfold((store, first), move |(store, mut seen)| async move {
        loop {
            let pause = if seen.is_some() { LIST_POLL } else { Duration::from_secs(5) };
            if tokio::time::Instant::now() + pause > until {
                return None;
            }
            tokio::time::sleep(pause).await;
            let now = match on_store(&store, |s| s.change_counter()).await {
                Ok(now) => now,
                Err(error) => {
                    tracing::warn!(?error, "watching the runs failed");
                    return None;
                }
            };
            if now.is_none() || now != seen {
                seen = now;
                let event =
                    Event::default().event("changed").data(now.map_or_else(String::new, |n| n.to_string()));
                return Some((Ok(event), (store, seen)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

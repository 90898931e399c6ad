//! [`Sender`]: hands event batches to the server, or to the spool when the
//! server does not answer, and sends the spool in order once it does.
//!
//! Order is what keeps a run's history right (a state event for a run the
//! server has not seen created is ignored), so once anything is spooled,
//! every later batch goes to the spool too, behind it, until the spool is
//! empty again. Each batch carries an id the server stores with it, so a
//! batch sent again because its answer was lost is stored once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prefect_model::{Event, RunId};
use prefect_store::{BatchId, Error, LeaseId, Result};
use reqwest::Method;
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::client::{CallError, Client};
use crate::spool::{Entry, Spool};

/// The first wait before sending again to a server that did not answer;
/// it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What a sender's spool and lease are.
#[derive(Debug)]
struct State {
    spool: Spool,
    /// The server's lease for the spool's owner, once taken.
    lease: Option<LeaseId>,
    ttl: Duration,
}

/// Sends the batches of one recorder (this process's, or an orphaned
/// spool's).
#[derive(Debug)]
pub(crate) struct Sender {
    client: Arc<Client>,
    state: Mutex<State>,
    /// True while batches go to the spool.
    spooling: watch::Sender<bool>,
    /// Wakes the task that sends the spool.
    wake: Notify,
    /// Batches sent from the spool in the current outage.
    resent: AtomicU64,
    /// An orphan's sender stops when its spool is empty.
    orphan: bool,
}

impl Sender {
    /// A sender for `spool`, with the task that sends it once the server
    /// answers (started now, idle until something is spooled). An
    /// orphan's sender starts sending at once.
    pub(crate) fn start(client: Arc<Client>, spool: Spool, ttl: Duration, orphan: bool) -> Arc<Sender> {
        let sender = Arc::new(Sender {
            client,
            state: Mutex::new(State { spool, lease: None, ttl }),
            spooling: watch::Sender::new(orphan),
            wake: Notify::new(),
            resent: AtomicU64::new(0),
            orphan,
        });
        sender.client.handle().spawn(sender.clone().send_spool());
        sender
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_spooling(&self) -> bool {
        *self.spooling.borrow()
    }

    /// The lease the server gave, or a stand-in while it has given none
    /// (batches are sent under the real one).
    pub(crate) async fn lease(&self) -> LeaseId {
        self.ensure_lease().await.unwrap_or(LeaseId(0))
    }

    /// Sets how long the lease lasts without renewal.
    pub(crate) fn set_ttl(&self, ttl: Duration) {
        self.state().ttl = ttl;
    }

    /// The server's lease for this sender's owner, taken if need be.
    async fn ensure_lease(&self) -> Result<LeaseId, CallError> {
        let (owner, ttl) = {
            let state = self.state();
            if let Some(lease) = state.lease {
                return Ok(lease);
            }
            (state.spool.owner().clone(), state.ttl)
        };
        let body = json!({ "owner": owner, "ttl_ms": millis(ttl) });
        let answer = self.client.call(Method::POST, "/leases", Some(body.to_string().into_bytes())).await?;
        let id = answer["lease"]["id"].as_i64().ok_or_else(|| CallError::Refused {
            status: reqwest::StatusCode::BAD_GATEWAY,
            message: format!("a lease answer without an id: {answer}"),
        })?;
        self.state().lease = Some(LeaseId(id));
        Ok(LeaseId(id))
    }

    /// Stores `events` on the server, or in the spool when it does not
    /// answer: either way they are kept when this returns `Ok`.
    pub(crate) async fn write(&self, events: &[Event]) -> Result<()> {
        let json = serde_json::to_vec(events).map_err(|e| Error::InvalidArgument {
            what: "run events",
            reason: format!("they do not serialize: {e}"),
        })?;
        let id = BatchId::new();
        if self.is_spooling() && self.spool_batch(id, &json, None)? {
            return Ok(());
        }
        match self.send_batch(id, &json).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_unreachable() || e.is_unauthorized() => {
                self.spool_batch(id, &json, Some(&e)).map(drop)
            }
            Err(e) => Err(e.into_store_error(self.client.api())),
        }
    }

    /// Appends a batch to the spool if batches are being spooled, or
    /// (`why` given) starts spooling with it; false when nothing was
    /// spooled (the spool emptied meanwhile: send it directly). Under the
    /// state's lock, as the sending task's "empty, stop spooling", so a
    /// batch is never left outside both.
    fn spool_batch(&self, id: BatchId, json: &[u8], why: Option<&CallError>) -> Result<bool> {
        let mut state = self.state();
        match why {
            Some(why) => self.begin_spooling(&state, why),
            None if !self.is_spooling() => return Ok(false),
            None => {}
        }
        state.spool.push_batch(id, json).map_err(|e| self.spool_error(&state.spool, e))?;
        drop(state);
        self.wake.notify_one();
        Ok(true)
    }

    fn spool_error(&self, spool: &Spool, error: std::io::Error) -> Error {
        Error::Open { path: spool.dir().to_owned(), source: Box::new(error) }
    }

    /// From now on batches go to the spool, until it is sent (called with
    /// the state locked).
    fn begin_spooling(&self, state: &State, why: &CallError) {
        if self.spooling.send_replace(true) {
            return;
        }
        let reason = match why {
            CallError::Unreachable(reason) => format!("cannot be reached ({reason})"),
            CallError::Refused { status, message } => format!("refuses the API key ({status}: {message})"),
        };
        tracing::warn!(
            "the server at `{}` {reason}; run events are kept in `{}` and sent when it answers",
            self.client.api(),
            state.spool.dir().display(),
        );
    }

    async fn send_batch(&self, id: BatchId, events: &[u8]) -> Result<(), CallError> {
        let lease = self.ensure_lease().await?;
        let mut body = Vec::with_capacity(events.len() + 80);
        body.extend_from_slice(format!(r#"{{"batch":"{id}","lease":{},"events":"#, lease.0).as_bytes());
        body.extend_from_slice(events);
        body.push(b'}');
        self.client.call(Method::POST, "/events", Some(body)).await.map(drop)
    }

    /// Extends the lease; a server that does not answer now is asked at
    /// the next renewal (batches keep going to the spool meanwhile).
    pub(crate) async fn renew(&self) -> Result<bool> {
        let (lease, owner, ttl) = {
            let state = self.state();
            (state.lease, state.spool.owner().clone(), state.ttl)
        };
        let Some(lease) = lease else {
            let _ = self.ensure_lease().await;
            return Ok(true);
        };
        let body = json!({ "owner": owner, "ttl_ms": millis(ttl) });
        let path = format!("/leases/{}", lease.0);
        match self.client.call(Method::PUT, &path, Some(body.to_string().into_bytes())).await {
            Ok(answer) => Ok(answer["renewed"].as_bool().unwrap_or(true)),
            Err(e) if e.is_unreachable() => Ok(true),
            Err(e) => Err(e.into_store_error(self.client.api())),
        }
    }

    /// The recorder closed: releases the lease (its unfinished runs are
    /// marked Crashed), after the spool when there is one, waiting for the
    /// spool up to `wait`; what is left stays on disk for the next
    /// recorder to send.
    pub(crate) async fn release(self: Arc<Self>, wait: Duration) -> Result<Vec<RunId>> {
        let mut why = None;
        if !self.is_spooling() {
            match self.release_now().await {
                Ok(crashed) => return Ok(crashed),
                Err(e) if e.is_unreachable() || e.is_unauthorized() => why = Some(e),
                Err(e) => return Err(e.into_store_error(self.client.api())),
            }
        }
        {
            let mut state = self.state();
            // Spooling again, or still: the release goes behind the batches.
            let why = why.unwrap_or_else(|| CallError::Unreachable("the spool is being sent".into()));
            self.begin_spooling(&state, &why);
            state.spool.push_release().map_err(|e| self.spool_error(&state.spool, e))?;
        }
        self.wake.notify_one();
        let this = self.clone();
        let drained = self.client.handle().spawn(async move {
            let mut spooling = this.spooling.subscribe();
            tokio::time::timeout(wait, spooling.wait_for(|s| !*s)).await.is_ok()
        });
        if !drained.await.unwrap_or(false) {
            let state = self.state();
            let left = state.spool.entries().map(|e| e.len()).unwrap_or(0);
            tracing::warn!(
                "{left} batches of run events could not be sent to `{}` yet; they are kept in `{}` \
                 and sent by the next program that records to that server",
                self.client.api(),
                state.spool.dir().display(),
            );
        }
        Ok(Vec::new())
    }

    async fn release_now(&self) -> Result<Vec<RunId>, CallError> {
        let Some(lease) = self.state().lease.take() else { return Ok(Vec::new()) };
        let answer = self.client.call(Method::DELETE, &format!("/leases/{}", lease.0), None).await;
        match answer {
            Ok(answer) => Ok(serde_json::from_value(answer["crashed"].clone()).unwrap_or_default()),
            Err(e) => {
                // Not released: the spooled release entry sends it again.
                self.state().lease = Some(lease);
                Err(e)
            }
        }
    }

    /// The task that sends the spool, oldest entry first, waiting with
    /// backoff while the server does not answer.
    async fn send_spool(self: Arc<Self>) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let next = {
                let mut state = self.state();
                match state.spool.entries() {
                    Ok(entries) if entries.is_empty() => {
                        state.spool.remove_if_done();
                        if self.spooling.send_replace(false) {
                            self.report_sent();
                        }
                        None
                    }
                    Ok(entries) => Some(entries[0].clone()),
                    Err(e) => {
                        tracing::error!(dir = %state.spool.dir().display(), "cannot read the spool: {e}");
                        None
                    }
                }
            };
            let Some(path) = next else {
                if self.orphan {
                    let _ = self.release_now().await;
                    return;
                }
                self.wake.notified().await;
                continue;
            };
            let entry = match self.state().spool.read(&path) {
                Ok(Some(entry)) => entry,
                Ok(None) => continue,
                Err(e) => {
                    self.state().spool.reject(&path, &format!("it cannot be read ({e})"));
                    continue;
                }
            };
            let sent = match &entry {
                Entry::Batch { id, events } => self.send_batch(*id, events).await,
                Entry::Release => self.release_now().await.map(drop),
            };
            match sent {
                Ok(()) => {
                    backoff = FIRST_BACKOFF;
                    self.resent.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = self.state().spool.remove(&path) {
                        tracing::error!(file = %path.display(), "cannot delete a sent batch ({e}); it will be sent again, and stored once");
                    }
                }
                Err(e @ CallError::Refused { .. }) if !e.is_unauthorized() => {
                    let why = format!("the server refused it ({})", e.into_store_error(self.client.api()));
                    self.state().spool.reject(&path, &why);
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn report_sent(&self) {
        let sent = self.resent.swap(0, Ordering::Relaxed);
        if sent > 0 {
            tracing::info!(
                "the server at `{}` answers again; {sent} spooled batches were sent",
                self.client.api()
            );
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

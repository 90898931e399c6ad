//! The change counters, moved by `LISTEN/NOTIFY`: every write transaction
//! notifies the store's channel, saying whether it changed the run queue,
//! and a connection of its own listens to it, so a waiting worker wakes as
//! soon as a run is queued anywhere, with no polling delay, and is not
//! woken by every state another worker records.
//!
//! The listener starts on the first call that needs it (workers, a server
//! following runs); a store that only records never opens it. When its
//! connection is lost it reconnects with backoff and moves the counter
//! once it listens again (notifications sent meanwhile were lost), so a
//! waiter looks at the queue again.

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

/// The first wait before reconnecting, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What a write changed, as its notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Runs or states recorded: what pages following runs, and callers
    /// waiting for a run's end, look at.
    Record,
    /// The run queue too: runs queued or sent back to it, a cancellation
    /// asked for, a queue or deployment changed, a flow run ended (room in a
    /// limited queue). Waiting workers wake for these only.
    Queue,
}

impl Change {
    pub(crate) fn payload(self) -> &'static str {
        match self {
            Change::Record => "r",
            Change::Queue => "q",
        }
    }
}

/// The counters, and the listener that moves them.
pub(crate) struct Changes {
    /// Moved by every change.
    counter: watch::Sender<u64>,
    /// Moved by changes of the run queue.
    queue: watch::Sender<u64>,
    /// The channel every write notifies (one per schema: stores sharing a
    /// database do not wake each other).
    channel: String,
    listening: OnceLock<()>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl Changes {
    /// The counter of the tables in `schema`.
    pub(crate) fn new(schema: &str) -> Changes {
        // Quoted: a schema named in the URL may hold any character. The
        // server cuts identifiers at 63 bytes, for the listener and the
        // writers alike.
        let channel = format!("\"prefect_changes_{}\"", schema.replace('"', "\"\""));
        Changes {
            counter: watch::channel(0).0,
            queue: watch::channel(0).0,
            channel,
            listening: OnceLock::new(),
        }
    }

    /// The channel writes notify.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// Counts a write made through this store (its own notification comes
    /// back later, through the listener).
    pub(crate) fn bump(&self, kind: Change) {
        bump(&self.counter, &self.queue, kind);
    }

    /// The counter of `kind` now, starting the listener on `runtime` if it
    /// is not running yet.
    pub(crate) fn current(
        &self,
        kind: Change,
        runtime: &tokio::runtime::Handle,
        config: &tokio_postgres::Config,
    ) -> u64 {
        self.listening.get_or_init(|| {
            let counters = (self.counter.clone(), self.queue.clone());
            runtime.spawn(listen(config.clone(), self.channel.clone(), counters));
        });
        *self.sender(kind).borrow()
    }

    /// A receiver of the counter of `kind`, for waiting on its next change.
    pub(crate) fn subscribe(&self, kind: Change) -> watch::Receiver<u64> {
        self.sender(kind).subscribe()
    }

    fn sender(&self, kind: Change) -> &watch::Sender<u64> {
        match kind {
            Change::Record => &self.counter,
            Change::Queue => &self.queue,
        }
    }
}

/// Moves the counter of every change, and the queue's for a queue change.
fn bump(all: &watch::Sender<u64>, queue: &watch::Sender<u64>, kind: Change) {
    all.send_modify(|n| *n = n.wrapping_add(1));
    if kind == Change::Queue {
        queue.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Listens on `channel` for as long as the store lives, reconnecting when
/// the connection is lost.
async fn listen(
    config: tokio_postgres::Config,
    channel: String,
    (all, queue): (watch::Sender<u64>, watch::Sender<u64>),
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (moved, moved_queue) = (all.clone(), queue.clone());
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                let driver = tokio::spawn(async move {
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(note)) => {
                                let kind = if note.payload() == "q" { Change::Queue } else { Change::Record };
                                bump(&moved, &moved_queue, kind);
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the PostgreSQL change listener lost its connection");
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {channel}")).await {
                    Ok(()) => {
                        backoff = FIRST_BACKOFF;
                        // Whatever was sent before this point was not heard.
                        bump(&all, &queue, Change::Queue);
                        let _ = driver.await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the PostgreSQL change listener could not LISTEN");
                        driver.abort();
                    }
                }
                drop(client);
            }
            Err(e) => tracing::debug!(error = %e, "the PostgreSQL change listener cannot connect yet"),
        }
        // Waiters look again while the listener is away.
        bump(&all, &queue, Change::Queue);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

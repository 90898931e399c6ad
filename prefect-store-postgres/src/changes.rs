//! The change counter, moved by `LISTEN/NOTIFY`: every write transaction
//! notifies the store's channel, and a connection of its own listens to it,
//! so a waiting worker wakes as soon as a run is queued anywhere, with no
//! polling delay.
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

/// The counter, and the listener that moves it.
pub(crate) struct Changes {
    counter: watch::Sender<u64>,
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
        Changes { counter: watch::channel(0).0, channel, listening: OnceLock::new() }
    }

    /// The channel writes notify.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// Counts a write made through this store (its own notification comes
    /// back later, through the listener).
    pub(crate) fn bump(&self) {
        self.counter.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The counter now, starting the listener on `runtime` if it is not
    /// running yet.
    pub(crate) fn current(&self, runtime: &tokio::runtime::Handle, config: &tokio_postgres::Config) -> u64 {
        self.listening.get_or_init(|| {
            runtime.spawn(listen(config.clone(), self.channel.clone(), self.counter.clone()));
        });
        *self.counter.borrow()
    }

    /// A receiver of the counter, for waiting on its next change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.counter.subscribe()
    }
}

/// Listens on `channel` for as long as the store lives, reconnecting when
/// the connection is lost.
async fn listen(config: tokio_postgres::Config, channel: String, counter: watch::Sender<u64>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let moved = counter.clone();
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                let driver = tokio::spawn(async move {
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => {
                                moved.send_modify(|n| *n = n.wrapping_add(1))
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
                        counter.send_modify(|n| *n = n.wrapping_add(1));
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
        counter.send_modify(|n| *n = n.wrapping_add(1));
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

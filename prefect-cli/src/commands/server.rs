//! `prefect server start`: the HTTP API over the run database.

use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context as _, Result};
use prefect_server::{ApiKey, Server};

use crate::Ctx;
use crate::db::{display, open_or_create};

/// The environment variable holding the key, when no file is given.
const KEY_VARIABLE: &str = "PREFECT_SERVER_API_KEY";

/// Serves until Ctrl-C or SIGTERM. The first line printed names the
/// address served (with the port the system chose for `--port 0`).
pub(crate) fn start(ctx: &mut Ctx, host: IpAddr, port: u16, key_file: Option<&Path>) -> Result<()> {
    let key = api_key(key_file)?;
    let store = open_or_create(&ctx.db)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut builder = Server::builder(store).host(host).port(port);
        if let Some(key) = key {
            builder = builder.api_key(key);
        }
        let server = builder.bind().await?;
        let stop = stop_signal();
        let addr = server.local_addr();
        ctx.out
            .line(format_args!("serving the API at http://{addr}/api (database: {})", display(&ctx.db)))?;
        ctx.out.flush()?;
        server.serve(stop).await?;
        Ok(())
    })
}

/// The key from `--api-key-file`, else from the environment, else none.
fn api_key(file: Option<&Path>) -> Result<Option<ApiKey>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the API key file {}", file.display()))?;
        let key = ApiKey::new(&text).with_context(|| format!("in the API key file {}", file.display()))?;
        return Ok(Some(key));
    }
    match std::env::var(KEY_VARIABLE) {
        Ok(text) => Ok(Some(ApiKey::new(&text).with_context(|| format!("in ${KEY_VARIABLE}"))?)),
        Err(_) => Ok(None),
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM. The handlers are installed when this is
/// called, before the address is printed: a signal sent as soon as the
/// address is read must stop the server, not kill it.
fn stop_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

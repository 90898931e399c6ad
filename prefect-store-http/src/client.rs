//! [`Client`]: requests to the server's API, on a runtime of the store's
//! own, so that callers on any thread or executor can await them.

use std::future::Future;
use std::time::Duration;

use prefect_store::Error;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no answer it could use.
#[derive(Debug)]
pub(crate) enum CallError {
    /// No connection, a timeout, or a 5xx: worth trying again later.
    Unreachable(String),
    /// The server answered no (4xx), with its message.
    Refused { status: StatusCode, message: String },
}

impl CallError {
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, CallError::Unreachable(_))
    }

    /// The key was missing or wrong: the server turned every call away.
    pub(crate) fn is_unauthorized(&self) -> bool {
        matches!(self, CallError::Refused { status, .. }
            if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN)
    }

    /// As the store's error, naming the server.
    pub(crate) fn into_store_error(self, api: &str) -> Error {
        match self {
            CallError::Unreachable(reason) => Error::Remote {
                url: api.to_owned(),
                reason: format!("could not be reached ({reason})"),
                unreachable: true,
            },
            CallError::Refused { status, message } if status == StatusCode::NOT_FOUND => not_found(&message),
            CallError::Refused { status, message } => Error::Remote {
                url: api.to_owned(),
                reason: format!("answered {}: {message}", status.as_u16()),
                unreachable: false,
            },
        }
    }
}

/// The store's "not found" again from the server's message
/// (`no flow run matches `0193..``), so callers can tell it apart.
fn not_found(message: &str) -> Error {
    let what = ["flow run", "task run", "deployment", "work queue", "run"]
        .into_iter()
        .find(|what| message.starts_with(&format!("no {what} ")))
        .unwrap_or("run");
    let id = message.split('`').nth(1).unwrap_or(message).to_owned();
    Error::NotFound { what, id }
}

/// The server's API at one URL, with the key to send.
#[derive(Debug)]
pub(crate) struct Client {
    api: String,
    key: Option<String>,
    http: reqwest::Client,
    /// Dropped in the background (see `Drop`): a store may be dropped
    /// inside an async context, where a runtime cannot shut down blocking.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Client {
    /// A client of the API at `api` (`http://host:4200/api`).
    pub(crate) fn new(api: &str, key: Option<String>) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("prefect-store-http")
            .enable_all()
            .build()
            .map_err(Error::Thread)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::InvalidArgument { what: "server URL", reason: e.to_string() })?;
        Ok(Client { api: api.trim_end_matches('/').to_owned(), key, http, runtime: Some(runtime) })
    }

    /// The API's URL, for messages.
    pub(crate) fn api(&self) -> &str {
        &self.api
    }

    /// The store's runtime, for its background tasks.
    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("the runtime lives as long as the client").handle()
    }

    /// Sends a request (a JSON `body` when given) and reads the answer's
    /// JSON; runs on the store's runtime whoever awaits it.
    pub(crate) fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> impl Future<Output = Result<Value, CallError>> + Send + 'static {
        let mut request = self.http.request(method, format!("{}{path}", self.api));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        }
        let answer = self.handle().spawn(async move { read(request.send().await).await });
        async move {
            match answer.await {
                Ok(result) => result,
                Err(e) => Err(CallError::Unreachable(format!("the request was dropped: {e}"))),
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The answer's JSON, or why there is none.
async fn read(sent: reqwest::Result<reqwest::Response>) -> Result<Value, CallError> {
    let response = sent.map_err(|e| CallError::Unreachable(describe(&e)))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| CallError::Unreachable(describe(&e)))?;
    if status.is_server_error() {
        return Err(CallError::Unreachable(format!("it answered {}", status.as_u16())));
    }
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let message = value
        .get("error")
        .and_then(Value::as_str)
        .map_or_else(|| String::from_utf8_lossy(&bytes).into_owned(), str::to_owned);
    Err(CallError::Refused { status, message })
}

/// A reqwest error with its causes, on one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_answers_stay_not_found() {
        let error = not_found("no flow run matches `0193ab`");
        assert!(error.is_not_found());
        assert_eq!(error.to_string(), "no flow run matches `0193ab`");
        assert_eq!(not_found("gone").to_string(), "no run matches `gone`");
    }
}

//! The API key: required to listen beyond loopback, sent by clients as a
//! bearer token (or by a signed-in browser as a session cookie, see
//! [`crate::login`]), compared in constant time.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, LOCATION};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Error, Result};
use crate::login;

/// A secret clients must send as `Authorization: Bearer <key>`. Its
/// `Debug` output never shows it.
#[derive(Clone)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// A key; surrounding whitespace (a file's trailing newline) is dropped.
    ///
    /// # Errors
    /// [`Error::EmptyApiKey`] when nothing is left.
    pub fn new(key: &str) -> Result<ApiKey> {
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::EmptyApiKey);
        }
        Ok(ApiKey(Arc::from(key)))
    }

    /// Whether `presented` is this key, in time independent of where they
    /// differ.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        constant_time_eq::constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }

    /// The browser session token of this key (see [`crate::login`]).
    pub(crate) fn session_token(&self) -> String {
        blake3::derive_key("prefect-rs server 2026-12 browser session", self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The token a session's writes echo in `X-CSRF-Token`.
    pub(crate) fn csrf_token(&self) -> String {
        blake3::derive_key("prefect-rs server 2026-12 csrf token", self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn same(a: &str, b: &str) -> bool {
    constant_time_eq::constant_time_eq(a.as_bytes(), b.as_bytes())
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

/// Lets a request through when it carries the key, or when no key is set
/// and the request names a loopback host; else answers 401 without saying
/// what was wrong (403 for a foreign host).
pub(crate) async fn require_key(State(key): State<Option<ApiKey>>, request: Request, next: Next) -> Response {
    let Some(key) = key else {
        let host = request.headers().get(HOST).and_then(|value| value.to_str().ok());
        if !host.is_some_and(is_loopback_host) {
            return ApiError::ForeignHost.into_response();
        }
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if presented.is_some_and(|token| key.matches(token)) {
        return next.run(request).await;
    }
    // A browser signed in at /login: its session cookie, and for a write
    // the CSRF token echoed in a header.
    let headers = request.headers();
    let session = login::cookie(headers, login::SESSION_COOKIE);
    if session.is_some_and(|token| same(token, &key.session_token())) {
        let reads = matches!(*request.method(), Method::GET | Method::HEAD);
        let echoed = headers.get(login::CSRF_HEADER).and_then(|v| v.to_str().ok());
        if reads || echoed.is_some_and(|token| same(token, &key.csrf_token())) {
            return next.run(request).await;
        }
        return ApiError::CsrfTokenMissing.into_response();
    }
    // A page asked for without a session: to the form.
    if presented.is_none() && !request.uri().path().starts_with("/api/") {
        return (StatusCode::SEE_OTHER, [(LOCATION, "/login")]).into_response();
    }
    ApiError::Unauthorized.into_response()
}

/// `localhost`, or a loopback address, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:4200`
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.chars().all(|c| c.is_ascii_digit()) { name } else { host }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST:4200",
            "127.0.0.1",
            "127.0.0.1:4200",
            "[::1]:4200",
            "[::1]",
            "127.1.2.3:80",
        ] {
            assert!(super::is_loopback_host(host), "{host}");
        }
        for host in
            ["evil.example", "evil.example:4200", "10.0.0.1:4200", "localhost.evil.example", "[::2]:80", ""]
        {
            assert!(!super::is_loopback_host(host), "{host}");
        }
    }
}

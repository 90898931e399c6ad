//! The API key: required to listen beyond loopback, sent by clients as a
//! bearer token, compared in constant time.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Error, Result};

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
    fn matches(&self, presented: &str) -> bool {
        constant_time_eq::constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
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
    match presented {
        Some(token) if key.matches(token) => next.run(request).await,
        _ => ApiError::Unauthorized.into_response(),
    }
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

//! The API key: required to listen beyond loopback, sent by clients as a
//! bearer token, compared in constant time.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
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

/// Lets a request through when no key is set or it carries the key; else
/// answers 401 without saying what was wrong.
pub(crate) async fn require_key(State(key): State<Option<ApiKey>>, request: Request, next: Next) -> Response {
    let Some(key) = key else {
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

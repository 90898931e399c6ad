//! The crate's error (starting a server) and the API's error responses.

use std::net::SocketAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not a loopback address and no API key was given:
    /// anyone who can reach it could read and change the run database.
    #[error(
        "refusing to listen on {addr} without an API key: give one (PREFECT_SERVER_API_KEY or --api-key-file), or bind 127.0.0.1"
    )]
    ApiKeyRequired {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// An API key was given but is empty (or only whitespace).
    #[error("the API key is empty")]
    EmptyApiKey,
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The store cannot be read or written now (another process holds it,
    /// say): found at start, before any request.
    #[error("cannot serve the run database: {0}")]
    Store(#[source] prefect_store::Error),
    /// The server failed while serving.
    #[error("the server stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error answered to a request, as `{"error": "...", "field": "..."}`.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A request parameter has a value the API cannot use.
    BadRequest { field: std::borrow::Cow<'static, str>, message: String },
    /// No such object.
    NotFound(String),
    /// The object is not in a state the action applies to.
    Conflict(String),
    /// The API key is missing or wrong (no detail is given).
    Unauthorized,
    /// A keyless server was asked under a name that is not loopback (a
    /// page on another site reaching it through DNS rebinding).
    ForeignHost,
    /// A write with the session cookie but without its CSRF token.
    CsrfTokenMissing,
    /// The store does not do what was asked (a driver without the run
    /// queue, say); the message names the call and the store.
    NotImplemented(String),
    /// The store failed; the detail goes to the server's log, not the client.
    Internal,
}

impl ApiError {
    pub(crate) fn bad(field: impl Into<std::borrow::Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError::BadRequest { field: field.into(), message: message.into() }
    }
}

impl From<prefect_store::Error> for ApiError {
    fn from(error: prefect_store::Error) -> Self {
        use prefect_store::Error as E;
        match error {
            E::NotFound { .. } => ApiError::NotFound(error.to_string()),
            E::WrongState { .. } => ApiError::Conflict(error.to_string()),
            E::UnknownParameter { .. } => ApiError::bad("parameters", error.to_string()),
            E::InputRefused { .. } => ApiError::bad("input", error.to_string()),
            E::InvalidArgument { .. } | E::AmbiguousPrefix { .. } | E::AmbiguousName { .. } => {
                ApiError::bad("id", error.to_string())
            }
            E::Unsupported { .. } => ApiError::NotImplemented(error.to_string()),
            other => {
                tracing::error!(error = %other, "a request failed in the store");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest { field, message } => {
                (StatusCode::BAD_REQUEST, serde_json::json!({ "error": message, "field": field }))
            }
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, serde_json::json!({ "error": message })),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, serde_json::json!({ "error": message })),
            ApiError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "unauthorized" }))
            }
            ApiError::CsrfTokenMissing => (
                StatusCode::FORBIDDEN,
                serde_json::json!({ "error": "a write from a signed-in page must echo its CSRF token" }),
            ),
            ApiError::ForeignHost => (
                StatusCode::FORBIDDEN,
                serde_json::json!({ "error": "a server without an API key answers only to localhost or a loopback address" }),
            ),
            ApiError::NotImplemented(message) => {
                (StatusCode::NOT_IMPLEMENTED, serde_json::json!({ "error": message }))
            }
            ApiError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": "internal error" }))
            }
        };
        (status, Json(body)).into_response()
    }
}

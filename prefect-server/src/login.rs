//! Signing in to a keyed server's pages from a browser, which cannot send
//! the key as a header on its own.
//!
//! `GET /login` is a form; `POST /login` with the right key sets two
//! cookies, both `SameSite=Strict` (a page on another site never gets its
//! requests to carry them):
//!
//! - `prefect_session`, `HttpOnly`: a token derived from the key (BLAKE3
//!   in key-derivation mode), so no session table is kept, and changing
//!   the key signs everyone out;
//! - `prefect_csrf`, readable by the page's script: a second derived token
//!   that every write made with the session cookie must echo in the
//!   `X-CSRF-Token` header (the double-submit rule; a write without it is a
//!   403). Scripts send it; forms on other sites cannot read it.
//!
//! A wrong key is answered like a missing one: back to the form, no
//! detail. `POST /logout` clears both cookies. The cookies are not marked
//! `Secure`: the server speaks plain HTTP, so beyond loopback put a TLS
//! proxy in front of it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::ApiKey;
use crate::error::ApiError;
use crate::ui::page;

/// The cookie holding the session token.
pub(crate) const SESSION_COOKIE: &str = "prefect_session";
/// The cookie holding the token writes echo.
pub(crate) const CSRF_COOKIE: &str = "prefect_csrf";
/// The header writes echo it in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    failed: bool,
}

/// The query of `GET /login`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    failed: Option<String>,
}

/// `GET /login`: the form.
pub(crate) async fn form(Query(query): Query<LoginQuery>) -> Result<Response, ApiError> {
    page(LoginPage { failed: query.failed.is_some() })
}

/// The body of `POST /login`.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    key: String,
}

fn see_other(to: &'static str) -> (StatusCode, HeaderMap) {
    let mut headers = HeaderMap::new();
    headers.insert(LOCATION, HeaderValue::from_static(to));
    (StatusCode::SEE_OTHER, headers)
}

/// `POST /login`: the cookies when the key is right, then the dashboard.
pub(crate) async fn sign_in(State(key): State<Option<ApiKey>>, Form(form): Form<LoginForm>) -> Response {
    let Some(key) = key else {
        // Nothing to sign in to.
        return see_other("/").into_response();
    };
    if !key.matches(form.key.trim()) {
        return see_other("/login?failed=1").into_response();
    }
    let (status, mut headers) = see_other("/");
    for cookie in [
        format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", key.session_token()),
        format!("{CSRF_COOKIE}={}; Path=/; SameSite=Strict", key.csrf_token()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    (status, headers).into_response()
}

/// `POST /logout`: both cookies cleared, then the form.
pub(crate) async fn sign_out() -> Response {
    let (status, mut headers) = see_other("/login");
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        if let Ok(value) = HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Strict")) {
            headers.append(SET_COOKIE, value);
        }
    }
    (status, headers).into_response()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, HeaderValue::from_static("a=1; prefect_session=abc; b=2"));
        headers.append(axum::http::header::COOKIE, HeaderValue::from_static("prefect_csrf=xyz"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "prefect"), None);
    }
}

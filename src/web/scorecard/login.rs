//! Signing in and out, and the extractor that requires it.
//!
//! Browsers cannot send bearer headers on a plain navigation, so the pages
//! also accept the token from the `dqmon_token` cookie set by `/login`.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, FromRequestParts, OriginalUri, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{SCORECARD, encode, error_page, page};
use crate::web::api::{Access, ApiError, ApiState, authenticate, bearer_token, is_token_byte};

/// The cookie holding the token of a signed-in browser.
const COOKIE: &str = "dqmon_token";

/// The access of a signed-in caller: the Authorization header first, else
/// the cookie. Without either, the rejection sends the browser to the login
/// form, which comes back to the page asked for.
pub(super) struct SignedIn(pub Access);

impl FromRequestParts<ApiState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let access = bearer_token(&parts.headers)
            .or_else(|| cookie_token(&parts.headers))
            .and_then(|t| authenticate(&state.config, t));
        match access {
            Some(access) => Ok(SignedIn(access)),
            None => {
                // As the client sent it: under a nested router `parts.uri` lost its prefix.
                let uri = parts
                    .extensions
                    .get::<OriginalUri>()
                    .map_or(&parts.uri, |o| &o.0);
                let here = uri.path_and_query().map_or("/", |p| p.as_str());
                Err(Redirect::to(&format!("/login?next={}", encode(here))).into_response())
            }
        }
    }
}

/// The `dqmon_token` cookie of a request.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// Where to go after signing in: a path on this server only, so a crafted
/// link cannot send a signed-in user elsewhere (`//host` and `/\host` are
/// other hosts to browsers).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => "/",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginForm {
    token: Option<String>,
    /// A path of this server to return to (see [`safe_next`]).
    next: Option<String>,
}

/// `GET /login` shows the form. `GET /login?token=...[&next=/path]` signs in
/// at once and redirects: meant for scripted checks (a headless browser on
/// the command line cannot set a cookie or header itself). A token in a URL
/// lands in access logs and browser history, so people use the form, which
/// POSTs.
pub(super) async fn login_get(
    headers: HeaderMap,
    State(state): State<ApiState>,
    q: Result<Query<LoginForm>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    match q.token {
        Some(token) => sign_in(&state, &headers, &token, q.next.as_deref()),
        None => login_page(StatusCode::OK, None, q.next.as_deref()),
    }
}

pub(super) async fn login_post(
    headers: HeaderMap,
    State(state): State<ApiState>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let f = match form {
        Ok(Form(f)) => f,
        // Too large is the client's to hear; anything else is no token.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return e.into_response(),
        Err(_) => LoginForm::default(),
    };
    sign_in(
        &state,
        &headers,
        f.token.as_deref().unwrap_or(""),
        f.next.as_deref(),
    )
}

fn sign_in(state: &ApiState, headers: &HeaderMap, token: &str, next: Option<&str>) -> Response {
    let token = token.trim();
    // Only tokens that fit a cookie value unchanged can be kept in one.
    let valid = token.bytes().all(is_token_byte) && authenticate(&state.config, token).is_some();
    if !valid {
        return login_page(
            StatusCode::UNAUTHORIZED,
            Some("令牌无效 Invalid token"),
            next,
        );
    }
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{}",
        secure_suffix(headers)
    );
    let mut response = Redirect::to(safe_next(next)).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(v) => {
            response.headers_mut().insert(header::SET_COOKIE, v);
            response
        }
        Err(e) => error_page(ApiError::internal("login cookie", e)),
    }
}

/// `Secure` behind a TLS-terminating proxy that says so; on plain HTTP a
/// browser would drop a Secure cookie and the login would loop.
fn secure_suffix(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

pub(super) async fn logout(headers: HeaderMap) -> Response {
    let cookie = format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure_suffix(&headers)
    );
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn login_page(status: StatusCode, error: Option<&str>, next: Option<&str>) -> Response {
    let next = safe_next(next);
    let body = html! {
        main.login {
            h1 { (SCORECARD) }
            form method="post" action="/login" {
                label for="token" { "访问令牌 Access token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                input type="hidden" name="next" value=(next);
                button type="submit" { "登录 Sign in" }
            }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            p.note { "令牌保存在仅供服务器读取的 Cookie 中。 The token is kept in an HttpOnly cookie." }
        }
    };
    page(status, "登录 Sign in", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            safe_next(Some("/departments/tax?period=2026-Q2")),
            "/departments/tax?period=2026-Q2"
        );
        for other in [
            None,
            Some("//evil.example"),
            Some("/\\evil.example"),
            Some("https://evil.example"),
            Some("/a b"),
        ] {
            assert_eq!(safe_next(other), "/", "{other:?}");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "theme=dark; dqmon_token= abc ; x=y".parse().unwrap(),
        );
        assert_eq!(cookie_token(&h), Some("abc"));
        h.insert(header::COOKIE, "dqmon_tokenx=abc".parse().unwrap());
        assert_eq!(cookie_token(&h), None);
    }
}

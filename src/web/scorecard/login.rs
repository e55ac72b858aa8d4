//! Signing in and out, and the extractor that requires it.
//!
//! Browsers cannot send bearer headers on a plain navigation, so a browser
//! signs in once, by POSTing its token to `/login` (never in a URL), and
//! holds a session: the `dqmon_session` cookie carries a random id, the
//! server keeps what it grants (`api::Sessions`), expiring, ended by
//! `/logout`. A one-time link (`/login/once/{code}`, from the API's
//! `sign-in-link` or the demo) signs a browser in the same way.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, FromRequestParts, OriginalUri, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{SCORECARD, encode, error_page, page};
use crate::web::api::{
    Access, ApiError, ApiState, Identity, authenticate, bearer_token, is_local_path, is_token_byte,
};

/// The cookie holding a signed-in browser's session id.
const COOKIE: &str = "dqmon_session";

/// The access of a signed-in caller: the Authorization header first, else
/// the cookie. Without either, the rejection sends the browser to the login
/// form, which comes back to the page asked for.
pub(super) struct SignedIn(pub Access);

impl FromRequestParts<ApiState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        signed_in(parts, state)
            .map(|identity| SignedIn(identity.access))
            .ok_or_else(|| to_login(parts))
    }
}

/// Who is signed in, with the token's name: for pages that act (and say
/// who acted in the audit log), not only read.
pub(super) struct SignedInAs(pub Identity);

impl FromRequestParts<ApiState> for SignedInAs {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        signed_in(parts, state)
            .map(SignedInAs)
            .ok_or_else(|| to_login(parts))
    }
}

/// The identity of a bearer token or a session.
fn signed_in(parts: &Parts, state: &ApiState) -> Option<Identity> {
    match bearer_token(&parts.headers) {
        Some(token) => authenticate(&state.config, token),
        None => session_id(&parts.headers).and_then(|id| state.sessions.identity(id)),
    }
}

/// To the login form, which comes back to the page asked for.
fn to_login(parts: &Parts) -> Response {
    // As the client sent it: under a nested router `parts.uri` lost its prefix.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let here = uri.path_and_query().map_or("/", |p| p.as_str());
    Redirect::to(&format!("/login?next={}", encode(here))).into_response()
}

/// The `dqmon_session` cookie of a request.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// Where to go after signing in: a path on this server only (see
/// [`is_local_path`]), else the ranking.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| is_local_path(n)).unwrap_or("/")
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginForm {
    token: Option<String>,
    /// A path of this server to return to (see [`safe_next`]).
    next: Option<String>,
}

/// Where to go after a one-time link.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Next {
    next: Option<String>,
}

/// `GET /login` shows the form, whatever the query holds: a token in a URL
/// would land in access logs, proxies and browser history, so it signs
/// nobody in.
pub(super) async fn login_get(q: Result<Query<Next>, QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    login_page(StatusCode::OK, None, q.next.as_deref())
}

/// `GET /login/once/{code}`: a one-time link signs in, once.
pub(super) async fn login_once(
    headers: HeaderMap,
    State(state): State<ApiState>,
    Path(code): Path<String>,
    q: Result<Query<Next>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    match state.sessions.redeem(&code) {
        Some(identity) => open_session(&state, &headers, identity, q.next.as_deref()),
        None => login_page(
            StatusCode::UNAUTHORIZED,
            Some("链接已失效 This sign-in link was used or has expired"),
            q.next.as_deref(),
        ),
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
    let identity = token
        .bytes()
        .all(is_token_byte)
        .then(|| authenticate(&state.config, token))
        .flatten();
    match identity {
        Some(identity) => open_session(state, headers, identity, next),
        None => login_page(
            StatusCode::UNAUTHORIZED,
            Some("令牌无效 Invalid token"),
            next,
        ),
    }
}

/// A new session for `identity`, its cookie, and on to `next`.
fn open_session(
    state: &ApiState,
    headers: &HeaderMap,
    identity: Identity,
    next: Option<&str>,
) -> Response {
    let name = identity.name.clone();
    let Some(id) = state.sessions.open(identity) else {
        return error_page(ApiError::Unavailable(
            "too many signed-in sessions; try again later".into(),
        ));
    };
    tracing::info!(who = name, "signed in");
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.sessions.ttl().as_secs(),
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

pub(super) async fn logout(headers: HeaderMap, State(state): State<ApiState>) -> Response {
    if let Some(id) = session_id(&headers) {
        state.sessions.close(id);
    }
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
            p.note { "登录后浏览器只保存会话编号，不保存令牌。 Once signed in, the browser keeps a session id, never the token." }
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
            "theme=dark; dqmon_session= abc ; x=y".parse().unwrap(),
        );
        assert_eq!(session_id(&h), Some("abc"));
        h.insert(header::COOKIE, "dqmon_sessionx=abc".parse().unwrap());
        assert_eq!(session_id(&h), None);
    }
}

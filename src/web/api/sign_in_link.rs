//! `POST /api/v1/sign-in-link`: a one-time link that signs a browser in as
//! the caller, for whoever holds a token but drives a browser that cannot
//! send it (a headless check, a demo). The link works once, for
//! [`super::LINK_TTL`]; no token ever travels in a URL.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiQuery, ApiState, Identity, is_local_path};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkQuery {
    /// A page of this server to open once signed in.
    next: Option<String>,
}

pub(super) async fn post_sign_in_link(
    identity: Identity,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<LinkQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(next) = &q.next
        && !is_local_path(next)
    {
        return Err(ApiError::BadRequest(
            "next must be a path of this server (/…, printable ASCII)".into(),
        ));
    }
    let code = state
        .sessions
        .link(identity)
        .ok_or_else(|| ApiError::Unavailable("too many sign-in links outstanding".into()))?;
    let mut path = format!("/login/once/{code}");
    if let Some(next) = q.next {
        path.push_str("?next=");
        path.push_str(&super::url_component(&next));
    }
    Ok(Json(json!({
        "path": path,
        "expires_in_secs": state.sessions.link_ttl().as_secs(),
    })))
}

//! `GET /api/v1/audit`: the append-only audit log, newest first, for
//! officers. Nothing personal is in it: token names, periods, hashes.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::seals::rfc3339;
use super::{Access, ApiError, ApiQuery, ApiState};

/// Entries per answer unless `limit` says.
pub(super) const DEFAULT_AUDIT_LIMIT: usize = 100;
/// At most this many per answer; page with `before`.
pub(super) const MAX_AUDIT_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    limit: Option<usize>,
    /// Only entries with a smaller id (the next page: the last id seen).
    before: Option<i64>,
}

/// One entry as answered.
#[derive(Debug, Serialize)]
struct Entry {
    id: i64,
    at: String,
    actor: String,
    role: String,
    action: String,
    subject: String,
    detail: String,
}

pub(super) async fn get_audit(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    access.officer_only("read the audit log")?;
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::BadRequest(
            "before must be an id, 1 or more".into(),
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
    if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_AUDIT_LIMIT}"
        )));
    }
    let entries: Vec<Entry> = state
        .audit(q.before, limit)
        .await?
        .into_iter()
        .map(|r| Entry {
            id: r.id,
            at: rfc3339(r.entry.at_ms),
            actor: r.entry.actor,
            role: r.entry.role,
            action: r.entry.action,
            subject: r.entry.subject,
            detail: r.entry.detail,
        })
        .collect();
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(entries)).into_response())
}

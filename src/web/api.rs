//! The assessment API: department scores for a period (JSON and CSV), recent
//! violations, and an OpenAPI description.
//!
//! Access is by bearer token. An officer token sees every department; a
//! department token only its own. Store calls block, so they run on the
//! blocking pool. Errors answer `{"error": "..."}`; store failures are logged
//! and answered "internal error" without details.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use subtle::{Choice, ConstantTimeEq};

use crate::catalog::Checks;
use crate::model::Violation;
use crate::model::period::{PeriodBounds, from_query};
use crate::store::{DayCounts, ScoreStore, StoreError};
use crate::tally::{Scores, build_scores, scores_csv};

/// The `[api]` section of the service configuration.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Bearer tokens of quality officers: they see every department.
    pub officer_tokens: Vec<String>,
    /// Bearer tokens per department (department name → tokens): a department
    /// sees only its own scores and violations.
    pub department_tokens: BTreeMap<String, Vec<String>>,
    /// The most violations one `/api/v1/violations` request may ask for
    /// (`limit`); bounds the work and the answer of one request.
    pub recent_violations_limit_max: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            officer_tokens: Vec::new(),
            department_tokens: BTreeMap::new(),
            recent_violations_limit_max: 1000,
        }
    }
}

/// Tokens are secrets: never print them (configs end up in logs).
impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let departments: BTreeMap<&str, usize> = self
            .department_tokens
            .iter()
            .map(|(d, t)| (d.as_str(), t.len()))
            .collect();
        f.debug_struct("ApiConfig")
            .field(
                "officer_tokens",
                &format!("{} redacted", self.officer_tokens.len()),
            )
            .field("department_tokens", &departments)
            .field(
                "recent_violations_limit_max",
                &self.recent_violations_limit_max,
            )
            .finish()
    }
}

/// Shortest token accepted by [`ApiConfig::validate`]: 16 random characters
/// are out of reach of guessing.
pub const MIN_TOKEN_LEN: usize = 16;

impl ApiConfig {
    /// Checks the section against the contracts; call it at start-up.
    ///
    /// Tokens must be at least [`MIN_TOKEN_LEN`] characters of
    /// `A-Z a-z 0-9 - . _ ~ + / =` (base64, hex or URL-safe text), so they fit
    /// a cookie and a header unchanged; no token may appear twice (a token of
    /// two roles would be ambiguous); departments must exist in the contracts.
    pub fn validate(&self, checks: &Checks) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        let all = self
            .officer_tokens
            .iter()
            .map(|t| ("officer_tokens".to_string(), t))
            .chain(self.department_tokens.iter().flat_map(|(d, ts)| {
                ts.iter()
                    .map(move |t| (format!("department_tokens.{d}"), t))
            }));
        for (i, (place, token)) in all.enumerate() {
            // Positions, not values, in messages: they are logged.
            if token.len() < MIN_TOKEN_LEN {
                return Err(format!(
                    "api.{place}: a token is shorter than {MIN_TOKEN_LEN} characters"
                ));
            }
            if !token.bytes().all(is_token_byte) {
                return Err(format!(
                    "api.{place}: a token has a character outside A-Z a-z 0-9 - . _ ~ + / ="
                ));
            }
            if !seen.insert(token.as_str()) {
                return Err(format!("api.{place}: token #{i} is used twice"));
            }
        }
        for department in self.department_tokens.keys() {
            if !checks.departments.contains(department) {
                return Err(format!(
                    "api.department_tokens: unknown department {department:?}"
                ));
            }
        }
        if self.recent_violations_limit_max == 0 {
            return Err("api.recent_violations_limit_max must be at least 1".into());
        }
        Ok(())
    }
}

/// Characters allowed in tokens: safe in a header and a cookie value as they are.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
}

/// Shared by the API and the scorecard pages.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn ScoreStore>,
    pub checks: Arc<Checks>,
    pub config: Arc<ApiConfig>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Sees every department.
    Officer,
    /// Sees only this department.
    Department(String),
}

impl Access {
    pub fn sees(&self, department: &str) -> bool {
        match self {
            Access::Officer => true,
            Access::Department(d) => d == department,
        }
    }

    /// The department filter of a request: `None` means all departments. A
    /// department token without `department=` gets its own; asking for
    /// another department is forbidden.
    pub fn scope(&self, requested: Option<&str>) -> Result<Option<String>, ApiError> {
        match (self, requested) {
            (Access::Officer, r) => Ok(r.map(str::to_owned)),
            (Access::Department(own), None) => Ok(Some(own.clone())),
            (Access::Department(own), Some(r)) if r == own => Ok(Some(own.clone())),
            (Access::Department(_), Some(_)) => Err(ApiError::Forbidden(
                "this token may only read its own department".into(),
            )),
        }
    }
}

/// The access a token grants, if any.
///
/// Compared in constant time over BLAKE3 digests: equal-length digests hide
/// the token's length too, and every configured token is compared (no early
/// exit), so timing tells nothing about how much of a guess was right.
pub fn authenticate(config: &ApiConfig, token: &str) -> Option<Access> {
    if token.is_empty() {
        return None;
    }
    let presented = blake3::hash(token.as_bytes());
    let matches = |t: &String| -> Choice {
        // An empty configured token must never match anything.
        let nonempty = Choice::from(u8::from(!t.is_empty()));
        blake3::hash(t.as_bytes())
            .as_bytes()
            .ct_eq(presented.as_bytes())
            & nonempty
    };
    let mut officer = Choice::from(0);
    for t in &config.officer_tokens {
        officer |= matches(t);
    }
    let mut department = None;
    for (d, tokens) in &config.department_tokens {
        let mut hit = Choice::from(0);
        for t in tokens {
            hit |= matches(t);
        }
        if bool::from(hit) && department.is_none() {
            department = Some(d.clone());
        }
    }
    if bool::from(officer) {
        Some(Access::Officer)
    } else {
        department.map(Access::Department)
    }
}

/// The token of an `Authorization: Bearer ...` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The API's extractor: a valid bearer token, or 401. Runs before the query
/// is parsed, so callers without a token learn nothing from 400 answers.
impl FromRequestParts<ApiState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        bearer_token(&parts.headers)
            .and_then(|t| authenticate(&state.config, t))
            .ok_or(ApiError::Unauthorized)
    }
}

/// An API failure, answered as `{"error": "..."}`.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden(String),
    NotFound(String),
    /// Details were logged where it happened; the client gets none.
    Internal,
}

impl ApiError {
    /// Logs `err` and returns [`ApiError::Internal`].
    pub fn internal(context: &str, err: impl fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        ApiError::Internal
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m) | ApiError::Forbidden(m) | ApiError::NotFound(m) => m,
            ApiError::Unauthorized => "missing or invalid bearer token",
            ApiError::Internal => "internal error",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal("store read failed", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "error": self.message() })),
        )
            .into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dqmon\""),
            );
        }
        response
    }
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("store task failed", e))?
}

/// Resolves `department=` for `access`: 403 for another department's token,
/// 400 for a department the contracts do not know.
pub fn resolve_department(
    checks: &Checks,
    access: &Access,
    requested: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let scope = access.scope(requested)?;
    if let Some(d) = &scope
        && !checks.departments.contains(d)
    {
        return Err(ApiError::BadRequest(format!("unknown department {d:?}")));
    }
    Ok(scope)
}

/// Loads and builds the scores of a period for `department` (all when `None`).
pub async fn load_scores(
    state: &ApiState,
    period: PeriodBounds,
    department: Option<String>,
) -> Result<Scores, ApiError> {
    let (store, checks) = (state.store.clone(), state.checks.clone());
    blocking(move || {
        let counts = store.counts(period.from, period.to, department.as_deref())?;
        let rows: Vec<_> = counts.iter().map(DayCounts::row).collect();
        Ok(build_scores(&checks, period, department.as_deref(), &rows))
    })
    .await
}

/// Loads the newest violations, newest first.
pub async fn load_violations(
    state: &ApiState,
    department: Option<String>,
    limit: usize,
) -> Result<Vec<Violation>, ApiError> {
    let store = state.store.clone();
    blocking(move || Ok(store.recent_violations(department.as_deref(), limit)?)).await
}

/// Query of the score endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub period: Option<String>,
    pub department: Option<String>,
}

/// Query of `/api/v1/violations`; `limit` as text so a bad value gets our message.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationsQuery {
    pub department: Option<String>,
    pub limit: Option<String>,
}

/// Default `limit` of `/api/v1/violations`.
pub const DEFAULT_VIOLATIONS_LIMIT: usize = 100;

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    // Unknown parameters are refused: a misspelt `department` must not
    // silently widen the answer to every department.
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))
}

/// The API routes, with their own state (merge them into the service's router).
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/scores", get(get_scores))
        .route("/api/v1/scores.csv", get(get_scores_csv))
        .route("/api/v1/violations", get(get_violations))
        .route("/api/v1/openapi.json", get(get_openapi))
        .with_state(state)
}

async fn scores_for(state: &ApiState, access: &Access, q: ScoresQuery) -> Result<Scores, ApiError> {
    let department = resolve_department(&state.checks, access, q.department.as_deref())?;
    let (from, to) = from_query(q.from.as_deref(), q.to.as_deref(), q.period.as_deref())
        .map_err(ApiError::BadRequest)?;
    load_scores(state, PeriodBounds { from, to }, department).await
}

async fn get_scores(
    access: Access,
    State(state): State<ApiState>,
    q: Result<Query<ScoresQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let scores = scores_for(&state, &access, query(q)?).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(scores)).into_response())
}

/// The CSV answer of `scores`, with the download headers.
pub fn csv_response(scores: &Scores) -> Result<Response, ApiError> {
    let body = scores_csv(scores).map_err(|e| ApiError::internal("writing CSV failed", e))?;
    let disposition = format!(
        "attachment; filename=\"dqmon-scores-{}-{}.csv\"",
        scores.period.from, scores.period.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

async fn get_scores_csv(
    access: Access,
    State(state): State<ApiState>,
    q: Result<Query<ScoresQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let scores = scores_for(&state, &access, query(q)?).await?;
    csv_response(&scores)
}

async fn get_violations(
    access: Access,
    State(state): State<ApiState>,
    q: Result<Query<ViolationsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let department = resolve_department(&state.checks, &access, q.department.as_deref())?;
    let max = state.config.recent_violations_limit_max;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_VIOLATIONS_LIMIT.min(max),
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to {max}"
                )));
            }
        },
    };
    let rows = load_violations(&state, department, limit).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(rows)).into_response())
}

/// Public: it describes the API and holds no data.
async fn get_openapi() -> Json<serde_json::Value> {
    Json(openapi())
}

/// The OpenAPI 3.1 description of the API.
pub fn openapi() -> serde_json::Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        })
    };
    let errors = json!({
        "400": error("Invalid period, dates, department or limit, or an unknown parameter"),
        "401": {
            "description": "Missing or invalid bearer token",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": error("The token's department differs from the requested one"),
        "500": error("Internal error (details are in the server log)"),
    });
    let with_errors = |ok: serde_json::Value| {
        let mut r = errors.clone();
        r["200"] = ok;
        r
    };
    let period_params = json!([
        {"$ref": "#/components/parameters/from"},
        {"$ref": "#/components/parameters/to"},
        {"$ref": "#/components/parameters/period"},
        {"$ref": "#/components/parameters/department"},
    ]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "dqmon assessment API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Data-quality scores of the exchange's departments. A department's score for a period is the weighted mean, over the dimensions with at least one outcome, of passed/(passed+failed), times 100. Officer tokens see every department; department tokens only their own."
        },
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/scores": {"get": {
                "summary": "Scores, dimensions, datasets and checks of each department for a period",
                "parameters": period_params,
                "responses": with_errors(json!({
                    "description": "Scores of the period",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Scores"}}}
                }))
            }},
            "/api/v1/scores.csv": {"get": {
                "summary": "The same numbers as CSV (UTF-8 with BOM): one row per department, dataset and dimension",
                "parameters": period_params,
                "responses": with_errors(json!({
                    "description": "CSV with header period_from,period_to,department,dataset,dimension,passed,failed,pass_rate",
                    "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                    "content": {"text/csv": {"schema": {"type": "string"}}}
                }))
            }},
            "/api/v1/violations": {"get": {
                "summary": "The most recent violations, newest first",
                "parameters": [
                    {"$ref": "#/components/parameters/department"},
                    {"name": "limit", "in": "query", "required": false,
                     "description": "How many (default 100, at most the configured maximum)",
                     "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_VIOLATIONS_LIMIT}}
                ],
                "responses": with_errors(json!({
                    "description": "Violations",
                    "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Violation"}
                    }}}
                }))
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "This description",
                "security": [],
                "responses": {"200": {
                    "description": "OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }}
            }}
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "from": {"name": "from", "in": "query", "required": false,
                         "description": "First day (with `to`), YYYY-MM-DD",
                         "schema": {"type": "string", "format": "date"}},
                "to": {"name": "to", "in": "query", "required": false,
                       "description": "Last day, inclusive (with `from`), YYYY-MM-DD",
                       "schema": {"type": "string", "format": "date"}},
                "period": {"name": "period", "in": "query", "required": false,
                           "description": "Instead of from/to: 2026-06-15, 2026-W24, 2026-06, 2026-Q2, 2026 or 2026-06-01..2026-06-30",
                           "schema": {"type": "string"}},
                "department": {"name": "department", "in": "query", "required": false,
                               "description": "One department; a department token defaults to its own",
                               "schema": {"type": "string"}}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string"}}},
                "Counts": {"type": "object", "required": ["passed", "failed"], "properties": {
                    "passed": {"type": "integer"}, "failed": {"type": "integer"}}},
                "Dimensions": {"type": "object", "properties": {
                    "completeness": {"$ref": "#/components/schemas/Counts"},
                    "format": {"$ref": "#/components/schemas/Counts"},
                    "consistency": {"$ref": "#/components/schemas/Counts"},
                    "freshness": {"$ref": "#/components/schemas/Counts"},
                    "uniqueness": {"$ref": "#/components/schemas/Counts"}}},
                "Dataset": {"type": "object", "properties": {
                    "records": {"type": "integer"}, "malformed": {"type": "integer"},
                    "score": {"type": ["number", "null"]},
                    "dimensions": {"$ref": "#/components/schemas/Dimensions"},
                    "checks": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Counts"}}}},
                "Department": {"type": "object", "properties": {
                    "records": {"type": "integer"}, "malformed": {"type": "integer"},
                    "score": {"type": ["number", "null"]},
                    "dimensions": {"$ref": "#/components/schemas/Dimensions"},
                    "datasets": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Dataset"}},
                    "worst_checks": {"type": "array", "items": {"type": "object", "properties": {
                        "dataset": {"type": "string"}, "check": {"type": "string"},
                        "dimension": {"type": ["string", "null"]},
                        "failed": {"type": "integer"}, "passed": {"type": "integer"},
                        "fail_rate": {"type": "number"}}}},
                    "worst_datasets": {"type": "array", "items": {"type": "object", "properties": {
                        "dataset": {"type": "string"}, "score": {"type": "number"},
                        "records": {"type": "integer"}}}}}},
                "Scores": {"type": "object", "properties": {
                    "period": {"type": "object", "properties": {
                        "from": {"type": "string", "format": "date"},
                        "to": {"type": "string", "format": "date"}}},
                    "messages": {"type": "integer"}, "malformed": {"type": "integer"},
                    "departments": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Department"}},
                    "ranking": {"type": "array", "items": {"type": "object", "properties": {
                        "rank": {"type": ["integer", "null"]}, "department": {"type": "string"},
                        "score": {"type": ["number", "null"]}}}}}},
                "Violation": {"type": "object", "properties": {
                    "topic": {"type": "string"}, "partition": {"type": "integer"},
                    "offset": {"type": "integer"},
                    "timestamp": {"type": "integer", "description": "Message time, epoch milliseconds"},
                    "record_id": {"type": ["string", "null"]},
                    "department": {"type": "string"}, "dataset": {"type": "string"},
                    "dimension": {"type": "string"}, "check": {"type": "string"},
                    "field": {"type": ["string", "null"]}, "reason": {"type": "string"}}}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ApiConfig {
        ApiConfig {
            officer_tokens: vec!["officer-token-0123456789".into(), String::new()],
            department_tokens: BTreeMap::from([(
                "tax".to_string(),
                vec!["tax-token-0123456789abc".into()],
            )]),
            ..ApiConfig::default()
        }
    }

    #[test]
    fn tokens_map_to_roles() {
        let c = config();
        assert_eq!(
            authenticate(&c, "officer-token-0123456789"),
            Some(Access::Officer)
        );
        assert_eq!(
            authenticate(&c, "tax-token-0123456789abc"),
            Some(Access::Department("tax".into()))
        );
        assert_eq!(authenticate(&c, "officer-token-012345678"), None);
        // An empty configured token never matches.
        assert_eq!(authenticate(&c, ""), None);
    }

    #[test]
    fn scope_rules() {
        let tax = Access::Department("tax".into());
        assert_eq!(tax.scope(None).unwrap(), Some("tax".into()));
        assert_eq!(tax.scope(Some("tax")).unwrap(), Some("tax".into()));
        assert!(matches!(
            tax.scope(Some("health")),
            Err(ApiError::Forbidden(_))
        ));
        assert_eq!(Access::Officer.scope(None).unwrap(), None);
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", config());
        assert!(!text.contains("0123456789"), "{text}");
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let c: ApiConfig = toml::from_str("").unwrap();
        assert_eq!(c.recent_violations_limit_max, 1000);
        assert!(toml::from_str::<ApiConfig>("officer_token = []").is_err());
    }
}

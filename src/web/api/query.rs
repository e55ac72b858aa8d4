//! The API's extractors: a query or a JSON body that does not parse is a
//! JSON 400; and the one reading of a period's text.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::model::period::{Period, PeriodBounds};

/// The parsed query of an API request. The query types deny unknown
/// parameters: a misspelt `department` must not silently widen the answer to
/// every department.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))
    }
}

/// Parsed path parameters: one that does not parse is a JSON 400 too.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| ApiPath(p))
            .map_err(|e| ApiError::BadRequest(format!("invalid path: {}", e.body_text())))
    }
}

/// A parsed JSON body (the body types deny unknown fields too).
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::from_request(req, state)
            .await
            .map(|axum::Json(body)| ApiJson(body))
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {}", e.body_text())))
    }
}

/// A period in the exact form the OpenAPI document's pattern states.
pub(crate) fn period_bounds(text: &str) -> Result<PeriodBounds, ApiError> {
    let (from, to) = Period::parse_exact(text)
        .map_err(ApiError::BadRequest)?
        .bounds();
    Ok(PeriodBounds::clamped(from, to))
}

//! The API's failures, answered as `{"error": "..."}`; internals stay in the log.

use std::fmt;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// An API failure, answered as `{"error": "..."}`.
#[derive(Debug)]
pub(crate) enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden(String),
    NotFound(String),
    /// The request contradicts what is stored (sealing a sealed period).
    Conflict(String),
    /// Temporarily unable (a bound reached); try again later.
    Unavailable(String),
    /// Details were logged where it happened; the client gets none.
    Internal,
}

impl ApiError {
    /// Logs `err` and returns [`ApiError::Internal`].
    pub(crate) fn internal(context: &str, err: impl fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        ApiError::Internal
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Unavailable(m) => m,
            ApiError::Unauthorized => "missing or invalid bearer token",
            ApiError::Internal => "internal error",
        }
    }
}

impl From<StoreError> for ApiError {
    /// A conflict's message is written for the client (it names periods and
    /// versions only); any other store failure is internal.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(why) => ApiError::Conflict(why),
            other => ApiError::internal("store call failed", other),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_tell_the_client_nothing() {
        let response =
            ApiError::internal("store read failed", "disk /var/lib/dqmon full").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"error":"internal error"}"#);
    }
}

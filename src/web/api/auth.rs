//! Who is asking: bearer tokens mapped to an [`Access`], and what it may read.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use subtle::{Choice, ConstantTimeEq};

use super::{ApiConfig, ApiError, ApiState};
use crate::catalog::Checks;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// Sees every department.
    Officer,
    /// Sees only this department.
    Department(String),
}

impl Access {
    pub(crate) fn sees(&self, department: &str) -> bool {
        match self {
            Access::Officer => true,
            Access::Department(d) => d == department,
        }
    }

    /// The department filter of a request: `None` means all departments. A
    /// department token without `department=` gets its own; asking for
    /// another department is forbidden.
    pub(crate) fn scope(&self, requested: Option<&str>) -> Result<Option<String>, ApiError> {
        match (self, requested) {
            (Access::Officer, r) => Ok(r.map(str::to_owned)),
            (Access::Department(own), None) => Ok(Some(own.clone())),
            (Access::Department(own), Some(r)) if r == own => Ok(Some(own.clone())),
            (Access::Department(_), Some(_)) => Err(ApiError::Forbidden(
                "this token may only read its own department".into(),
            )),
        }
    }

    /// [`Access::scope`], then 400 for a department the contracts do not
    /// know (after the 403, so a department token learns no other names).
    pub(crate) fn department_filter(
        &self,
        checks: &Checks,
        requested: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let scope = self.scope(requested)?;
        if let Some(d) = &scope
            && !checks.departments.contains(d)
        {
            return Err(ApiError::BadRequest(format!("unknown department {d:?}")));
        }
        Ok(scope)
    }
}

/// The access a token grants, if any.
///
/// Compared in constant time over BLAKE3 digests: equal-length digests hide
/// the token's length too, and every configured token is compared (no early
/// exit), so timing tells nothing about how much of a guess was right.
pub(crate) fn authenticate(config: &ApiConfig, token: &str) -> Option<Access> {
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
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The API's extractor: a valid bearer token, or 401. Handlers take it
/// before the query, so callers without a token learn nothing from 400
/// answers.
impl FromRequestParts<ApiState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        bearer_token(&parts.headers)
            .and_then(|t| authenticate(&state.config, t))
            .ok_or(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
}

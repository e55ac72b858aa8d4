//! Who is asking: bearer tokens mapped to an [`Identity`] (a name and an
//! [`Access`]), and what it may read.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use subtle::{Choice, ConstantTimeEq};

use super::config::{Role, sha256};
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
    /// The role's name, as the audit log records it.
    pub(crate) fn role(&self) -> &'static str {
        match self {
            Access::Officer => "officer",
            Access::Department(_) => "department",
        }
    }

    /// Only an officer may do `what`: 403 for anyone else.
    pub(crate) fn officer_only(&self, what: &str) -> Result<(), ApiError> {
        match self {
            Access::Officer => Ok(()),
            Access::Department(_) => Err(ApiError::Forbidden(format!(
                "only an officer token may {what}"
            ))),
        }
    }

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

/// Who holds a token: its configured name, and what it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub access: Access,
    /// `[[api.tokens]]`'s `name`; for a deprecated token in clear, its place
    /// (`officer_tokens[0]`, `department_tokens.tax[1]`).
    pub name: String,
}

/// Who a token belongs to, if anyone.
///
/// Compared in constant time over SHA-256 digests (what `[[api.tokens]]`
/// keeps): equal-length digests hide the token's length too, and every
/// configured token is compared (no early exit), so timing tells nothing
/// about how much of a guess was right.
pub(crate) fn authenticate(config: &ApiConfig, token: &str) -> Option<Identity> {
    if token.is_empty() {
        return None;
    }
    let presented = sha256(token.as_bytes());
    let mut found = None;
    let mut consider = |digest: [u8; 32], identity: &dyn Fn() -> Identity| {
        let hit: Choice = digest.ct_eq(&presented);
        if bool::from(hit) && found.is_none() {
            found = Some(identity());
        }
    };
    for t in &config.tokens {
        // `validate` checked both; an entry that fails them matches nothing.
        let mut digest = [0u8; 32];
        let decoded = hex::decode_to_slice(&t.sha256, &mut digest).is_ok();
        let department = match (t.role, &t.department) {
            (Role::Officer, _) => None,
            (Role::Department, Some(d)) => Some(d.as_str()),
            (Role::Department, None) => continue,
        };
        if decoded {
            consider(digest, &|| Identity {
                access: access_of(department),
                name: t.name.clone(),
            });
        }
    }
    // Deprecated tokens in clear; an empty one never matches.
    for t in config.clear_tokens() {
        if !t.token.is_empty() {
            consider(sha256(t.token.as_bytes()), &|| Identity {
                access: access_of(t.department),
                name: format!("{}[{}]", t.place(), t.index),
            });
        }
    }
    found
}

/// A department's access, or an officer's for none.
fn access_of(department: Option<&str>) -> Access {
    department.map_or(Access::Officer, |d| Access::Department(d.to_owned()))
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
impl FromRequestParts<ApiState> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        bearer_token(&parts.headers)
            .and_then(|t| authenticate(&state.config, t))
            .ok_or(ApiError::Unauthorized)
    }
}

impl FromRequestParts<ApiState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Identity::from_request_parts(parts, state)
            .await
            .map(|i| i.access)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::config::token_sha256;
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

    fn access(c: &ApiConfig, token: &str) -> Option<Access> {
        authenticate(c, token).map(|i| i.access)
    }

    #[test]
    fn tokens_map_to_roles() {
        let c = config();
        assert_eq!(
            access(&c, "officer-token-0123456789"),
            Some(Access::Officer)
        );
        assert_eq!(
            access(&c, "tax-token-0123456789abc"),
            Some(Access::Department("tax".into()))
        );
        assert_eq!(access(&c, "officer-token-012345678"), None);
        // An empty configured token never matches.
        assert_eq!(access(&c, ""), None);
        assert_eq!(
            authenticate(&c, "tax-token-0123456789abc").unwrap().name,
            "department_tokens.tax[0]"
        );
    }

    #[test]
    fn named_tokens_are_kept_as_hashes() {
        use super::super::config::NamedToken;
        let c = ApiConfig {
            tokens: vec![
                NamedToken {
                    name: "officer-wang".into(),
                    role: Role::Officer,
                    department: None,
                    sha256: token_sha256("wang-token-0123456789"),
                },
                NamedToken {
                    name: "tax-desk".into(),
                    role: Role::Department,
                    department: Some("tax".into()),
                    sha256: token_sha256("desk-token-0123456789").to_uppercase(),
                },
            ],
            ..ApiConfig::default()
        };
        let wang = authenticate(&c, "wang-token-0123456789").unwrap();
        assert_eq!(
            (wang.access, wang.name.as_str()),
            (Access::Officer, "officer-wang")
        );
        let desk = authenticate(&c, "desk-token-0123456789").unwrap();
        assert_eq!(
            desk.access,
            Access::Department("tax".into()),
            "upper-case hex too"
        );
        assert_eq!(authenticate(&c, "wang-token-012345678"), None);
        // The digest of a well-known text, so the form is SHA-256 and nothing else.
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
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

//! The `[api]` section of the service configuration, and its start-up check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use crate::catalog::Checks;

/// SHA-256, how `[[api.tokens]]` keeps a token.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// The `sha256` of `[[api.tokens]]` for a token.
pub fn token_sha256(token: &str) -> String {
    hex::encode(sha256(token.as_bytes()))
}

/// What a token may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A quality officer: every department.
    Officer,
    /// A department: only its own scores and violations.
    Department,
}

/// One `[[api.tokens]]` entry: who holds a token and what it may read. The
/// service keeps only the token's SHA-256 (`dqmon token new` makes a token
/// and its entry).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedToken {
    /// Who holds it, said in logs (not a secret; no personal name needed).
    pub name: String,
    /// `officer` or `department`.
    pub role: Role,
    /// The department of a `department` token (a contract's department).
    #[serde(default)]
    pub department: Option<String>,
    /// SHA-256 of the token, 64 hexadecimal digits.
    pub sha256: String,
}

/// The `[api]` section of the service configuration.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// The tokens, by name and role, as hashes: `[[api.tokens]]`.
    pub tokens: Vec<NamedToken>,
    /// Deprecated (a warning at start-up names the new form): bearer tokens
    /// of quality officers, in clear.
    pub officer_tokens: Vec<String>,
    /// Deprecated: bearer tokens per department (department name → tokens), in clear.
    pub department_tokens: BTreeMap<String, Vec<String>>,
    /// How long a signed-in browser stays signed in, in seconds.
    pub session_ttl_secs: u64,
    /// The most violations one `/api/v1/violations` request may ask for
    /// (`limit`); bounds the work and the answer of one request.
    pub recent_violations_limit_max: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            tokens: Vec::new(),
            officer_tokens: Vec::new(),
            department_tokens: BTreeMap::new(),
            session_ttl_secs: 8 * 3600,
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
            .field("tokens", &self.tokens)
            .field(
                "officer_tokens",
                &format!("{} redacted", self.officer_tokens.len()),
            )
            .field("department_tokens", &departments)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field(
                "recent_violations_limit_max",
                &self.recent_violations_limit_max,
            )
            .finish()
    }
}

/// Shortest token accepted by [`ApiConfig::validate`]: 16 random characters
/// are out of reach of guessing.
const MIN_TOKEN_LEN: usize = 16;

impl ApiConfig {
    /// Checks the section against the contracts; call it at start-up.
    ///
    /// Tokens must be at least 16 characters of `A-Z a-z 0-9 - . _ ~ + / =`
    /// (base64, hex or URL-safe text), so they fit a cookie and a header
    /// unchanged; no token may appear twice (a token of two roles would be
    /// ambiguous); departments must exist in the contracts.
    pub fn validate(&self, checks: &Checks) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for (i, t) in self.clear_tokens().enumerate() {
            let (place, token) = (t.place(), t.token);
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
            if !seen.insert(token) {
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
        self.validate_named(checks)?;
        if self.session_ttl_secs == 0 {
            return Err("api.session_ttl_secs must be at least 1".into());
        }
        if self.recent_violations_limit_max == 0 {
            return Err("api.recent_violations_limit_max must be at least 1".into());
        }
        Ok(())
    }
}

impl ApiConfig {
    fn validate_named(&self, checks: &Checks) -> Result<(), String> {
        let mut names = BTreeSet::new();
        let mut hashes = BTreeSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let at = format!("api.tokens[{i}]");
            if t.name.trim().is_empty() {
                return Err(format!("{at}.name: empty"));
            }
            if !names.insert(t.name.as_str()) {
                return Err(format!("{at}.name: {:?} is used twice", t.name));
            }
            let hash_ok = t.sha256.len() == 64 && t.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !hash_ok {
                return Err(format!("{at}.sha256: not 64 hexadecimal digits"));
            }
            if !hashes.insert(t.sha256.to_ascii_lowercase()) {
                return Err(format!("{at}.sha256: the same token as another entry"));
            }
            match (t.role, &t.department) {
                (Role::Officer, Some(_)) => {
                    return Err(format!("{at}.department: an officer token has none"));
                }
                (Role::Department, None) => {
                    return Err(format!("{at}.department: a department token needs one"));
                }
                (Role::Department, Some(d)) if !checks.departments.contains(d) => {
                    return Err(format!("{at}.department: unknown department {d:?}"));
                }
                _ => {}
            }
        }
        for t in self.clear_tokens() {
            if hashes.contains(&token_sha256(t.token)) {
                return Err(format!(
                    "api.{}: a token given twice, also in api.tokens",
                    t.place()
                ));
            }
        }
        Ok(())
    }

    /// Every token given in clear (deprecated), officers' first, then each
    /// department's in name order.
    pub(crate) fn clear_tokens(&self) -> impl Iterator<Item = ClearToken<'_>> {
        let officers = self
            .officer_tokens
            .iter()
            .enumerate()
            .map(|(index, token)| ClearToken {
                department: None,
                index,
                token,
            });
        let departments = self.department_tokens.iter().flat_map(|(d, tokens)| {
            tokens
                .iter()
                .enumerate()
                .map(move |(index, token)| ClearToken {
                    department: Some(d),
                    index,
                    token,
                })
        });
        officers.chain(departments)
    }

    /// A warning for configurations that still give tokens in clear.
    pub fn deprecation_warning(&self) -> Option<&'static str> {
        let clear = !self.officer_tokens.is_empty() || !self.department_tokens.is_empty();
        clear.then_some(
            "api.officer_tokens and api.department_tokens are deprecated: give each token as \
             [[api.tokens]] with name, role, department and sha256 (`dqmon token new` makes one)",
        )
    }
}

/// A token given in clear, and where it stands in the configuration.
pub(crate) struct ClearToken<'a> {
    /// Its department; `None` in `officer_tokens`.
    pub department: Option<&'a str>,
    /// Its position in its list.
    pub index: usize,
    pub token: &'a str,
}

impl ClearToken<'_> {
    /// Its list, as the configuration names it (never the token).
    pub fn place(&self) -> String {
        match self.department {
            None => "officer_tokens".into(),
            Some(d) => format!("department_tokens.{d}"),
        }
    }
}

/// Characters allowed in tokens: safe in a header and a cookie value as they are.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens() {
        let config = ApiConfig {
            officer_tokens: vec!["officer-token-0123456789".into(), String::new()],
            department_tokens: BTreeMap::from([(
                "tax".to_string(),
                vec!["tax-token-0123456789abc".into()],
            )]),
            ..ApiConfig::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("0123456789"), "{text}");
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let c: ApiConfig = toml::from_str("").unwrap();
        assert_eq!(c.recent_violations_limit_max, 1000);
        assert!(toml::from_str::<ApiConfig>("officer_token = []").is_err());
    }
}

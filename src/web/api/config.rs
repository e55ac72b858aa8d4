//! The `[api]` section of the service configuration, and its start-up check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use crate::catalog::Checks;

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

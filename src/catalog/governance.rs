//! `governance.yaml`: the deadlines of the exchange's procedures, in working
//! days of the calendar in `reference/working-days.yaml`. Optional: without
//! the file every deadline takes its default.

use std::path::Path;

use serde::Deserialize;

use super::error::Collector;

/// File name in the checks folder.
pub(crate) const FILE: &str = "governance.yaml";

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GovernanceFile {
    /// Rectification (整改) of failed checks.
    #[serde(default)]
    rectification: Option<RectificationSpec>,
    /// Disputes (异议) of findings.
    #[serde(default)]
    disputes: Option<DisputesSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisputesSpec {
    /// Working days after filing for the officer to accept (or reject) it.
    accept_within_working_days: u32,
    /// Working days after acceptance for the authoritative department to
    /// verify its value (cross-source findings only).
    verify_within_working_days: u32,
    /// Working days after filing for the officer's decision.
    decide_within_working_days: u32,
    /// How long after its message time a record's failed checks stay
    /// disputable (they are kept that long), in days.
    disputable_for_days: u32,
    /// Whether a finding under a dispute not decided yet still counts
    /// against the score (true: only an upheld dispute withdraws it).
    pending_counts_against_score: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RectificationSpec {
    /// Working days a finding may stay open before it is overdue.
    overdue_after_working_days: u32,
}

/// The procedures' deadlines, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governance {
    /// A finding open for more working days than this (after the day it was
    /// opened) is overdue.
    pub findings_overdue_after_working_days: u32,
    /// Deadlines and rules of disputes.
    pub disputes: DisputeRules,
}

/// Deadlines (working days) and rules of disputes (异议).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisputeRules {
    pub accept_within_working_days: u32,
    pub verify_within_working_days: u32,
    pub decide_within_working_days: u32,
    pub disputable_for_days: u32,
    pub pending_counts_against_score: bool,
}

impl DisputeRules {
    /// Milliseconds a failed check stays disputable after its message time.
    pub fn disputable_for_ms(&self) -> i64 {
        i64::from(self.disputable_for_days) * 86_400_000
    }
}

impl Default for Governance {
    fn default() -> Self {
        Governance {
            findings_overdue_after_working_days: 10,
            disputes: DisputeRules {
                accept_within_working_days: 2,
                verify_within_working_days: 5,
                decide_within_working_days: 10,
                disputable_for_days: 400,
                pending_counts_against_score: true,
            },
        }
    }
}

/// Reads `governance.yaml` from the checks folder; an absent file gives the defaults.
pub(crate) fn load(dir: &Path, errors: &mut Collector) -> Governance {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Governance::default(),
        Err(e) => {
            errors.push(&path, "-", format!("cannot read: {e}"));
            return Governance::default();
        }
    };
    let file: GovernanceFile = match serde_yaml_ng::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(&path, "-", format!("not a governance file: {e}"));
            return Governance::default();
        }
    };
    let mut g = Governance::default();
    if let Some(r) = file.rectification {
        if r.overdue_after_working_days == 0 {
            errors.push(
                &path,
                "rectification.overdue_after_working_days",
                "at least 1 (0 would make every finding overdue the day it opens)",
            );
        }
        g.findings_overdue_after_working_days = r.overdue_after_working_days;
    }
    if let Some(d) = file.disputes {
        for (name, days) in [
            ("accept_within_working_days", d.accept_within_working_days),
            ("verify_within_working_days", d.verify_within_working_days),
            ("decide_within_working_days", d.decide_within_working_days),
            ("disputable_for_days", d.disputable_for_days),
        ] {
            if days == 0 {
                errors.push(&path, format!("disputes.{name}"), "at least 1");
            }
        }
        if d.decide_within_working_days < d.accept_within_working_days {
            errors.push(
                &path,
                "disputes.decide_within_working_days",
                "cannot be shorter than accept_within_working_days (both count from filing)",
            );
        }
        g.disputes = DisputeRules {
            accept_within_working_days: d.accept_within_working_days,
            verify_within_working_days: d.verify_within_working_days,
            decide_within_working_days: d.decide_within_working_days,
            disputable_for_days: d.disputable_for_days,
            pending_counts_against_score: d.pending_counts_against_score,
        };
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_and_a_missing_one() {
        let mut errors = Collector::default();
        let g = load(Path::new("checks"), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(g.findings_overdue_after_working_days, 10);
        assert_eq!(g.disputes, Governance::default().disputes);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), &mut errors), Governance::default());
        assert!(errors.is_empty());
    }

    #[test]
    fn a_broken_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needle) in [
            (
                "rectification: { overdue_after_working_days: 0 }\n",
                "location: \"rectification.overdue_after_working_days\", message: \"at least 1",
            ),
            (
                "rectification: { overdue_days: 3 }\n",
                "unknown field `overdue_days`",
            ),
            (
                "disputes: { accept_within_working_days: 5, verify_within_working_days: 0, \
                 decide_within_working_days: 3, disputable_for_days: 400, \
                 pending_counts_against_score: true }\n",
                "location: \"disputes.verify_within_working_days\", message: \"at least 1",
            ),
            (
                "disputes: { accept_within_working_days: 5, verify_within_working_days: 1, \
                 decide_within_working_days: 3, disputable_for_days: 400, \
                 pending_counts_against_score: true }\n",
                "disputes.decide_within_working_days\", message: \"cannot be shorter",
            ),
        ] {
            std::fs::write(dir.path().join(FILE), text).unwrap();
            let mut errors = Collector::default();
            load(dir.path(), &mut errors);
            let said = format!("{errors:?}");
            assert!(said.contains(needle), "{needle}: {said}");
            assert!(said.contains(FILE), "{said}");
        }
    }
}

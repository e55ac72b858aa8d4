//! Rectification (整改) memory: which checks an entity's latest records of a
//! dataset still fail. A failed check opens a finding for (dataset, entity
//! key, check); a record of the same entity with a later message time that
//! passes the check closes it. Judged in message-time order like every
//! other stateful check, so findings depend only on the messages.
//!
//! Keyed by the keyed hash of (dataset, entity key): nothing personal is kept.

use dashmap::DashMap;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use super::outcome::{FindingChange, RecordOutcome};
use super::state::Hash128;
use crate::catalog::CheckId;

/// The open findings of one entity in one dataset.
#[derive(Debug, Clone, Default)]
struct Open {
    /// Bit `c` set when check `c` is open.
    checks: u128,
    /// (check, message time it was opened at), one per set bit.
    opened: SmallVec<[(u8, i64); 2]>,
}

/// One open finding, as a checkpoint restores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFinding {
    /// Keyed hash of (dataset, entity key).
    pub key: Hash128,
    pub check: CheckId,
    pub opened_ms: i64,
}

/// Open findings of every dataset, safe to share between threads.
#[derive(Default)]
pub(crate) struct Findings {
    open: DashMap<Hash128, Open, FxBuildHasher>,
}

impl Findings {
    /// Notes a judged record of entity `key` at `at_ms`: its failed checks
    /// open findings not open yet, its passed checks close open ones opened
    /// earlier. The changes go into `out.findings`. One map visit, none
    /// allocated for an entity that had and has nothing open.
    pub fn track(&self, key: Hash128, at_ms: i64, out: &mut RecordOutcome) {
        let failed: u128 = out.failures.iter().fold(0, |m, f| m | (1u128 << f.check));
        if failed == 0 && !self.open.contains_key(&key) {
            return;
        }
        let passed = out.applied & !failed;
        let mut entry = self.open.entry(key).or_default();
        let open = entry.value_mut();
        let mut changes: SmallVec<[FindingChange; 2]> = SmallVec::new();
        // Close first: a check is either passed or failed, never both.
        let closing = open.checks & passed;
        if closing != 0 {
            open.opened.retain(|&mut (check, opened_ms)| {
                let bit = 1u128 << check;
                // Only a later record fixes: a late one from before the
                // finding says nothing about the fix.
                if closing & bit == 0 || opened_ms >= at_ms {
                    return true;
                }
                changes.push(FindingChange {
                    check: usize::from(check),
                    opened_ms,
                    fixed_ms: Some(at_ms),
                });
                open.checks &= !bit;
                false
            });
        }
        let opening = failed & !open.checks;
        let mut bits = opening;
        while bits != 0 {
            let check = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            open.opened.push((check, at_ms));
            changes.push(FindingChange {
                check: usize::from(check),
                opened_ms: at_ms,
                fixed_ms: None,
            });
        }
        open.checks |= opening;
        let empty = open.checks == 0;
        drop(entry);
        if empty {
            self.open.remove(&key);
        }
        if !changes.is_empty() {
            changes.sort_by_key(|c| c.check);
            out.finding_key = Some(key);
            out.findings = changes.into_vec();
        }
    }

    /// Restores open findings saved by checkpoints (at start-up).
    pub fn restore(&self, rows: &[OpenFinding]) {
        for r in rows {
            let Ok(check) = u8::try_from(r.check) else {
                continue;
            };
            let mut open = self.open.entry(r.key).or_default();
            let bit = 1u128 << check;
            if open.checks & bit == 0 {
                open.checks |= bit;
                open.opened.push((check, r.opened_ms));
            }
        }
    }

    /// Open findings in memory.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.open
            .iter()
            .map(|e| e.checks.count_ones() as usize)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::engine::Failure;

    /// An outcome where checks `applied` applied and `failed` of them failed.
    fn outcome(applied: &[usize], failed: &[usize]) -> RecordOutcome {
        let mut o = RecordOutcome::new(0);
        for &c in applied {
            o.applied |= 1u128 << c;
        }
        o.failures = failed
            .iter()
            .map(|&check| Failure {
                check,
                reason: Cow::Borrowed("test"),
            })
            .collect();
        o
    }

    fn track(
        f: &Findings,
        key: Hash128,
        at_ms: i64,
        applied: &[usize],
        failed: &[usize],
    ) -> Vec<FindingChange> {
        let mut o = outcome(applied, failed);
        f.track(key, at_ms, &mut o);
        assert_eq!(o.finding_key.is_some(), !o.findings.is_empty());
        o.findings
    }

    fn opened(check: usize, at: i64) -> FindingChange {
        FindingChange {
            check,
            opened_ms: at,
            fixed_ms: None,
        }
    }

    fn fixed(check: usize, opened_ms: i64, at: i64) -> FindingChange {
        FindingChange {
            check,
            opened_ms,
            fixed_ms: Some(at),
        }
    }

    #[test]
    fn a_failure_opens_and_a_later_pass_fixes() {
        let f = Findings::default();
        let (a, b) = ([1, 1], [2, 2]);
        assert_eq!(
            track(&f, a, 100, &[0, 1, 2], &[1, 2]),
            vec![opened(1, 100), opened(2, 100)]
        );
        // Failing again keeps the first opening; not applicable keeps it open.
        assert!(track(&f, a, 200, &[0, 1], &[1]).is_empty());
        // Another entity is another finding.
        assert_eq!(track(&f, b, 250, &[1], &[1]), vec![opened(1, 250)]);
        assert_eq!(f.len(), 3);
        // Check 1 passes later: fixed, with its opening time; 2 stays open.
        assert_eq!(track(&f, a, 300, &[0, 1], &[]), vec![fixed(1, 100, 300)]);
        assert_eq!(track(&f, a, 400, &[2], &[]), vec![fixed(2, 100, 400)]);
        assert_eq!(f.len(), 1);
        // A clean record of an entity with nothing open changes nothing.
        assert!(track(&f, a, 500, &[0, 1, 2], &[]).is_empty());
        // Fixed, then failed again: a new finding.
        assert_eq!(track(&f, a, 600, &[1], &[1]), vec![opened(1, 600)]);
    }

    #[test]
    fn a_late_pass_from_before_the_finding_fixes_nothing() {
        let f = Findings::default();
        let a = [7, 7];
        track(&f, a, 1_000, &[3], &[3]);
        assert!(
            track(&f, a, 900, &[3], &[]).is_empty(),
            "message time before the opening"
        );
        assert!(
            track(&f, a, 1_000, &[3], &[]).is_empty(),
            "the same message time"
        );
        assert_eq!(track(&f, a, 1_001, &[3], &[]), vec![fixed(3, 1_000, 1_001)]);
    }

    #[test]
    fn restored_findings_are_fixed_like_tracked_ones() {
        let f = Findings::default();
        let a = [9, 9];
        f.restore(&[
            OpenFinding {
                key: a,
                check: 4,
                opened_ms: 50,
            },
            OpenFinding {
                key: a,
                check: 4,
                opened_ms: 50,
            },
            OpenFinding {
                key: a,
                check: 127,
                opened_ms: 60,
            },
        ]);
        assert_eq!(f.len(), 2, "a row restored twice is one finding");
        assert_eq!(track(&f, a, 70, &[4, 127], &[127]), vec![fixed(4, 50, 70)]);
        assert_eq!(f.len(), 1);
    }
}

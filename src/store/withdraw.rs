//! What disputes do to counts: an upheld dispute withdraws its check's
//! failure from each record it covers (that check no longer fails that
//! record: passed instead of failed), and the record's dimension outcome is
//! recomputed from its other checks (the dimension passes when no other
//! failure in it is left). When the authoritative department admitted its
//! value was wrong, the conflict is charged to its dataset instead: one
//! consistency failure there, on the record's day, under the check
//! [`CHARGED_CHECK`].
//!
//! Pure: the stored failures and the disputes in, corrections out. Computed
//! whenever scores are built, from everything stored, so the result does
//! not depend on whether a decision came before or after a late record, nor
//! on the order of decisions; a failure withdrawn by two disputes is
//! withdrawn once.

use std::collections::{BTreeMap, BTreeSet};

use super::disputes::{Dispute, Failure};
use crate::model::{Counts, Dimension};

/// The check id under which conflicts charged to an authority are counted.
pub const CHARGED_CHECK: &str = "dispute.charged";

/// What to add to and take from one (department, dataset)'s counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correction {
    /// Per dimension (catalog order): outcomes that turn from failed into passed.
    pub dimensions_passed: [u64; 5],
    /// Per check id: failures that turn into passes.
    pub checks_passed: BTreeMap<String, u64>,
    /// Consistency failures charged to this dataset (as the authority).
    pub charged: u64,
}

impl Correction {
    /// Applies it to `counts`: each moved outcome from failed to passed, each
    /// charge a consistency failure (and one of [`CHARGED_CHECK`]).
    pub fn apply(&self, counts: &mut crate::tally::DatasetCounts) {
        for (d, n) in self.dimensions_passed.iter().enumerate() {
            move_to_passed(&mut counts.dimensions[d], *n);
        }
        for (check, n) in &self.checks_passed {
            if let Some((_, c)) = counts.checks.iter_mut().find(|(id, _)| id == check) {
                move_to_passed(c, *n);
            }
        }
        if self.charged > 0 {
            counts.dimensions[Dimension::Consistency as usize].failed += self.charged;
            let charged = Counts {
                passed: 0,
                failed: self.charged,
            };
            match counts.checks.iter_mut().find(|(id, _)| id == CHARGED_CHECK) {
                Some((_, c)) => c.merge(charged),
                None => counts.checks.push((CHARGED_CHECK.to_owned(), charged)),
            }
        }
    }
}

fn move_to_passed(c: &mut Counts, n: u64) {
    // A failure cannot be withdrawn more often than it was counted; the
    // counts and the kept failures come from the same checkpoints.
    let n = n.min(c.failed);
    c.failed -= n;
    c.passed += n;
}

/// One record's kept failures, and which of them disputes withdraw.
#[derive(Default)]
struct RecordFailures<'a> {
    first: Option<&'a Failure>,
    /// (dimension, check) of every failure.
    failed: BTreeSet<(Dimension, &'a str)>,
    withdrawn: BTreeSet<(Dimension, &'a str)>,
    /// Authorities (department, dataset) charged for this record.
    charged: BTreeSet<(&'a str, &'a str)>,
}

/// Corrections per (department, dataset) from `disputes` (only those that
/// withdraw count) and `failures`: every stored failure of the records the
/// disputes cover (all their checks, so the other checks of a dimension are
/// known), repeated rows allowed.
pub fn corrections(
    disputes: &[&Dispute],
    failures: &[Failure],
) -> BTreeMap<(String, String), Correction> {
    type Position<'a> = (&'a str, i32, i64);
    let mut records: BTreeMap<Position<'_>, RecordFailures<'_>> = BTreeMap::new();
    for f in failures {
        let r = records
            .entry((f.at.topic.as_str(), f.at.partition, f.at.offset))
            .or_default();
        r.first.get_or_insert(f);
        r.failed.insert((f.dimension, f.check.as_str()));
        for d in disputes.iter().filter(|d| d.covers(f)) {
            r.withdrawn.insert((f.dimension, f.check.as_str()));
            if d.charges_authority()
                && let Some(a) = &d.authority
            {
                r.charged
                    .insert((a.department.as_str(), a.dataset.as_str()));
            }
        }
    }
    let mut out: BTreeMap<(String, String), Correction> = BTreeMap::new();
    for r in records.values() {
        let Some(f) = r.first else { continue };
        if r.withdrawn.is_empty() {
            continue;
        }
        let c = out
            .entry((f.department.clone(), f.dataset.clone()))
            .or_default();
        for (_, check) in &r.withdrawn {
            *c.checks_passed.entry((*check).to_owned()).or_default() += 1;
        }
        let dims: BTreeSet<Dimension> = r.withdrawn.iter().map(|(d, _)| *d).collect();
        for d in dims {
            let left = r
                .failed
                .iter()
                .any(|(dim, check)| *dim == d && !r.withdrawn.contains(&(d, check)));
            if !left {
                c.dimensions_passed[d as usize] += 1;
            }
        }
        for (department, dataset) in &r.charged {
            out.entry(((*department).to_owned(), (*dataset).to_owned()))
                .or_default()
                .charged += 1;
        }
    }
    out
}

//! What changed since the last checkpoint: counts per (day, dataset), the
//! next offset of every partition, and the violations to keep for the API.
//! [`Accumulator::take`] adds the engine state that changed and turns it all
//! into one [`Checkpoint`], which the store applies in one transaction.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::catalog::Checks;
use crate::engine::{Engine, RecordOutcome};
use crate::model::{Message, PartitionOffset, Violation};
use crate::store::findings::RecordAt;
use crate::store::{Checkpoint, DayCounts, Failure, FindingFixed, FindingOpened};
use crate::tally::DatasetCounts;

pub(crate) struct Accumulator {
    counts: HashMap<(NaiveDate, usize), DatasetCounts>,
    /// Next offset per topic and partition; by topic first so a message's
    /// lookup borrows its topic instead of allocating a key.
    offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    violations: Vec<Violation>,
    findings_opened: Vec<FindingOpened>,
    findings_fixed: Vec<FindingFixed>,
    messages: u64,
    since: Instant,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self {
            counts: HashMap::new(),
            offsets: BTreeMap::new(),
            violations: Vec::new(),
            findings_opened: Vec::new(),
            findings_fixed: Vec::new(),
            messages: 0,
            since: Instant::now(),
        }
    }
}

impl Accumulator {
    /// Counts one evaluated message of calendar day `day`.
    pub fn add(&mut self, checks: &Checks, day: NaiveDate, outcome: &RecordOutcome) {
        self.counts
            .entry((day, outcome.dataset))
            .or_insert_with(|| DatasetCounts::for_dataset(&checks.datasets[outcome.dataset]))
            .add(outcome);
    }

    /// Keeps a violation for the API's recent violations.
    pub fn violation(&mut self, v: &Violation) {
        self.violations.push(v.clone());
    }

    /// Keeps the findings a record opened or fixed, with where it was.
    pub fn findings(&mut self, checks: &Checks, msg: &Message<'_>, outcome: &RecordOutcome) {
        let Some(key) = outcome.finding_key else {
            return;
        };
        let ds = &checks.datasets[outcome.dataset];
        let at = RecordAt {
            topic: msg.topic.to_owned(),
            partition: msg.partition,
            offset: msg.offset,
            record_id: outcome.record_id.clone(),
        };
        for change in &outcome.findings {
            let check = ds.checks[change.check].id.clone();
            match change.fixed_ms {
                None => self.findings_opened.push(FindingOpened {
                    key,
                    department: ds.department.clone(),
                    dataset: ds.name.clone(),
                    check,
                    dimension: ds.check_dimensions[change.check],
                    opened_ms: change.opened_ms,
                    opened_day: checks.day_of(change.opened_ms),
                    at: at.clone(),
                }),
                Some(fixed_ms) => self.findings_fixed.push(FindingFixed {
                    key,
                    dataset: ds.name.clone(),
                    check,
                    opened_ms: change.opened_ms,
                    fixed_ms,
                    at: at.clone(),
                }),
            }
        }
    }

    /// Marks a message as handled: its partition resumes after it.
    pub fn handled(&mut self, topic: &str, partition: i32, offset: i64) {
        self.messages += 1;
        let partitions = match self.offsets.get_mut(topic) {
            Some(p) => p,
            None => self.offsets.entry(topic.to_owned()).or_default(),
        };
        let next = partitions.entry(partition).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    /// Messages handled since the last checkpoint.
    #[cfg(test)]
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// True when a checkpoint is due: `max_messages` handled, or `interval`
    /// passed with something to save.
    pub(crate) fn due(&self, interval: Duration, max_messages: u64) -> bool {
        self.messages >= max_messages || (self.messages > 0 && self.since.elapsed() >= interval)
    }

    /// Everything since the last checkpoint, with the engine state that
    /// changed and the expiry to apply; resets the accumulator. Only the
    /// newest `violations_kept` violations per department are kept (the store
    /// would prune the rest anyway).
    pub fn take(&mut self, checks: &Checks, engine: &Engine, violations_kept: usize) -> Checkpoint {
        let taken = std::mem::take(self);
        // Expire first: rows it removes need not be written.
        // Measured back from the newest message time: the clock is the messages'.
        let expire = engine.latest_ms().map(|now| engine.expire(now));
        let rows = engine.state().take_changes();
        let mut counts: Vec<DayCounts> = taken
            .counts
            .into_iter()
            .map(|((day, dataset), tally)| day_counts(checks, day, dataset, &tally))
            .collect();
        counts.sort_by(|a, b| {
            (a.day, &a.department, &a.dataset).cmp(&(b.day, &b.department, &b.dataset))
        });
        // Every failed check is kept while disputable, not only the recent ones.
        let failures = taken
            .violations
            .iter()
            .map(|v| Failure {
                at: RecordAt {
                    topic: v.topic.clone(),
                    partition: v.partition,
                    offset: v.offset,
                    record_id: v.record_id.clone(),
                },
                timestamp_ms: v.timestamp,
                day: checks.day_of(v.timestamp),
                department: v.department.clone(),
                dataset: v.dataset.clone(),
                check: v.check.clone(),
                dimension: v.dimension,
            })
            .collect();
        let failures_before_ms = engine
            .latest_ms()
            .map(|now| now.saturating_sub(checks.governance.disputes.disputable_for_ms()));
        let mut kept: HashMap<&str, usize> = HashMap::new();
        let mut violations: Vec<Violation> = Vec::new();
        for v in taken.violations.iter().rev() {
            let n = kept.entry(v.department.as_str()).or_default();
            if *n < violations_kept {
                *n += 1;
                violations.push(v.clone());
            }
        }
        violations.reverse();
        Checkpoint {
            counts,
            offsets: taken
                .offsets
                .into_iter()
                .flat_map(|(topic, partitions)| {
                    partitions.into_iter().map(move |(partition, next)| {
                        PartitionOffset::new(topic.clone(), partition, next)
                    })
                })
                .collect(),
            references: rows.references,
            seen: rows.seen,
            expire,
            violations,
            findings_opened: taken.findings_opened,
            findings_fixed: taken.findings_fixed,
            failures,
            failures_before_ms,
            // The caller adds the claims its partitions were assigned with.
            claims: Vec::new(),
        }
    }
}

/// A dataset's counts as the store's row (checks by id, those counted only).
pub fn day_counts(checks: &Checks, day: NaiveDate, dataset: usize, t: &DatasetCounts) -> DayCounts {
    let ds = &checks.datasets[dataset];
    DayCounts {
        counts: t.counted_checks_only(),
        ..DayCounts::new(day, &ds.department, &ds.name)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_checkpoint_holds_counts_offsets_state_and_recent_violations() {
        let checks = Arc::new(
            crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap(),
        );
        let engine = Engine::new(checks.clone(), b"secret").checkpointed();
        let ds = &checks.datasets[0];
        let mut acc = Accumulator::default();
        let day = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        for (offset, payload) in [(7, &b"{}"[..]), (8, b"not json")] {
            let msg = Message {
                topic: &ds.topic,
                partition: 2,
                offset,
                timestamp_ms: 1_781_500_000_000,
                key: None,
                payload: Some(payload),
            };
            let outcome = engine.evaluate(&msg, day).unwrap();
            acc.add(&checks, day, &outcome);
            for v in crate::engine::violations(&msg, ds, &outcome) {
                acc.violation(&v);
            }
            acc.handled(&ds.topic, 2, offset);
        }
        assert!(acc.due(Duration::from_secs(3600), 2));
        assert!(!acc.due(Duration::from_secs(3600), 3));
        let cp = acc.take(&checks, &engine, 1);
        assert_eq!(cp.offsets, vec![PartitionOffset::new(&ds.topic, 2, 9)]);
        assert_eq!(cp.counts.len(), 1);
        assert_eq!(cp.counts[0].counts.records, 2);
        assert_eq!(cp.counts[0].counts.malformed, 1);
        assert_eq!(
            cp.counts[0].counts.check("message.parse"),
            Some([0, 1].into())
        );
        // One kept per department: the newest, the malformed message.
        assert_eq!(cp.violations.len(), 1);
        assert_eq!(cp.violations[0].offset, 8);
        assert!(cp.expire.is_some());
        assert_eq!(acc.messages(), 0);
        // The store keeps only the checks that were counted.
        assert!(
            cp.counts[0]
                .counts
                .checks
                .iter()
                .all(|(_, c)| c.total() > 0)
        );
    }
}

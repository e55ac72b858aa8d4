//! What changed since the last checkpoint: counts per (day, dataset), the
//! next offset of every partition, and the violations to keep for the API.
//! [`Accumulator::take`] adds the engine state that changed and turns it all
//! into one [`Checkpoint`], which the store applies in one transaction.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::checks::Checks;
use crate::engine::{Engine, RecordOutcome};
use crate::report::DatasetTally;
use crate::store::{Checkpoint, DayCounts, ViolationRow};
use crate::violation::Violation;

pub struct Accumulator {
    counts: HashMap<(NaiveDate, usize), DatasetTally>,
    /// Next offset per topic and partition; by topic first so a message's
    /// lookup borrows its topic instead of allocating a key.
    offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    violations: Vec<ViolationRow>,
    messages: u64,
    since: Instant,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self {
            counts: HashMap::new(),
            offsets: BTreeMap::new(),
            violations: Vec::new(),
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
            .or_insert_with(|| DatasetTally {
                checks: vec![[0, 0]; checks.datasets[outcome.dataset].checks.len()],
                ..DatasetTally::default()
            })
            .add(outcome);
    }

    /// Keeps a violation for the API's recent violations.
    pub fn violation(&mut self, v: &Violation) {
        self.violations.push(v.into());
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
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// True when a checkpoint is due: `max_messages` handled, or `interval`
    /// passed with something to save.
    pub fn due(&self, interval: Duration, max_messages: u64) -> bool {
        self.messages >= max_messages || (self.messages > 0 && self.since.elapsed() >= interval)
    }

    /// Everything since the last checkpoint, with the engine state that
    /// changed and the expiry to apply; resets the accumulator. Only the
    /// newest `violations_kept` violations per department are kept (the store
    /// would prune the rest anyway).
    pub fn take(&mut self, checks: &Checks, engine: &Engine, violations_kept: usize) -> Checkpoint {
        let taken = std::mem::take(self);
        // Expire first: rows it removes need not be written.
        let expire = engine.expire();
        let rows = engine.state().take_changes();
        let mut counts: Vec<DayCounts> = taken
            .counts
            .into_iter()
            .map(|((day, dataset), tally)| day_counts(checks, day, dataset, &tally))
            .collect();
        counts.sort_by(|a, b| {
            (a.day, &a.department, &a.dataset).cmp(&(b.day, &b.department, &b.dataset))
        });
        let mut kept: HashMap<&str, usize> = HashMap::new();
        let mut violations: Vec<ViolationRow> = Vec::new();
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
                    partitions
                        .into_iter()
                        .map(move |(partition, next)| (topic.clone(), partition, next))
                })
                .collect(),
            references: rows.references,
            seen: rows.seen,
            expire,
            violations,
        }
    }
}

/// A dataset's tally as the store's row (checks by id, those counted only).
pub fn day_counts(checks: &Checks, day: NaiveDate, dataset: usize, t: &DatasetTally) -> DayCounts {
    let ds = &checks.datasets[dataset];
    let mut counts = DayCounts::new(day, &ds.department, &ds.name);
    counts.records = t.records;
    counts.malformed = t.malformed;
    counts.dimensions = t.dimensions;
    counts.checks = ds
        .checks
        .iter()
        .zip(&t.checks)
        .filter(|(_, c)| c[0] + c[1] > 0)
        .map(|(def, c)| (def.id.clone(), *c))
        .collect();
    counts
}

/// The store's row as a tally of a dataset of the contracts (`None` for a
/// dataset the contracts no longer have; checks no longer defined are dropped).
pub fn tally_of(checks: &Checks, counts: &DayCounts) -> Option<(usize, DatasetTally)> {
    let ds = checks
        .datasets
        .iter()
        .find(|d| d.department == counts.department && d.name == counts.dataset)?;
    let mut t = DatasetTally {
        records: counts.records,
        malformed: counts.malformed,
        dimensions: counts.dimensions,
        checks: vec![[0, 0]; ds.checks.len()],
    };
    for (i, def) in ds.checks.iter().enumerate() {
        if let Some(c) = counts.check(&def.id) {
            t.checks[i] = c;
        }
    }
    Some((ds.index, t))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::message::Message;

    #[test]
    fn a_checkpoint_holds_counts_offsets_state_and_recent_violations() {
        let checks = Arc::new(
            crate::checks::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap(),
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
            let outcome = engine.evaluate(&msg).unwrap();
            acc.add(&checks, day, &outcome);
            for v in crate::violation::violations(&msg, ds, &outcome) {
                acc.violation(&v);
            }
            acc.handled(&ds.topic, 2, offset);
        }
        assert!(acc.due(Duration::from_secs(3600), 2));
        assert!(!acc.due(Duration::from_secs(3600), 3));
        let cp = acc.take(&checks, &engine, 1);
        assert_eq!(cp.offsets, vec![(ds.topic.clone(), 2, 9)]);
        assert_eq!(cp.counts.len(), 1);
        assert_eq!(cp.counts[0].records, 2);
        assert_eq!(cp.counts[0].malformed, 1);
        assert_eq!(cp.counts[0].check("message.parse"), Some([0, 1]));
        // One kept per department: the newest, the malformed message.
        assert_eq!(cp.violations.len(), 1);
        assert_eq!(cp.violations[0].offset, 8);
        assert!(cp.expire.is_some());
        assert_eq!(acc.messages(), 0);
        // Round trip through the store's shape.
        let (index, tally) = tally_of(&checks, &cp.counts[0]).unwrap();
        assert_eq!(index, 0);
        assert_eq!(day_counts(&checks, day, 0, &tally), cp.counts[0]);
    }
}

//! Counting outcomes, and the report `dqmon eval` prints (the score API
//! answers in the same shape).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{Checks, Weights};
use crate::dimension::Dimension;
use crate::engine::RecordOutcome;
use crate::score::score;

/// Counts of one dataset. `dimensions[d] = [passed, failed]`, `checks[c]` likewise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetTally {
    pub records: u64,
    pub malformed: u64,
    pub dimensions: [[u64; 2]; 5],
    pub checks: Vec<[u64; 2]>,
}

impl DatasetTally {
    pub fn add(&mut self, outcome: &RecordOutcome) {
        self.records += 1;
        self.malformed += u64::from(outcome.malformed);
        for (d, result) in outcome.dimensions.iter().enumerate() {
            if let Some(passed) = result {
                self.dimensions[d][usize::from(!passed)] += 1;
            }
        }
        for (check, passed) in outcome.checks() {
            self.checks[check][usize::from(!passed)] += 1;
        }
    }

    /// Adds `other`'s counts. Check counts add pairwise, so a total across
    /// datasets (started with no checks) takes records and dimensions only.
    pub fn merge(&mut self, other: &DatasetTally) {
        self.records += other.records;
        self.malformed += other.malformed;
        for (a, b) in self.dimensions.iter_mut().zip(other.dimensions) {
            a[0] += b[0];
            a[1] += b[1];
        }
        for (a, b) in self.checks.iter_mut().zip(&other.checks) {
            a[0] += b[0];
            a[1] += b[1];
        }
    }
}

/// Counts of a stream of messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub messages: u64,
    pub unrouted: u64,
    pub datasets: Vec<DatasetTally>,
}

impl Tally {
    pub fn new(checks: &Checks) -> Self {
        Self {
            messages: 0,
            unrouted: 0,
            datasets: checks
                .datasets
                .iter()
                .map(|d| DatasetTally {
                    checks: vec![[0, 0]; d.checks.len()],
                    ..DatasetTally::default()
                })
                .collect(),
        }
    }

    /// Counts one message: its outcome, or `None` when it was unrouted.
    pub fn add(&mut self, outcome: Option<&RecordOutcome>) {
        self.messages += 1;
        match outcome {
            Some(o) => self.datasets[o.dataset].add(o),
            None => self.unrouted += 1,
        }
    }

    pub fn malformed(&self) -> u64 {
        self.datasets.iter().map(|d| d.malformed).sum()
    }
}

/// Passed and failed outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl From<[u64; 2]> for Counts {
    fn from(c: [u64; 2]) -> Self {
        Counts {
            passed: c[0],
            failed: c[1],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    pub records: u64,
    pub malformed: u64,
    pub score: Option<f64>,
    pub dimensions: BTreeMap<Dimension, Counts>,
    pub checks: BTreeMap<String, Counts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentReport {
    pub records: u64,
    pub malformed: u64,
    /// `null` when no dimension had an outcome.
    pub score: Option<f64>,
    pub dimensions: BTreeMap<Dimension, Counts>,
    pub datasets: BTreeMap<String, DatasetReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub messages: u64,
    pub malformed: u64,
    pub unrouted: u64,
    pub departments: BTreeMap<String, DepartmentReport>,
}

fn dimension_map(counts: &[[u64; 2]; 5]) -> BTreeMap<Dimension, Counts> {
    Dimension::ALL
        .iter()
        .map(|&d| (d, counts[d as usize].into()))
        .collect()
}

impl Report {
    /// Every department and dataset of the contracts appears, with zeros when silent.
    pub fn new(checks: &Checks, tally: &Tally) -> Self {
        Self::with_weights(checks, tally, &checks.weights)
    }

    pub fn with_weights(checks: &Checks, tally: &Tally, weights: &Weights) -> Self {
        let mut departments = BTreeMap::new();
        for dep in &checks.departments {
            let mut total = DatasetTally::default();
            let mut datasets = BTreeMap::new();
            for ds in checks.datasets.iter().filter(|d| &d.department == dep) {
                let t = &tally.datasets[ds.index];
                total.merge(t);
                datasets.insert(
                    ds.name.clone(),
                    DatasetReport {
                        records: t.records,
                        malformed: t.malformed,
                        score: score(&t.dimensions, weights),
                        dimensions: dimension_map(&t.dimensions),
                        checks: ds
                            .checks
                            .iter()
                            .zip(&t.checks)
                            .map(|(c, n)| (c.id.clone(), (*n).into()))
                            .collect(),
                    },
                );
            }
            departments.insert(
                dep.clone(),
                DepartmentReport {
                    records: total.records,
                    malformed: total.malformed,
                    score: score(&total.dimensions, weights),
                    dimensions: dimension_map(&total.dimensions),
                    datasets,
                },
            );
        }
        Report {
            messages: tally.messages,
            malformed: tally.malformed(),
            unrouted: tally.unrouted,
            departments,
        }
    }
}

//! The shapes of a report: a dataset's and a department's counts and score,
//! as `dqmon eval` prints them and the API answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counts::DatasetCounts;
use crate::model::{Counts, Dimension};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    pub records: u64,
    pub malformed: u64,
    pub score: Option<f64>,
    /// The score's band (`scoring.yaml` grades); `null` without a score.
    pub grade: Option<String>,
    pub dimensions: BTreeMap<Dimension, Counts>,
    pub checks: BTreeMap<String, Counts>,
}

impl DatasetReport {
    pub fn new(counts: &DatasetCounts, score: Option<f64>, grade: Option<String>) -> Self {
        DatasetReport {
            records: counts.records,
            malformed: counts.malformed,
            score,
            grade,
            dimensions: dimension_map(&counts.dimensions),
            checks: counts.checks.iter().cloned().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentReport {
    pub records: u64,
    pub malformed: u64,
    /// `null` when no dimension had an outcome.
    pub score: Option<f64>,
    /// The score's band; `null` without a score.
    pub grade: Option<String>,
    pub dimensions: BTreeMap<Dimension, Counts>,
    pub datasets: BTreeMap<String, DatasetReport>,
}

pub(crate) fn dimension_map(counts: &[Counts; 5]) -> BTreeMap<Dimension, Counts> {
    Dimension::ALL
        .iter()
        .map(|&d| (d, counts[d as usize]))
        .collect()
}

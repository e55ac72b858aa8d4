//! The report of a stream of messages: what `dqmon eval` prints, and the
//! shape every department's scores take in the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counts::{DatasetCounts, Tally};
use super::scores::{DatasetRow, build_scores};
use crate::catalog::Checks;
use crate::model::period::PeriodBounds;
use crate::model::{Counts, Dimension};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    pub records: u64,
    pub malformed: u64,
    pub score: Option<f64>,
    pub dimensions: BTreeMap<Dimension, Counts>,
    pub checks: BTreeMap<String, Counts>,
}

impl DatasetReport {
    pub fn new(counts: &DatasetCounts, score: Option<f64>) -> Self {
        DatasetReport {
            records: counts.records,
            malformed: counts.malformed,
            score,
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

pub(crate) fn dimension_map(counts: &[Counts; 5]) -> BTreeMap<Dimension, Counts> {
    Dimension::ALL
        .iter()
        .map(|&d| (d, counts[d as usize]))
        .collect()
}

impl Report {
    /// Every department and dataset of the contracts appears, with zeros when
    /// silent; built by the same [`build_scores`] as the API's answers.
    pub fn new(checks: &Checks, tally: &Tally) -> Self {
        let rows: Vec<DatasetRow<'_>> = checks
            .datasets
            .iter()
            .map(|ds| DatasetRow {
                department: &ds.department,
                dataset: &ds.name,
                counts: &tally.datasets[ds.index],
            })
            .collect();
        // The period does not enter the report; any bounds do.
        let day = chrono::NaiveDate::MIN;
        let scores = build_scores(checks, PeriodBounds { from: day, to: day }, None, &rows);
        Report {
            messages: tally.messages,
            malformed: tally.malformed(),
            unrouted: tally.unrouted,
            departments: scores
                .departments
                .into_iter()
                .map(|(d, s)| (d, s.report))
                .collect(),
        }
    }
}

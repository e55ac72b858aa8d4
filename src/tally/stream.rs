//! The report of a stream of messages, what `dqmon eval` prints: every
//! department's report plus the messages no contract claimed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counts::Tally;
use super::report::DepartmentReport;
use super::scores::{DatasetRow, build_scores};
use crate::catalog::Checks;
use crate::model::period::PeriodBounds;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub messages: u64,
    pub malformed: u64,
    pub unrouted: u64,
    pub departments: BTreeMap<String, DepartmentReport>,
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

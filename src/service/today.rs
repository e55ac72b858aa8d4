//! Today's counts, for the `dq_quality_score` gauge: the records whose message
//! time falls on the current calendar day of the exchange's time zone.

use std::sync::Mutex;

use chrono::NaiveDate;

use crate::catalog::Checks;
use crate::engine::RecordOutcome;
use crate::tally::{DatasetCounts, Tally, score};

pub struct Today {
    day: Mutex<(NaiveDate, Tally)>,
}

impl Today {
    pub fn new(checks: &Checks, day: NaiveDate) -> Self {
        Self {
            day: Mutex::new((day, Tally::new(checks))),
        }
    }

    /// Counts an outcome of a message of calendar day `day`; other days than
    /// the current one are not today's.
    pub fn add(&self, day: NaiveDate, outcome: &RecordOutcome) {
        let mut guard = self.day.lock().expect("today lock");
        if guard.0 == day {
            guard.1.add(Some(outcome));
        }
    }

    /// Adds counts already in the store for the current day (at start-up:
    /// the records of today counted before a restart).
    pub fn seed(&self, checks: &Checks, stored: &[crate::store::DayCounts]) {
        let mut guard = self.day.lock().expect("today lock");
        let day = guard.0;
        for row in stored.iter().filter(|c| c.day == day) {
            // Datasets the contracts no longer have are not today's.
            if let Some(ds) = checks
                .datasets
                .iter()
                .find(|d| d.department == row.department && d.name == row.dataset)
            {
                guard.1.messages += row.counts.records;
                guard.1.datasets[ds.index].merge(&row.counts);
            }
        }
    }

    /// Starts a new day when the calendar turns.
    pub(crate) fn roll(&self, checks: &Checks, day: NaiveDate) {
        let mut guard = self.day.lock().expect("today lock");
        if guard.0 != day {
            *guard = (day, Tally::new(checks));
        }
    }

    /// Each department's records and score today (score `None` before any outcome).
    pub fn scores(&self, checks: &Checks) -> Vec<(String, u64, Option<f64>)> {
        let guard = self.day.lock().expect("today lock");
        checks
            .departments
            .iter()
            .map(|dep| {
                let mut total = DatasetCounts::default();
                for ds in checks.datasets.iter().filter(|d| &d.department == dep) {
                    total.merge_totals(&guard.1.datasets[ds.index]);
                }
                (
                    dep.clone(),
                    total.records,
                    score(&total.dimensions, &checks.weights),
                )
            })
            .collect()
    }
}

//! Rectification findings (整改) in the store: one row per (dataset, entity
//! key hash, check, opening), opened and later fixed by checkpoints, so the
//! open ones survive a restart and the fixed ones give the time to fix.
//! Rows carry where the record was on the bus and its `record_id`, never a
//! field value; the entity key only as the engine's keyed hash.
//!
//! [`summary`] turns what a backend reads into what people ask: open,
//! overdue (by the working-day calendar), fixed and the median time to fix
//! per department.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::StoreError;
use crate::catalog::WorkingDays;
use crate::model::Dimension;

/// A finding a record opened: written with the checkpoint that counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingOpened {
    /// Keyed hash of (dataset, entity key).
    pub key: [u64; 2],
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: Dimension,
    /// Message time of the record that opened it.
    pub opened_ms: i64,
    /// Its day in the exchange's time zone (deadlines count from it).
    pub opened_day: NaiveDate,
    pub at: RecordAt,
}

/// A finding a later record fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingFixed {
    pub key: [u64; 2],
    pub dataset: String,
    pub check: String,
    /// Which opening it fixes.
    pub opened_ms: i64,
    pub fixed_ms: i64,
    pub at: RecordAt,
}

/// Where a record was on the bus (its topic is the dataset's).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordAt {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub record_id: Option<String>,
}

/// One open finding, as the engine restores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFindingRow {
    pub key: [u64; 2],
    pub dataset: String,
    pub check: String,
    pub opened_ms: i64,
}

/// A finding as read for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRecord {
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: Dimension,
    pub opened_ms: i64,
    pub opened_day: NaiveDate,
    pub opened: RecordAt,
    /// Message time and record of the fix, when fixed.
    pub fixed: Option<(i64, RecordAt)>,
}

/// Which findings to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Fixed,
}

/// Fixed findings of one department: how many, and the median time to fix
/// (message time of the fix minus that of the opening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FixedStats {
    pub fixed: u64,
    /// `None` when nothing was fixed.
    pub median_ms: Option<i64>,
}

/// The findings' side of the store. Blocking, like the others.
pub trait FindingStore: Send + Sync {
    /// Open findings per (department, day opened), sorted; optionally one department.
    fn open_by_day(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, NaiveDate, u64)>, StoreError>;

    /// Fixed findings per department, sorted by department.
    fn fixed_stats(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, FixedStats)>, StoreError>;

    /// Findings with `status`, opened on `opened_until` or before when
    /// given, the newest opening first (then by dataset, check and
    /// position, so the order is total).
    fn list_findings(
        &self,
        department: Option<&str>,
        status: Status,
        opened_until: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<FindingRecord>, StoreError>;
}

/// Counts of one department's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct FindingSummary {
    pub open: u64,
    /// Open longer than the governance file allows, in working days.
    pub overdue: u64,
    pub fixed: u64,
    /// Median time to fix in seconds of message time; `None` before any fix.
    pub median_time_to_fix_secs: Option<i64>,
}

/// The last day a finding opened on `opened` may stay open: after it, overdue.
pub fn due_day(calendar: &WorkingDays, opened: NaiveDate, overdue_after: u32) -> NaiveDate {
    calendar.add_working_days(opened, overdue_after)
}

/// The latest opening day whose findings are overdue on `today` (`None`
/// when even a finding of the earliest storable day is not): overdue is
/// monotonic in the opening day, so "overdue" is "opened on this day or
/// before" and lists page like any other.
pub fn last_overdue_opening(
    calendar: &WorkingDays,
    overdue_after: u32,
    today: NaiveDate,
) -> Option<NaiveDate> {
    // Walking back from today: at most the deadline's working days plus
    // the holidays and weekends between them, a few dozen days.
    let mut day = today.pred_opt()?;
    loop {
        if due_day(calendar, day, overdue_after) < today {
            return Some(day);
        }
        day = day.pred_opt()?;
    }
}

/// Per department (every one of `departments`, zeros included): open,
/// overdue on `today`, fixed and the median time to fix.
pub fn summary(
    store: &dyn FindingStore,
    departments: &[String],
    only: Option<&str>,
    calendar: &WorkingDays,
    overdue_after: u32,
    today: NaiveDate,
) -> Result<BTreeMap<String, FindingSummary>, StoreError> {
    let mut out: BTreeMap<String, FindingSummary> = departments
        .iter()
        .filter(|d| only.is_none_or(|o| o == d.as_str()))
        .map(|d| (d.clone(), FindingSummary::default()))
        .collect();
    // One due day per opening day, not per finding.
    let mut due: BTreeMap<NaiveDate, NaiveDate> = BTreeMap::new();
    for (department, day, n) in store.open_by_day(only)? {
        let due_day = *due
            .entry(day)
            .or_insert_with(|| due_day(calendar, day, overdue_after));
        let s = out.entry(department).or_default();
        s.open += n;
        if today > due_day {
            s.overdue += n;
        }
    }
    for (department, stats) in store.fixed_stats(only)? {
        let s = out.entry(department).or_default();
        s.fixed = stats.fixed;
        s.median_time_to_fix_secs = stats.median_ms.map(|ms| ms.div_euclid(1000));
    }
    Ok(out)
}

/// The median of a sorted pair of middle values: one value when the count
/// is odd, the lower-rounded mean of two when even. Backends select the
/// middle rows and call this.
pub(crate) fn median(middle: &[i64]) -> Option<i64> {
    match middle {
        [] => None,
        [one] => Some(*one),
        [a, b, ..] => Some(a.midpoint(*b)),
    }
}

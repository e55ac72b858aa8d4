//! A score over time: the weeks or months of the last year, each with every
//! department's score and grade, for the API's series and the scorecard's
//! chart. Pure: the caller reads the counts of each period.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::scores::Scores;
use crate::model::period::{Period, PeriodBounds};

/// The unit of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// ISO weeks: the last 52.
    Week,
    /// Calendar months: the last 12.
    Month,
}

impl Step {
    /// How many periods a trend shows: one year.
    pub fn count(self) -> usize {
        match self {
            Step::Week => 52,
            Step::Month => 12,
        }
    }

    /// The last [`Step::count`] periods, oldest first, the last one holding
    /// `until`.
    pub fn periods(self, until: NaiveDate) -> Vec<Period> {
        let mut out: Vec<Period> = match self {
            Step::Week => {
                let monday = until.week(chrono::Weekday::Mon).first_day();
                (0..self.count() as u64)
                    .filter_map(|i| monday.checked_sub_days(chrono::Days::new(7 * i)))
                    .map(|d| {
                        let w = d.iso_week();
                        Period::Week {
                            year: w.year(),
                            week: w.week(),
                        }
                    })
                    .collect()
            }
            Step::Month => {
                let first = until.with_day(1).expect("day 1 exists");
                (0..self.count() as u32)
                    .filter_map(|i| first.checked_sub_months(Months::new(i)))
                    .map(|d| Period::Month {
                        year: d.year(),
                        month: d.month(),
                    })
                    .collect()
            }
        };
        out.reverse();
        out
    }
}

/// One department in one period of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendScore {
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub records: u64,
}

/// One period of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The period's text form (`2026-W24`, `2026-06`).
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub departments: BTreeMap<String, TrendScore>,
    /// The SHA-256 of the sealed version the scores come from, when the
    /// period is sealed (absent: live scores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl TrendPoint {
    /// The point of `period`, from its scores.
    pub fn new(period: Period, scores: &Scores) -> Self {
        let PeriodBounds { from, to } = scores.period;
        TrendPoint {
            period: period.to_string(),
            from,
            to,
            departments: scores
                .departments
                .iter()
                .map(|(d, s)| {
                    let point = TrendScore {
                        score: s.report.score,
                        grade: s.report.grade.clone(),
                        records: s.report.records,
                    };
                    (d.clone(), point)
                })
                .collect(),
            sealed: None,
        }
    }
}

/// A trend: its unit and its points, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub by: Step,
    pub points: Vec<TrendPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::model::period::parse_date(s).unwrap()
    }

    #[test]
    fn a_year_of_weeks_or_months_ending_with_today() {
        let months = Step::Month.periods(d("2026-06-30"));
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].to_string(), "2025-07");
        assert_eq!(months[11].to_string(), "2026-06");
        let weeks = Step::Week.periods(d("2026-01-01"));
        assert_eq!(weeks.len(), 52);
        // 1 January 2026 is in ISO week 2026-W01; the one before is 2025-W52.
        assert_eq!(weeks[51].to_string(), "2026-W01");
        assert_eq!(weeks[50].to_string(), "2025-W52");
        // Consecutive, no gap: each week starts the day after the last ends.
        for pair in weeks.windows(2) {
            assert_eq!(pair[0].bounds().1.succ_opt().unwrap(), pair[1].bounds().0);
        }
        for pair in months.windows(2) {
            assert_eq!(pair[0].bounds().1.succ_opt().unwrap(), pair[1].bounds().0);
        }
    }
}

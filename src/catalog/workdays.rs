//! The working-day calendar (`reference/working-days.yaml`): public holidays
//! and make-up working days (调休) per year, for deadlines counted in working
//! days. Pure lookups on dates; the file is checked like a contract, every
//! problem reported as `path: where: what`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

use super::error::Collector;
use crate::model::period::parse_date;

/// File name in the reference folder.
pub(crate) const FILE: &str = "working-days.yaml";

/// One year of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearSpec {
    /// Where the dates come from (the notice and its date). Required so that
    /// every year says its source; only people read it.
    #[allow(dead_code)]
    source: String,
    /// Days off, in named ranges (both ends inclusive).
    #[serde(default)]
    holidays: Vec<HolidaySpec>,
    /// Weekend days that are worked.
    #[serde(default)]
    working_days: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidaySpec {
    name: String,
    from: String,
    to: String,
}

/// Which days are worked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingDays {
    /// Years the file lists: their holidays are known.
    years: BTreeSet<i32>,
    /// Holiday dates with the holiday's name.
    holidays: BTreeMap<NaiveDate, String>,
    /// Weekend dates that are worked.
    working: BTreeSet<NaiveDate>,
}

impl WorkingDays {
    /// Whether people work on `day`.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains_key(&day) {
            return false;
        }
        self.working.contains(&day) || !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Whether the calendar lists `year`'s holidays; otherwise its days are
    /// counted Monday to Friday, and a deadline that reaches into it is only
    /// provisional.
    pub fn knows(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The holiday `day` is part of, if any.
    pub fn holiday(&self, day: NaiveDate) -> Option<&str> {
        self.holidays.get(&day).map(String::as_str)
    }

    /// The `n`th working day after `start` (`start` itself never counts):
    /// "within n working days" of something on `start` ends with that day.
    /// `n = 0` is `start`. Saturates at the last representable date.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                return day;
            };
            day = next;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to` (0 when `to` is
    /// not after `from`): how long something open since `from` has waited.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count() as u32
    }
}

/// Reads the calendar from the reference folder; an absent file is a
/// calendar without holidays (every year counted Monday to Friday).
pub(crate) fn load(reference_dir: &Path, errors: &mut Collector) -> WorkingDays {
    let path = reference_dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return WorkingDays::default(),
        Err(e) => {
            errors.push(&path, "-", format!("cannot read: {e}"));
            return WorkingDays::default();
        }
    };
    match serde_yaml_ng::from_str::<BTreeMap<i32, YearSpec>>(&text) {
        Ok(years) => compile(&path, &years, errors),
        Err(e) => {
            errors.push(&path, "-", format!("not a working-day calendar: {e}"));
            WorkingDays::default()
        }
    }
}

fn compile(path: &Path, years: &BTreeMap<i32, YearSpec>, errors: &mut Collector) -> WorkingDays {
    let mut cal = WorkingDays::default();
    for (&year, spec) in years {
        cal.years.insert(year);
        // A date of this year, or a reported error.
        let date = |at: String, text: &str, errors: &mut Collector| match parse_date(text) {
            Ok(d) if d.year() == year => Some(d),
            Ok(_) => {
                errors.push(path, at, format!("{text} is not in {year}"));
                None
            }
            Err(e) => {
                errors.push(path, at, e);
                None
            }
        };
        for (i, h) in spec.holidays.iter().enumerate() {
            let at = format!("{year}.holidays[{i}]");
            let (Some(from), Some(to)) = (
                date(format!("{at}.from"), &h.from, errors),
                date(format!("{at}.to"), &h.to, errors),
            ) else {
                continue;
            };
            if from > to {
                errors.push(path, &at, format!("{} ends before it starts", h.name));
                continue;
            }
            for day in from.iter_days().take_while(|d| *d <= to) {
                if let Some(other) = cal.holidays.insert(day, h.name.clone()) {
                    errors.push(path, &at, format!("{day} is already a day of {other}"));
                }
            }
        }
        for (i, text) in spec.working_days.iter().enumerate() {
            let at = format!("{year}.working_days[{i}]");
            let Some(day) = date(at.clone(), text, errors) else {
                continue;
            };
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                errors.push(
                    path,
                    &at,
                    format!(
                        "{day} is a {} and works anyway: only weekend days are made working days",
                        day.weekday()
                    ),
                );
            } else if let Some(name) = cal.holidays.get(&day) {
                errors.push(path, &at, format!("{day} is a day of {name}"));
            } else if !cal.working.insert(day) {
                errors.push(path, &at, format!("{day} is listed twice"));
            }
        }
    }
    cal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn shipped() -> WorkingDays {
        let mut errors = Collector::default();
        let cal = load(Path::new("checks/reference"), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        cal
    }

    #[test]
    fn the_2026_notice() {
        let cal = shipped();
        assert!(cal.knows(2026) && !cal.knows(2027));
        // Hand count: 261 weekdays, 19 of them holidays, 6 weekend days worked.
        let working = d("2026-01-01")
            .iter_days()
            .take_while(|x| x.year() == 2026)
            .filter(|x| cal.is_working_day(*x))
            .count();
        assert_eq!(working, 248);
        assert_eq!(cal.holiday(d("2026-02-17")), Some("春节"));
        assert!(cal.is_working_day(d("2026-02-14")), "Saturday, worked");
        assert!(
            !cal.is_working_day(d("2026-02-16")),
            "Monday, Spring Festival"
        );
        assert!(
            !cal.is_working_day(d("2026-02-21")),
            "Saturday, not a make-up day"
        );
    }

    #[test]
    fn deadlines_cross_holidays_and_make_up_days() {
        let cal = shipped();
        // Friday 13 February: the make-up Saturday is the first working day.
        assert_eq!(cal.add_working_days(d("2026-02-13"), 1), d("2026-02-14"));
        // Then nine days off: the second is Tuesday 24 February.
        assert_eq!(cal.add_working_days(d("2026-02-13"), 2), d("2026-02-24"));
        // National Day: 30 September + 3 working days = the make-up Saturday 10 October.
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 3), d("2026-10-10"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 0), d("2026-09-30"));
        assert_eq!(
            cal.working_days_between(d("2026-09-30"), d("2026-10-10")),
            3
        );
        assert_eq!(
            cal.working_days_between(d("2026-10-10"), d("2026-09-30")),
            0
        );
        // A year the file does not list: Monday to Friday.
        assert_eq!(cal.add_working_days(d("2027-01-01"), 1), d("2027-01-04"));
    }

    #[test]
    fn a_broken_calendar_says_every_problem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE),
            "2026:\n  source: test\n  holidays:\n    - { name: A, from: 2026-05-05, to: 2026-05-01 }\n    - { name: B, from: 2027-01-01, to: 2027-01-02 }\n    - { name: C, from: 2026-01-01, to: 2026-01-02 }\n    - { name: D, from: 2026-01-02, to: 2026-01-02 }\n  working_days: [2026-01-05, 2026-01-01, 2026-02-30, 2026-01-04, 2026-01-04]\n",
        )
        .unwrap();
        let mut errors = Collector::default();
        load(dir.path(), &mut errors);
        let text = format!("{errors:?}");
        for needle in [
            "A ends before it starts",
            "2027-01-01 is not in 2026",
            "already a day of C",
            "only weekend days",
            "not a calendar date",
            "listed twice",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
}

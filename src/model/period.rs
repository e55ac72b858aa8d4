//! Reporting periods: a day, ISO week, month, quarter, year or explicit date
//! range, with inclusive day bounds and a text form used by the CLI, the
//! config and the HTTP API (`?period=2026-Q2` or `?from=…&to=…`).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Longest range the HTTP API accepts, in days (about ten years): bounds the
/// work of one request.
pub(crate) const MAX_QUERY_DAYS: i64 = 3660;

/// A reporting period. Years are four-digit (0000..=9999) in the text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day(NaiveDate),
    /// ISO 8601 week: weeks start on Monday, week 1 holds the year's first
    /// Thursday, so a week can start in the previous calendar year.
    Week {
        year: i32,
        week: u32,
    },
    Month {
        year: i32,
        month: u32,
    },
    Quarter {
        year: i32,
        quarter: u32,
    },
    Year(i32),
    Range {
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// Number of ISO weeks of `year` (52 or 53): 28 December is always in the
/// last one.
pub(crate) fn iso_weeks_in_year(year: i32) -> u32 {
    NaiveDate::from_ymd_opt(year, 12, 28).map_or(52, |d| d.iso_week().week())
}

impl Period {
    /// First and last day, both inclusive.
    ///
    /// Exact for every period `parse` returns. Fields out of range (possible
    /// only when building the enum by hand) are clamped instead of
    /// panicking, because this runs inside request handlers.
    pub fn bounds(&self) -> (NaiveDate, NaiveDate) {
        match *self {
            Period::Day(d) => (d, d),
            Period::Week { year, week } => {
                let year = clamp_year(year);
                let week = week.clamp(1, iso_weeks_in_year(year));
                let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
                    .expect("week clamped to the year's weeks");
                (monday, monday + Days::new(6))
            }
            Period::Month { year, month } => month_bounds(clamp_year(year), month.clamp(1, 12)),
            Period::Quarter { year, quarter } => {
                let year = clamp_year(year);
                let q = quarter.clamp(1, 4);
                (month_bounds(year, 3 * q - 2).0, month_bounds(year, 3 * q).1)
            }
            Period::Year(year) => {
                let year = clamp_year(year);
                (month_bounds(year, 1).0, month_bounds(year, 12).1)
            }
            Period::Range { from, to } => (from, to),
        }
    }

    /// Number of days in the period (inclusive bounds).
    #[cfg(test)]
    pub fn days(&self) -> i64 {
        let (from, to) = self.bounds();
        (to - from).num_days() + 1
    }

    /// Parses `2026-06-15`, `2026-W24`, `2026-06`, `2026-Q2`, `2026` or
    /// `2026-06-01..2026-06-30`. Surrounding spaces are ignored and `w`/`q`
    /// may be lower case; nothing else is lenient (fixed digit counts), so
    /// one period has one spelling.
    pub fn parse(s: &str) -> Result<Period, String> {
        let t = s.trim();
        let invalid = |why: &str| format!("invalid period {}: {why}", quoted(s));
        if let Some((a, b)) = t.split_once("..") {
            let from = parse_date(a.trim()).map_err(|e| invalid(&e))?;
            let to = parse_date(b.trim()).map_err(|e| invalid(&e))?;
            if from > to {
                return Err(invalid("range starts after it ends"));
            }
            return Ok(Period::Range { from, to });
        }
        let b = t.as_bytes();
        let year = || digits(&b[..4]).map(|y| y as i32);
        match b.len() {
            4 => year().map(Period::Year).ok_or_else(|| invalid(EXPECTED)),
            10 => parse_date(t).map(Period::Day).map_err(|e| invalid(&e)),
            8 if b[4] == b'-' && b[5].eq_ignore_ascii_case(&b'W') => {
                let (Some(year), Some(week)) = (year(), digits(&b[6..])) else {
                    return Err(invalid(EXPECTED));
                };
                if week == 0 || week > iso_weeks_in_year(year) {
                    return Err(invalid(&format!(
                        "{year:04} has ISO weeks 01 to {}",
                        iso_weeks_in_year(year)
                    )));
                }
                Ok(Period::Week { year, week })
            }
            7 if b[4] == b'-' && b[5].eq_ignore_ascii_case(&b'Q') => {
                match (year(), digits(&b[6..])) {
                    (Some(year), Some(quarter @ 1..=4)) => Ok(Period::Quarter { year, quarter }),
                    _ => Err(invalid("quarter must be Q1 to Q4")),
                }
            }
            7 if b[4] == b'-' => match (year(), digits(&b[5..])) {
                (Some(year), Some(month @ 1..=12)) => Ok(Period::Month { year, month }),
                _ => Err(invalid("month must be 01 to 12")),
            },
            _ => Err(invalid(EXPECTED)),
        }
    }
}

const EXPECTED: &str =
    "expected YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD";

/// Keeps dates well inside chrono's range (about ±262,000 years), so
/// bounds never panic; ISO week-years of 0000-01-01 and the like are -1.
fn clamp_year(year: i32) -> i32 {
    year.clamp(-100_000, 100_000)
}

fn month_bounds(year: i32, month: u32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid year and month");
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("year 10000 is representable");
    (
        first,
        next.pred_opt().expect("not the first representable day"),
    )
}

/// All ASCII digits (and at least one) to a number.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, &c| n * 10 + u32::from(c - b'0')))
}

/// The input echoed in errors, cut short: errors end up in logs and HTTP
/// responses.
fn quoted(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// Strict `YYYY-MM-DD` (exactly four, two and two digits).
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(format!("{} is not a YYYY-MM-DD date", quoted(s)));
    }
    match (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..])) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d)
            .ok_or_else(|| format!("{} is not a calendar date", quoted(s))),
        _ => Err(format!("{} is not a YYYY-MM-DD date", quoted(s))),
    }
}

/// Writes `d` as YYYY-MM-DD (four-digit year, as `parse_date` reads it).
fn write_date(f: &mut fmt::Formatter<'_>, d: NaiveDate) -> fmt::Result {
    write!(f, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Day(d) => write_date(f, d),
            Period::Week { year, week } => write!(f, "{year:04}-W{week:02}"),
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Year(year) => write!(f, "{year:04}"),
            Period::Range { from, to } => {
                write_date(f, from)?;
                f.write_str("..")?;
                write_date(f, to)
            }
        }
    }
}

impl FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse(s)
    }
}

/// As its text form, so config files and JSON use the same spelling as URLs.
impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Inclusive day bounds from HTTP query parameters: either `period`
/// (any [`Period::parse`] form) or both `from` and `to` (YYYY-MM-DD).
/// Errors: neither or both forms, only one of from/to, an invalid date or
/// period, from > to, more than [`MAX_QUERY_DAYS`] days. A caller with a
/// default period handles the all-`None` case before calling.
pub fn from_query(
    from: Option<&str>,
    to: Option<&str>,
    period: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), String> {
    let (from, to) = match (from, to, period) {
        (None, None, None) => {
            return Err("give ?period=… or ?from=YYYY-MM-DD&to=YYYY-MM-DD".into());
        }
        (None, None, Some(p)) => Period::parse(p)?.bounds(),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err("give either period or from/to, not both".into());
        }
        (Some(f), Some(t), None) => {
            let (from, to) = (parse_date(f.trim())?, parse_date(t.trim())?);
            if from > to {
                return Err(format!("from {from} is after to {to}"));
            }
            (from, to)
        }
        (Some(_), None, None) | (None, Some(_), None) => {
            return Err("from and to must be given together".into());
        }
    };
    let days = (to - from).num_days() + 1;
    if days > MAX_QUERY_DAYS {
        return Err(format!(
            "range of {days} days is longer than the {MAX_QUERY_DAYS} allowed"
        ));
    }
    Ok((from, to))
}

/// First and last day of the period, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodBounds {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn bounds(s: &str) -> (NaiveDate, NaiveDate) {
        Period::parse(s).unwrap().bounds()
    }

    #[test]
    fn parses_every_form() {
        let cases = [
            ("2026-06-15", Period::Day(d("2026-06-15"))),
            (
                "2026-W24",
                Period::Week {
                    year: 2026,
                    week: 24,
                },
            ),
            (
                "2026-06",
                Period::Month {
                    year: 2026,
                    month: 6,
                },
            ),
            (
                "2026-Q2",
                Period::Quarter {
                    year: 2026,
                    quarter: 2,
                },
            ),
            ("2026", Period::Year(2026)),
            (
                "2026-06-01..2026-06-30",
                Period::Range {
                    from: d("2026-06-01"),
                    to: d("2026-06-30"),
                },
            ),
        ];
        for (text, period) in cases {
            assert_eq!(Period::parse(text), Ok(period), "{text}");
            assert_eq!(period.to_string(), text);
            assert_eq!(text.parse::<Period>(), Ok(period));
        }
        assert_eq!(
            Period::parse(" 2026-w01 "),
            Ok(Period::Week {
                year: 2026,
                week: 1
            })
        );
        assert_eq!(
            Period::parse("2026-q4"),
            Ok(Period::Quarter {
                year: 2026,
                quarter: 4
            })
        );
        assert_eq!(
            Period::parse("2026-06-01 .. 2026-06-01"),
            Ok(Period::Range {
                from: d("2026-06-01"),
                to: d("2026-06-01")
            })
        );
    }

    #[test]
    fn rejects_malformed_periods() {
        for bad in [
            "",
            "26",
            "20266",
            "2026-6",
            "2026-6-1",
            "2026-13",
            "2026-00",
            "2026-Q0",
            "2026-Q5",
            "2026-W00",
            "2026-W1",
            "2021-W53",
            "2026-W54",
            "2026-02-29",
            "2026-06-31",
            "+2026-01-01",
            "2026/06/15",
            "2026-06-15..",
            "..2026-06-15",
            "2026-06-30..2026-06-01",
            "2026-06-01..2026-06",
            "２０２６",
            "2026-W２4",
            "2026-06-15T00:00",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = "x".repeat(10_000);
        let err = Period::parse(&long).unwrap_err();
        assert!(err.len() < 200, "error echoes a bounded part of the input");
    }

    #[test]
    fn iso_week_edges() {
        // 53 weeks iff 1 January is a Thursday, or a Wednesday in a leap year.
        assert_eq!(iso_weeks_in_year(2020), 53); // leap, starts Wednesday
        assert_eq!(iso_weeks_in_year(2021), 52);
        assert_eq!(iso_weeks_in_year(2026), 53); // starts Thursday
        assert_eq!(iso_weeks_in_year(2027), 52);
        assert_eq!(bounds("2020-W53"), (d("2020-12-28"), d("2021-01-03")));
        assert!(Period::parse("2021-W53").is_err());
        assert_eq!(bounds("2026-W53"), (d("2026-12-28"), d("2027-01-03")));
        // Week 1 of 2025 starts in 2024; 2021-W01 starts after 1 January.
        assert_eq!(bounds("2025-W01"), (d("2024-12-30"), d("2025-01-05")));
        assert_eq!(bounds("2021-W01"), (d("2021-01-04"), d("2021-01-10")));
        assert_eq!(bounds("2026-W24"), (d("2026-06-08"), d("2026-06-14")));
        assert_eq!(bounds("2026-W24").0.weekday(), Weekday::Mon);
    }

    #[test]
    fn months_quarters_years_and_leap_february() {
        assert_eq!(bounds("2024-02"), (d("2024-02-01"), d("2024-02-29")));
        assert_eq!(bounds("2026-02"), (d("2026-02-01"), d("2026-02-28")));
        assert_eq!(bounds("2000-02").1, d("2000-02-29"));
        assert_eq!(bounds("1900-02").1, d("1900-02-28"));
        assert_eq!(bounds("2026-12"), (d("2026-12-01"), d("2026-12-31")));
        assert_eq!(bounds("2026-Q1"), (d("2026-01-01"), d("2026-03-31")));
        assert_eq!(bounds("2026-Q2"), (d("2026-04-01"), d("2026-06-30")));
        assert_eq!(bounds("2026-Q3"), (d("2026-07-01"), d("2026-09-30")));
        assert_eq!(bounds("2026-Q4"), (d("2026-10-01"), d("2026-12-31")));
        assert_eq!(bounds("2024"), (d("2024-01-01"), d("2024-12-31")));
        assert_eq!(Period::parse("2024").unwrap().days(), 366);
        assert_eq!(Period::parse("2024-Q1").unwrap().days(), 91);
        assert_eq!(bounds("9999"), (d("9999-01-01"), d("9999-12-31")));
        assert_eq!(bounds("0000-01").0, d("0000-01-01"));
    }

    #[test]
    fn hand_built_out_of_range_fields_do_not_panic() {
        let p = Period::Week {
            year: 2021,
            week: 53,
        };
        assert_eq!(p.bounds().0, d("2021-12-27"));
        assert_eq!(
            Period::Month {
                year: 2026,
                month: 0
            }
            .bounds()
            .0,
            d("2026-01-01")
        );
        assert_eq!(
            Period::Quarter {
                year: 2026,
                quarter: 9
            }
            .bounds()
            .0,
            d("2026-10-01")
        );
        assert_eq!(
            Period::Year(i32::MAX).bounds().1,
            NaiveDate::from_ymd_opt(100_000, 12, 31).unwrap()
        );
        assert_eq!(
            Period::Week { year: -1, week: 52 }.bounds().1,
            d("0000-01-02")
        );
    }

    #[test]
    fn query_forms() {
        assert_eq!(
            from_query(Some("2026-06-01"), Some("2026-06-30"), None),
            Ok((d("2026-06-01"), d("2026-06-30")))
        );
        assert_eq!(
            from_query(None, None, Some("2026-Q2")),
            Ok((d("2026-04-01"), d("2026-06-30")))
        );
        assert_eq!(
            from_query(Some("2026-06-01"), Some("2026-06-01"), None),
            Ok((d("2026-06-01"), d("2026-06-01")))
        );
        fn err(f: Option<&str>, t: Option<&str>, p: Option<&str>) -> String {
            from_query(f, t, p).unwrap_err()
        }
        assert!(err(Some("2026-06-30"), Some("2026-06-01"), None).contains("after"));
        assert!(err(Some("2026-02-30"), Some("2026-03-01"), None).contains("calendar"));
        assert!(err(Some("2026-06-01"), Some("2026-06-30"), Some("2026")).contains("not both"));
        assert!(err(Some("2026-06-01"), None, Some("2026")).contains("not both"));
        assert!(err(Some("2026-06-01"), None, None).contains("together"));
        assert!(err(None, Some("2026-06-01"), None).contains("together"));
        assert!(err(None, None, None).contains("period"));
        assert!(err(None, None, Some("2026-Q7")).contains("quarter"));
        assert!(err(Some(""), Some(""), None).contains("YYYY-MM-DD"));
        // 3660 days is the limit, inclusive; ten whole years (3653 days) pass.
        assert!(from_query(Some("2016-01-01"), Some("2025-12-31"), None).is_ok());
        let end = d("2020-01-01") + Days::new(3659);
        assert!(from_query(Some("2020-01-01"), Some(&end.to_string()), None).is_ok());
        let end = end + Days::new(1);
        assert!(err(Some("2020-01-01"), Some(&end.to_string()), None).contains("3661"));
        assert!(err(None, None, Some("2000-01-01..2026-01-01")).contains("longer"));
    }

    #[test]
    fn serde_uses_the_text_form() {
        let p = Period::Quarter {
            year: 2026,
            quarter: 2,
        };
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"2026-Q2\"");
        assert_eq!(serde_json::from_str::<Period>("\"2026-Q2\"").unwrap(), p);
        assert!(serde_json::from_str::<Period>("\"2026-Q9\"").is_err());
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i32..=9999, 1u32..=366).prop_map(|(y, ord)| {
            NaiveDate::from_yo_opt(y, ord)
                .or_else(|| NaiveDate::from_yo_opt(y, 365))
                .unwrap()
        })
    }

    fn arb_period() -> impl Strategy<Value = Period> {
        prop_oneof![
            arb_date().prop_map(Period::Day),
            (0i32..=9999, 1u32..=53).prop_map(|(year, w)| Period::Week {
                year,
                week: w.min(iso_weeks_in_year(year)),
            }),
            (0i32..=9999, 1u32..=12).prop_map(|(year, month)| Period::Month { year, month }),
            (0i32..=9999, 1u32..=4).prop_map(|(year, quarter)| Period::Quarter { year, quarter }),
            (0i32..=9999).prop_map(Period::Year),
            (arb_date(), arb_date()).prop_map(|(a, b)| Period::Range {
                from: a.min(b),
                to: a.max(b),
            }),
        ]
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(p in arb_period()) {
            let text = p.to_string();
            prop_assert_eq!(Period::parse(&text), Ok(p), "{}", text);
            let (from, to) = p.bounds();
            prop_assert!(from <= to);
        }

        #[test]
        fn every_day_is_in_its_periods(day in arb_date()) {
            let week = day.iso_week();
            let periods = [
                Period::Day(day),
                Period::Week { year: week.year(), week: week.week() },
                Period::Month { year: day.year(), month: day.month() },
                Period::Quarter { year: day.year(), quarter: day.month0() / 3 + 1 },
                Period::Year(day.year()),
            ];
            for p in periods {
                let (from, to) = p.bounds();
                prop_assert!(from <= day && day <= to, "{} not in {}", day, p);
            }
            // Neighbouring months tile the calendar: no gap, no overlap.
            let (_, last) = Period::Month { year: day.year(), month: day.month() }.bounds();
            if let Some(next) = last.succ_opt().filter(|n| n.year() <= 9999) {
                prop_assert_eq!(Period::Month { year: next.year(), month: next.month() }.bounds().0, next);
            }
            let (monday, sunday) = periods[1].bounds();
            prop_assert_eq!(monday.weekday(), Weekday::Mon);
            prop_assert_eq!((sunday - monday).num_days(), 6);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}", t in "[0-9WQwq.-]{0,24}") {
            let _ = Period::parse(&s);
            let _ = Period::parse(&t);
            let _ = from_query(Some(&t), Some(&s), None);
        }
    }
}

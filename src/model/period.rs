//! Reporting periods: a day, ISO week, month, quarter, year or explicit date
//! range, with inclusive day bounds and a text form used by the CLI, the
//! config, the scorecard and the HTTP API (`?period=2026-Q2`), and the
//! pattern that describes that form exactly in the API's OpenAPI document.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

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
    /// may be lower case; nothing else is lenient (fixed digit counts). A
    /// range is the days between its two ends, written in either order.
    pub fn parse(s: &str) -> Result<Period, String> {
        let t = s.trim();
        let invalid = |why: &str| format!("invalid period {}: {why}", quoted(s));
        if let Some((a, b)) = t.split_once("..") {
            let a = parse_date(a.trim()).map_err(|e| invalid(&e))?;
            let b = parse_date(b.trim()).map_err(|e| invalid(&e))?;
            return Ok(Period::Range {
                from: a.min(b),
                to: a.max(b),
            });
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

impl Period {
    /// [`Period::parse`] without the spaces it forgives: what the HTTP API
    /// takes, and exactly the strings [`pattern`] matches, so the API's
    /// description and its behaviour cannot disagree.
    pub fn parse_exact(s: &str) -> Result<Period, String> {
        if s.chars().any(char::is_whitespace) {
            return Err(format!("invalid period {}: no spaces allowed", quoted(s)));
        }
        Period::parse(s)
    }
}

/// The regular expression (ECMA-262 and Python `re` alike: ASCII classes,
/// no look-around) of the strings [`Period::parse_exact`] accepts: calendar
/// dates only, 29 February in leap years only, week 53 only in the years
/// that have one. Years are 0000..=9999; the Gregorian calendar repeats
/// every 400 years, so a year's century modulo 4 and its last two digits
/// decide both leap years and ISO long years.
pub fn pattern() -> String {
    format!("^({})$", pattern_body())
}

const Y: &str = "[0-9]{4}";
const MONTH: &str = "(0[1-9]|1[0-2])";
// Two-digit numbers n with n % 4 == k: even tens take units {0,4,8} + k,
// odd tens (which add 2 modulo 4) units {2,6} + k.
const MOD4: [&str; 4] = [
    "([02468][048]|[13579][26])",
    "([02468][159]|[13579][37])",
    "([02468][26]|[13579][048])",
    "([02468][37]|[13579][159])",
];

/// The pattern of exactly the strings [`parse_date`] accepts (calendar
/// dates, years 0000..=9999), anchored.
pub fn date_pattern() -> String {
    format!("^{}$", day_body())
}

/// A calendar date, 29 February in leap years only.
fn day_body() -> String {
    let leap = format!("([0-9]{{2}}(0[48]|[2468][048]|[13579][26])|{}00)", MOD4[0]);
    format!(
        "({Y}-{MONTH}-(0[1-9]|1[0-9]|2[0-8])|{Y}-(0[13-9]|1[0-2])-(29|30)|{Y}-(0[13578]|1[02])-31|{leap}-02-29)"
    )
}

/// [`pattern`] without its anchors (proptest generates from this).
fn pattern_body() -> String {
    let day = day_body();
    // Years with 53 ISO weeks: by century class, the last two digits of the
    // long years (from the calendar itself, not a table).
    let long_years = (0..4)
        .map(|k: i32| {
            let ends: Vec<String> = (0..100)
                .filter(|s| iso_weeks_in_year(100 * k + s) == 53)
                .map(|s| format!("{s:02}"))
                .collect();
            format!("{}({})", MOD4[k as usize], ends.join("|"))
        })
        .collect::<Vec<_>>()
        .join("|");
    let week = format!("({Y}-[Ww](0[1-9]|[1-4][0-9]|5[0-2])|({long_years})-[Ww]53)");
    format!("{day}|{day}\\.\\.{day}|{week}|{Y}-{MONTH}|{Y}-[Qq][1-4]|{Y}")
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

/// Inclusive day bounds from a page's or a command's parameters: either
/// `period` (any [`Period::parse`] form) or both `from` and `to`
/// (YYYY-MM-DD, in either order, like a range). Errors: neither or both
/// forms, only one of from/to, an invalid date or period. A caller with a
/// default period handles the all-`None` case before calling. No length
/// limit: a store reads only the days it holds, so a long range costs no
/// more than the data it covers.
pub fn from_query(
    from: Option<&str>,
    to: Option<&str>,
    period: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), String> {
    match (from, to, period) {
        (None, None, None) => Err("give ?period=… or ?from=YYYY-MM-DD&to=YYYY-MM-DD".into()),
        (None, None, Some(p)) => Ok(Period::parse(p)?.bounds()),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            Err("give either period or from/to, not both".into())
        }
        (Some(f), Some(t), None) => {
            let (a, b) = (parse_date(f.trim())?, parse_date(t.trim())?);
            Ok((a.min(b), a.max(b)))
        }
        (Some(_), None, None) | (None, Some(_), None) => {
            Err("from and to must be given together".into())
        }
    }
}

/// First and last day of the period, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodBounds {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl PeriodBounds {
    /// `from..=to` within years 0000..=9999, the calendar dates are written
    /// in (an ISO week of 9999 ends in 10000; a store holds no day there).
    pub fn clamped(from: NaiveDate, to: NaiveDate) -> Self {
        let first = NaiveDate::from_ymd_opt(0, 1, 1).expect("a date");
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");
        PeriodBounds {
            from: from.clamp(first, last),
            to: to.clamp(first, last),
        }
    }
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
        // Either order: a range is the days between its ends.
        assert_eq!(
            from_query(Some("2026-06-30"), Some("2026-06-01"), None),
            Ok((d("2026-06-01"), d("2026-06-30")))
        );
        assert_eq!(
            from_query(None, None, Some("2026-06-30..2026-06-01")),
            Ok((d("2026-06-01"), d("2026-06-30")))
        );
        assert!(err(Some("2026-02-30"), Some("2026-03-01"), None).contains("calendar"));
        assert!(err(Some("2026-06-01"), Some("2026-06-30"), Some("2026")).contains("not both"));
        assert!(err(Some("2026-06-01"), None, Some("2026")).contains("not both"));
        assert!(err(Some("2026-06-01"), None, None).contains("together"));
        assert!(err(None, Some("2026-06-01"), None).contains("together"));
        assert!(err(None, None, None).contains("period"));
        assert!(err(None, None, Some("2026-Q7")).contains("quarter"));
        assert!(err(Some(""), Some(""), None).contains("YYYY-MM-DD"));
        // No length limit: the whole representable calendar is one range.
        assert_eq!(
            from_query(None, None, Some("0000-01-01..9999-12-31")),
            Ok((d("0000-01-01"), d("9999-12-31")))
        );
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

    #[test]
    fn exact_parse_refuses_spaces_that_parse_forgives() {
        for spaced in [
            " 2026",
            "2026 ",
            "2026-06-01 ..2026-06-02",
            "2026\u{3000}",
            "2026\n",
        ] {
            assert!(Period::parse_exact(spaced).is_err(), "{spaced:?}");
        }
        assert!(Period::parse(" 2026 ").is_ok());
        assert!(Period::parse_exact("2026-w01").is_ok());
    }

    #[test]
    fn pattern_knows_the_calendar() {
        let re = regex::Regex::new(&pattern()).unwrap();
        for good in [
            "2024-02-29",
            "2000-02-29",
            "0000-02-29",
            "2020-W53",
            "2026-w53",
            "2015-W53",
            "2026-06-30..2026-06-01",
            "9999-12-31",
            "0000-Q1",
            "2026-q4",
        ] {
            assert!(re.is_match(good), "{good}");
        }
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2100-02-29",
            "2021-W53",
            "2027-W53",
            "2026-06-31",
            "2026-W00",
            "2026-Q5",
            "2026-00",
            " 2026",
            "2026\n",
            "٢٠٢٦",
        ] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }

    /// One character of a period's text replaced by a likely-confusing one.
    fn arb_near_period() -> impl Strategy<Value = String> {
        (
            arb_period(),
            any::<prop::sample::Index>(),
            prop::sample::select(vec![
                '0', '1', '2', '3', '5', '9', 'W', 'w', 'Q', 'q', '-', '.', ' ', 'x',
            ]),
        )
            .prop_map(|(p, at, c)| {
                let mut chars: Vec<char> = p.to_string().chars().collect();
                let i = at.index(chars.len());
                chars[i] = c;
                chars.into_iter().collect()
            })
    }

    proptest! {
        #[test]
        fn the_date_pattern_is_parse_date(d in arb_date(), noise in "[0-9-]{8,11}") {
            let re = regex::Regex::new(&date_pattern()).unwrap();
            let text = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
            prop_assert!(re.is_match(&text));
            prop_assert_eq!(re.is_match(&noise), parse_date(&noise).is_ok(), "{:?}", noise);
        }

        #[test]
        fn the_pattern_generates_only_periods(s in proptest::string::string_regex(&pattern_body()).unwrap()) {
            prop_assert!(Period::parse_exact(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn the_pattern_matches_exactly_what_parses(
            p in arb_period(),
            near in arb_near_period(),
            noise in "[0-9WQwq.-]{0,24}",
        ) {
            let re = regex::Regex::new(&pattern()).unwrap();
            let text = p.to_string();
            prop_assert!(re.is_match(&text), "{}", text);
            for s in [near, noise] {
                prop_assert_eq!(re.is_match(&s), Period::parse_exact(&s).is_ok(), "{:?}", s);
            }
        }

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

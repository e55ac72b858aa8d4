//! `date-time`: RFC 3339 timestamp with a mandatory offset.

use std::cell::RefCell;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

/// Parses an RFC 3339 `date-time` (section 5.6): `YYYY-MM-DDThh:mm:ss[.frac]`
/// then `Z`/`z` or `±hh:mm`; `T` may be lowercase.
///
/// chrono's `parse_from_rfc3339` does the work but is more lenient than the
/// grammar in two ways we undo: it accepts a space instead of `T`, and
/// U+2212 MINUS SIGN in the offset. It also accepts second `60` at any time;
/// we keep a leap second only where one can occur (section 5.7): 23:59:60
/// UTC on the last day of a month.
pub(crate) fn parse(s: &str) -> Option<DateTime<FixedOffset>> {
    // A record's `updated_at` is parsed by its format check, its freshness and
    // its date-order rule in turn: remember the last answer.
    LAST.with_borrow_mut(|(text, parsed)| {
        if text != s {
            *parsed = parse_uncached(s);
            text.clear();
            text.push_str(s);
        }
        *parsed
    })
}

thread_local! {
    static LAST: RefCell<(String, Option<DateTime<FixedOffset>>)> =
        const { RefCell::new((String::new(), None)) };
}

fn parse_uncached(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    // The grammar is pure ASCII, which also rules out U+2212.
    if !matches!(b.get(10), Some(b'T' | b't')) || !b.is_ascii() {
        return None;
    }
    let dt = DateTime::parse_from_rfc3339(s).ok()?;
    // chrono represents second 60 as 59 with nanosecond >= 1e9.
    if dt.nanosecond() >= 1_000_000_000 {
        let utc = dt.naive_utc();
        let last_day_of_month = utc.date().succ_opt().is_some_and(|d| d.day() == 1);
        if !(utc.hour() == 23 && utc.minute() == 59 && last_day_of_month) {
            return None;
        }
    }
    Some(dt)
}

/// `date-time`: see [`parse`].
pub(crate) fn is_valid(s: &str) -> bool {
    parse(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use proptest::prelude::*;

    #[test]
    fn valid_date_times() {
        for s in [
            "2024-02-29T12:00:00Z", // leap day
            "2000-02-29T00:00:00Z",
            "2024-06-01T08:30:00+08:00",
            "2024-06-01T08:30:00-05:00",
            "2024-06-01t08:30:00z", // lowercase T and Z are allowed
            "2024-06-01T08:30:00.5Z",
            "2024-06-01T08:30:00.123456789+08:00",
            "2024-06-01T08:30:00.1234567891234Z", // digits past nanoseconds ignored
            "2024-06-01T23:59:59-23:59",
            "2024-06-01T00:00:00+00:00",
            "2024-06-01T00:00:00-00:00", // "unknown local offset", still valid syntax
            "1970-01-01T00:00:00Z",
        ] {
            assert!(is_valid(s), "{s}");
        }
        let dt = parse("2024-06-01T08:30:00.25+08:00").unwrap();
        assert_eq!(
            dt.with_timezone(&Utc),
            NaiveDate::from_ymd_opt(2024, 6, 1)
                .unwrap()
                .and_hms_milli_opt(0, 30, 0, 250)
                .unwrap()
                .and_utc()
        );
        assert_eq!(dt.offset().local_minus_utc(), 8 * 3600);
    }

    #[test]
    fn invalid_date_times() {
        for s in [
            "2024-06-01T08:30:00",       // missing offset
            "2024-06-01T08:30:00.123",   // missing offset
            "2024-06-01 08:30:00Z",      // space separator
            "2024-06-01 08:30:00+08:00", // space separator
            "2024-06-01_08:30:00Z",
            "2024-06-0108:30:00Z",
            "2023-02-29T00:00:00Z", // not a leap year
            "2024-02-30T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-1-1T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T23:60:00Z",
            "2024-01-01T23:59:61Z",
            "2024-01-01T8:30:00Z",
            "2024-01-01T08:30Z",        // seconds required
            "2024-01-01T08:30:00.Z",    // fraction needs a digit
            "2024-01-01T08:30:00+0800", // colon required
            "2024-01-01T08:30:00+08",
            "2024-01-01T08:30:00+24:00",
            "2024-01-01T08:30:00+08:60",
            "2024-01-01T08:30:00\u{2212}08:00", // U+2212 MINUS SIGN
            "2024-01-01T08:30:00 Z",
            "2024-01-01T08:30:00Z ",
            " 2024-01-01T08:30:00Z",
            "2024-01-01T08:30:00UTC",
            "2024-01-01T08:30:00GMT",
            "2024-01-01",
            "2024-01-01T",
            "",
        ] {
            assert!(!is_valid(s), "{s:?}");
        }
    }

    #[test]
    fn leap_seconds_only_at_end_of_month_utc() {
        assert!(is_valid("2016-12-31T23:59:60Z"));
        assert!(is_valid("2015-06-30T23:59:60.5Z"));
        // Same instant written in UTC+8.
        assert!(is_valid("2017-01-01T07:59:60+08:00"));
        assert!(is_valid("1990-12-31T15:59:60-08:00"));
        assert!(!is_valid("2024-03-15T10:20:60Z"));
        assert!(!is_valid("2016-12-31T23:58:60Z"));
        assert!(!is_valid("2016-12-30T23:59:60Z"));
        // 23:59:60 local but not UTC.
        assert!(!is_valid("2016-12-31T23:59:60+08:00"));
    }

    proptest! {
        #[test]
        fn round_trips_rfc3339_output(
            secs in -2_208_988_800i64..253_402_300_799,
            nanos in 0u32..1_000_000_000,
            offset_min in -1439i32..=1439,
        ) {
            let tz = FixedOffset::east_opt(offset_min * 60).unwrap();
            let dt = DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&tz);
            let s = dt.to_rfc3339();
            // 4-digit years only; chrono prints others with a sign.
            prop_assume!((0..=9999).contains(&dt.year()));
            prop_assert_eq!(parse(&s), Some(dt));
        }

        #[test]
        fn space_separator_always_rejected(
            s in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})"
        ) {
            prop_assert!(!is_valid(&s));
        }

        #[test]
        fn remembered_answers_are_the_answers(
            texts in proptest::collection::vec(
                "(2024-06-01T08:30:0[0-9](Z|\\+08:00)|2024-13-01T00:00:00Z|x)", 1..8)
        ) {
            // Interleaved repeats exercise the memo's hits and misses alike.
            for s in texts.iter().chain(texts.iter().rev()) {
                prop_assert_eq!(parse(s), parse_uncached(s), "{}", s);
            }
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = is_valid(&s);
        }

        #[test]
        fn near_valid_never_panics(
            s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9é]{0,3})?(Z|[-+−][0-9]{2}:?[0-9]{0,2})?"
        ) {
            let _ = is_valid(&s);
        }
    }
}

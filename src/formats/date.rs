//! `date`: calendar date `YYYY-MM-DD`.

use chrono::NaiveDate;

use super::ascii_digits_value;

/// Parses exactly `YYYY-MM-DD` (10 ASCII chars, zero-padded) into a real
/// calendar date. Hand-rolled rather than `NaiveDate::parse_from_str`, which
/// would also accept unpadded fields such as `2024-1-1`.
pub(crate) fn parse(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = ascii_digits_value(&b[0..4])?;
    let month = ascii_digits_value(&b[5..7])?;
    let day = ascii_digits_value(&b[8..10])?;
    // from_ymd_opt rejects month 0/13, day 0, Feb 29 outside leap years, etc.
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// `date`: see [`parse`].
pub(crate) fn is_valid(s: &str) -> bool {
    parse(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_dates() {
        assert_eq!(parse("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(parse("2000-02-29"), NaiveDate::from_ymd_opt(2000, 2, 29));
        assert_eq!(parse("1999-12-31"), NaiveDate::from_ymd_opt(1999, 12, 31));
        assert_eq!(parse("2024-01-01"), NaiveDate::from_ymd_opt(2024, 1, 1));
        assert_eq!(parse("0001-01-01"), NaiveDate::from_ymd_opt(1, 1, 1));
        assert_eq!(parse("9999-12-31"), NaiveDate::from_ymd_opt(9999, 12, 31));
        assert!(is_valid("2024-04-30"));
    }

    #[test]
    fn invalid_dates() {
        for s in [
            "2023-02-29", // not a leap year
            "1900-02-29", // century, not a leap year
            "2024-02-30",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-01-32",
            "2024-1-1",
            "2024-01-1",
            "24-01-01",
            "2024/01/01",
            "20240101",
            "2024-01-01T00:00:00Z",
            "2024-01-01 ",
            " 2024-01-01",
            "+024-01-01",
            "-024-01-01",
            "2024-0a-01",
            "２０２４-01-01",
            "2024-01-0é",
            "",
        ] {
            assert!(!is_valid(s), "{s:?}");
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(days in 0i64..3_652_058) {
            // Every date from 0001-01-01 to 9999-12-31.
            let d = NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assert_eq!(parse(&d.format("%Y-%m-%d").to_string()), Some(d));
        }

        #[test]
        fn agrees_with_chrono_on_padded_input(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}") {
            prop_assert_eq!(parse(&s), NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = is_valid(&s);
        }
    }
}

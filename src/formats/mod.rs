//! Validators for the named string formats of the data dictionary.
//!
//! Every `is_valid` runs once per record on the hot path, so they work on
//! bytes, never allocate and never use regexes.

pub mod date;
pub mod date_time;
pub mod division_code;
pub mod mobile;
pub mod month;
pub mod resident_id;
pub mod uscc;

pub use division_code::DivisionTable;

/// Format names as they appear in the data dictionary.
pub const NAMES: &[&str] = &[
    "cn-resident-id",
    "cn-uscc",
    "cn-division-code",
    "cn-mobile",
    "date",
    "month",
    "date-time",
];

/// Value of a run of ASCII digits, or `None` if any byte is not a digit.
/// Callers pass at most 9 bytes, so the value cannot overflow `u32`.
fn ascii_digits_value(bytes: &[u8]) -> Option<u32> {
    debug_assert!(bytes.len() <= 9);
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Small division table shared by the unit tests of the format modules.
#[cfg(test)]
const TEST_DIVISIONS_CSV: &str = "code,name,level
110000,北京市,province
110101,东城区,county
350000,福建省,province
350100,福州市,prefecture
440000,广东省,province
440300,深圳市,prefecture
440305,南山区,county
510000,四川省,province
510104,锦江区,county
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_value() {
        assert_eq!(ascii_digits_value(b"0042"), Some(42));
        assert_eq!(ascii_digits_value(b""), Some(0));
        assert_eq!(ascii_digits_value(b"4a"), None);
        assert_eq!(ascii_digits_value(b"999999999"), Some(999_999_999));
    }

    #[test]
    fn names_are_unique() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
    }

    #[test]
    fn test_fixture_parses() {
        let t = DivisionTable::from_csv(TEST_DIVISIONS_CSV).unwrap();
        assert_eq!(t.len(), 9);
    }
}

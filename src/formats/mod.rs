//! Validators for the named string formats of the data dictionary.
//!
//! Every `is_valid` runs once per record on the hot path, so they work on
//! bytes, never allocate and never use regexes.

pub(crate) mod date;
pub(crate) mod date_time;
pub(crate) mod division_code;
pub(crate) mod mobile;
pub(crate) mod month;
pub(crate) mod resident_id;
pub(crate) mod uscc;

pub use division_code::DivisionTable;

/// A named format of the data dictionary. Contracts write it by [`name`](Format::name);
/// one type so the catalog's list of known formats, its validator registrations and
/// this module cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    ResidentId,
    Uscc,
    DivisionCode,
    Mobile,
    Date,
    Month,
    DateTime,
}

impl Format {
    /// Dates and times, which an impossible calendar date breaks.
    pub(crate) fn is_temporal(self) -> bool {
        matches!(self, Format::Date | Format::Month | Format::DateTime)
    }

    /// Every format, in the order error messages list them.
    pub(crate) const ALL: [Format; 7] = [
        Format::ResidentId,
        Format::Uscc,
        Format::DivisionCode,
        Format::Mobile,
        Format::Date,
        Format::Month,
        Format::DateTime,
    ];

    /// The name contracts use, also the JSON Schema `format` it is registered under.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::ResidentId => "cn-resident-id",
            Format::Uscc => "cn-uscc",
            Format::DivisionCode => "cn-division-code",
            Format::Mobile => "cn-mobile",
            Format::Date => "date",
            Format::Month => "month",
            Format::DateTime => "date-time",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
    fn names_are_unique_and_parse_back() {
        let mut names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Format::ALL.len());
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()), Some(f));
        }
        assert_eq!(Format::parse("birthday"), None);
    }

    #[test]
    fn test_fixture_parses() {
        let t = DivisionTable::from_csv(TEST_DIVISIONS_CSV).unwrap();
        assert_eq!(t.len(), 9);
    }
}

//! `month`: calendar month `YYYY-MM`.

use super::ascii_digits_value;

/// `month`: exactly `YYYY-MM` (7 ASCII chars, zero-padded), month 01-12.
pub(crate) fn is_valid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && ascii_digits_value(&b[0..4]).is_some()
        && ascii_digits_value(&b[5..7]).is_some_and(|m| (1..=12).contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_months() {
        for s in ["2024-01", "2024-12", "1900-02", "0000-06", "9999-09"] {
            assert!(is_valid(s), "{s}");
        }
    }

    #[test]
    fn invalid_months() {
        for s in [
            "2024-13",
            "2024-00",
            "2024-1",
            "24-01",
            "2024/01",
            "202401",
            "2024-01-01",
            "2024-1a",
            " 2024-01",
            "2024-01 ",
            "２０２４-01",
            "2024-0é",
            "",
        ] {
            assert!(!is_valid(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn all_months_of_all_years(y in 0u32..10_000, m in 1u32..=12) {
            let s = format!("{y:04}-{m:02}");
            prop_assert!(is_valid(&s));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = is_valid(&s);
        }
    }
}

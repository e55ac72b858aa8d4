//! `cn-mobile`: mainland China mobile number, `^1[3-9][0-9]{9}$`.

/// `cn-mobile`: exactly 11 ASCII digits, `1` then `3`-`9`. Checked byte by
/// byte instead of with a regex: this runs once per record.
pub(crate) fn is_valid(s: &str) -> bool {
    match s.as_bytes() {
        [b'1', b'3'..=b'9', rest @ ..] => rest.len() == 9 && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_numbers() {
        for s in [
            "13800138000",
            "13912345678",
            "15000000000",
            "19999999999",
            "16600000000",
        ] {
            assert!(is_valid(s), "{s}");
        }
    }

    #[test]
    fn invalid_numbers() {
        for s in [
            "",
            "1",
            "12345678901",    // second digit 2
            "10000000000",    // second digit 0
            "11000000000",    // second digit 1
            "23800138000",    // first digit 2
            "1380013800",     // 10 digits
            "138001380000",   // 12 digits
            "+8613800138000", // country code not allowed
            "138 0013 8000",
            "138-0013-8000",
            "1380013800a",
            " 13800138000",
            "13800138000\n",
            "１３８００１３８０００", // fullwidth digits
            "1380013800é",
        ] {
            assert!(!is_valid(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_regex_definition(s in "[0-9a ]{0,12}") {
            let b = s.as_bytes();
            let expected = b.len() == 11
                && b[0] == b'1'
                && (b'3'..=b'9').contains(&b[1])
                && b.iter().all(u8::is_ascii_digit);
            prop_assert_eq!(is_valid(&s), expected);
        }

        #[test]
        fn generated_valid(s in "1[3-9][0-9]{9}") {
            prop_assert!(is_valid(&s));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = is_valid(&s);
        }
    }
}

//! `cn-resident-id`: 18-character citizen identity number (GB 11643-1999).

use chrono::NaiveDate;

use super::DivisionTable;
use super::ascii_digits_value;

/// ISO 7064 MOD 11-2 weights (2^(17-i) mod 11) for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by (weighted sum mod 11).
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// Check character of 17 ASCII digits (caller guarantees they are digits).
fn check_byte(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Check character for `first17`; `None` unless exactly 17 ASCII digits.
pub(crate) fn check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    (b.len() == 17 && b.iter().all(u8::is_ascii_digit)).then(|| char::from(check_byte(b)))
}

/// Birth-date digits `YYYYMMDD` (characters 7-14, 1-based), if the first 14
/// characters of `s` are ASCII (so byte and character positions agree).
pub(crate) fn birth_date_digits(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    (b.len() >= 14 && b[..14].is_ascii()).then(|| &s[6..14])
}

/// Whether the sequence digit (17th character, 1-based) is odd (odd = male
/// under GB 11643); `None` if there is no 17th character or it is not a digit.
pub(crate) fn sequence_parity_is_odd(s: &str) -> Option<bool> {
    let c = s.chars().nth(16)?;
    c.is_ascii_digit().then(|| (c as u32 - '0' as u32) % 2 == 1)
}

/// `cn-resident-id`: 17 digits + check char (`0`-`9` or uppercase `X`), a
/// known province, a birth date from 1900-01-01 to `today`, and a correct
/// MOD 11-2 check character.
pub(crate) fn is_valid(s: &str, divisions: &DivisionTable, today: NaiveDate) -> bool {
    let b = s.as_bytes();
    // Byte length 18 plus the digit checks below also rule out non-ASCII.
    if b.len() != 18 {
        return false;
    }
    let (body, check) = (&b[..17], b[17]);
    if !body.iter().all(u8::is_ascii_digit) || !(check.is_ascii_digit() || check == b'X') {
        return false;
    }
    // Cheapest discriminating test first: a random typo fails here.
    if check_byte(body) != check {
        return false;
    }
    // The body is ASCII, so these slices fall on character boundaries.
    if !divisions.contains_province(&s[..2]) {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (
        ascii_digits_value(&body[6..10]),
        ascii_digits_value(&body[10..12]),
        ascii_digits_value(&body[12..14]),
    ) else {
        return false;
    };
    // Year >= 1900 is the same as date >= 1900-01-01.
    y >= 1900 && NaiveDate::from_ymd_opt(y as i32, m, d).is_some_and(|date| date <= today)
}

/// The birth date inside an ID number (characters 7-14), if it is a date.
pub(crate) fn birth_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes().get(6..14)?;
    let (y, m, d) = (
        ascii_digits_value(&b[..4])?,
        ascii_digits_value(&b[4..6])?,
        ascii_digits_value(&b[6..8])?,
    );
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    /// Parsed once: the property tests call `valid` hundreds of thousands of times.
    static TABLE: LazyLock<DivisionTable> =
        LazyLock::new(|| DivisionTable::from_csv(super::super::TEST_DIVISIONS_CSV).unwrap());

    fn table() -> &'static DivisionTable {
        &TABLE
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
    }

    fn valid(s: &str) -> bool {
        is_valid(s, table(), today())
    }

    /// Appends the computed check character.
    fn with_check(body: &str) -> String {
        format!("{body}{}", check_char(body).unwrap())
    }

    #[test]
    fn weights_are_powers_of_two_mod_11_and_nonzero() {
        for (i, w) in WEIGHTS.iter().enumerate() {
            assert_eq!(*w, (1u32 << (17 - i)) % 11);
            assert_ne!(w % 11, 0);
        }
    }

    #[test]
    fn published_and_hand_checked_examples() {
        // GB 11643-1999's own example. Digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2
        // times the weights: 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167;
        // 167 mod 11 = 2 -> 'X'.
        assert_eq!(check_char("11010519491231002"), Some('X'));
        assert!(valid("11010519491231002X"));

        // 5 1 0 1 0 4 1 9 7 9 0 1 0 1 0 0 9:
        // 35+9+0+5+0+16+2+9+42+27+0+9+0+5+0+0+18 = 177; 177 mod 11 = 1 -> '0'.
        assert_eq!(check_char("51010419790101009"), Some('0'));
        assert!(valid("510104197901010090"));

        // 1 1 0 1 0 1 2 0 1 2 1 2 1 2 0 0 1:
        // 7+9+0+5+0+4+4+0+6+6+7+18+10+10+0+0+2 = 88; 88 mod 11 = 0 -> '1'.
        assert_eq!(check_char("11010120121212001"), Some('1'));
        assert!(valid("110101201212120011"));

        // Leap day 2000-02-29. 5 1 0 1 0 4 2 0 0 0 0 2 2 9 0 0 3:
        // 35+9+0+5+0+16+4+0+0+0+0+18+20+45+0+0+6 = 158; 158 mod 11 = 4 -> '8'.
        assert_eq!(check_char("51010420000229003"), Some('8'));
        assert!(valid("510104200002290038"));

        // Lower bound 1900-01-01. 1 1 0 1 0 1 1 9 0 0 0 1 0 1 0 0 1:
        // 7+9+0+5+0+4+2+9+0+0+0+9+0+5+0+0+2 = 52; 52 mod 11 = 8 -> '4'.
        assert_eq!(check_char("11010119000101001"), Some('4'));
        assert!(valid("110101190001010014"));

        // Only the province is checked against the table: 440524 itself is not
        // listed in the fixture, and 440305 is.
        assert!(valid(&with_check("44052419850615123")));
        assert!(valid(&with_check("44030519850615123")));
    }

    #[test]
    fn classic_1880_example_has_right_check_but_is_too_old() {
        // 4 4 0 5 2 4 1 8 8 0 0 1 0 1 0 0 1:
        // 28+36+0+25+16+16+2+8+48+0+0+9+0+5+0+0+2 = 195; 195 mod 11 = 8 -> '4'.
        assert_eq!(check_char("44052418800101001"), Some('4'));
        assert!(!valid("440524188001010014"));
        assert!(!valid(&with_check("11010118991231001")));
    }

    #[test]
    fn impossible_dates_rejected() {
        for body in [
            "11010520230229001", // 2023 is not a leap year
            "11010520240230001", // Feb 30
            "11010520241301001", // month 13
            "11010520240001001", // month 00
            "11010520240100001", // day 00
            "11010520240431001", // Apr 31
            "11010519000229001", // 1900 is not a leap year
        ] {
            assert!(!valid(&with_check(body)), "{body}");
        }
        assert!(valid(&with_check("11010520240229001")));
    }

    #[test]
    fn birth_date_bounded_by_today() {
        let t = table();
        let today = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        assert!(is_valid(&with_check("11010520240501001"), t, today));
        assert!(!is_valid(&with_check("11010520240502001"), t, today));
        assert!(!is_valid(&with_check("11010520250101001"), t, today));
        assert!(!is_valid(&with_check("11010599991231001"), t, today));
    }

    #[test]
    fn unknown_province_rejected() {
        // 12 (Tianjin) is a real province but not in the fixture; 99 and 00 are not provinces.
        for body in [
            "12010519491231002",
            "99010519491231002",
            "00010519491231002",
        ] {
            assert!(!valid(&with_check(body)), "{body}");
        }
    }

    #[test]
    fn format_violations_rejected() {
        assert!(!valid("11010519491231002x")); // lowercase x
        assert!(!valid("1101051949123100X2")); // X in the body
        assert!(!valid("11010519491231002")); // 17 chars
        assert!(!valid("11010519491231002XX")); // 19 chars
        assert!(!valid("")); // empty
        assert!(!valid(" 11010519491231002X")); // no trimming
        assert!(!valid("11010519491231002X\n"));
        assert!(!valid("11010519491231002Y"));
        assert!(!valid("110105194912310021")); // wrong check digit
        // Non-ASCII: fullwidth digits, and a multi-byte char making 18 bytes.
        assert!(!valid("１１０１０５１９４９１２３１００２Ｘ"));
        assert!(!valid("1101051949123100é"));
        assert!(!valid("11010519491231002✓"));
        assert_eq!(check_char("1101051949123100２"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(check_char("1101051949123100"), None);
        assert_eq!(check_char("110105194912310021"), None);
        assert_eq!(check_char("1101051949123100a"), None);
        assert_eq!(birth_date_digits("11010519491231002X"), Some("19491231"));
        assert_eq!(birth_date_digits("11010519491231"), Some("19491231"));
        assert_eq!(birth_date_digits("1101051949123"), None);
        assert_eq!(birth_date_digits("é10105194912310"), None);
        assert_eq!(sequence_parity_is_odd("11010519491231002X"), Some(false));
        assert_eq!(sequence_parity_is_odd("440305198506151233"), Some(true));
        assert_eq!(sequence_parity_is_odd("1101051949123100"), None);
        assert_eq!(sequence_parity_is_odd("1101051949123100X"), None);
        // Counted in characters, not bytes.
        assert_eq!(sequence_parity_is_odd("é101051949123100７"), None);
        assert_eq!(sequence_parity_is_odd("é1010519491231007"), Some(true));
    }

    /// Valid IDs from the fixture's provinces and any date 1900-01-01..=today().
    fn valid_id() -> impl Strategy<Value = String> {
        let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let days = (today() - first).num_days();
        (
            prop::sample::select(vec!["11", "35", "44", "51"]),
            0u32..10_000,
            0..=days,
            0u32..1000,
        )
            .prop_map(move |(prov, area, day, seq)| {
                let date = first + chrono::Duration::days(day);
                with_check(&format!("{prov}{area:04}{}{seq:03}", date.format("%Y%m%d")))
            })
    }

    proptest! {
        #[test]
        fn every_single_substitution_is_rejected(id in valid_id()) {
            prop_assert!(valid(&id));
            let check = id.as_bytes()[17];
            for pos in 0..18 {
                for c in "0123456789X".bytes().filter(|&c| c != id.as_bytes()[pos]) {
                    let mut m = id.clone().into_bytes();
                    m[pos] = c;
                    let m = String::from_utf8(m).unwrap();
                    prop_assert!(!valid(&m), "{} accepted", m);
                    if pos < 17 && c.is_ascii_digit() {
                        // Every weight is non-zero mod 11 and a digit change is
                        // -9..=9, so the checksum always changes.
                        prop_assert_ne!(check_char(&m[..17]), Some(char::from(check)));
                    }
                }
            }
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = valid(&s);
            let _ = check_char(&s);
            let _ = birth_date_digits(&s);
            let _ = sequence_parity_is_odd(&s);
        }

        #[test]
        fn near_valid_never_panics(s in "[0-9Xx١é]{12,19}") {
            let _ = valid(&s);
            let _ = check_char(&s);
            let _ = birth_date_digits(&s);
            let _ = sequence_parity_is_odd(&s);
        }
    }
}

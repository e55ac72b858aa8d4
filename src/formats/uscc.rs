//! `cn-uscc`: Unified Social Credit Code (GB 32100-2015).

use super::DivisionTable;

/// The 31 code characters; a character's value is its index. I, O, S, V and
/// Z are left out because they are easily confused with 1, 0, 5, U and 2.
pub(crate) const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights 3^i mod 31 for the first 17 characters.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

const INVALID: u8 = u8::MAX;

/// Byte -> alphabet index, `INVALID` for anything else; one load per byte
/// instead of a search through `ALPHABET`.
const VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = ALPHABET.as_bytes();
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Check byte of 17 bytes, or `None` if any is outside the alphabet.
fn check_byte(body: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (&b, w) in body.iter().zip(WEIGHTS) {
        let v = VALUES[usize::from(b)];
        if v == INVALID {
            return None;
        }
        sum += u32::from(v) * w;
    }
    Some(ALPHABET.as_bytes()[((31 - sum % 31) % 31) as usize])
}

/// Check character for `first17`; `None` unless exactly 17 characters of `ALPHABET`.
pub(crate) fn check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 {
        return None;
    }
    check_byte(b).map(char::from)
}

/// `cn-uscc`: 18 characters of `ALPHABET` (uppercase only), a correct check
/// character, and characters 3-8 a division code listed in `divisions`.
pub(crate) fn is_valid(s: &str, divisions: &DivisionTable) -> bool {
    let b = s.as_bytes();
    // Byte length 18 plus the alphabet check rule out non-ASCII.
    if b.len() != 18 || VALUES[usize::from(b[17])] == INVALID {
        return false;
    }
    if check_byte(&b[..17]) != Some(b[17]) {
        return false;
    }
    // All bytes are ASCII now, so the slice falls on character boundaries;
    // `contains` rejects letters there.
    divisions.contains(&s[2..8])
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

    fn valid(s: &str) -> bool {
        is_valid(s, table())
    }

    fn with_check(body: &str) -> String {
        format!("{body}{}", check_char(body).unwrap())
    }

    #[test]
    fn alphabet_and_weights() {
        assert_eq!(ALPHABET.len(), 31);
        for c in ['I', 'O', 'S', 'V', 'Z'] {
            assert!(!ALPHABET.contains(c));
        }
        for (i, w) in WEIGHTS.iter().enumerate() {
            assert_eq!(*w, 3u32.pow(i as u32) % 31);
            assert_ne!(w % 31, 0);
        }
        for (i, b) in ALPHABET.bytes().enumerate() {
            assert_eq!(usize::from(VALUES[usize::from(b)]), i);
        }
        assert_eq!(VALUES.iter().filter(|&&v| v != INVALID).count(), 31);
    }

    #[test]
    fn published_and_hand_checked_examples() {
        // Widely published sample code (Fuzhou, 350100). Values x weights:
        // 9*1 + 1*3 + 3*9 + 5*27 + 0 + 1*26 + 0 + 0 + M(21)*20 + 0 + 0 + 0
        // + 1*8 + 0 + 0 + Y(30)*30 + 4*28 = 1640; 1640 mod 31 = 28;
        // (31 - 28) mod 31 = 3 -> '3'.
        assert_eq!(check_char("91350100M000100Y4"), Some('3'));
        assert!(valid("91350100M000100Y43"));

        // 9*1 + 1*3 + 4*9 + 4*27 + 0 + 3*26 + 0 + 0 + M(21)*20 + A(10)*29
        // + 5*25 + A(10)*13 + B(11)*8 + C(12)*24 + D(13)*10 + E(14)*30 + 1*28
        // = 2153; 2153 mod 31 = 14; 31 - 14 = 17 -> 'H'.
        assert_eq!(check_char("91440300MA5ABCDE1"), Some('H'));
        assert!(valid("91440300MA5ABCDE1H"));

        // 1*1 + 2*3 + 5*9 + 1*27 + 0 + 1*26 + 0 + 4*17 + M(21)*20 + B(11)*29
        // + 0... = 912; 912 mod 31 = 13; 31 - 13 = 18 -> 'J'.
        assert_eq!(check_char("12510104MB0000000"), Some('J'));
        assert!(valid("12510104MB0000000J"));

        // All zeros: sum 0 -> (31 - 0) mod 31 = 0 -> '0'.
        assert_eq!(check_char("00000000000000000"), Some('0'));
        assert!(!valid("000000000000000000")); // 000000 is not a division
        // Sum 1*1 = 1 -> (31 - 1) mod 31 = 30 -> 'Y', the last alphabet char.
        assert_eq!(check_char("10000000000000000"), Some('Y'));
    }

    #[test]
    fn alphabet_violations_rejected() {
        let good = "91350100M000100Y43";
        assert!(valid(good));
        for bad in ['I', 'O', 'S', 'V', 'Z', 'm', 'y', '-', ' ', 'é'] {
            for pos in [8, 15, 17] {
                let mut s = String::from(&good[..pos]);
                s.push(bad);
                s.push_str(&good[pos + 1..]);
                assert!(!valid(&s), "{s}");
            }
        }
        assert!(!valid("91350100m000100y43")); // lowercase
        assert_eq!(check_char("91350100m000100Y4"), None);
        assert_eq!(check_char("91350100O000100Y4"), None);
        assert!(!valid("91350100M000100Y4")); // 17
        assert!(!valid("91350100M000100Y433")); // 19
        assert!(!valid(""));
        assert!(!valid(" 91350100M000100Y43"));
        assert!(!valid("９1350100M000100Y43"));
    }

    #[test]
    fn division_must_be_listed() {
        // Right checksum, but 350200 / 120000 are not in the fixture.
        assert!(!valid(&with_check("91350200M000100Y4")));
        assert!(!valid(&with_check("91120000M000100Y4")));
        // Letters in the division part.
        assert!(!valid(&with_check("9135A100M000100Y4")));
        // Any listed level works.
        for div in ["110000", "440300", "440305"] {
            assert!(valid(&with_check(&format!("91{div}MA0000000"))), "{div}");
        }
    }

    fn alphabet_char() -> impl Strategy<Value = char> {
        prop::sample::select(ALPHABET.chars().collect::<Vec<_>>())
    }

    fn valid_uscc() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(alphabet_char(), 2),
            prop::sample::select(table().codes()),
            prop::collection::vec(alphabet_char(), 9),
        )
            .prop_map(|(head, div, tail)| {
                let head: String = head.into_iter().collect();
                let tail: String = tail.into_iter().collect();
                with_check(&format!("{head}{div}{tail}"))
            })
    }

    proptest! {
        #[test]
        fn every_single_substitution_is_rejected(code in valid_uscc()) {
            prop_assert!(valid(&code));
            let check = code.as_bytes()[17];
            for pos in 0..18 {
                for c in ALPHABET.bytes().filter(|&c| c != code.as_bytes()[pos]) {
                    let mut m = code.clone().into_bytes();
                    m[pos] = c;
                    let m = String::from_utf8(m).unwrap();
                    prop_assert!(!valid(&m), "{} accepted", m);
                    if pos < 17 {
                        // 31 is prime and every weight is non-zero mod 31, so a
                        // value change of -30..=30 always changes the check.
                        prop_assert_ne!(check_char(&m[..17]), Some(char::from(check)));
                    }
                }
            }
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = valid(&s);
            let _ = check_char(&s);
        }

        #[test]
        fn near_valid_never_panics(s in "[0-9A-Za-zé]{16,19}") {
            let _ = valid(&s);
            let _ = check_char(&s);
        }
    }
}

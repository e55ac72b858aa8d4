//! The catalog's comparison of values across sources: NFKC normalization
//! and trimming, without allocating for the text most records carry.

use std::borrow::Cow;
use std::cell::RefCell;

use serde_json::Value;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

thread_local! {
    /// A buffer for NFKC forms, reused so comparing values allocates nothing.
    static NORMALIZED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` on the NFKC form of `text`, trimmed.
pub(super) fn with_normalized<R>(text: &str, f: impl FnOnce(&str) -> R) -> R {
    let trimmed = text.trim();
    if is_stable_under_nfkc(trimmed) {
        return f(trimmed);
    }
    NORMALIZED.with_borrow_mut(|buf| {
        buf.clear();
        if !fullwidth_nfkc(trimmed, buf) {
            if is_nfkc_quick(trimmed.chars()) == IsNormalized::Yes {
                return f(trimmed);
            }
            buf.clear();
            buf.extend(trimmed.nfkc());
        }
        f(buf.trim())
    })
}

/// ASCII and CJK unified ideographs, most names on this bus, are their own NFKC
/// form; checking that is cheaper than the general quick check.
fn is_stable_under_nfkc(s: &str) -> bool {
    s.chars().all(is_nfkc_stable)
}

/// Neither changed by NFKC nor composing with a neighbour: code points below
/// U+00A0 (ASCII and control characters) and CJK unified ideographs.
fn is_nfkc_stable(c: char) -> bool {
    (c as u32) < 0xA0 || ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// NFKC of text made of ASCII, CJK unified ideographs, full-width ASCII forms
/// (U+FF01..U+FF5E) and the ideographic space, the forms Chinese records mix in
/// (`（有限合伙）`): each maps to one character and none composes, so this is
/// exactly NFKC without the general algorithm's tables. False (and `out`
/// partly written) for any other character.
fn fullwidth_nfkc(s: &str, out: &mut String) -> bool {
    for c in s.chars() {
        let mapped = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
            '\u{3000}' => Some(' '),
            c if is_nfkc_stable(c) => Some(c),
            _ => None,
        };
        match mapped {
            Some(m) => out.push(m),
            None => return false,
        }
    }
    true
}

/// A value as text: strings as they are, anything else as JSON.
pub(super) fn text_of(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Characters the fast path leaves to the general algorithm.
    const OUTSIDE: &str = "é\u{0301}①Å\u{00A0}ｶﾞ";

    proptest! {
        #[test]
        fn fullwidth_fast_path_is_nfkc(
            s in "[a-z0-9 ()（）Ａ-Ｚａ-ｚ０-９\u{3000}\u{FF01}\u{FF5E}张王李有限公司é\u{0301}①Å\u{00A0}ｶﾞ]{0,12}"
        ) {
            let mut fast = String::new();
            if fullwidth_nfkc(&s, &mut fast) {
                prop_assert_eq!(fast, s.nfkc().collect::<String>());
            } else {
                // Only text outside the fast path's alphabet falls back.
                let outside = s.chars().any(|c| OUTSIDE.contains(c));
                prop_assert!(outside);
            }
        }
    }
}

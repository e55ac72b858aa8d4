//! Any `period`, `from` and `to` query values: day bounds in order or an
//! error, never a panic; and the API's period parser accepts exactly what
//! the OpenAPI document's pattern matches.
#![no_main]

use std::sync::LazyLock;

use dqmon::model::period::{Period, from_query, pattern};
use libfuzzer_sys::fuzz_target;

static PATTERN: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(&pattern()).expect("the pattern compiles"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Three fields separated by NUL bytes; an absent field is `None`.
    let mut parts = text.splitn(3, '\0').map(|p| (!p.is_empty()).then_some(p));
    let (a, b, c) = (
        parts.next().flatten(),
        parts.next().flatten(),
        parts.next().flatten(),
    );
    if let Ok((from, to)) = from_query(a, b, c) {
        assert!(from <= to);
    }
    if let Ok(p) = Period::parse(text) {
        let (from, to) = p.bounds();
        assert!(from <= to);
    }
    assert_eq!(
        PATTERN.is_match(text),
        Period::parse_exact(text).is_ok(),
        "{text:?}"
    );
});

//! `cn-division-code`: GB/T 2260 administrative division codes.

use std::fmt;
use std::sync::Arc;

/// Number of possible 6-digit codes; one bit each.
const CODE_SPACE: usize = 1_000_000;
const WORDS: usize = CODE_SPACE.div_ceil(64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Province,
    Prefecture,
    County,
}

/// Set of listed division codes.
///
/// Membership is a bit test in a 1,000,000-bit set (125 KB), so lookups
/// cost no hashing and no allocation. The bitset is behind an `Arc` so
/// cloning the table is cheap.
#[derive(Clone)]
pub struct DivisionTable {
    bits: Arc<[u64]>,
    /// Bit `n` set iff `format!("{n:02}0000")` is listed with level province.
    provinces: u128,
    /// All entries, sorted by code (for `codes` / `county_codes`).
    entries: Arc<[(u32, Level)]>,
}

impl fmt::Debug for DivisionTable {
    // The derived form would print 15,625 bitset words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DivisionTable")
            .field("len", &self.entries.len())
            .field("provinces", &self.provinces.count_ones())
            .finish()
    }
}

/// Value of exactly six ASCII digits.
fn code_value(code: &str) -> Option<u32> {
    let b = code.as_bytes();
    if b.len() != 6 {
        return None;
    }
    super::ascii_digits_value(b)
}

impl Default for DivisionTable {
    /// An empty table: every code is unknown.
    fn default() -> Self {
        Self {
            bits: vec![0u64; 1_000_000usize.div_ceil(64)].into(),
            provinces: 0,
            entries: Arc::from(Vec::new()),
        }
    }
}

impl DivisionTable {
    /// Parses CSV with header `code,name,level`.
    ///
    /// Accepts a UTF-8 BOM, CRLF line ends, blank lines and whitespace around
    /// fields. Fields are not quoted (GB/T 2260 names contain no commas).
    /// Rejects malformed codes, unknown levels, duplicates, and codes whose
    /// shape contradicts their level (province `XX0000`, prefecture `XXXX00`,
    /// county anything else), since `contains_province` relies on that shape.
    /// Errors name the 1-based line.
    pub fn from_csv(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());

        match lines.next() {
            None => return Err("empty CSV: expected header `code,name,level`".to_string()),
            Some((n, header)) => {
                let fields: Vec<&str> = header.split(',').map(str::trim).collect();
                if fields != ["code", "name", "level"] {
                    return Err(format!(
                        "line {n}: expected header `code,name,level`, found `{header}`"
                    ));
                }
            }
        }

        let mut bits = vec![0u64; WORDS];
        let mut provinces = 0u128;
        // (code, level, line) in file order; line kept for duplicate messages.
        let mut rows: Vec<(u32, Level, usize)> = Vec::new();

        for (n, line) in lines {
            let (value, level) = parse_row(n, line)?;
            let code = line.split(',').next().unwrap_or_default().trim();
            let (word, bit) = (value as usize / 64, value % 64);
            if bits[word] & (1 << bit) != 0 {
                let first = rows.iter().find(|r| r.0 == value).map_or(0, |r| r.2);
                return Err(format!(
                    "line {n}: duplicate code {code} (first listed on line {first})"
                ));
            }
            bits[word] |= 1 << bit;
            if level == Level::Province {
                provinces |= 1 << (value / 10_000);
            }
            rows.push((value, level, n));
        }

        let mut entries: Vec<(u32, Level)> = rows.into_iter().map(|(c, l, _)| (c, l)).collect();
        entries.sort_unstable_by_key(|e| e.0);
        Ok(Self {
            bits: bits.into(),
            provinces,
            entries: entries.into(),
        })
    }

    /// True iff `code` is exactly 6 ASCII digits and listed.
    pub(crate) fn contains(&self, code: &str) -> bool {
        code_value(code).is_some_and(|v| self.bits[v as usize / 64] & (1 << (v % 64)) != 0)
    }

    /// True iff `two_digits` is 2 ASCII digits `XX` and `XX0000` is listed as a province.
    pub(crate) fn contains_province(&self, two_digits: &str) -> bool {
        let b = two_digits.as_bytes();
        b.len() == 2 && super::ascii_digits_value(b).is_some_and(|v| self.provinces & (1 << v) != 0)
    }

    // Only the tests count and list the whole table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All codes, sorted.
    #[cfg(test)]
    pub(crate) fn codes(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(c, _)| format!("{c:06}"))
            .collect()
    }

    /// Codes of level county, sorted.
    pub(crate) fn county_codes(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, l)| *l == Level::County)
            .map(|(c, _)| format!("{c:06}"))
            .collect()
    }
}

/// `cn-division-code`: a code listed in the table.
pub(crate) fn is_valid(s: &str, table: &DivisionTable) -> bool {
    table.contains(s)
}

/// One row `code,name,level`: the code's value and level, or what is wrong
/// with the row (naming its line `n`).
fn parse_row(n: usize, line: &str) -> Result<(u32, Level), String> {
    let mut fields = line.split(',').map(str::trim);
    let (Some(code), Some(name), Some(level), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(format!(
            "line {n}: expected 3 comma-separated fields (code,name,level), found {}",
            line.split(',').count()
        ));
    };
    let Some(value) = code_value(code) else {
        return Err(format!(
            "line {n}: code `{code}` is not exactly 6 ASCII digits"
        ));
    };
    if name.is_empty() {
        return Err(format!("line {n}: empty name for code {code}"));
    }
    let level = match level {
        "province" => Level::Province,
        "prefecture" => Level::Prefecture,
        "county" => Level::County,
        other => {
            return Err(format!(
                "line {n}: unknown level `{other}` for code {code} \
                 (expected province, prefecture or county)"
            ));
        }
    };
    let shape_ok = match level {
        Level::Province => value % 10_000 == 0,
        Level::Prefecture => value % 100 == 0 && value % 10_000 != 0,
        Level::County => value % 100 != 0,
    };
    if !shape_ok {
        let rule = match level {
            Level::Province => "a province code must end in 0000",
            Level::Prefecture => "a prefecture code must end in 00 but not 0000",
            Level::County => "a county code must not end in 00",
        };
        return Err(format!("line {n}: code {code} has level {level:?}: {rule}"));
    }
    Ok((value, level))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture() -> DivisionTable {
        DivisionTable::from_csv(super::super::TEST_DIVISIONS_CSV).unwrap()
    }

    #[test]
    fn is_send_sync_clone_debug() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<DivisionTable>();
        let t = fixture();
        assert_eq!(
            format!("{:?}", t.clone()),
            "DivisionTable { len: 9, provinces: 4 }"
        );
    }

    #[test]
    fn lookups() {
        let t = fixture();
        assert_eq!(t.len(), 9);
        assert!(!t.is_empty());
        for code in ["110000", "110101", "440300", "440305", "510104", "350100"] {
            assert!(t.contains(code), "{code}");
            assert!(is_valid(code, &t), "{code}");
        }
        for code in [
            "110102", "000000", "999999", "11010", "1101011", "", "11010a", "１10101",
        ] {
            assert!(!t.contains(code), "{code}");
        }
        // Surrounding whitespace is not trimmed on lookup.
        assert!(!is_valid(" 110101", &t));
        assert!(!is_valid("110101\n", &t));
    }

    #[test]
    fn provinces() {
        let t = fixture();
        for p in ["11", "35", "44", "51"] {
            assert!(t.contains_province(p), "{p}");
        }
        for p in ["12", "00", "99", "1", "110", "", "4a", "１1"] {
            assert!(!t.contains_province(p), "{p}");
        }
    }

    #[test]
    fn code_lists_sorted() {
        let t = fixture();
        assert_eq!(
            t.codes(),
            [
                "110000", "110101", "350000", "350100", "440000", "440300", "440305", "510000",
                "510104"
            ]
        );
        assert_eq!(t.county_codes(), ["110101", "440305", "510104"]);
        // Input order does not matter; leading zeros are kept.
        let t = DivisionTable::from_csv("code,name,level\n020101,b,county\n010000,a,province\n")
            .unwrap();
        assert_eq!(t.codes(), ["010000", "020101"]);
        assert!(t.contains_province("01"));
        assert!(t.contains("020101"));
    }

    #[test]
    fn csv_tolerances() {
        let t = DivisionTable::from_csv(
            "\u{feff}code,name,level\r\n110000, 北京市 ,province\r\n\r\n110101,东城区,county\r\n\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.contains("110101"));
        let empty = DivisionTable::from_csv("code,name,level\n").unwrap();
        assert!(empty.is_empty());
        assert!(empty.codes().is_empty());
        assert!(!empty.contains_province("11"));
    }

    #[test]
    fn csv_errors_name_line_and_reason() {
        let cases = [
            ("", "empty CSV"),
            ("code,name\n", "line 1: expected header"),
            ("110000,北京市,province\n", "line 1: expected header"),
            (
                "code,name,level\n110000,北京市\n",
                "line 2: expected 3 comma-separated fields",
            ),
            (
                "code,name,level\n110000,a,province,x\n",
                "line 2: expected 3",
            ),
            (
                "code,name,level\n11000,a,province\n",
                "line 2: code `11000` is not exactly 6",
            ),
            (
                "code,name,level\n11000a,a,province\n",
                "line 2: code `11000a`",
            ),
            ("code,name,level\n110000,,province\n", "line 2: empty name"),
            (
                "code,name,level\n110000,a,state\n",
                "line 2: unknown level `state`",
            ),
            (
                "code,name,level\n110000,a,Province\n",
                "line 2: unknown level",
            ),
            (
                "code,name,level\n110100,a,province\n",
                "line 2: code 110100 has level Province",
            ),
            (
                "code,name,level\n110000,a,prefecture\n",
                "must end in 00 but not 0000",
            ),
            (
                "code,name,level\n110101,a,prefecture\n",
                "must end in 00 but not 0000",
            ),
            ("code,name,level\n110100,a,county\n", "must not end in 00"),
            (
                "code,name,level\n110000,a,province\n\n110000,b,province\n",
                "line 4: duplicate code 110000 (first listed on line 2)",
            ),
        ];
        for (csv, expected) in cases {
            let err = DivisionTable::from_csv(csv).unwrap_err();
            assert!(err.contains(expected), "{csv:?}: got {err:?}");
        }
    }

    #[test]
    fn real_gb2260_file() {
        let t =
            DivisionTable::from_csv(include_str!("../../checks/reference/gb2260-divisions.csv"))
                .unwrap();
        assert_eq!(t.len(), 3211);
        assert_eq!(t.codes().len(), 3211);
        assert!(t.contains("110101"));
        assert!(t.contains_province("11"));
        assert!(t.contains_province("82"));
        assert!(!t.contains_province("71")); // 台湾省 is not in this file
        assert_eq!(t.county_codes().len(), 2845);
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let t = fixture();
            let _ = is_valid(&s, &t);
            let _ = t.contains(&s);
            let _ = t.contains_province(&s);
            let _ = DivisionTable::from_csv(&s);
            let _ = DivisionTable::from_csv(&format!("code,name,level\n{s}"));
        }

        #[test]
        fn near_valid_rows_never_panic(rows in proptest::collection::vec(
            "[0-9a ]{5,7},[a-z]{0,2},(province|prefecture|county|x)", 0..8)
        ) {
            let csv = format!("code,name,level\n{}", rows.join("\n"));
            if let Ok(t) = DivisionTable::from_csv(&csv) {
                // Everything listed is found; lists agree with len.
                prop_assert_eq!(t.codes().len(), t.len());
                for c in t.codes() {
                    prop_assert!(t.contains(&c));
                }
            }
        }

        #[test]
        fn contains_matches_listing(n in 0u32..1_000_000) {
            let t = fixture();
            let code = format!("{n:06}");
            prop_assert_eq!(t.contains(&code), t.codes().contains(&code));
        }
    }
}

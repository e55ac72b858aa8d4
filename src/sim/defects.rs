//! The defects the simulator injects, where each can land (read from the contract's
//! fields) and how each is applied to a clean record.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::catalog::contract::FieldType;
use crate::formats::uscc;

use super::catalog::{Format, Role, SimDataset, SimField};
use super::population::{self, pick};
use super::record::{Record, Val, write_json_str};
use super::values::Build;

/// The kinds of defect the simulator injects; a defective record carries exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum DefectKind {
    MissingField,
    NullField,
    BlankString,
    BadCheckChar,
    ImpossibleDate,
    UnknownDivision,
    OutOfEnumeration,
    NumberOutOfRange,
    WrongJsonType,
    StringTooLong,
    BadPhone,
    WithinRecordRule,
    CrossSource,
    Stale,
    Future,
    Duplicate,
    Malformed,
}

impl DefectKind {
    pub const ALL: [DefectKind; 17] = [
        DefectKind::MissingField,
        DefectKind::NullField,
        DefectKind::BlankString,
        DefectKind::BadCheckChar,
        DefectKind::ImpossibleDate,
        DefectKind::UnknownDivision,
        DefectKind::OutOfEnumeration,
        DefectKind::NumberOutOfRange,
        DefectKind::WrongJsonType,
        DefectKind::StringTooLong,
        DefectKind::BadPhone,
        DefectKind::WithinRecordRule,
        DefectKind::CrossSource,
        DefectKind::Stale,
        DefectKind::Future,
        DefectKind::Duplicate,
        DefectKind::Malformed,
    ];

    /// The quality dimension that this defect makes fail (a malformed message is a format failure).
    #[cfg(test)]
    pub(crate) fn dimension(self) -> crate::model::Dimension {
        use crate::model::Dimension;
        use DefectKind::*;
        match self {
            MissingField | NullField | BlankString => Dimension::Completeness,
            BadCheckChar | ImpossibleDate | UnknownDivision | OutOfEnumeration
            | NumberOutOfRange | WrongJsonType | StringTooLong | BadPhone | Malformed => {
                Dimension::Format
            }
            WithinRecordRule | CrossSource => Dimension::Consistency,
            Stale | Future => Dimension::Freshness,
            Duplicate => Dimension::Uniqueness,
        }
    }

    /// The fields this defect can be applied to, whether or not a record has them.
    fn targets(self, f: &SimField) -> bool {
        use DefectKind::*;
        let own = !f.is_common();
        let plain_text = f.kind == FieldType::String && f.format.is_none() && f.allowed.is_empty();
        match self {
            MissingField | NullField => f.required,
            BlankString => f.required && f.kind == FieldType::String,
            BadCheckChar => matches!(f.format, Some(Format::ResidentId | Format::Uscc)),
            ImpossibleDate => own && f.format.is_some_and(Format::is_temporal),
            UnknownDivision => f.format == Some(Format::DivisionCode),
            OutOfEnumeration => f.kind == FieldType::String && !f.allowed.is_empty(),
            NumberOutOfRange => f.is_numeric() && f.bounds.any(),
            WrongJsonType => own && (f.is_numeric() || f.is_digit_code()),
            StringTooLong => own && plain_text && f.max_length.is_some(),
            BadPhone => f.format == Some(Format::Mobile),
            WithinRecordRule | CrossSource | Stale | Future | Duplicate | Malformed => false,
        }
    }

    /// Whether the defect needs the field's current value.
    fn needs_value(self) -> bool {
        use DefectKind::*;
        matches!(
            self,
            MissingField | NullField | BlankString | BadCheckChar | WrongJsonType
        )
    }
}

/// Whether `kind` can be injected into a record of `ds`.
pub(super) fn applicable(ds: &SimDataset, kind: DefectKind) -> bool {
    use DefectKind::*;
    match kind {
        WithinRecordRule => !ds.breaks.is_empty(),
        // The authority of an entity is never charged for a conflict with itself.
        CrossSource => ds
            .bindings
            .iter()
            .any(|b| b.compared && !b.attributes.is_empty()),
        Stale | Future | Duplicate | Malformed => true,
        _ => ds.fields.iter().any(|f| kind.targets(f)),
    }
}

/// A random field the defect can hit in this record.
fn target(rng: &mut StdRng, ds: &SimDataset, rec: &Record, kind: DefectKind) -> Option<usize> {
    let ok = |i: &usize| kind.targets(&ds.fields[*i]) && (!kind.needs_value() || rec.has(*i));
    let n = (0..ds.fields.len()).filter(ok).count();
    if n == 0 {
        return None;
    }
    let k = rng.random_range(0..n);
    (0..ds.fields.len()).filter(ok).nth(k)
}

/// Applies a defect; false when the record offers it nowhere to land (it stays clean).
/// Stale, future and malformed messages and duplicates are made when sending.
pub(super) fn apply(b: &Build, rng: &mut StdRng, kind: DefectKind, rec: &mut Record) -> bool {
    use DefectKind::*;
    match kind {
        WithinRecordRule => return super::consistency::break_rule(b, rng, rec),
        CrossSource => return super::consistency::conflict(b, rng, rec),
        Stale | Future | Duplicate | Malformed => return true,
        _ => {}
    }
    let Some(i) = target(rng, b.ds, rec, kind) else {
        return false;
    };
    let f = &b.ds.fields[i];
    let v = match kind {
        MissingField => {
            rec.remove(i);
            return true;
        }
        NullField => Val::Null,
        // U+3000 is the ideographic space that Chinese input methods produce.
        BlankString => Val::Str(pick(rng, &["", " ", "   ", "\u{3000}", "\t"]).to_string()),
        BadCheckChar => bad_check_char(rng, f, rec.get_str(i).unwrap_or_default()),
        ImpossibleDate => impossible_date(b, rng, f),
        UnknownDivision => Val::Str(unknown_division(b, rng)),
        OutOfEnumeration => {
            let wrong: Vec<&str> = WRONG_CODES
                .iter()
                .copied()
                .filter(|c| !f.allowed.iter().any(|a| a == c))
                .collect();
            if wrong.is_empty() {
                // Longer than every allowed value, so none of them.
                Val::Str(format!("{}?", f.allowed.concat()))
            } else {
                Val::Str(pick(rng, &wrong).to_string())
            }
        }
        NumberOutOfRange => out_of_range(rng, f),
        // Numbers sent as strings and codes sent as numbers, as spreadsheets do.
        WrongJsonType => match rec.get(i) {
            Some(Val::Int(n)) => Val::Str(n.to_string()),
            Some(Val::Num(x)) => Val::Str(format!("{x:.2}")),
            Some(Val::Str(s)) => s.parse::<i64>().map_or(Val::Int(0), Val::Int),
            _ => Val::Int(0),
        },
        StringTooLong => {
            let base = match rec.get_str(i) {
                Some(s) if !s.trim().is_empty() => s.to_string(),
                _ => "某".to_string(),
            };
            let want = f.max_length.unwrap_or(0) + rng.random_range(1..=20);
            Val::Str(base.chars().cycle().take(want).collect())
        }
        BadPhone => Val::Str(bad_phone(rng)),
        WithinRecordRule | CrossSource | Stale | Future | Duplicate | Malformed => return true,
    };
    rec.set(i, v);
    true
}

/// Values outside any enumeration or code table of the exchange: codes of other
/// standards, free text, placeholders.
const WRONG_CODES: &[&str] = &[
    "3", "5", "00", "57", "60", "99", "999", "-1", "男", "M", "female", "汉族", "unknown", "其他",
    "N/A",
];

fn bad_check_char(rng: &mut StdRng, f: &SimField, s: &str) -> Val {
    let alphabet = if f.format == Some(Format::Uscc) {
        uscc::ALPHABET.as_bytes()
    } else {
        b"0123456789X"
    };
    let Some(body) = s.get(..s.len().saturating_sub(1)) else {
        return Val::Str(format!("{s}?"));
    };
    let check = &s[body.len()..];
    let wrong = loop {
        let c = char::from(*pick(rng, alphabet));
        if !check.starts_with(c) {
            break c;
        }
    };
    Val::Str(format!("{body}{wrong}"))
}

fn impossible_date(b: &Build, rng: &mut StdRng, f: &SimField) -> Val {
    use chrono::Datelike;
    let year = b.today.year() - rng.random_range(0..10);
    let v = match f.format {
        Some(Format::Month) => format!("{year:04}-{}", pick(rng, &["13", "00", "14"])),
        Some(Format::DateTime) => {
            let mut s = format!(
                "{year:04}-{}T{:02}:{:02}:00",
                pick(rng, &["02-30", "04-31", "06-31", "13-05"]),
                rng.random_range(0..24),
                rng.random_range(0..60)
            );
            b.catalog.time.push_offset(&mut s, b.updated_ms);
            s
        }
        _ => format!(
            "{year:04}-{}",
            pick(
                rng,
                &[
                    "02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01", "00-10", "01-32"
                ]
            )
        ),
    };
    Val::Str(v)
}

fn unknown_division(b: &Build, rng: &mut StdRng) -> String {
    let county = pick(rng, &b.population.counties).clone();
    let candidate = match rng.random_range(0..4) {
        // GB/T 2260 assigns neither xxxx99 nor province 99.
        0 => format!("99{}", &county[2..]),
        _ => format!("{}99", &county[..4]),
    };
    if b.population.county_set.contains(&candidate) {
        "990199".to_string()
    } else {
        candidate
    }
}

fn out_of_range(rng: &mut StdRng, f: &SimField) -> Val {
    let bounds = f.bounds;
    let above = bounds
        .max
        .filter(|_| bounds.min.is_none() || rng.random_bool(0.5));
    let integer = f.kind == FieldType::Integer;
    match (above, bounds.min) {
        (Some(max), _) if integer => Val::Int(max.floor() as i64 + rng.random_range(1..=50)),
        (Some(max), _) => Val::Num(max + f64::from(rng.random_range(1..=500_000u32))),
        (None, Some(min)) if integer => Val::Int(min.ceil() as i64 - rng.random_range(1..=3)),
        // Just below the minimum: out of range whether it is inclusive or not.
        (None, Some(min)) => Val::Num(min - f64::from(rng.random_range(1..=100_000u32)) / 100.0),
        // Not a target: `targets` asks for a bound.
        (None, None) => Val::Null,
    }
}

fn bad_phone(rng: &mut StdRng) -> String {
    let m = population::mobile(rng);
    match rng.random_range(0..6) {
        0 => format!("0755-{}", &m[3..11]),
        1 => m[..10].to_string(),
        2 => format!("12{}", &m[2..]),
        3 => format!("{m}{}", rng.random_range(0..10)),
        4 => format!("+86{m}"),
        _ => format!("{} {} {}", &m[..3], &m[3..7], &m[7..]),
    }
}

/// Re-spells a name so that it is equal to the original after NFKC and trimming:
/// not a defect, and the monitor must not take it for one.
pub(super) fn respell_name(b: &Build, rng: &mut StdRng, rec: &mut Record) {
    let names: Vec<usize> = (0..b.ds.fields.len())
        .filter(|&i| {
            matches!(
                b.ds.fields[i].role,
                Role::Attribute(_, super::catalog::Attr::Name)
            )
        })
        .filter(|&i| rec.get_str(i).is_some())
        .collect();
    if names.is_empty() {
        return;
    }
    let field = *pick(rng, &names);
    let Some(s) = rec.get_str(field) else { return };
    let v = if s.contains('（') && rng.random_bool(0.7) {
        s.replace('（', "(").replace('）', ")")
    } else {
        match rng.random_range(0..4) {
            0 => format!("{s} "),
            1 => format!(" {s}"),
            2 => format!("{s}\u{3000}"),
            _ => format!("{s}  "),
        }
    };
    rec.set_str(field, v);
}

/// A payload that is not one JSON object.
pub(super) fn malform(rng: &mut StdRng, json: String) -> Vec<u8> {
    // Re-encoding pure ASCII would change nothing.
    let ways = if json.is_ascii() { 3 } else { 4 };
    match rng.random_range(0..ways) {
        0 => {
            // Cut off mid-message, on a character boundary so it is not also bad UTF-8.
            let mut cut = rng.random_range(1..json.len());
            while !json.is_char_boundary(cut) {
                cut -= 1;
            }
            json.as_bytes()[..cut].to_vec()
        }
        1 => format!("[{json}]").into_bytes(),
        2 => {
            // Double-encoded: the object sent as a JSON string.
            let mut s = String::with_capacity(json.len() + 16);
            write_json_str(&mut s, &json);
            s.into_bytes()
        }
        _ => {
            // Chinese text in a legacy two-byte encoding: a lead byte in 0xB0..=0xBF
            // is a UTF-8 continuation byte, so the payload is never valid UTF-8.
            let mut out = Vec::with_capacity(json.len());
            for c in json.chars() {
                if c.is_ascii() {
                    out.push(c as u8);
                } else {
                    let u = c as u32;
                    out.push(0xB0 + (u % 16) as u8);
                    out.push(0xA1 + ((u / 16) % 94) as u8);
                }
            }
            out
        }
    }
}

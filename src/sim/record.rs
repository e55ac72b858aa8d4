//! A record under construction, its JSON text, and the local times written into it.
//!
//! Fields are kept in insertion order so that serialization is deterministic; the
//! writers avoid `format!` on the hot path (every simulated message passes here).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike};
use chrono_tz::Tz;

/// A JSON value of a record field.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    Str(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    Null,
}

/// Fields by their index in the dataset, in the order they will be written.
#[derive(Debug, Default)]
pub(super) struct Record(Vec<(usize, Val)>);

impl Record {
    pub fn push(&mut self, field: usize, v: Val) {
        self.0.push((field, v));
    }

    pub fn get(&self, field: usize) -> Option<&Val> {
        self.0.iter().find(|f| f.0 == field).map(|f| &f.1)
    }

    pub(crate) fn get_str(&self, field: usize) -> Option<&str> {
        match self.get(field) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn has(&self, field: usize) -> bool {
        self.get(field).is_some()
    }

    /// Replaces the value, or appends the field when the record lacks it.
    pub fn set(&mut self, field: usize, v: Val) {
        match self.0.iter_mut().find(|f| f.0 == field) {
            Some(f) => f.1 = v,
            None => self.0.push((field, v)),
        }
    }

    pub(crate) fn set_str(&mut self, field: usize, s: impl Into<String>) {
        self.set(field, Val::Str(s.into()));
    }

    pub(crate) fn remove(&mut self, field: usize) {
        self.0.retain(|f| f.0 != field);
    }

    /// The JSON object; `names[i]` is the name of field `i`.
    pub(crate) fn to_json<S: AsRef<str>>(&self, names: &[S]) -> String {
        let mut out = String::with_capacity(384);
        out.push('{');
        for (i, (field, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Contract field names are plain identifiers (`load` enforces it): no escaping.
            out.push('"');
            out.push_str(names[*field].as_ref());
            out.push_str("\":");
            match v {
                Val::Str(s) => write_json_str(&mut out, s),
                Val::Int(n) => {
                    if *n < 0 {
                        out.push('-');
                    }
                    push_digits(&mut out, n.unsigned_abs(), 1);
                }
                Val::Num(x) => {
                    let _ = write!(out, "{x}");
                }
                Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Val::Null => out.push_str("null"),
            }
        }
        out.push('}');
        out
    }
}

/// JSON string literal; copies runs that need no escaping in one go (this is the hot path).
pub(super) fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Decimal digits of `n`, zero-padded to `width` (formatting machinery is too slow here).
pub(super) fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 || buf.len() - i < width {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Wall-clock time in the exchange's time zone (`checks.time_zone`): sources write
/// local times with their offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct LocalTime {
    pub tz: Tz,
}

impl LocalTime {
    fn utc(ms: i64) -> NaiveDateTime {
        // Out-of-range clocks (the tests feed i64::MIN) fall back to the epoch.
        DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .naive_utc()
    }

    /// Seconds east of UTC at instant `ms`.
    pub(crate) fn offset_secs(&self, ms: i64) -> i32 {
        self.tz
            .offset_from_utc_datetime(&Self::utc(ms))
            .fix()
            .local_minus_utc()
    }

    pub(crate) fn naive(&self, ms: i64) -> NaiveDateTime {
        let utc = Self::utc(ms);
        utc.checked_add_signed(TimeDelta::seconds(i64::from(self.offset_secs(ms))))
            .unwrap_or(utc)
    }

    pub(crate) fn date(&self, ms: i64) -> NaiveDate {
        self.naive(ms).date()
    }

    /// RFC 3339 with the zone's offset, milliseconds only when asked for.
    pub(crate) fn datetime(&self, ms: i64, millis: bool) -> String {
        let t = self.naive(ms);
        let mut s = String::with_capacity(29);
        push_date(&mut s, t.date());
        for (sep, v) in [('T', t.hour()), (':', t.minute()), (':', t.second())] {
            s.push(sep);
            push_digits(&mut s, u64::from(v), 2);
        }
        if millis {
            s.push('.');
            push_digits(&mut s, u64::from(t.nanosecond() / 1_000_000), 3);
        }
        self.push_offset(&mut s, ms);
        s
    }

    /// `+08:00` and the like, for the offset at instant `ms`.
    pub(crate) fn push_offset(&self, out: &mut String, ms: i64) {
        let secs = self.offset_secs(ms);
        out.push(if secs < 0 { '-' } else { '+' });
        let minutes = u64::from(secs.unsigned_abs() / 60);
        push_digits(out, minutes / 60, 2);
        out.push(':');
        push_digits(out, minutes % 60, 2);
    }
}

fn push_date(out: &mut String, d: NaiveDate) {
    push_digits(out, u64::try_from(d.year()).unwrap_or(0), 4);
    out.push('-');
    push_digits(out, u64::from(d.month()), 2);
    out.push('-');
    push_digits(out, u64::from(d.day()), 2);
}

pub(super) fn fmt_date(d: NaiveDate) -> String {
    let mut s = String::with_capacity(10);
    push_date(&mut s, d);
    s
}

pub(super) fn add_days(d: NaiveDate, days: i64) -> NaiveDate {
    d.checked_add_signed(TimeDelta::days(days)).unwrap_or(d)
}

/// Months as `year * 12 + month0`, so that ranges of months are plain integer ranges.
pub(super) fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

pub(super) fn fmt_month(idx: i64) -> String {
    let mut s = String::with_capacity(7);
    push_digits(&mut s, u64::try_from(idx.div_euclid(12)).unwrap_or(0), 4);
    s.push('-');
    push_digits(&mut s, (idx.rem_euclid(12) + 1) as u64, 2);
    s
}

pub(super) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

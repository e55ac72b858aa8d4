//! Consistency defects: a within-record rule of the contract broken, or an entity
//! attribute that disagrees with the value its authority delivered.

use chrono::NaiveDate;
use rand::RngExt;
use rand::rngs::StdRng;

use crate::formats::{date, date_time, resident_id};

use super::catalog::{Attr, RuleBreak};
use super::population::{Kind, other_given_char, pick};
use super::record::{Record, add_days, fmt_date};
use super::values::{Build, DAY, HOUR, MINUTE, first_birth_date};

/// Breaks one of the dataset's breakable rules, trying them in random order.
pub(super) fn break_rule(b: &Build, rng: &mut StdRng, rec: &mut Record) -> bool {
    let n = b.ds.breaks.len();
    if n == 0 {
        return false;
    }
    let start = rng.random_range(0..n);
    (0..n).any(|k| apply_break(b, rng, rec, b.ds.breaks[(start + k) % n]))
}

fn apply_break(b: &Build, rng: &mut StdRng, rec: &mut Record, how: RuleBreak) -> bool {
    let value = match how {
        RuleBreak::IdGender {
            id, via_id: true, ..
        }
        | RuleBreak::IdBirthDate {
            id, via_id: true, ..
        } => {
            let change = match how {
                RuleBreak::IdGender { .. } => IdChange::Parity,
                _ => IdChange::BirthDate,
            };
            let current = rec.get_str(id).unwrap_or_default();
            phantom_id(b, rng, current, change).map(|v| (id, v))
        }
        RuleBreak::IdGender { id, gender, .. } => {
            // The gender of the other sex than the ID's sequence digit says.
            let odd = rec
                .get_str(id)
                .and_then(resident_id::sequence_parity_is_odd);
            odd.map(|odd| (gender, b.catalog.gender_code(!odd).to_string()))
        }
        RuleBreak::IdBirthDate { date: field, .. } => rec
            .get_str(field)
            .and_then(date::parse)
            .map(|d| (field, fmt_date(shifted(rng, d)))),
        RuleBreak::NotAfter {
            earlier,
            earlier_is_date,
            later,
        } => after(b, rng, rec, later, earlier_is_date).map(|v| (earlier, v)),
        RuleBreak::ManInstead { binding } => {
            // The father's ID keyed in as the mother's; his name with it, so that
            // nothing else disagrees.
            let man = *pick(rng, &b.population.men);
            let bd = &b.ds.bindings[binding];
            for &(field, attr) in &bd.attributes {
                rec.set(field, b.attribute_of(Kind::Person, man, attr));
            }
            Some((bd.key_field, b.population.persons[man].id.clone()))
        }
    };
    match value {
        Some((field, v)) => {
            rec.set_str(field, v);
            true
        }
        None => false,
    }
}

#[derive(Clone, Copy)]
enum IdChange {
    Parity,
    BirthDate,
}

/// A valid ID number of nobody in the population, differing from `id` in its sex
/// digit or its birth date: the authority's values of the real person stay right.
fn phantom_id(b: &Build, rng: &mut StdRng, id: &str, change: IdChange) -> Option<String> {
    if id.len() != 18 || !id.is_ascii() {
        return None;
    }
    for _ in 0..8 {
        let first17 = match change {
            IdChange::Parity => {
                let digit = id.as_bytes()[16].wrapping_sub(b'0') % 10;
                // Adding an odd number flips the parity.
                let flipped = (digit + 2 * rng.random_range(0..5u8) + 1) % 10;
                format!("{}{flipped}", &id[..16])
            }
            IdChange::BirthDate => {
                let birth = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d").ok()?;
                // Never after yesterday, so that the ID stays valid on the message's day.
                let d = shifted(rng, birth).min(add_days(b.today, -1));
                if d < first_birth_date() || d == birth {
                    continue;
                }
                format!("{}{}{}", &id[..6], d.format("%Y%m%d"), &id[14..17])
            }
        };
        let candidate = format!("{first17}{}", resident_id::check_char(&first17)?);
        if !b.population.person_ids.contains(&candidate) {
            return Some(candidate);
        }
    }
    None
}

fn shifted(rng: &mut StdRng, d: NaiveDate) -> NaiveDate {
    let sign = if rng.random_bool(0.5) { 1 } else { -1 };
    add_days(d, sign * rng.random_range(1..=400))
}

/// A date or date-time after the record's `later` field.
fn after(b: &Build, rng: &mut StdRng, rec: &Record, later: usize, as_date: bool) -> Option<String> {
    let text = rec.get_str(later)?;
    // The calendar date as written, and the instant the value ends.
    let (day, end_ms) = match date_time::parse(text) {
        Some(t) => (t.date_naive(), t.timestamp_millis()),
        None => {
            let d = date::parse(text)?;
            let midnight = add_days(d, 1).and_hms_opt(0, 0, 0)?.and_utc();
            let offset = i64::from(b.catalog.time.offset_secs(b.updated_ms)) * 1000;
            (d, midnight.timestamp_millis() - offset)
        }
    };
    if as_date {
        return Some(fmt_date(add_days(day, rng.random_range(1..=365))));
    }
    let t = end_ms.saturating_add(rng.random_range(HOUR..=5 * DAY));
    Some(b.catalog.time.datetime(t - t.rem_euclid(MINUTE), false))
}

/// An attribute that disagrees with the authority's value of the same entity.
pub(super) fn conflict(b: &Build, rng: &mut StdRng, rec: &mut Record) -> bool {
    let entries: Vec<(usize, usize, Attr)> = (b.ds.bindings.iter().enumerate())
        .filter(|(_, bd)| bd.compared)
        .flat_map(|(i, bd)| bd.attributes.iter().map(move |&(f, a)| (i, f, a)))
        .collect();
    if entries.is_empty() {
        return false;
    }
    let (binding, field, attr) = *pick(rng, &entries);
    let (kind, m) = b.member(binding);
    let pop = b.population;
    let v = match (attr, kind) {
        // A typo in the given name: same surname, a different last character.
        (Attr::Name, Kind::Person) => {
            let mut chars: Vec<char> = pop.persons[m].name.chars().collect();
            let Some(last) = chars.last_mut() else {
                return false;
            };
            *last = other_given_char(rng, *last);
            chars.into_iter().collect()
        }
        // Like a company renamed in one register only.
        (Attr::Name, Kind::Company) => {
            let own = &pop.companies[m].name;
            let other = &pick(rng, &pop.companies).name;
            if loosely_equal(other, own) {
                format!("{own}分公司")
            } else {
                other.clone()
            }
        }
        // Another valid code: a conflict, not a format failure.
        (Attr::Gender, _) => {
            let own = b.catalog.gender_code(pop.persons[m].male);
            let others: Vec<&String> = b.ds.fields[field]
                .allowed
                .iter()
                .filter(|c| *c != own)
                .collect();
            if others.is_empty() {
                return false;
            }
            (*pick(rng, &others)).clone()
        }
        (Attr::BirthDate, _) => fmt_date(shifted(rng, pop.persons[m].birth)),
    };
    rec.set_str(field, v);
    true
}

/// Normalization the monitor applies before comparing names (enough for the names made here).
fn loosely_equal(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                0x3000 => ' ',
                _ => c,
            })
            .collect::<String>()
            .trim()
            .to_string()
    };
    norm(a) == norm(b)
}

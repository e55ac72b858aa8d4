//! Clean records: every field of the contract with a value that passes it, taken
//! from the record's population members where the field reports one of them.

use chrono::{Datelike, NaiveDate};
use rand::RngExt;
use rand::rngs::StdRng;
use smallvec::SmallVec;

use crate::catalog::contract::FieldType;

use super::catalog::{Attr, Catalog, Format, Role, SimDataset, SimField};
use super::population::{self, Kind, Population, pick, weighted};
use super::profile::Plausible;
use super::record::{Record, Val, add_days, fmt_date, fmt_month, month_index, ymd};

pub(super) const MINUTE: i64 = 60_000;
pub(super) const HOUR: i64 = 60 * MINUTE;
pub(super) const DAY: i64 = 24 * HOUR;

/// What a message will be about: a dataset and one population member per binding.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub ds: usize,
    pub members: SmallVec<[usize; 4]>,
}

/// The record being made, with what it needs to know.
pub(super) struct Build<'a> {
    pub catalog: &'a Catalog,
    pub population: &'a Population,
    pub ds: &'a SimDataset,
    pub members: &'a [usize],
    pub updated_ms: i64,
    /// The calendar day of `updated_ms` in the exchange's time zone.
    pub today: NaiveDate,
}

impl Build<'_> {
    /// A record that passes every check of its contract.
    pub fn record(&self, rng: &mut StdRng, record_id: String) -> Record {
        let mut rec = Record::default();
        for (i, f) in self.ds.fields.iter().enumerate() {
            let v = match f.role {
                Role::RecordId => Some(Val::Str(record_id.clone())),
                // Most sources write whole seconds.
                Role::UpdatedAt => Some(Val::Str(
                    self.catalog
                        .time
                        .datetime(self.updated_ms, self.updated_ms.rem_euclid(1000) != 0),
                )),
                Role::Key(b) => {
                    let (kind, m) = self.member(b);
                    Some(Val::Str(self.population.key(kind, m).to_string()))
                }
                Role::Attribute(b, attr) => Some(self.attribute(b, attr)),
                Role::Plausible(p) => self.plausible(rng, i, p),
                Role::Generic => self.generic(rng, i),
            };
            if let Some(v) = v {
                rec.push(i, v);
            }
        }
        rec
    }

    pub(crate) fn member(&self, binding: usize) -> (Kind, usize) {
        (self.ds.bindings[binding].kind, self.members[binding])
    }

    fn subject(&self) -> Option<(Kind, usize)> {
        self.ds.subject.map(|b| self.member(b))
    }

    fn subject_person(&self) -> Option<&population::Person> {
        match self.subject()? {
            (Kind::Person, m) => Some(&self.population.persons[m]),
            _ => None,
        }
    }

    fn subject_company(&self) -> Option<&population::Company> {
        match self.subject()? {
            (Kind::Company, m) => Some(&self.population.companies[m]),
            _ => None,
        }
    }

    /// The value of the `binding`-th member's attribute, as the authority holds it.
    pub fn attribute(&self, binding: usize, attr: Attr) -> Val {
        let (kind, m) = self.member(binding);
        self.attribute_of(kind, m, attr)
    }

    /// Only persons have a gender and a birth date (see `catalog::attribute`).
    pub(crate) fn attribute_of(&self, kind: Kind, m: usize, attr: Attr) -> Val {
        let pop = self.population;
        Val::Str(match attr {
            Attr::Name => pop.name(kind, m).to_string(),
            Attr::Gender => self.catalog.gender_code(pop.persons[m].male).to_string(),
            Attr::BirthDate => fmt_date(pop.persons[m].birth),
        })
    }

    fn plausible(&self, rng: &mut StdRng, i: usize, p: Plausible) -> Option<Val> {
        use Plausible::*;
        match p {
            Mostly {
                percent,
                per_entity,
            } if !self.ds.fields[i].allowed.is_empty() => {
                Some(self.mostly(rng, i, percent, per_entity))
            }
            Mostly { .. } => self.generic(rng, i),
            Address | Capital | Established | RegisteredAfterEstablishment => {
                self.of_subject(rng, i, p)
            }
            RecentMonth { .. } | MonthSinceAdult | RecentBirth => Some(self.dated(rng, p)),
            Count { .. }
            | Amount { .. }
            | Certificate
            | NewbornName { .. }
            | NewbornGender
            | Hospital => self.drawn(rng, i, p),
        }
    }

    /// The first allowed value `percent` of the time, another one otherwise.
    fn mostly(&self, rng: &mut StdRng, i: usize, percent: u32, per_entity: bool) -> Val {
        let f = &self.ds.fields[i];
        let draw = match self.subject().filter(|_| per_entity) {
            Some((kind, m)) => stable_draw(self.population.seed(kind, m), &self.ds.names[i]),
            None => rng.random(),
        };
        let n = f.allowed.len() as u64;
        let k = if draw % 100 < u64::from(percent) || n == 1 {
            0
        } else {
            1 + (draw / 100) % (n - 1)
        };
        Val::Str(f.allowed[k as usize].clone())
    }

    /// What the population holds about the record's subject.
    fn of_subject(&self, rng: &mut StdRng, i: usize, p: Plausible) -> Option<Val> {
        let f = &self.ds.fields[i];
        let company = self.subject_company();
        let v = match (p, company) {
            (Plausible::Address, _) => match self.subject_person() {
                Some(_) if !f.required && rng.random_ratio(1, 10) => return None,
                Some(p) => Val::Str(p.address.clone()),
                None => return self.generic(rng, i),
            },
            (Plausible::Capital, Some(c)) => match c.capital {
                Some(cap) => Val::Num(cap),
                None if !f.required => return None,
                None => return self.generic(rng, i),
            },
            // Never after the date of updated_at, whatever clock the caller runs.
            (Plausible::Established, Some(c)) => Val::Str(fmt_date(c.established.min(self.today))),
            (Plausible::RegisteredAfterEstablishment, Some(c)) => {
                let d = add_days(c.established, c.tax_lag_days).min(self.today);
                Val::Str(fmt_date(d))
            }
            _ => return self.generic(rng, i),
        };
        Some(v)
    }

    /// Months and times relative to the record's update.
    fn dated(&self, rng: &mut StdRng, p: Plausible) -> Val {
        let now = month_index(self.today);
        match p {
            Plausible::RecentMonth { months } => {
                Val::Str(fmt_month(rng.random_range(now - months.max(0)..=now)))
            }
            Plausible::MonthSinceAdult => {
                let birth = self.subject_person().map_or(1970, |p| p.birth.year());
                let lo = (i64::from(birth + 18) * 12).max(2000 * 12).min(now);
                Val::Str(fmt_month(rng.random_range(lo..=now)))
            }
            _ => {
                let born = (self.updated_ms).saturating_sub(rng.random_range(HOUR..=20 * DAY));
                Val::Str(self.catalog.time.datetime(born - born % MINUTE, false))
            }
        }
    }

    fn drawn(&self, rng: &mut StdRng, i: usize, p: Plausible) -> Option<Val> {
        let f = &self.ds.fields[i];
        let v = match p {
            Plausible::Count { lo, hi } => {
                let (blo, bhi) = f.bounds.whole(hi - lo);
                let (lo, hi) = (lo.max(blo), hi.min(bhi));
                Val::Int(rng.random_range(lo.min(hi)..=hi))
            }
            Plausible::Amount { lo, hi } => Val::Num(amount(rng, f, lo, hi)),
            Plausible::Certificate => {
                let mut cert = String::with_capacity(10);
                cert.push(char::from(b'A' + rng.random_range(0..26u8)));
                let number = rng.random_range(0..1_000_000_000u32);
                super::record::push_digits(&mut cert, u64::from(number), 9);
                Val::Str(cert)
            }
            Plausible::NewbornName { percent } => {
                if !f.required && !rng.random_ratio(percent, 100) {
                    return None;
                }
                Val::Str(population::person_name(rng))
            }
            Plausible::NewbornGender => {
                let (male, female) = (&self.catalog.male, &self.catalog.female);
                let other = f.allowed.iter().find(|c| *c != male && *c != female);
                let code = match weighted(rng, &[(0, 49), (1, 49), (2, 2)]) {
                    0 => male,
                    1 => female,
                    _ => other.unwrap_or(male),
                };
                Val::Str(code.clone())
            }
            _ => {
                let division = self.subject().map(|(k, m)| self.population.division(k, m));
                Val::Str(population::hospital(rng, division.unwrap_or("")))
            }
        };
        Some(v)
    }

    /// A value from the field's contract alone: its format, allowed values, range
    /// or lengths. Optional fields are sometimes left out.
    fn generic(&self, rng: &mut StdRng, i: usize) -> Option<Val> {
        let f = &self.ds.fields[i];
        if !f.required && rng.random_ratio(1, 10) {
            return None;
        }
        let v = match f.kind {
            FieldType::Boolean => Val::Bool(rng.random_bool(0.5)),
            FieldType::Integer => {
                let (lo, hi) = f.bounds.whole(100);
                Val::Int(rng.random_range(lo..=hi))
            }
            FieldType::Number => {
                let (lo, hi) = f.bounds.whole(10_000);
                Val::Num(amount(rng, f, lo as f64, hi as f64))
            }
            FieldType::String => match f.format {
                Some(format) => return self.formatted(rng, f, format),
                _ if !f.allowed.is_empty() => Val::Str(pick(rng, &f.allowed).clone()),
                _ => Val::Str(free_text(rng, f)),
            },
        };
        Some(v)
    }

    fn formatted(&self, rng: &mut StdRng, f: &SimField, format: Format) -> Option<Val> {
        let pop = self.population;
        let s = match format {
            Format::ResidentId => pick(rng, &pop.persons).id.clone(),
            Format::Uscc => pick(rng, &pop.companies).uscc.clone(),
            Format::DivisionCode => match self.subject() {
                Some((kind, m)) => pop.division(kind, m).to_string(),
                None => pick(rng, &pop.counties).clone(),
            },
            Format::Mobile => match self.subject_person() {
                Some(p) => match (&p.phone, f.required) {
                    (Some(phone), _) => phone.clone(),
                    (None, false) => return None,
                    (None, true) => population::mobile(rng),
                },
                None => population::mobile(rng),
            },
            Format::Date => {
                let from = add_days(self.today, -30 * 365);
                fmt_date(population::random_date(rng, from, self.today))
            }
            Format::Month => {
                let hi = month_index(self.today);
                fmt_month(rng.random_range(hi - 120..=hi))
            }
            Format::DateTime => {
                let t = self
                    .updated_ms
                    .saturating_sub(rng.random_range(HOUR..=30 * DAY));
                self.catalog.time.datetime(t - t % 1000, false)
            }
        };
        Some(Val::Str(s))
    }
}

/// An amount with cents in `lo..=hi`, kept inside the field's range.
fn amount(rng: &mut StdRng, f: &SimField, lo: f64, hi: f64) -> f64 {
    let b = f.bounds;
    let lo = match b.min {
        Some(m) if b.min_exclusive => lo.max(m + 0.01),
        Some(m) => lo.max(m),
        None => lo,
    };
    let hi = match b.max {
        Some(m) if b.max_exclusive => hi.min(m - 0.01),
        Some(m) => hi.min(m),
        None => hi,
    };
    let (lo, hi) = ((lo * 100.0).ceil() as i64, (hi * 100.0).floor() as i64);
    rng.random_range(lo.min(hi)..=hi) as f64 / 100.0
}

/// Text for a field the simulator knows nothing about: a name, fitted to the lengths.
fn free_text(rng: &mut StdRng, f: &SimField) -> String {
    let base = population::person_name(rng);
    let min = f.min_length.unwrap_or(1).max(1);
    let max = f.max_length.unwrap_or(usize::MAX).max(min);
    let len = base.chars().count().clamp(min, max);
    base.chars().cycle().take(len).collect()
}

/// A number fixed by a member and a field: attributes the population does not store
/// stay the same in every record of the member.
fn stable_draw(seed: u64, field: &str) -> u64 {
    // FNV-1a of the name, then SplitMix64.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in field.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = (seed ^ h).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The earliest date a resident ID can carry.
pub(super) fn first_birth_date() -> NaiveDate {
    ymd(1900, 1, 1)
}

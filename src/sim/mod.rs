//! Synthetic traffic of the departments on the exchange bus, generated from the
//! contracts in the checks folder.
//!
//! A seeded population of persons and companies is published by the departments with
//! a configurable share of defective records. Everything is derived from the seeded RNG
//! and the timestamps the caller passes in, so one seed, config and checks folder always
//! give the same bytes.
//!
//! - What a record holds and what makes it valid (datasets, departments, topics, key
//!   fields, fields with their types, formats, enumerations, code tables, lengths and
//!   ranges, rules, entity attributes, max ages, the time zone) is read from [`Checks`];
//!   what the contracts cannot say (each dataset's share of the mix, record_id prefixes,
//!   plausible values of some fields, how to break an expression rule) is the small
//!   table in `profile.rs`.
//! - Before the first record that refers to a person or company, its authoritative
//!   record is sent, so cross-source checks find a value; later draws of that dataset
//!   are skipped to keep the mix.
//! - `record_id` is `<prefix>-<9-digit counter>` per dataset, never reused except by an
//!   injected duplicate. Key: the record's key field, else `record_id`, else none.
//! - A defective record carries exactly one [`DefectKind`], drawn uniformly from the kinds
//!   applicable to its dataset; [`Simulator::last_defect`] reports it. A duplicate is a
//!   byte-identical re-send of a recent defect-free record of the same topic that is
//!   still fresh. About 1 % of clean records spell a name with extra white space or
//!   half-width brackets: equal after NFKC and trimming, so not a defect.
//! - Clean records assume a caller clock after 2010 (persons are born 1940-2010).

mod catalog;
mod config;
mod consistency;
mod defects;
mod mix;
mod population;
mod profile;
mod publish;
mod record;
mod values;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::catalog::Checks;

use catalog::Catalog;
pub use config::SimConfig;
pub(crate) use defects::DefectKind;
use population::{Population, pick};
pub use publish::{Pace, publish, publish_history};
use record::push_digits;
use values::{Build, DAY, HOUR, MINUTE, Plan};

/// One message as a department would publish it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMessage {
    pub topic: String,
    pub key: Option<String>,
    pub timestamp_ms: i64,
    pub payload: Vec<u8>,
}

impl SimMessage {
    /// The message as the engine receives it (partition and offset do not matter to it).
    pub fn as_message(&self) -> crate::model::Message<'_> {
        crate::model::Message {
            topic: &self.topic,
            partition: 0,
            offset: 0,
            timestamp_ms: self.timestamp_ms,
            key: self.key.as_deref().map(str::as_bytes),
            payload: Some(&self.payload),
        }
    }
}

/// The engine benchmarks' workload: `records` messages of the default mix (about 5 %
/// defective), one every 50 ms from 2026-06-15T10:00:00+08:00.
pub fn benchmark_mix(checks: &Checks, records: usize) -> Vec<SimMessage> {
    Simulator::new(SimConfig::default(), checks).batch(records, 1_781_488_800_000, 50)
}

/// A recently sent defect-free record, kept to be re-sent byte for byte as a duplicate.
#[derive(Debug, Clone, Default)]
struct Sent {
    timestamp_ms: i64,
    updated_ms: i64,
    key: Option<String>,
    payload: Vec<u8>,
}

const RECENT_CAP: usize = 32;
/// Share of defect-free records whose name is re-spelled in an NFKC/trim-equivalent way.
const VARIANT_RATE: f64 = 0.01;

/// Plays the departments. See the module documentation.
pub struct Simulator {
    rng: StdRng,
    catalog: Catalog,
    population: Population,
    /// Defect probability per dataset.
    rates: Vec<f64>,
    /// Per [`population::Kind`]: whether an authoritative record of the member is out
    /// (or queued), so that referencing records find an authoritative value.
    published: [Vec<bool>; 2],
    pending: VecDeque<Plan>,
    /// Authoritative records queued ahead of the mix, per dataset, to be skipped in
    /// later draws so that the long-run mix stays as configured.
    debt: Vec<u32>,
    counters: Vec<u64>,
    recent: Vec<VecDeque<Sent>>,
    applicable: Vec<Vec<DefectKind>>,
    last_defect: Option<DefectKind>,
}

impl Simulator {
    /// A simulator of the datasets in `checks`, drawing identifiers from its division table.
    pub fn new(config: SimConfig, checks: &Checks) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let catalog = Catalog::new(checks);
        let population = Population::new(
            &mut rng,
            config.persons,
            config.companies,
            &checks.reference.divisions,
        );
        let rates = catalog
            .datasets
            .iter()
            .map(|ds| config.rate(&ds.department))
            .collect();
        let applicable = catalog
            .datasets
            .iter()
            .map(|ds| {
                DefectKind::ALL
                    .into_iter()
                    .filter(|&k| defects::applicable(ds, k))
                    .collect()
            })
            .collect();
        let n = catalog.datasets.len();
        Simulator {
            rng,
            rates,
            published: [
                vec![false; population.persons.len()],
                vec![false; population.companies.len()],
            ],
            population,
            catalog,
            pending: VecDeque::new(),
            debt: vec![0; n],
            counters: vec![0; n],
            recent: vec![VecDeque::new(); n],
            applicable,
            last_defect: None,
        }
    }

    /// The topics the simulator publishes to, one per dataset.
    pub fn topics(&self) -> Vec<String> {
        self.catalog
            .datasets
            .iter()
            .map(|d| d.topic.clone())
            .collect()
    }

    /// Next message, stamped with `timestamp_ms` (the caller's clock: wall clock in the
    /// live demo, a simulated clock in tests).
    pub(crate) fn next_at(&mut self, timestamp_ms: i64) -> SimMessage {
        let plan = match self.pending.pop_front() {
            Some(p) => p,
            None => {
                let p = self.draw_plan();
                self.schedule(p);
                // `schedule` queued the plan itself, behind what it needs.
                self.pending.pop_front().expect("a plan was just queued")
            }
        };
        self.emit(plan, timestamp_ms)
    }

    /// Deterministic batch: `count` messages starting at `start_ms`, `step_ms` apart.
    pub fn batch(&mut self, count: usize, start_ms: i64, step_ms: i64) -> Vec<SimMessage> {
        (0..count)
            .map(|i| self.next_at(start_ms.saturating_add(step_ms.saturating_mul(i as i64))))
            .collect()
    }

    /// The defect injected into the message last returned (`None`: a clean record).
    /// Ground truth for accuracy tests of the monitor.
    #[cfg(test)]
    pub(crate) fn last_defect(&self) -> Option<DefectKind> {
        self.last_defect
    }

    fn draw_defect(&mut self, ds: usize) -> Option<DefectKind> {
        let rate = self.rates[ds];
        if rate <= 0.0 || !self.rng.random_bool(rate) || self.applicable[ds].is_empty() {
            return None;
        }
        Some(*pick(&mut self.rng, &self.applicable[ds]))
    }

    fn emit(&mut self, plan: Plan, ts: i64) -> SimMessage {
        let ds = plan.ds;
        let mut kind = self.draw_defect(ds);
        if kind == Some(DefectKind::Duplicate) {
            if let Some(msg) = self.resend(ds, ts) {
                self.last_defect = kind;
                self.after_authoritative(&plan, kind);
                return msg;
            }
            // Nothing recent enough to re-send: inject another kind, keeping the rate.
            let others: Vec<DefectKind> = self.applicable[ds]
                .iter()
                .copied()
                .filter(|&k| k != DefectKind::Duplicate)
                .collect();
            kind = Some(*pick(&mut self.rng, &others));
        }
        let updated_ms = self.updated_at(ds, ts, kind);
        self.counters[ds] += 1;
        let d = &self.catalog.datasets[ds];
        let mut record_id = String::with_capacity(16);
        record_id.push_str(d.prefix);
        record_id.push('-');
        push_digits(&mut record_id, self.counters[ds], 9);
        let build = Build {
            catalog: &self.catalog,
            population: &self.population,
            ds: d,
            members: &plan.members,
            updated_ms,
            today: self.catalog.time.date(updated_ms),
        };
        let mut rec = build.record(&mut self.rng, record_id);
        match kind {
            Some(k) if !defects::apply(&build, &mut self.rng, k, &mut rec) => kind = None,
            None if self.rng.random_bool(VARIANT_RATE) => {
                defects::respell_name(&build, &mut self.rng, &mut rec)
            }
            _ => {}
        }
        let usable = |f: usize| rec.get_str(f).filter(|s| !s.trim().is_empty());
        let record_id_field = d
            .fields
            .iter()
            .position(|f| f.role == catalog::Role::RecordId);
        let key = usable(d.key_field)
            .or_else(|| record_id_field.and_then(usable))
            .map(str::to_string);
        let json = rec.to_json(&d.names);
        let payload = if kind == Some(DefectKind::Malformed) {
            defects::malform(&mut self.rng, json)
        } else {
            json.into_bytes()
        };
        if kind.is_none() {
            self.remember(ds, ts, updated_ms, &key, &payload);
        }
        self.last_defect = kind;
        self.after_authoritative(&plan, kind);
        SimMessage {
            topic: self.catalog.datasets[ds].topic.clone(),
            key,
            timestamp_ms: ts,
            payload,
        }
    }

    /// Keeps every fourth clean record for re-sending: plenty of candidates, less copying.
    fn remember(
        &mut self,
        ds: usize,
        ts: i64,
        updated_ms: i64,
        key: &Option<String>,
        payload: &[u8],
    ) {
        if !self.counters[ds].is_multiple_of(4) {
            return;
        }
        let recent = &mut self.recent[ds];
        // Reuse the evicted entry's buffers.
        let mut sent = if recent.len() == RECENT_CAP {
            recent.pop_front().unwrap_or_default()
        } else {
            Sent::default()
        };
        sent.timestamp_ms = ts;
        sent.updated_ms = updated_ms;
        sent.key.clone_from(key);
        sent.payload.clear();
        sent.payload.extend_from_slice(payload);
        recent.push_back(sent);
    }

    /// Re-sends a recent clean record of the dataset that is still fresh at `ts` and
    /// within the uniqueness window of its first sending.
    fn resend(&mut self, ds: usize, ts: i64) -> Option<SimMessage> {
        let max_age = self.catalog.datasets[ds].max_age_ms;
        let ahead = self.catalog.future_tolerance_ms - MINUTE;
        let window = self.catalog.uniqueness_window_ms - MINUTE;
        let eligible: Vec<usize> = (0..self.recent[ds].len())
            .filter(|&i| {
                let sent = &self.recent[ds][i];
                let age = ts.saturating_sub(sent.updated_ms);
                (-ahead..=max_age - 10 * MINUTE).contains(&age)
                    && ts.saturating_sub(sent.timestamp_ms) <= window
            })
            .collect();
        if eligible.is_empty() {
            return None;
        }
        let sent = &self.recent[ds][*pick(&mut self.rng, &eligible)];
        Some(SimMessage {
            topic: self.catalog.datasets[ds].topic.clone(),
            key: sent.key.clone(),
            timestamp_ms: ts,
            payload: sent.payload.clone(),
        })
    }

    /// The record's `updated_at`: fresh for a clean record, outside the dataset's max
    /// age or the exchange's future tolerance for a freshness defect.
    fn updated_at(&mut self, ds: usize, ts: i64, kind: Option<DefectKind>) -> i64 {
        let max_age = self.catalog.datasets[ds].max_age_ms;
        let tolerance = self.catalog.future_tolerance_ms;
        let rng = &mut self.rng;
        // Clean ages stay well inside the max age, however short a contract makes it.
        let cap = |age: i64| age.min(max_age / 2).max(1);
        let ms = match kind {
            Some(DefectKind::Stale) => ts
                .saturating_sub(max_age)
                .saturating_sub(rng.random_range(MINUTE..=7 * DAY)),
            Some(DefectKind::Future) => {
                ts.saturating_add(tolerance + rng.random_range(MINUTE..=2 * DAY))
            }
            _ => match rng.random_range(0..100) {
                // A source clock slightly ahead: within the tolerance.
                0..=1 => ts.saturating_add(rng.random_range(0..=tolerance * 2 / 5)),
                2..=69 => ts.saturating_sub(rng.random_range(cap(MINUTE)..=cap(30 * MINUTE))),
                _ => ts.saturating_sub(rng.random_range(cap(30 * MINUTE)..=cap(6 * HOUR))),
            },
        };
        // Most sources write whole seconds.
        if rng.random_ratio(3, 4) {
            ms - ms % 1000
        } else {
            ms
        }
    }
}

//! The check engine: a message in, its outcomes out. Pure and synchronous, so
//! it is tested and benchmarked without Kafka; the only state it keeps is
//! [`State`], shared safely between threads. It reads no clock: "today" is an
//! argument (the message's day), and time is the message's timestamp.
//!
//! `record` parses a payload into the dataset's field slots, `mod` runs the
//! checks of each dimension, `normalize` is the cross-source comparison,
//! `state` the keyed-hash memory, `outcome` what is concluded, `violations`
//! the events made of it.

mod normalize;
pub mod outcome;
pub mod record;
pub mod state;
pub mod violations;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::NaiveDate;
use serde_json::Value;

pub use outcome::{Failure, RecordOutcome};
pub use state::{Expiry, State};
pub use violations::violations;

use crate::catalog::field::is_blank;
use crate::catalog::rule::RuleResult;
use crate::catalog::{Checks, Dataset, MAX_ENTITY_ATTRIBUTES};
use crate::formats::date_time;
use crate::model::Message;
use normalize::text_of;

/// Expiry runs after this many records (a deterministic cadence keeps replays exact).
const EXPIRE_EVERY: u64 = 1 << 16;

pub struct Engine {
    checks: Arc<Checks>,
    state: State,
    /// Latest message time evaluated (or restored), for [`Engine::latest_ms`].
    watermark_ms: AtomicI64,
    evaluated: AtomicU64,
    /// Expire every [`EXPIRE_EVERY`] records; off when checkpoints expire instead.
    auto_expire: bool,
}

impl Engine {
    /// `secret` keys the hashes of entity keys and values kept in memory.
    pub fn new(checks: Arc<Checks>, secret: &[u8]) -> Self {
        let state = State::new(secret, checks.entities.len());
        Self {
            checks,
            state,
            watermark_ms: AtomicI64::new(i64::MIN),
            evaluated: AtomicU64::new(0),
            auto_expire: true,
        }
    }

    /// An engine whose state is saved by checkpoints: it tracks changed keys
    /// and expires only when told ([`Engine::expire`] at a checkpoint), so the
    /// state in memory and in the store always agree at checkpoint boundaries.
    pub(crate) fn checkpointed(mut self) -> Self {
        self.state.track_changes();
        self.auto_expire = false;
        self
    }

    /// Restores the state a checkpoint saved; the watermark resumes from the
    /// newest remembered record id.
    pub(crate) fn restore(&self, references: &[state::ReferenceRow], seen: &[state::SeenRow]) {
        self.state.restore(references, seen);
        if let Some(latest) = self.state.latest_seen_ms() {
            self.watermark_ms.fetch_max(latest, Ordering::Relaxed);
        }
    }

    pub fn checks(&self) -> &Arc<Checks> {
        &self.checks
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Evaluates one message; `None` when no contract claims its topic.
    /// `today` is the message's calendar day ([`Checks::day_of`] its
    /// timestamp): message time is the clock, never the wall's.
    pub fn evaluate(&self, msg: &Message<'_>, today: NaiveDate) -> Option<RecordOutcome> {
        let ds = self.checks.dataset_for_topic(msg.topic)?;
        self.watermark_ms
            .fetch_max(msg.timestamp_ms, Ordering::Relaxed);
        let outcome = match record::parse(&ds.by_name, msg.payload) {
            Ok(values) => self.evaluate_record(ds, msg, &values, today),
            Err(reason) => {
                let mut out = RecordOutcome::new(ds.index);
                out.malformed = true;
                out.fail(ds, ds.parse_check, reason);
                out
            }
        };
        if self.auto_expire
            && self.evaluated.fetch_add(1, Ordering::Relaxed) % EXPIRE_EVERY == EXPIRE_EVERY - 1
            && let Some(now) = self.latest_ms()
        {
            self.expire(now);
        }
        Some(outcome)
    }

    /// The latest message time evaluated or restored; `None` before any.
    pub fn latest_ms(&self) -> Option<i64> {
        let latest = self.watermark_ms.load(Ordering::Relaxed);
        (latest != i64::MIN).then_some(latest)
    }

    /// Forgets what is too old to matter at message time `now_ms` any more;
    /// returns the cut-offs (see [`State::expire`]), which a checkpoint
    /// applies to the store too.
    pub fn expire(&self, now_ms: i64) -> Expiry {
        let c = &self.checks;
        self.state
            .expire(now_ms, c.uniqueness_window_ms, c.reference_ttl_ms)
    }

    fn evaluate_record(
        &self,
        ds: &Dataset,
        msg: &Message<'_>,
        values: &[Option<Value>],
        today: NaiveDate,
    ) -> RecordOutcome {
        let mut out = RecordOutcome::new(ds.index);
        let valid = check_fields(ds, values, today, &mut out);
        check_rules(ds, &valid, &mut out);
        self.check_cross_source(ds, msg, &valid, &mut out);
        self.check_freshness(ds, msg, &valid, &mut out);
        self.check_uniqueness(ds, msg, &valid, &mut out);
        out
    }

    /// A declaration's attributes share one entity key and come together in
    /// `cross_source`: hash the key once and visit its map entry once.
    fn check_cross_source(
        &self,
        ds: &Dataset,
        msg: &Message<'_>,
        valid: &Valid<'_>,
        out: &mut RecordOutcome,
    ) {
        for group in ds
            .cross_source
            .chunk_by(|a, b| (a.entity, a.key_field) == (b.entity, b.key_field))
        {
            let (entity, key_field) = (group[0].entity, group[0].key_field);
            let Some(key) = valid[key_field] else {
                continue;
            };
            if group.iter().all(|x| valid[x.field].is_none()) {
                continue;
            }
            let key = self.state.entity_key(entity, &text_of(key));
            if group[0].authoritative {
                // The authority delivers; it is never charged for a conflict.
                let values: smallvec::SmallVec<[(usize, u32); MAX_ENTITY_ATTRIBUTES]> = group
                    .iter()
                    .filter_map(|x| {
                        Some((
                            x.attribute,
                            self.value_hash(entity, x.attribute, valid[x.field]?),
                        ))
                    })
                    .collect();
                self.state.deliver(entity, key, &values, msg.timestamp_ms);
                continue;
            }
            // Not applicable before the authority has delivered a value.
            let ttl = self.checks.reference_ttl_ms;
            let Some(reference) = self.state.reference_at(entity, key, msg.timestamp_ms, ttl)
            else {
                continue;
            };
            for x in group {
                let (Some(value), Some(check), Some(expected)) =
                    (valid[x.field], x.check, reference.value(x.attribute))
                else {
                    continue;
                };
                if self.value_hash(entity, x.attribute, value) == expected {
                    out.pass(ds, check);
                } else {
                    out.fail(ds, check, "differs from the authoritative source");
                }
            }
        }
    }

    /// The record's age at publication against the dataset's maximum age.
    fn check_freshness(
        &self,
        ds: &Dataset,
        msg: &Message<'_>,
        valid: &Valid<'_>,
        out: &mut RecordOutcome,
    ) {
        let Some(updated_at) = valid[ds.updated_at_field]
            .and_then(Value::as_str)
            .and_then(date_time::parse)
        else {
            return;
        };
        let age = msg.timestamp_ms - updated_at.timestamp_millis();
        out.age_ms = Some(age);
        if age > ds.max_age_ms {
            out.fail(
                ds,
                ds.freshness_check,
                "older than the dataset's maximum age",
            );
        } else if age < -self.checks.future_tolerance_ms {
            out.fail(ds, ds.freshness_check, "updated_at is in the future");
        } else {
            out.pass(ds, ds.freshness_check);
        }
    }

    /// The same `record_id` delivered by the dataset within the window.
    fn check_uniqueness(
        &self,
        ds: &Dataset,
        msg: &Message<'_>,
        valid: &Valid<'_>,
        out: &mut RecordOutcome,
    ) {
        let Some(record_id) = valid[ds.record_id_field].and_then(Value::as_str) else {
            return;
        };
        let key = self.state.record_key(ds.index, record_id);
        if self
            .state
            .seen_before(key, msg.timestamp_ms, self.checks.uniqueness_window_ms)
        {
            out.fail(
                ds,
                ds.unique_check,
                "record_id already delivered within the window",
            );
        } else {
            out.pass(ds, ds.unique_check);
        }
        // Only violation events need it: spare the copy for clean records.
        if !out.failures.is_empty() {
            out.record_id = Some(record_id.to_string());
        }
    }

    /// Hash of a value after NFKC normalization and trimming, the catalog's comparison.
    fn value_hash(&self, entity: usize, attribute: usize, value: &Value) -> u32 {
        normalize::with_normalized(&text_of(value), |text| {
            self.state.value_hash(entity, attribute, text)
        })
    }
}

/// `valid[i]`: field i's value when present, non-blank and of valid format.
type Valid<'a> = smallvec::SmallVec<[Option<&'a Value>; 16]>;

/// Completeness and format of every field; what passed both, for the checks
/// that read field values.
fn check_fields<'a>(
    ds: &Dataset,
    values: &'a [Option<Value>],
    today: NaiveDate,
    out: &mut RecordOutcome,
) -> Valid<'a> {
    let mut valid: Valid<'a> = smallvec::smallvec![None; ds.fields.len()];
    for (i, f) in ds.fields.iter().enumerate() {
        let value = values[i].as_ref();
        if is_blank(value) {
            if let Some(c) = f.required_check {
                out.fail(ds, c, "missing, null or blank");
            }
            // Missing is a completeness matter only, never also a format failure.
            continue;
        }
        let value = value.expect("not blank, so present");
        if let Some(c) = f.required_check {
            out.pass(ds, c);
        }
        if f.validator.is_valid(value, today) {
            out.pass(ds, f.format_check);
            valid[i] = Some(value);
        } else {
            out.fail(ds, f.format_check, f.validator.reason(value, today));
        }
    }
    valid
}

/// Within-record rules; a rule with a missing or malformed input does not apply.
fn check_rules(ds: &Dataset, valid: &Valid<'_>, out: &mut RecordOutcome) {
    for rule in &ds.rules {
        if rule.inputs.iter().any(|&i| valid[i].is_none()) {
            continue;
        }
        match rule.logic.evaluate(valid) {
            RuleResult::Pass => out.pass(ds, rule.check),
            RuleResult::Fail(reason) => out.fail(ds, rule.check, reason),
            RuleResult::NotApplicable => {}
        }
    }
}

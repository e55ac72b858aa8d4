//! The stateless half of evaluation: parse, completeness, format, rules and
//! freshness, plus the keyed hashes the stateful half will look up. It reads
//! only the message and the contracts, so it runs on any thread, in any
//! order; [`super::judge`] then applies the result in message-time order.

use chrono::NaiveDate;
use serde_json::Value;
use smallvec::SmallVec;

use super::Engine;
use super::normalize::{self, text_of};
use super::outcome::RecordOutcome;
use super::state::Hash128;
use crate::catalog::field::is_blank;
use crate::catalog::rule::RuleResult;
use crate::catalog::{CheckId, Dataset, MAX_ENTITY_ATTRIBUTES};
use crate::formats::date_time;
use crate::model::Message;

/// One message with its stateless checks done: what
/// [`Engine::judge`](super::Engine::judge) needs to finish it. `Send`, so
/// workers can prepare while the judge works through earlier messages.
#[derive(Debug)]
pub struct Prepared {
    pub(super) timestamp_ms: i64,
    /// Its place in the bus's order.
    pub(super) pos: super::history::Pos,
    /// Completeness, format and rule outcomes so far.
    pub(super) out: RecordOutcome,
    /// The freshness outcome, applied after the cross-source checks so the
    /// failures keep the dataset's check order.
    pub(super) freshness: Option<Result<(), &'static str>>,
    /// One entry per (entity, key field) group with a valid key and a value.
    pub(super) cross: SmallVec<[CrossSourceIntent; 2]>,
    /// The record id's keyed hash, when the record id is valid.
    pub(super) record_key: Option<Hash128>,
    /// Keyed hash of (dataset, entity key), when the key field is valid:
    /// what findings are kept under.
    pub(super) finding_key: Option<Hash128>,
    /// The record id, kept for violation events if the record fails
    /// anything; inline, so a clean record with a short id allocates nothing.
    pub(super) record_id: Option<SmallVec<[u8; 24]>>,
}

/// What one record says about one entity, as hashes.
#[derive(Debug)]
pub(super) struct CrossSourceIntent {
    pub entity: usize,
    pub key: Hash128,
    pub authoritative: bool,
    /// (attribute, value hash, the check comparing it: `None` for an authority).
    pub values: SmallVec<[(usize, u32, Option<CheckId>); MAX_ENTITY_ATTRIBUTES]>,
}

/// `valid[i]`: field i's value when present, non-blank and of valid format.
type Valid<'a> = SmallVec<[Option<&'a Value>; 16]>;

impl Engine {
    /// The stateless checks of one message; `None` when no contract claims
    /// its topic. `today` is the message's calendar day.
    pub fn prepare(&self, msg: &Message<'_>, today: NaiveDate) -> Option<Prepared> {
        let ds = self.checks.dataset_for_topic(msg.topic)?;
        let mut prepared = Prepared {
            timestamp_ms: msg.timestamp_ms,
            pos: super::history::Pos {
                timestamp_ms: msg.timestamp_ms,
                topic: self.topic_ranks[ds.index],
                partition: msg.partition,
                offset: msg.offset,
            },
            out: RecordOutcome::new(ds.index),
            freshness: None,
            cross: SmallVec::new(),
            record_key: None,
            finding_key: None,
            record_id: None,
        };
        let values = match super::record::parse(&ds.by_name, msg.payload) {
            Ok(values) => values,
            Err(reason) => {
                prepared.out.malformed = true;
                prepared.out.fail(ds, ds.parse_check, reason);
                return Some(prepared);
            }
        };
        let valid = check_fields(ds, &values, today, &mut prepared.out);
        check_rules(ds, &valid, &mut prepared.out);
        self.cross_source_intents(ds, &valid, &mut prepared.cross);
        prepared.freshness = self.freshness(ds, msg, &valid, &mut prepared.out);
        if let Some(key) = valid[ds.key_field] {
            prepared.finding_key = Some(self.state.finding_key(ds.index, &text_of(key)));
        }
        if let Some(record_id) = valid[ds.record_id_field].and_then(Value::as_str) {
            prepared.record_key = Some(self.state.record_key(ds.index, record_id));
            prepared.record_id = Some(SmallVec::from_slice(record_id.as_bytes()));
        }
        Some(prepared)
    }

    /// A declaration's attributes share one entity key and come together in
    /// `cross_source`: hash the key once per group.
    fn cross_source_intents(
        &self,
        ds: &Dataset,
        valid: &Valid<'_>,
        intents: &mut SmallVec<[CrossSourceIntent; 2]>,
    ) {
        for group in ds
            .cross_source
            .chunk_by(|a, b| (a.entity, a.key_field) == (b.entity, b.key_field))
        {
            let (entity, key_field) = (group[0].entity, group[0].key_field);
            let Some(key) = valid[key_field] else {
                continue;
            };
            let authoritative = group[0].authoritative;
            let values: SmallVec<[_; MAX_ENTITY_ATTRIBUTES]> = group
                .iter()
                // A comparing dataset's attribute without a check compares nothing.
                .filter(|x| authoritative || x.check.is_some())
                .filter_map(|x| {
                    let value = valid[x.field]?;
                    Some((
                        x.attribute,
                        self.value_hash(entity, x.attribute, value),
                        x.check,
                    ))
                })
                .collect();
            if values.is_empty() {
                continue;
            }
            intents.push(CrossSourceIntent {
                entity,
                key: self.state.entity_key(entity, &text_of(key)),
                authoritative,
                values,
            });
        }
    }

    /// The record's age at publication against the dataset's maximum age.
    fn freshness(
        &self,
        ds: &Dataset,
        msg: &Message<'_>,
        valid: &Valid<'_>,
        out: &mut RecordOutcome,
    ) -> Option<Result<(), &'static str>> {
        let updated_at = valid[ds.updated_at_field]
            .and_then(Value::as_str)
            .and_then(date_time::parse)?;
        let age = msg.timestamp_ms - updated_at.timestamp_millis();
        out.age_ms = Some(age);
        Some(if age > ds.max_age_ms {
            Err("older than the dataset's maximum age")
        } else if age < -self.checks.future_tolerance_ms {
            Err("updated_at is in the future")
        } else {
            Ok(())
        })
    }

    /// Hash of a value after NFKC normalization and trimming, the catalog's comparison.
    fn value_hash(&self, entity: usize, attribute: usize, value: &Value) -> u32 {
        normalize::with_normalized(&text_of(value), |text| {
            self.state.value_hash(entity, attribute, text)
        })
    }
}

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

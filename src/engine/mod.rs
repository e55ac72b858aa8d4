//! The check engine: a message in, its outcomes out. Pure and synchronous, so
//! it is tested and benchmarked without Kafka; the only state it keeps is
//! [`State`], shared safely between threads.

pub mod outcome;
pub mod record;
pub mod state;
pub mod violations;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::NaiveDate;
use serde_json::Value;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

pub use outcome::{Failure, RecordOutcome};
pub use state::{Expiry, State};
pub use violations::violations;

use crate::catalog::field::is_blank;
use crate::catalog::rule::RuleResult;
use crate::catalog::{Checks, Dataset, MAX_ENTITY_ATTRIBUTES};
use crate::formats::date_time;
use crate::model::Message;

thread_local! {
    /// A buffer for NFKC forms, reused so comparing values allocates nothing.
    static NORMALIZED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Expiry runs after this many records (a deterministic cadence keeps replays exact).
const EXPIRE_EVERY: u64 = 1 << 16;

pub struct Engine {
    checks: Arc<Checks>,
    state: State,
    /// Latest message time seen: expiry is measured back from it.
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
    pub fn checkpointed(mut self) -> Self {
        self.state.track_changes();
        self.auto_expire = false;
        self
    }

    /// Restores the state a checkpoint saved; the watermark resumes from the
    /// newest remembered record id.
    pub fn restore(&self, references: &[state::ReferenceRow], seen: &[state::SeenRow]) {
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
        {
            self.expire();
        }
        Some(outcome)
    }

    /// Forgets what is too old to matter any more; returns the cut-offs (see
    /// [`State::expire`]), or `None` before any message.
    pub fn expire(&self) -> Option<Expiry> {
        let c = &self.checks;
        let watermark = self.watermark_ms.load(Ordering::Relaxed);
        (watermark != i64::MIN).then(|| {
            self.state
                .expire(watermark, c.uniqueness_window_ms, c.reference_ttl_ms)
        })
    }

    fn evaluate_record(
        &self,
        ds: &Dataset,
        msg: &Message<'_>,
        values: &[Option<Value>],
        today: NaiveDate,
    ) -> RecordOutcome {
        let mut out = RecordOutcome::new(ds.index);
        // `valid[i]`: field i's value when present, non-blank and of valid format.
        let mut valid: smallvec::SmallVec<[Option<&Value>; 16]> =
            smallvec::smallvec![None; ds.fields.len()];
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

        for rule in &ds.rules {
            if rule.inputs.iter().any(|&i| valid[i].is_none()) {
                continue;
            }
            match rule.logic.evaluate(&valid) {
                RuleResult::Pass => out.pass(ds, rule.check),
                RuleResult::Fail(reason) => out.fail(ds, rule.check, reason),
                RuleResult::NotApplicable => {}
            }
        }

        // A declaration's attributes share one entity key and come together in
        // `cross_source`: hash the key once and visit its map entry once.
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
            let Some(reference) = self.state.reference(entity, key) else {
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

        if let Some(updated_at) = valid[ds.updated_at_field]
            .and_then(Value::as_str)
            .and_then(date_time::parse)
        {
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

        if let Some(record_id) = valid[ds.record_id_field].and_then(Value::as_str) {
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
        out
    }

    /// Hash of a value after NFKC normalization and trimming, the catalog's comparison.
    fn value_hash(&self, entity: usize, attribute: usize, value: &Value) -> u32 {
        let text = text_of(value);
        let trimmed = text.trim();
        if is_stable_under_nfkc(trimmed) {
            return self.state.value_hash(entity, attribute, trimmed);
        }
        NORMALIZED.with_borrow_mut(|buf| {
            buf.clear();
            if !fullwidth_nfkc(trimmed, buf) {
                if is_nfkc_quick(trimmed.chars()) == IsNormalized::Yes {
                    return self.state.value_hash(entity, attribute, trimmed);
                }
                buf.clear();
                buf.extend(trimmed.nfkc());
            }
            self.state.value_hash(entity, attribute, buf.trim())
        })
    }
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
fn text_of(value: &Value) -> Cow<'_, str> {
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

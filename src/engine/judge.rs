//! The stateful half of evaluation: cross-source consistency against the
//! authorities' values and uniqueness against the record ids seen, applied
//! to [`Prepared`] messages one at a time in message-time order (the
//! catalog's order rule). Only hash lookups are left here, so this part
//! stays small while workers prepare in parallel.

use std::sync::atomic::Ordering;

use smallvec::SmallVec;

use super::history::Pos;
use super::outcome::RecordOutcome;
use super::prepare::Prepared;
use super::{EXPIRE_EVERY, Engine};
use crate::catalog::{Dataset, MAX_ENTITY_ATTRIBUTES};

impl Engine {
    /// Finishes a prepared message against the state, updating it.
    pub fn judge(&self, prepared: Prepared) -> RecordOutcome {
        let Prepared {
            timestamp_ms,
            pos,
            mut out,
            freshness,
            cross,
            record_key,
            finding_key,
            record_id,
        } = prepared;
        let ds = &self.checks.datasets[out.dataset];
        self.watermark_ms.fetch_max(timestamp_ms, Ordering::Relaxed);
        let ttl = self.checks.reference_ttl_ms;
        for intent in &cross {
            if intent.authoritative {
                // The authority delivers; it is never charged for a conflict.
                let values: SmallVec<[(usize, u32); MAX_ENTITY_ATTRIBUTES]> =
                    intent.values.iter().map(|&(a, h, _)| (a, h)).collect();
                match &self.history {
                    Some(h) => h.deliver(intent.entity, intent.key, &values, pos),
                    None => self
                        .state
                        .deliver(intent.entity, intent.key, &values, timestamp_ms),
                }
                continue;
            }
            // Not applicable before the authority has delivered a value.
            let reference = match &self.history {
                Some(h) => h.reference_before(intent.entity, intent.key, pos, ttl),
                None => self
                    .state
                    .reference_at(intent.entity, intent.key, timestamp_ms, ttl),
            };
            let Some(reference) = reference else {
                continue;
            };
            for &(attribute, hash, check) in &intent.values {
                let (Some(check), Some(expected)) = (check, reference.value(attribute)) else {
                    continue;
                };
                if hash == expected {
                    out.pass(ds, check);
                } else {
                    out.fail(ds, check, "differs from the authoritative source");
                }
            }
        }
        match freshness {
            Some(Ok(())) => out.pass(ds, ds.freshness_check),
            Some(Err(reason)) => out.fail(ds, ds.freshness_check, reason),
            None => {}
        }
        if let Some(key) = record_key {
            self.check_uniqueness(ds, key, pos, &mut out);
        }
        // Last: findings follow every check's outcome.
        if let Some(key) = finding_key {
            self.findings.track(key, timestamp_ms, &mut out);
        }
        // Only violation events and findings need the id: spare the copy for clean records.
        if !out.failures.is_empty() || !out.findings.is_empty() {
            out.record_id = record_id.map(|id| String::from_utf8_lossy(&id).into_owned());
        }
        if self.auto_expire
            && self.evaluated.fetch_add(1, Ordering::Relaxed) % EXPIRE_EVERY == EXPIRE_EVERY - 1
            && let Some(now) = self.latest_ms()
        {
            self.expire(now);
        }
        out
    }

    /// The same `record_id` delivered by the dataset within the window.
    fn check_uniqueness(&self, ds: &Dataset, key: [u64; 2], pos: Pos, out: &mut RecordOutcome) {
        let window = self.checks.uniqueness_window_ms;
        let repeat = match &self.history {
            Some(h) => h.seen_before(key, pos, window),
            None => self.state.seen_before(key, pos.timestamp_ms, window),
        };
        if repeat {
            out.fail(
                ds,
                ds.unique_check,
                "record_id already delivered within the window",
            );
        } else {
            out.pass(ds, ds.unique_check);
        }
    }
}

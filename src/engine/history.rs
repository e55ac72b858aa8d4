//! The engine's memory when several instances share the bus: every value an
//! authority delivered and every record id, each kept with its place in the
//! bus's order ([`Pos`]), so a record is judged against exactly what came
//! before it, whatever order the facts arrived in.
//!
//! One instance alone applies records in message-time order and needs only
//! the latest value ([`super::State`]). Several instances learn each other's
//! records through the state topic, and a partition one takes over after a
//! crash may be behind what the others already told it: its records are then
//! judged after later facts are known. Keeping the positions makes both
//! exact: a query at `pos` reads only what is before `pos`, and applying a
//! fact twice (a replayed partition) changes nothing.
//!
//! Old positions are folded into one (the horizon), so memory grows with the
//! entities and the record ids, not with every delivery.

use dashmap::DashMap;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use super::state::{Hash128, Reference, secs};
use crate::catalog::MAX_ENTITY_ATTRIBUTES;

/// A record's place in the bus's order: message time, then topic (by its
/// rank among the contracts' topic names), partition and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub timestamp_ms: i64,
    pub topic: u16,
    pub partition: i32,
    pub offset: i64,
}

/// One delivery of an authority for one entity.
#[derive(Debug, Clone, Copy)]
struct Version {
    pos: Pos,
    values: [u32; MAX_ENTITY_ATTRIBUTES],
    /// Bit `i`: attribute `i` delivered (by this version, or by those folded into it).
    known: u8,
}

type Map<V> = DashMap<Hash128, V, FxBuildHasher>;

/// Positioned memory, safe to share between threads.
pub(crate) struct History {
    references: Vec<Map<SmallVec<[Version; 1]>>>,
    seen: Map<SmallVec<[Pos; 1]>>,
}

impl History {
    pub fn new(entities: usize) -> Self {
        Self {
            references: (0..entities).map(|_| Map::default()).collect(),
            seen: Map::default(),
        }
    }

    /// An authority's values for an entity at `pos`; again is a no-op.
    pub fn deliver(&self, entity: usize, key: Hash128, values: &[(usize, u32)], pos: Pos) {
        let mut v = Version {
            pos,
            values: [0; MAX_ENTITY_ATTRIBUTES],
            known: 0,
        };
        for &(attribute, value) in values {
            v.values[attribute] = value;
            v.known |= 1 << attribute;
        }
        let mut versions = self.references[entity].entry(key).or_default();
        match versions.binary_search_by(|x| x.pos.cmp(&pos)) {
            Ok(_) => {}
            Err(i) => versions.insert(i, v),
        }
    }

    /// What the authority had delivered for an entity before `pos`, per
    /// attribute its latest value, as [`super::State::reference_at`] answers
    /// after applying the same records in order: none when the last delivery
    /// before `pos` is older than `ttl_ms`.
    pub fn reference_before(
        &self,
        entity: usize,
        key: Hash128,
        pos: Pos,
        ttl_ms: i64,
    ) -> Option<Reference> {
        let versions = self.references[entity].get(&key)?;
        let before = versions.partition_point(|v| v.pos < pos);
        let last = versions[..before].last()?;
        let updated_secs = secs(last.pos.timestamp_ms);
        if updated_secs < secs(pos.timestamp_ms.saturating_sub(ttl_ms)) {
            return None;
        }
        Some(fold(&versions[..before], updated_secs))
    }

    /// Notes a record id at `pos`; true when the same id was delivered before
    /// `pos` within `window_ms` of it (what [`super::State::seen_before`]
    /// answers for records in order).
    pub fn seen_before(&self, key: Hash128, pos: Pos, window_ms: i64) -> bool {
        let mut positions = self.seen.entry(key).or_default();
        let i = positions.partition_point(|p| *p < pos);
        let duplicate = i > 0 && pos.timestamp_ms - positions[i - 1].timestamp_ms <= window_ms;
        if positions.get(i) != Some(&pos) {
            positions.insert(i, pos);
        }
        duplicate
    }

    /// Folds what is before `horizon` (no record before it will be judged
    /// again), forgets record ids older than the window and references older
    /// than the TTL before it.
    pub fn expire(&self, horizon: Pos, window_ms: i64, ttl_ms: i64) {
        let seen_cutoff = horizon.timestamp_ms.saturating_sub(window_ms);
        self.seen.retain(|_, positions| {
            // The latest before the horizon is all a later record compares with.
            let before = positions.partition_point(|p| *p < horizon);
            if before > 1 {
                positions.drain(..before - 1);
            }
            positions
                .last()
                .is_some_and(|p| p.timestamp_ms >= seen_cutoff)
        });
        let oldest = secs(horizon.timestamp_ms.saturating_sub(ttl_ms));
        for map in &self.references {
            map.retain(|_, versions| {
                let before = versions.partition_point(|v| v.pos < horizon);
                if before > 1 {
                    let last = versions[before - 1];
                    let folded = fold(&versions[..before], secs(last.pos.timestamp_ms));
                    versions.drain(..before - 1);
                    versions[0].values = folded.values;
                    versions[0].known = folded.known;
                }
                versions
                    .last()
                    .is_some_and(|v| secs(v.pos.timestamp_ms) >= oldest)
            });
        }
    }

    /// Entities and record ids remembered (for the memory figures and tests).
    pub fn sizes(&self) -> (usize, usize) {
        (
            self.references.iter().map(|m| m.len()).sum(),
            self.seen.len(),
        )
    }
}

/// Per attribute, the value of the latest version that has it.
fn fold(versions: &[Version], updated_secs: u32) -> Reference {
    let mut r = Reference {
        values: [0; MAX_ENTITY_ATTRIBUTES],
        updated_secs,
        known: 0,
    };
    for v in versions {
        for a in 0..MAX_ENTITY_ATTRIBUTES {
            if v.known & (1 << a) != 0 {
                r.values[a] = v.values[a];
                r.known |= 1 << a;
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::engine::State;

    fn pos(timestamp_ms: i64, partition: i32, offset: i64) -> Pos {
        Pos {
            timestamp_ms,
            topic: 0,
            partition,
            offset,
        }
    }

    #[test]
    fn a_query_reads_only_what_came_before() {
        let h = History::new(1);
        let k = [1, 2];
        h.deliver(0, k, &[(0, 7), (1, 3)], pos(1_000, 0, 0));
        h.deliver(0, k, &[(0, 8)], pos(3_000, 1, 0));
        assert!(h.reference_before(0, k, pos(1_000, 0, 0), 10_000).is_none());
        let at_2 = h.reference_before(0, k, pos(2_000, 0, 1), 10_000).unwrap();
        assert_eq!((at_2.value(0), at_2.value(1)), (Some(7), Some(3)));
        let at_4 = h.reference_before(0, k, pos(4_000, 0, 1), 10_000).unwrap();
        assert_eq!((at_4.value(0), at_4.value(1)), (Some(8), Some(3)));
        assert!(
            h.reference_before(0, k, pos(14_000, 0, 1), 10_000)
                .is_none(),
            "ttl"
        );
        // Equal times are ordered by partition.
        let tie = h.reference_before(0, k, pos(3_000, 2, 0), 10_000).unwrap();
        assert_eq!(tie.value(0), Some(8));
        let tie = h.reference_before(0, k, pos(3_000, 0, 9), 10_000).unwrap();
        assert_eq!(tie.value(0), Some(7));
    }

    #[test]
    fn a_repeat_is_judged_against_the_earlier_one_only() {
        let h = History::new(0);
        let day = 86_400_000;
        let k = [9, 9];
        // The later copy noted first (it was read first): nothing before it yet.
        assert!(!h.seen_before(k, pos(3 * day, 1, 0), 7 * day));
        assert!(!h.seen_before(k, pos(day, 0, 0), 7 * day));
        assert!(
            !h.seen_before(k, pos(day, 0, 0), 7 * day),
            "again: the same"
        );
        assert!(h.seen_before(k, pos(3 * day, 1, 0), 7 * day));
        assert!(!h.seen_before(k, pos(20 * day, 2, 0), 7 * day));
    }

    #[test]
    fn folding_before_the_horizon_keeps_every_answer_after_it() {
        let h = History::new(1);
        let k = [5, 5];
        h.deliver(0, k, &[(0, 1), (1, 1)], pos(1_000, 0, 0));
        h.deliver(0, k, &[(0, 2)], pos(2_000, 0, 1));
        h.deliver(0, k, &[(0, 3)], pos(5_000, 0, 2));
        let before = h.reference_before(0, k, pos(6_000, 0, 3), 100_000);
        h.expire(pos(4_000, 0, 0), 100_000, 100_000);
        assert_eq!(h.reference_before(0, k, pos(6_000, 0, 3), 100_000), before);
        let mid = h.reference_before(0, k, pos(4_500, 0, 3), 100_000).unwrap();
        assert_eq!((mid.value(0), mid.value(1)), (Some(2), Some(1)));
    }

    proptest! {
        /// Facts applied in any order, queried at each record's place, answer
        /// what the single-instance state answers for the records in order.
        #[test]
        fn any_arrival_order_answers_as_the_ordered_state(
            records in prop::collection::vec((0i64..40, 0u8..3, 0u8..2, 0u32..3), 1..40),
            shuffle in any::<u64>(),
        ) {
            let day = 86_400_000;
            // (time, entity key, authority?, value) at distinct offsets.
            let recs: Vec<(Pos, u8, bool, u32)> = records
                .iter()
                .enumerate()
                .map(|(i, &(t, key, auth, value))| (pos(t * day / 4, (i % 3) as i32, i as i64), key, auth == 1, value))
                .collect();
            let mut sorted = recs.clone();
            sorted.sort_by_key(|r| r.0);
            let state = State::new(b"k", 1);
            let mut want = Vec::new();
            for &(p, key, auth, value) in &sorted {
                let k = [u64::from(key), 0];
                if auth {
                    state.deliver(0, k, &[(0, value)], p.timestamp_ms);
                    want.push((p, None, state.seen_before(k, p.timestamp_ms, 7 * day)));
                } else {
                    let r = state.reference_at(0, k, p.timestamp_ms, 3 * day).and_then(|r| r.value(0));
                    want.push((p, r, state.seen_before(k, p.timestamp_ms, 7 * day)));
                }
            }
            // Arrival: a rotation and reversal of the records, each applied, then judged again.
            let mut arrival = recs.clone();
            let n = arrival.len();
            arrival.rotate_left((shuffle as usize) % n);
            if shuffle % 2 == 0 { arrival.reverse(); }
            let h = History::new(1);
            for &(p, key, auth, value) in &arrival {
                let k = [u64::from(key), 0];
                if auth { h.deliver(0, k, &[(0, value)], p); }
                h.seen_before(k, p, 7 * day);
            }
            let mut got = Vec::new();
            for &(p, key, auth, _) in &sorted {
                let k = [u64::from(key), 0];
                let r = if auth { None } else {
                    h.reference_before(0, k, p, 3 * day).and_then(|r| r.value(0))
                };
                got.push((p, r, h.seen_before(k, p, 7 * day)));
            }
            prop_assert_eq!(got, want);
        }
    }
}

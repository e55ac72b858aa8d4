//! What the engine remembers between records: the authoritative values of
//! entities (cross-source consistency) and the record ids seen recently
//! (uniqueness). Only keyed hashes are kept, never the values themselves, so
//! neither memory nor a snapshot on disk holds personal data.

use std::hash::Hasher as _;
use std::sync::Mutex;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use rustc_hash::{FxBuildHasher, FxHashSet};
use siphasher::sip128::{Hasher128, SipHasher24};

use crate::catalog::MAX_ENTITY_ATTRIBUTES;

/// A 128-bit keyed hash, as two words so map entries align to 8 bytes, not 16:
/// collisions between keys are negligible at any realistic volume.
pub(crate) type Hash128 = [u64; 2];

/// The latest values an authoritative dataset delivered for one entity: 24
/// bytes, 40 with its key, so an entity stays under 100 bytes with the map's
/// overhead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// Keyed 32-bit hashes of the normalized attribute values: a different value
    /// passes for equal with odds of 1 in 4 billion, which a comparison can afford.
    pub values: [u32; MAX_ENTITY_ATTRIBUTES],
    /// Message time of the last delivery in seconds since the epoch, for expiry.
    pub updated_secs: u32,
    /// Bit `i` set when attribute `i` has been delivered.
    pub known: u8,
}

impl Reference {
    /// The value hash of an attribute, if it has been delivered.
    pub fn value(&self, attribute: usize) -> Option<u32> {
        (self.known & (1 << attribute) != 0).then(|| self.values[attribute])
    }
}

/// One remembered authoritative entity (cross-source reference), as hashes:
/// the row a checkpoint saves and a restart restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceRow {
    pub entity: u16,
    pub key: Hash128,
    pub values: [u32; MAX_ENTITY_ATTRIBUTES],
    pub updated_secs: u32,
    pub known: u8,
}

/// One remembered record id (uniqueness memory), as a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenRow {
    pub key: Hash128,
    pub at_ms: i64,
}

/// What an expiry forgot: record ids delivered before `seen_before_ms` and
/// references last delivered before `references_before_secs`. A checkpoint
/// applies the same cut-offs to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub seen_before_ms: i64,
    pub references_before_secs: u32,
}

/// Keys are already uniform keyed hashes: the maps need no second strong hash.
type Map<V> = DashMap<Hash128, V, FxBuildHasher>;

/// Engine memory, safe to share between threads.
pub struct State {
    /// SipHash-2-4 key: a PRF built for short inputs such as ID numbers.
    key: [u8; 16],
    /// Per entity type: entity key hash -> reference values.
    references: Vec<Map<Reference>>,
    /// (dataset, record id) hash -> latest message time it was delivered at.
    seen: Map<i64>,
    /// Keys changed since the last [`State::take_changes`], when tracking is on
    /// (the service, which checkpoints them; `eval` and benches do not pay for it).
    changes: Option<Mutex<Changes>>,
}

/// Keys written since the last checkpoint.
#[derive(Default)]
struct Changes {
    references: FxHashSet<(u16, Hash128)>,
    seen: FxHashSet<Hash128>,
}

/// The current rows of the keys changed since the last checkpoint.
#[derive(Debug, Default)]
pub(crate) struct ChangedRows {
    pub references: Vec<ReferenceRow>,
    pub seen: Vec<SeenRow>,
}

impl State {
    /// `secret` keys every hash: without it, a hash cannot be checked against a guess
    /// (ID numbers are too guessable for a plain hash).
    pub fn new(secret: &[u8], entities: usize) -> Self {
        // Secrets from configuration are text of any length: derive a uniform key.
        let derived = blake3::derive_key("dqmon 2026 entity hashing", secret);
        let mut key = [0u8; 16];
        key.copy_from_slice(&derived[..16]);
        Self {
            key,
            references: (0..entities).map(|_| Map::default()).collect(),
            seen: Map::default(),
            changes: None,
        }
    }

    /// Remembers which keys change, for [`State::take_changes`].
    pub(crate) fn track_changes(&mut self) {
        self.changes = Some(Mutex::new(Changes::default()));
    }

    fn changed(&self, f: impl FnOnce(&mut Changes)) {
        if let Some(c) = &self.changes {
            f(&mut c.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        }
    }

    /// The current rows of the keys changed since the last call (keys expired
    /// meanwhile are left out: the checkpoint's expiry removes them from the
    /// store too). Empty unless [`State::track_changes`] was called.
    pub(crate) fn take_changes(&self) -> ChangedRows {
        let Some(c) = &self.changes else {
            return ChangedRows::default();
        };
        let taken =
            std::mem::take(&mut *c.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut rows = ChangedRows::default();
        for (entity, key) in taken.references {
            if let Some(r) = self.references[usize::from(entity)].get(&key) {
                rows.references.push(ReferenceRow {
                    entity,
                    key,
                    values: r.values,
                    updated_secs: r.updated_secs,
                    known: r.known,
                });
            }
        }
        for key in taken.seen {
            if let Some(at_ms) = self.seen.get(&key) {
                rows.seen.push(SeenRow { key, at_ms: *at_ms });
            }
        }
        // Sorted: the same changes always make the same transaction.
        rows.references.sort_unstable_by_key(|r| (r.entity, r.key));
        rows.seen.sort_unstable_by_key(|r| r.key);
        rows
    }

    /// Restores rows saved by a checkpoint (at start-up); not tracked as changes.
    /// Rows of entity types the contracts no longer have are skipped.
    pub(crate) fn restore(&self, references: &[ReferenceRow], seen: &[SeenRow]) {
        for r in references {
            if let Some(map) = self.references.get(usize::from(r.entity)) {
                map.insert(
                    r.key,
                    Reference {
                        values: r.values,
                        updated_secs: r.updated_secs,
                        known: r.known,
                    },
                );
            }
        }
        for s in seen {
            self.seen.insert(s.key, s.at_ms);
        }
    }

    /// SipHash of `domain`, `index` and `bytes`, as one stream: one `write`
    /// instead of three, since the hasher buffers every call's tail.
    fn hash(&self, domain: u8, index: u16, bytes: &[u8]) -> Hash128 {
        let mut h = SipHasher24::new_with_key(&self.key);
        let [i0, i1] = index.to_le_bytes();
        let mut buf = [0u8; 64];
        if let Some(tail) = buf.get_mut(3..3 + bytes.len()) {
            tail.copy_from_slice(bytes);
            buf[..3].copy_from_slice(&[domain, i0, i1]);
            h.write(&buf[..3 + bytes.len()]);
        } else {
            h.write(&[domain, i0, i1]);
            h.write(bytes);
        }
        let r = h.finish128();
        [r.h1, r.h2]
    }

    /// The hash of an entity key, separated by entity type.
    pub fn entity_key(&self, entity: usize, key: &str) -> Hash128 {
        self.hash(b'k', entity as u16, key.as_bytes())
    }

    /// The hash of a normalized attribute value.
    pub(crate) fn value_hash(&self, entity: usize, attribute: usize, value: &str) -> u32 {
        let index = (entity * MAX_ENTITY_ATTRIBUTES + attribute) as u16;
        self.hash(b'v', index, value.as_bytes())[0] as u32
    }

    /// The hash of an entity key within a dataset: the key of its findings.
    pub fn finding_key(&self, dataset: usize, key: &str) -> Hash128 {
        self.hash(b'f', dataset as u16, key.as_bytes())
    }

    /// The hash of a record id within a dataset.
    pub fn record_key(&self, dataset: usize, record_id: &str) -> Hash128 {
        self.hash(b'r', dataset as u16, record_id.as_bytes())
    }

    /// Records the authoritative values one record delivered for an entity
    /// (`values`: attribute, value hash), in one visit to its entry. The
    /// latest value is the one with the latest message time: a late delivery
    /// (older than the entity's last one) only fills attributes not known yet.
    pub fn deliver(&self, entity: usize, key: Hash128, values: &[(usize, u32)], at_ms: i64) {
        let at = secs(at_ms);
        let mut r = self.references[entity].entry(key).or_insert(Reference {
            values: [0; MAX_ENTITY_ATTRIBUTES],
            updated_secs: at,
            known: 0,
        });
        let newer = at >= r.updated_secs;
        for &(attribute, value) in values {
            if newer || r.known & (1 << attribute) == 0 {
                r.values[attribute] = value;
                r.known |= 1 << attribute;
            }
        }
        r.updated_secs = r.updated_secs.max(at);
        drop(r);
        self.changed(|c| {
            c.references.insert((entity as u16, key));
        });
    }

    /// The authoritative values known for an entity.
    pub fn reference(&self, entity: usize, key: Hash128) -> Option<Reference> {
        self.references[entity].get(&key).map(|r| *r)
    }

    /// The authoritative values known for an entity at message time `at_ms`:
    /// none once the last delivery is older than `ttl_ms`, whether or not an
    /// expiry has forgotten it yet (expiry runs at checkpoints, whose moments
    /// must not change an outcome).
    pub fn reference_at(
        &self,
        entity: usize,
        key: Hash128,
        at_ms: i64,
        ttl_ms: i64,
    ) -> Option<Reference> {
        let oldest = secs(at_ms.saturating_sub(ttl_ms));
        self.reference(entity, key)
            .filter(|r| r.updated_secs >= oldest)
    }

    /// Notes a delivery of a record id at `at_ms`; true when it was already
    /// delivered within `window_ms` of that time (either side: clocks of
    /// publishers differ, and a re-send is a re-send).
    pub fn seen_before(&self, key: Hash128, at_ms: i64, window_ms: i64) -> bool {
        self.changed(|c| {
            c.seen.insert(key);
        });
        match self.seen.entry(key) {
            Entry::Occupied(mut e) => {
                let previous = *e.get();
                *e.get_mut() = previous.max(at_ms);
                (at_ms - previous).abs() <= window_ms
            }
            Entry::Vacant(e) => {
                e.insert(at_ms);
                false
            }
        }
    }

    /// Forgets record ids older than the window and references older than the
    /// TTL, both measured back from `watermark_ms`, so memory stays bounded.
    /// Returns the cut-offs (record ids before this time in ms, references
    /// before this time in s), which a checkpoint applies to the store.
    pub fn expire(&self, watermark_ms: i64, window_ms: i64, ttl_ms: i64) -> Expiry {
        let seen_cutoff = watermark_ms.saturating_sub(window_ms);
        let oldest = secs(watermark_ms.saturating_sub(ttl_ms));
        self.seen.retain(|_, at| *at >= seen_cutoff);
        for map in &self.references {
            map.retain(|_, r| r.updated_secs >= oldest);
        }
        Expiry {
            seen_before_ms: seen_cutoff,
            references_before_secs: oldest,
        }
    }

    /// The latest message time among the remembered record ids.
    pub(crate) fn latest_seen_ms(&self) -> Option<i64> {
        self.seen.iter().map(|e| *e.value()).max()
    }

    /// Entities tracked, per entity type.
    #[cfg(test)]
    pub(crate) fn reference_counts(&self) -> Vec<usize> {
        self.references.iter().map(|m| m.len()).collect()
    }

    /// Record ids remembered.
    #[cfg(test)]
    pub(crate) fn seen_count(&self) -> usize {
        self.seen.len()
    }
}

/// Epoch seconds in 32 bits (good until 2106); earlier times clamp to 0.
pub(crate) fn secs(ms: i64) -> u32 {
    (ms.div_euclid(1000)).clamp(0, i64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_the_secret_and_the_domain() {
        let a = State::new(b"one", 2);
        let b = State::new(b"two", 2);
        assert_ne!(a.entity_key(0, "x"), b.entity_key(0, "x"));
        assert_ne!(a.entity_key(0, "x"), a.entity_key(1, "x"));
        assert_ne!(a.entity_key(0, "x"), a.record_key(0, "x"));
        assert_ne!(a.entity_key(0, "x"), a.finding_key(0, "x"));
        assert_eq!(a.entity_key(0, "x"), a.entity_key(0, "x"));
    }

    #[test]
    fn one_write_hashes_as_the_stream_of_its_parts() {
        let s = State::new(b"k", 1);
        let long = "x".repeat(100);
        for text in ["", "110101199003078515", long.as_str()] {
            let mut h = SipHasher24::new_with_key(&s.key);
            h.write(b"k");
            h.write(&7u16.to_le_bytes());
            h.write(text.as_bytes());
            let r = h.finish128();
            assert_eq!(s.entity_key(7, text), [r.h1, r.h2], "{text}");
        }
    }

    #[test]
    fn references_keep_the_latest_value_per_attribute() {
        let s = State::new(b"k", 1);
        let key = s.entity_key(0, "id");
        assert_eq!(s.reference(0, key), None);
        s.deliver(0, key, &[(0, 7), (2, 3)], 1_000);
        s.deliver(0, key, &[(0, 8)], 2_000);
        assert_eq!(std::mem::size_of::<(Hash128, Reference)>(), 40);
        let r = s.reference(0, key).unwrap();
        assert_eq!(r.value(0), Some(8));
        assert_eq!(r.value(1), None);
        assert_eq!(r.value(2), Some(3), "kept from the earlier delivery");
        assert_eq!(r.updated_secs, 2);
    }

    #[test]
    fn a_late_delivery_does_not_replace_a_later_value() {
        let s = State::new(b"k", 1);
        let key = s.entity_key(0, "id");
        s.deliver(0, key, &[(0, 8)], 5_000);
        s.deliver(0, key, &[(0, 7), (1, 4)], 2_000);
        let r = s.reference(0, key).unwrap();
        assert_eq!(r.value(0), Some(8), "the later message time wins");
        assert_eq!(r.value(1), Some(4), "an attribute not known yet is filled");
        assert_eq!(r.updated_secs, 5);
    }

    #[test]
    fn a_reference_past_its_ttl_is_not_used_even_before_expiry() {
        let s = State::new(b"k", 1);
        let key = s.entity_key(0, "id");
        s.deliver(0, key, &[(0, 8)], 10_000);
        assert!(s.reference_at(0, key, 15_000, 5_000).is_some());
        assert!(
            s.reference_at(0, key, 15_999, 5_000).is_some(),
            "same second"
        );
        assert!(s.reference_at(0, key, 16_000, 5_000).is_none());
        assert!(s.reference(0, key).is_some(), "still in memory");
    }

    #[test]
    fn duplicates_count_within_the_window_only() {
        let s = State::new(b"k", 0);
        let day = 86_400_000;
        let k = s.record_key(0, "r1");
        assert!(!s.seen_before(k, 0, 7 * day));
        assert!(s.seen_before(k, 7 * day, 7 * day));
        assert!(!s.seen_before(k, 15 * day, 7 * day));
        // A late message with an earlier timestamp is still a re-send.
        assert!(s.seen_before(k, 14 * day, 7 * day));
    }

    #[test]
    fn changes_are_tracked_and_restored() {
        let mut s = State::new(b"k", 2);
        s.track_changes();
        let key = s.entity_key(1, "a");
        s.deliver(1, key, &[(2, 9)], 5_000);
        let r = s.record_key(0, "r");
        s.seen_before(r, 7_000, 1);
        let rows = s.take_changes();
        assert_eq!(rows.references.len(), 1);
        assert_eq!(rows.references[0].entity, 1);
        assert_eq!(rows.references[0].known, 0b100);
        assert_eq!(
            rows.seen,
            vec![SeenRow {
                key: r,
                at_ms: 7_000
            }]
        );
        assert!(s.take_changes().seen.is_empty(), "taken once");

        let restored = State::new(b"k", 2);
        restored.restore(&rows.references, &rows.seen);
        assert_eq!(restored.reference(1, key).and_then(|r| r.value(2)), Some(9));
        assert!(restored.seen_before(r, 7_000, 1));
        assert!(restored.take_changes().seen.is_empty(), "untracked");
    }

    #[test]
    fn expiry_forgets_old_entries() {
        let s = State::new(b"k", 1);
        let day = 86_400_000;
        s.seen_before(s.record_key(0, "old"), 0, 7 * day);
        s.seen_before(s.record_key(0, "new"), 10 * day, 7 * day);
        s.deliver(0, s.entity_key(0, "a"), &[(0, 1)], 0);
        s.expire(10 * day, 7 * day, 5 * day);
        assert_eq!(s.seen_count(), 1);
        assert_eq!(s.reference_counts(), vec![0]);
    }
}

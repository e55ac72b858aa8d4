//! What a record tells the state, apart from its own outcome: the values an
//! authority delivered and the record id, as keyed hashes, at the record's
//! place in the bus's order. Instances sharing the bus publish the facts of
//! the records they read and apply everyone's (see [`super::history`]); a
//! fact is a pure function of its message, so any instance derives the same.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::Engine;
use super::history::{History, Pos};
use super::prepare::Prepared;
use super::state::Hash128;
use crate::catalog::MAX_ENTITY_ATTRIBUTES;

/// One record's facts (no value, only keyed hashes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// Its (dataset, record id) hash, when the record id is valid.
    pub record_key: Option<Hash128>,
    /// What it delivered as an authority.
    pub deliveries: Vec<Delivery>,
}

/// An authority's values for one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub entity: u16,
    pub key: Hash128,
    /// (attribute, value hash).
    pub values: SmallVec<[(u8, u32); MAX_ENTITY_ATTRIBUTES]>,
}

impl Prepared {
    /// The record's place in the bus's order.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// What this record tells the state.
    pub fn fact(&self) -> Fact {
        Fact {
            record_key: self.record_key,
            deliveries: self
                .cross
                .iter()
                .filter(|i| i.authoritative)
                .map(|i| Delivery {
                    entity: i.entity as u16,
                    key: i.key,
                    values: i.values.iter().map(|&(a, h, _)| (a as u8, h)).collect(),
                })
                .collect(),
        }
    }
}

impl Engine {
    /// Keeps positioned memory ([`History`]) instead of the latest values:
    /// for instances that share the bus through facts. A record up to
    /// `history_ms` of message time behind the latest is still judged exactly.
    pub fn shared(mut self, history_ms: i64) -> Self {
        self.history = Some(History::new(self.checks.entities.len()));
        self.history_ms = history_ms;
        self
    }

    /// How far behind the latest message time a record is still judged
    /// exactly (see [`Engine::shared`]).
    pub fn history_ms(&self) -> i64 {
        self.history_ms
    }

    /// Whether this engine judges against positioned memory.
    pub fn is_shared(&self) -> bool {
        self.history.is_some()
    }

    /// The place of a message of `topic` in the bus's order; `None` for a
    /// topic no contract has.
    pub fn pos_of(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        timestamp_ms: i64,
    ) -> Option<Pos> {
        let ds = self.checks.dataset_for_topic(topic)?;
        Some(Pos {
            timestamp_ms,
            topic: self.topic_ranks[ds.index],
            partition,
            offset,
        })
    }

    /// Applies another record's facts (read by whichever instance): the
    /// state learns them, nothing is judged. Needs [`Engine::shared`].
    pub fn apply_fact(&self, fact: &Fact, pos: Pos) {
        let Some(history) = &self.history else {
            return;
        };
        self.watermark_ms
            .fetch_max(pos.timestamp_ms, std::sync::atomic::Ordering::Relaxed);
        for d in &fact.deliveries {
            let entity = usize::from(d.entity);
            if entity >= self.checks.entities.len() {
                continue;
            }
            let values: SmallVec<[(usize, u32); MAX_ENTITY_ATTRIBUTES]> = d
                .values
                .iter()
                .filter(|(a, _)| usize::from(*a) < MAX_ENTITY_ATTRIBUTES)
                .map(|&(a, h)| (usize::from(a), h))
                .collect();
            history.deliver(entity, d.key, &values, pos);
        }
        if let Some(key) = fact.record_key {
            history.seen_before(key, pos, self.checks.uniqueness_window_ms);
        }
    }

    /// Entities and record ids in positioned memory.
    pub fn shared_sizes(&self) -> Option<(usize, usize)> {
        self.history.as_ref().map(History::sizes)
    }
}

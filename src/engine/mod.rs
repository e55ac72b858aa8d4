//! The check engine: a message in, its outcomes out. Pure and synchronous, so
//! it is tested and benchmarked without Kafka; the only state it keeps is
//! [`State`], shared safely between threads. It reads no clock: "today" is an
//! argument (the message's day), and time is the message's timestamp.
//!
//! Evaluation has two halves: `prepare` runs the checks that need only the
//! message (parse, completeness, format, rules, freshness) and computes the
//! keyed hashes; `judge` applies what needs the state (cross-source
//! consistency, uniqueness) in message-time order. `record` parses a payload
//! into the dataset's field slots, `normalize` is the cross-source
//! comparison, `state` the keyed-hash memory, `rectify` the open findings, `outcome` what is concluded,
//! `violations` the events made of it.

mod fact;
pub mod history;
mod judge;
mod normalize;
pub mod outcome;
mod parallel;
mod prepare;
pub mod record;
pub mod rectify;
pub mod state;
pub mod violations;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::NaiveDate;

pub use fact::{Delivery, Fact};
pub use history::Pos;
pub use outcome::{Failure, FindingChange, RecordOutcome};
pub use prepare::Prepared;
pub use rectify::OpenFinding;
pub use state::{Expiry, State};
pub use violations::violations;

use crate::catalog::Checks;
use crate::model::Message;

/// Expiry runs after this many records (a deterministic cadence keeps replays exact).
const EXPIRE_EVERY: u64 = 1 << 16;

pub struct Engine {
    checks: Arc<Checks>,
    state: State,
    /// Open findings (rectification).
    findings: rectify::Findings,
    /// Latest message time evaluated (or restored), for [`Engine::latest_ms`].
    watermark_ms: AtomicI64,
    evaluated: AtomicU64,
    /// Expire every [`EXPIRE_EVERY`] records; off when checkpoints expire instead.
    auto_expire: bool,
    /// Positioned memory instead of `state`'s latest values, when instances
    /// share the bus ([`Engine::shared`]).
    history: Option<history::History>,
    /// Each dataset's topic's rank among the topic names: its place in the
    /// bus's order at equal times.
    topic_ranks: Vec<u16>,
    /// How far behind the latest message time positioned memory stays exact.
    history_ms: i64,
}

impl Engine {
    /// `secret` keys the hashes of entity keys and values kept in memory.
    pub fn new(checks: Arc<Checks>, secret: &[u8]) -> Self {
        let state = State::new(secret, checks.entities.len());
        let mut by_name: Vec<usize> = (0..checks.datasets.len()).collect();
        by_name.sort_by(|&a, &b| checks.datasets[a].topic.cmp(&checks.datasets[b].topic));
        let mut topic_ranks = vec![0u16; by_name.len()];
        for (rank, &ds) in by_name.iter().enumerate() {
            topic_ranks[ds] = rank as u16;
        }
        Self {
            checks,
            state,
            findings: rectify::Findings::default(),
            watermark_ms: AtomicI64::new(i64::MIN),
            evaluated: AtomicU64::new(0),
            auto_expire: true,
            history: None,
            topic_ranks,
            history_ms: 0,
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

    /// Restores the open findings checkpoints saved.
    pub(crate) fn restore_findings(&self, open: &[OpenFinding]) {
        self.findings.restore(open);
    }

    pub fn checks(&self) -> &Arc<Checks> {
        &self.checks
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Evaluates one message; `None` when no contract claims its topic.
    /// `today` is the message's calendar day ([`Checks::day_of`] its
    /// timestamp): message time is the clock, never the wall's. The same as
    /// [`Engine::prepare`] then [`Engine::judge`], which a caller with
    /// several threads runs apart: prepare anywhere, judge in order.
    pub fn evaluate(&self, msg: &Message<'_>, today: NaiveDate) -> Option<RecordOutcome> {
        self.prepare(msg, today).map(|p| self.judge(p))
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
        if let Some(h) = &self.history {
            // Records up to `history_ms` behind may still be judged (a
            // partition taken over after a crash): keep their answers.
            let horizon = Pos {
                timestamp_ms: now_ms.saturating_sub(self.history_ms),
                topic: 0,
                partition: i32::MIN,
                offset: i64::MIN,
            };
            h.expire(horizon, c.uniqueness_window_ms, c.reference_ttl_ms);
        }
        self.state
            .expire(now_ms, c.uniqueness_window_ms, c.reference_ttl_ms)
    }
}

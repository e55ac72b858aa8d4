//! Message time is the clock: the records of every assigned partition are
//! released in the bus's order ([`OrderKey`]), whatever order the consumer
//! happens to fetch partitions in, so cross-source and uniqueness outcomes
//! equal `dqmon eval`'s on the same messages.
//!
//! The rule is Kafka Streams' (KIP-353): release the smallest head among the
//! partitions' buffers, but only when no other partition could still hold a
//! smaller one. A partition with nothing buffered holds the merge back while
//! it has unread messages on the broker (its next offset is below the high
//! watermark); a partition at its end does not (live traffic is not delayed).
//! A partition that holds the merge back longer than `max_wait` (a broker that
//! does not answer) is passed over, and its records are late when they come.
//! When the buffers together hold more than their byte budget, a partition
//! holding more than its share (the budget over the partitions assigned) is
//! paused until it drains to half its share, as Flink pauses sources that run
//! ahead (FLIP-182): memory stays bounded, and a partition the merge waits
//! for (holding little) is never paused.
//!
//! A record is late when something after it in the bus's order was already
//! released: it is judged on arrival, and says so.
//!
//! Pure: no Kafka and no clock. The caller passes `now` and tells where each
//! partition's end on the broker is; nothing here decides an outcome by time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{Message, OrderKey};

/// A fetched message's bytes, as the pipeline buffers them (where it is,
/// and its time, the merge keeps).
pub(crate) struct Fetched {
    pub key: Option<Box<[u8]>>,
    pub payload: Option<Box<[u8]>>,
}

/// A record waiting in a partition's buffer.
struct Entry<R> {
    offset: i64,
    timestamp_ms: i64,
    size: usize,
    record: R,
}

/// One assigned partition.
struct Lane<R> {
    topic: Arc<str>,
    partition: i32,
    buffer: VecDeque<Entry<R>>,
    /// Bytes of the buffered records.
    bytes: usize,
    /// The offset after the last one buffered (or where reading starts);
    /// `None` until known.
    next_offset: Option<i64>,
    /// Message time of the last record buffered: the partition's next record
    /// is not earlier (timestamps within a partition do not go backwards).
    last_timestamp_ms: Option<i64>,
    /// Nothing more on the broker when last asked, in this turn (see
    /// [`Merge::forget_ends`]) and until the next record.
    at_end: bool,
    /// Since when it holds the merge back with nothing buffered.
    blocking_since: Option<Instant>,
    /// Passed over after `max_wait`; until the next record.
    passed_over: bool,
    paused: bool,
    /// The offset after the last one released.
    released_next: Option<i64>,
    /// A bound on its next record's key known from elsewhere (the merge of
    /// the records themselves, for facts of this instance's partitions):
    /// (timestamp, offset).
    promised: Option<(i64, i64)>,
}

impl<R> Lane<R> {
    fn head_key(&self) -> Option<OrderKey<'_>> {
        self.buffer.front().map(|e| OrderKey {
            timestamp_ms: e.timestamp_ms,
            topic: &self.topic,
            partition: self.partition,
            offset: e.offset,
        })
    }

    /// The smallest key this partition's next record can have.
    fn next_key_bound(&self) -> Option<OrderKey<'_>> {
        let own = self.last_timestamp_ms.zip(self.next_offset);
        let (timestamp_ms, offset) = match (own, self.promised) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b)?,
        };
        Some(OrderKey {
            timestamp_ms,
            topic: &self.topic,
            partition: self.partition,
            offset,
        })
    }
}

/// What a partition's end on the broker is, as the consumer last heard:
/// the low and high watermarks.
pub(crate) type Watermarks = Option<(i64, i64)>;

/// What [`Merge::push`] did with a record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Buffered; `pause` when the partition should be paused now.
    Buffered { pause: bool },
    /// Before the partition's next offset: delivered again, dropped.
    Stale,
    /// Of a partition not assigned (revoked meanwhile): dropped.
    Unassigned,
}

/// A record released in order.
pub(crate) struct Released<R> {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub record: R,
    /// Something after it in the bus's order was already released.
    pub late: bool,
    /// Its partition, paused, drained to half its share: resume it.
    pub resume: bool,
}

impl Released<Fetched> {
    /// The record as the engine and the outputs take it.
    pub fn message(&self) -> Message<'_> {
        Message {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            timestamp_ms: self.timestamp_ms,
            key: self.record.key.as_deref(),
            payload: self.record.payload.as_deref(),
        }
    }
}

/// What [`Merge::pop`] found.
pub(crate) enum Step<R> {
    Released(Released<R>),
    /// A partition with unread messages on the broker holds the merge back.
    Blocked,
    /// Nothing buffered.
    Idle,
}

/// A partition passed over after `max_wait`, for the caller to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PassedOver {
    pub topic: Arc<str>,
    pub partition: i32,
}

pub(crate) struct Merge<R> {
    /// Sorted by (topic, partition).
    lanes: Vec<Lane<R>>,
    max_wait: Duration,
    /// Bytes all buffers may hold before partitions holding more than their
    /// share are paused.
    budget: usize,
    bytes: usize,
    /// The largest key released: a smaller one is late.
    frontier: Option<(i64, Arc<str>, i32, i64)>,
    passed_over: Vec<PassedOver>,
}

impl<R> Merge<R> {
    /// `budget`: bytes all partitions' buffers may hold (see the module).
    pub fn new(max_wait: Duration, budget: usize) -> Self {
        Self {
            lanes: Vec::new(),
            max_wait,
            budget,
            bytes: 0,
            frontier: None,
            passed_over: Vec::new(),
        }
    }

    /// After a restart: records before message time `timestamp_ms` (what the
    /// restored state already saw) are late.
    pub fn resume_after(&mut self, timestamp_ms: i64) {
        if self.frontier.is_none() {
            self.frontier = Some((timestamp_ms, Arc::from(""), i32::MIN, i64::MIN));
        }
    }

    fn find(&self, topic: &str, partition: i32) -> Result<usize, usize> {
        self.lanes
            .binary_search_by(|l| (&*l.topic, l.partition).cmp(&(topic, partition)))
    }

    /// A newly assigned partition, reading from `start_offset` when known.
    pub fn assign(&mut self, topic: &str, partition: i32, start_offset: Option<i64>) {
        let lane = Lane {
            topic: Arc::from(topic),
            partition,
            buffer: VecDeque::new(),
            bytes: 0,
            next_offset: start_offset,
            last_timestamp_ms: None,
            at_end: false,
            blocking_since: None,
            passed_over: false,
            paused: false,
            released_next: None,
            promised: None,
        };
        match self.find(topic, partition) {
            Ok(i) => {
                self.bytes -= self.lanes[i].bytes;
                self.lanes[i] = lane;
            }
            Err(i) => self.lanes.insert(i, lane),
        }
    }

    /// A partition's share of the budget.
    fn share(&self) -> usize {
        self.budget / self.lanes.len().max(1)
    }

    /// A revoked partition: its buffered records are dropped (never handled,
    /// so its next owner reads them again). True when it was paused.
    pub fn revoke(&mut self, topic: &str, partition: i32) -> bool {
        match self.find(topic, partition) {
            Ok(i) => {
                let lane = self.lanes.remove(i);
                self.bytes -= lane.bytes;
                lane.paused
            }
            Err(_) => false,
        }
    }

    /// Buffers a fetched record of `size` bytes. `timestamp_ms` `None` (a
    /// message without a timestamp) takes the partition's previous one.
    pub fn push(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        timestamp_ms: Option<i64>,
        size: usize,
        record: R,
    ) -> Pushed {
        let Ok(i) = self.find(topic, partition) else {
            return Pushed::Unassigned;
        };
        let share = self.share();
        let lane = &mut self.lanes[i];
        if lane.next_offset.is_some_and(|next| offset < next) {
            return Pushed::Stale;
        }
        let timestamp_ms = timestamp_ms.or(lane.last_timestamp_ms).unwrap_or(0);
        lane.next_offset = Some(offset + 1);
        lane.last_timestamp_ms = Some(timestamp_ms);
        lane.at_end = false;
        lane.blocking_since = None;
        lane.passed_over = false;
        lane.buffer.push_back(Entry {
            offset,
            timestamp_ms,
            size,
            record,
        });
        lane.bytes += size;
        self.bytes += size;
        let pause = !lane.paused && self.bytes > self.budget && lane.bytes > share;
        lane.paused |= pause;
        Pushed::Buffered { pause }
    }

    /// Releases the next record in the bus's order, if order allows.
    /// `watermarks(topic, partition)` tells a partition's end on the broker.
    pub fn pop(
        &mut self,
        now: Instant,
        mut watermarks: impl FnMut(&str, i32) -> Watermarks,
    ) -> Step<R> {
        let best = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Some((l.head_key()?, i)))
            .min()
            .map(|(_, i)| i);
        let mut blocked = false;
        for i in 0..self.lanes.len() {
            let lane = &self.lanes[i];
            if !lane.buffer.is_empty() || lane.at_end || lane.passed_over {
                continue;
            }
            // Its next record comes after the candidate: no need to wait for it.
            let candidate = best.and_then(|b| self.lanes[b].head_key());
            if let (Some(c), Some(bound)) = (candidate, lane.next_key_bound())
                && bound > c
            {
                continue;
            }
            let lane = &mut self.lanes[i];
            // A negative watermark is librdkafka's "not known yet".
            if let Some((low, high)) = watermarks(&lane.topic, lane.partition)
                && high >= 0
            {
                let empty = low >= 0 && low == high;
                if empty || lane.next_offset.is_some_and(|next| next >= high) {
                    lane.at_end = true;
                    continue;
                }
            }
            let since = *lane.blocking_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= self.max_wait {
                lane.passed_over = true;
                self.passed_over.push(PassedOver {
                    topic: lane.topic.clone(),
                    partition: lane.partition,
                });
                continue;
            }
            blocked = true;
        }
        if blocked {
            return Step::Blocked;
        }
        let Some(b) = best else {
            return Step::Idle;
        };
        let share = self.share();
        let lane = &mut self.lanes[b];
        let entry = lane.buffer.pop_front().expect("the best lane has a head");
        lane.released_next = Some(entry.offset + 1);
        lane.bytes -= entry.size;
        self.bytes -= entry.size;
        let resume = lane.paused && lane.bytes <= share / 2;
        lane.paused &= !resume;
        let key = OrderKey {
            timestamp_ms: entry.timestamp_ms,
            topic: &lane.topic,
            partition: lane.partition,
            offset: entry.offset,
        };
        let late = self.frontier.as_ref().is_some_and(|(t, topic, p, o)| {
            key < OrderKey {
                timestamp_ms: *t,
                topic,
                partition: *p,
                offset: *o,
            }
        });
        if !late {
            self.frontier = Some((
                entry.timestamp_ms,
                lane.topic.clone(),
                lane.partition,
                entry.offset,
            ));
        }
        Step::Released(Released {
            topic: lane.topic.clone(),
            partition: lane.partition,
            offset: entry.offset,
            timestamp_ms: entry.timestamp_ms,
            record: entry.record,
            late,
            resume,
        })
    }

    /// Asks again where each partition's end is: librdkafka may have fetched
    /// more since (the caller calls it once per turn of reading, so a
    /// partition's end is asked at most once a turn).
    pub fn forget_ends(&mut self) {
        for lane in &mut self.lanes {
            lane.at_end = false;
        }
    }

    /// Each partition's bound on the key of the next record it will
    /// release: its head's, or what follows the last one it read (a
    /// partition's times do not go backwards). (topic, partition, timestamp,
    /// offset), for the partitions that know one.
    pub fn next_bounds(&self) -> Vec<(Arc<str>, i32, i64, i64)> {
        self.lanes
            .iter()
            .filter_map(|l| {
                let (t, o) = match l.buffer.front() {
                    Some(e) => (e.timestamp_ms, e.offset),
                    None => (l.last_timestamp_ms?, l.next_offset?),
                };
                Some((l.topic.clone(), l.partition, t, o))
            })
            .collect()
    }

    /// What another merge knows of a partition's next record: no key below
    /// (timestamp, offset) will come, so the merge need not wait for it.
    pub fn promise(&mut self, topic: &str, partition: i32, timestamp_ms: i64, offset: i64) {
        if let Ok(i) = self.find(topic, partition) {
            let lane = &mut self.lanes[i];
            let bound = (timestamp_ms, offset);
            lane.promised = Some(lane.promised.map_or(bound, |p| p.max(bound)));
        }
    }

    /// The offset after the last one a partition released.
    pub fn released_next(&self, topic: &str, partition: i32) -> Option<i64> {
        self.find(topic, partition)
            .ok()
            .and_then(|i| self.lanes[i].released_next)
    }

    /// Partitions passed over since the last call.
    pub fn take_passed_over(&mut self) -> Vec<PassedOver> {
        std::mem::take(&mut self.passed_over)
    }

    /// Records and bytes buffered, over all partitions.
    #[cfg(test)]
    pub fn buffered(&self) -> (usize, usize) {
        (self.lanes.iter().map(|l| l.buffer.len()).sum(), self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const WAIT: Duration = Duration::from_secs(30);

    /// Every partition's high watermark: all its messages are on the broker.
    fn ends<'a>(ends: &'a [(&'a str, i32, i64)]) -> impl FnMut(&str, i32) -> Watermarks + 'a {
        move |t, p| {
            ends.iter()
                .find(|(et, ep, _)| *et == t && *ep == p)
                .map(|(_, _, hi)| (0, *hi))
        }
    }

    fn released<R>(step: Step<R>) -> Released<R> {
        match step {
            Step::Released(r) => r,
            Step::Blocked => panic!("blocked"),
            Step::Idle => panic!("idle"),
        }
    }

    #[test]
    fn a_partition_with_unread_messages_holds_the_merge_back() {
        let now = Instant::now();
        let mut m = Merge::new(WAIT, 1_000);
        m.assign("a", 0, Some(0));
        m.assign("b", 0, Some(0));
        let wm = [("a", 0, 1), ("b", 0, 1)];
        m.push("b", 0, 0, Some(200), 10, "b0");
        assert!(
            matches!(m.pop(now, ends(&wm)), Step::Blocked),
            "a has one unread"
        );
        m.push("a", 0, 0, Some(100), 10, "a0");
        assert_eq!(released(m.pop(now, ends(&wm))).record, "a0");
        // a is at its end now: it does not hold b back.
        let b = released(m.pop(now, ends(&wm)));
        assert_eq!((b.record, b.late), ("b0", false));
        assert!(matches!(m.pop(now, ends(&wm)), Step::Idle));
    }

    #[test]
    fn a_partition_whose_next_record_comes_later_does_not_hold_it_back() {
        let now = Instant::now();
        let mut m = Merge::new(WAIT, 1_000);
        m.assign("a", 0, Some(0));
        m.assign("b", 0, Some(0));
        // Both have unread messages, but a's next is at 300 or later.
        let wm = [("a", 0, 5), ("b", 0, 5)];
        m.push("a", 0, 0, Some(300), 10, "a0");
        assert!(matches!(m.pop(now, ends(&wm)), Step::Blocked));
        m.push("b", 0, 0, Some(100), 10, "b0");
        m.push("b", 0, 1, Some(200), 10, "b1");
        assert_eq!(released(m.pop(now, ends(&wm))).record, "b0");
        assert_eq!(released(m.pop(now, ends(&wm))).record, "b1");
        // a0 (300) is the smallest head, but b may still hold 250: wait for b.
        assert!(matches!(m.pop(now, ends(&wm)), Step::Blocked));
        m.push("b", 0, 2, Some(400), 10, "b2");
        assert_eq!(released(m.pop(now, ends(&wm))).record, "a0");
        // a's next is at 300 or later; b2 at 400 must wait for a.
        assert!(matches!(m.pop(now, ends(&wm)), Step::Blocked));
    }

    #[test]
    fn a_silent_partition_is_passed_over_after_the_wait_and_its_records_are_late() {
        let start = Instant::now();
        let mut m = Merge::new(WAIT, 1_000);
        m.assign("a", 0, Some(0));
        m.assign("b", 0, Some(0));
        let wm = [("a", 0, 3), ("b", 0, 1)];
        m.push("b", 0, 0, Some(200), 10, "b0");
        assert!(matches!(m.pop(start, ends(&wm)), Step::Blocked));
        assert!(matches!(m.pop(start + WAIT / 2, ends(&wm)), Step::Blocked));
        assert!(m.take_passed_over().is_empty());
        let b = released(m.pop(start + WAIT, ends(&wm)));
        assert_eq!((b.record, b.late), ("b0", false));
        assert_eq!(
            m.take_passed_over(),
            vec![PassedOver {
                topic: "a".into(),
                partition: 0
            }]
        );
        m.push("a", 0, 0, Some(100), 10, "a0");
        m.push("a", 0, 1, Some(300), 10, "a1");
        let a0 = released(m.pop(start + WAIT, ends(&wm)));
        assert_eq!((a0.record, a0.late), ("a0", true), "100 after 200: late");
        let a1 = released(m.pop(start + WAIT, ends(&wm)));
        assert_eq!((a1.record, a1.late), ("a1", false));
    }

    #[test]
    fn over_the_budget_a_partition_above_its_share_pauses_until_half_drained() {
        let now = Instant::now();
        // 80 bytes for two partitions: a share of 40.
        let mut m = Merge::new(WAIT, 80);
        m.assign("a", 0, Some(0));
        m.assign("b", 0, Some(0));
        let wm = [("a", 0, 10), ("b", 0, 10)];
        let pushed: Vec<Pushed> = (0..8).map(|o| m.push("a", 0, o, Some(o), 10, ())).collect();
        assert!(
            pushed
                .iter()
                .all(|p| *p == Pushed::Buffered { pause: false }),
            "within the budget, a partition may hold more than its share"
        );
        let b = m.push("b", 0, 0, Some(100), 10, ());
        assert_eq!(
            b,
            Pushed::Buffered { pause: false },
            "b holds little: never paused"
        );
        let a = m.push("a", 0, 8, Some(8), 10, ());
        assert_eq!(
            a,
            Pushed::Buffered { pause: true },
            "over the budget, above its share"
        );
        assert_eq!(m.buffered(), (10, 100));
        // a resumes once it holds at most half its share: 20 bytes, 2 records.
        let resumes: Vec<bool> = (0..9)
            .map(|_| released(m.pop(now, ends(&wm))).resume)
            .collect();
        let at = resumes.iter().position(|&r| r);
        assert_eq!(at, Some(6), "{resumes:?}");
        assert_eq!(resumes.iter().filter(|&&r| r).count(), 1, "once");
    }

    #[test]
    fn records_delivered_again_or_of_other_partitions_are_dropped() {
        let now = Instant::now();
        let mut m = Merge::new(WAIT, 1_000);
        m.assign("a", 0, Some(5));
        assert_eq!(m.push("a", 0, 4, Some(1), 10, ()), Pushed::Stale);
        assert_eq!(m.push("a", 1, 5, Some(1), 10, ()), Pushed::Unassigned);
        assert_eq!(
            m.push("a", 0, 5, Some(1), 10, ()),
            Pushed::Buffered { pause: false }
        );
        assert_eq!(m.push("a", 0, 5, Some(1), 10, ()), Pushed::Stale);
        assert_eq!(m.buffered(), (1, 10));
        m.assign("b", 0, None);
        assert!(!m.revoke("a", 0));
        assert_eq!(m.buffered(), (0, 0));
        assert!(matches!(m.pop(now, |_, _| Some((0, 3))), Step::Blocked));
        assert!(
            matches!(m.pop(now, |_, _| Some((3, 3))), Step::Idle),
            "empty"
        );
    }

    #[test]
    fn after_a_restart_records_before_the_restored_time_are_late() {
        let now = Instant::now();
        let mut m = Merge::new(WAIT, 1_000);
        m.resume_after(1_000);
        m.assign("a", 0, Some(0));
        m.push("a", 0, 0, Some(999), 10, ());
        m.push("a", 0, 1, Some(1_000), 10, ());
        let wm = [("a", 0, 2)];
        assert!(released(m.pop(now, ends(&wm))).late);
        assert!(
            !released(m.pop(now, ends(&wm))).late,
            "the same time is not late"
        );
    }

    /// One partition's records: (timestamp) in offset order, never decreasing.
    fn partition_times() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec(0i64..50, 0..30).prop_map(|mut v| {
            v.sort_unstable();
            v
        })
    }

    proptest! {
        /// Whatever order partitions are fetched in, and however often the
        /// merge is asked in between, records come out in the bus's order and
        /// none is late: what `dqmon eval` does by sorting.
        #[test]
        fn any_fetch_order_releases_the_bus_order(
            partitions in prop::collection::vec(partition_times(), 1..6),
            fetches in prop::collection::vec((0usize..6, 1usize..8, any::<bool>()), 0..200),
            budget in 20usize..200,
        ) {
            let now = Instant::now();
            let topic = |i: usize| if i.is_multiple_of(2) { "t.even" } else { "t.odd" };
            let mut m = Merge::new(WAIT, budget);
            let wm: Vec<(&str, i32, i64)> = partitions
                .iter()
                .enumerate()
                .map(|(i, p)| (topic(i), i as i32, p.len() as i64))
                .collect();
            for (i, _) in partitions.iter().enumerate() {
                m.assign(topic(i), i as i32, Some(0));
            }
            let mut fetched = vec![0usize; partitions.len()];
            let mut paused = vec![false; partitions.len()];
            // Fetches partition i's next record: true when there was one to fetch.
            let fetch = |m: &mut Merge<()>, paused: &mut Vec<bool>, fetched: &mut Vec<usize>, i: usize| {
                if paused[i] || fetched[i] == partitions[i].len() { return false; }
                let o = fetched[i];
                if let Pushed::Buffered { pause: true } =
                    m.push(topic(i), i as i32, o as i64, Some(partitions[i][o]), 10, ()) {
                    paused[i] = true;
                }
                fetched[i] += 1;
                true
            };
            let mut out: Vec<(i64, &str, i32, i64)> = Vec::new();
            let release = |m: &mut Merge<()>, paused: &mut Vec<bool>, out: &mut Vec<_>| {
                while let Step::Released(r) = m.pop(now, ends(&wm)) {
                    prop_assert!(!r.late);
                    let i = r.partition as usize;
                    if r.resume { paused[i] = false; }
                    out.push((r.timestamp_ms, topic(i), r.partition, r.offset));
                }
                Ok(())
            };
            // Fetches in a random order (a paused partition is not fetched),
            // the merge asked after some of them.
            for (p, n, ask) in fetches {
                let i = p % partitions.len();
                for _ in 0..n {
                    if !fetch(&mut m, &mut paused, &mut fetched, i) { break; }
                }
                if ask { release(&mut m, &mut paused, &mut out)?; }
            }
            // Then everything left, partition by partition.
            loop {
                release(&mut m, &mut paused, &mut out)?;
                if !(0..partitions.len()).any(|i| fetch(&mut m, &mut paused, &mut fetched, i)) {
                    break;
                }
            }
            let mut want: Vec<(i64, &str, i32, i64)> = partitions
                .iter()
                .enumerate()
                .flat_map(|(i, p)| p.iter().enumerate().map(move |(o, t)| (*t, topic(i), i as i32, o as i64)))
                .collect();
            want.sort();
            prop_assert_eq!(out, want);
        }
    }
}

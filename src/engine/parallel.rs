//! A batch of messages evaluated on several threads, with the outcomes of
//! evaluating them one by one, in order. The batch is cut into chunks; every
//! thread prepares whichever chunk is next ([`Engine::prepare`] needs only the
//! message), and the caller's thread judges the chunks in order
//! ([`Engine::judge`] needs the state), preparing chunks itself whenever the
//! next one is not ready yet, so no core waits while work is left.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::prepare::Prepared;
use super::{Engine, RecordOutcome};
use crate::model::Message;

/// Messages per unit of work: large enough that claiming one costs nothing
/// next to preparing it (about 2 µs a message), small enough that the judge
/// starts early and the threads finish together.
const CHUNK: usize = 64;

/// How long the judge waits for a chunk before it checks that no preparing
/// thread died (a bug: it would otherwise wait for ever).
const WAIT: Duration = Duration::from_millis(50);

impl Engine {
    /// Evaluates `batch` (each message with its day) using `workers` threads
    /// (the caller's included) and hands `sink` each message's index and
    /// outcome, in batch order, on the caller's thread. Outcomes and state
    /// are exactly those of calling [`Engine::evaluate`] on each in turn.
    pub fn evaluate_batch(
        &self,
        batch: &[(Message<'_>, NaiveDate)],
        workers: usize,
        mut sink: impl FnMut(usize, Option<RecordOutcome>),
    ) {
        let chunks = batch.len().div_ceil(CHUNK);
        if workers <= 1 || chunks < 2 {
            for (i, (msg, day)) in batch.iter().enumerate() {
                sink(i, self.evaluate(msg, *day));
            }
            return;
        }
        let work = Work::new(self, batch, chunks);
        std::thread::scope(|s| {
            for _ in 1..workers.min(chunks) {
                s.spawn(|| work.help());
            }
            for c in 0..chunks {
                for (j, prepared) in work.wait_for(c).into_iter().enumerate() {
                    sink(c * CHUNK + j, prepared.map(|p| self.judge(p)));
                }
            }
        });
    }
}

/// The shared state of one batch.
struct Work<'e, 'b, 'm> {
    engine: &'e Engine,
    batch: &'b [(Message<'m>, NaiveDate)],
    /// Chunk c's prepared messages, once prepared (taken by the judge).
    slots: Vec<Mutex<Option<Vec<Option<Prepared>>>>>,
    /// The next chunk nobody has claimed.
    next: AtomicUsize,
    /// Signalled whenever a chunk is stored.
    ready: (Mutex<()>, Condvar),
    died: AtomicBool,
}

impl<'e, 'b, 'm> Work<'e, 'b, 'm> {
    fn new(engine: &'e Engine, batch: &'b [(Message<'m>, NaiveDate)], chunks: usize) -> Self {
        Work {
            engine,
            batch,
            slots: (0..chunks).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            ready: (Mutex::new(()), Condvar::new()),
            died: AtomicBool::new(false),
        }
    }

    /// Prepares chunks until none is left unclaimed; a panic here tells the
    /// judge waiting in [`Work::wait_for`] not to wait for its chunk.
    fn help(&self) {
        let guard = DiedGuard(&self.died);
        while let Some(c) = self.claim() {
            self.prepare(c);
        }
        std::mem::forget(guard);
    }

    fn claim(&self) -> Option<usize> {
        let c = self.next.fetch_add(1, Ordering::Relaxed);
        (c < self.slots.len()).then_some(c)
    }

    fn prepare(&self, c: usize) {
        let end = ((c + 1) * CHUNK).min(self.batch.len());
        let prepared = self.batch[c * CHUNK..end]
            .iter()
            .map(|(msg, day)| self.engine.prepare(msg, *day))
            .collect();
        *self.slots[c].lock().expect("slot lock") = Some(prepared);
        // Under the lock the judge checks its slot with: no lost wake-up.
        let _ready = self.ready.0.lock().expect("ready lock");
        self.ready.1.notify_all();
    }

    /// Chunk c's prepared messages, preparing others meanwhile.
    fn wait_for(&self, c: usize) -> Vec<Option<Prepared>> {
        loop {
            if let Some(prepared) = self.slots[c].lock().expect("slot lock").take() {
                return prepared;
            }
            if let Some(other) = self.claim() {
                self.prepare(other);
                continue;
            }
            let ready = self.ready.0.lock().expect("ready lock");
            if self.slots[c].lock().expect("slot lock").is_some() {
                continue;
            }
            assert!(
                !self.died.load(Ordering::Relaxed),
                "a thread preparing messages panicked"
            );
            drop(self.ready.1.wait_timeout(ready, WAIT).expect("ready lock"));
        }
    }
}

/// Set when a preparing thread unwinds, so the judge does not wait for its chunk.
struct DiedGuard<'a>(&'a AtomicBool);

impl Drop for DiedGuard<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Engine {
    /// Prepares `batch` on `workers` threads (the caller's included), in
    /// batch order: for a judge that runs elsewhere (instances sharing the
    /// bus judge a record once the facts before it are known).
    pub fn prepare_batch(
        &self,
        batch: &[(Message<'_>, NaiveDate)],
        workers: usize,
    ) -> Vec<Option<Prepared>> {
        let chunks = batch.len().div_ceil(CHUNK);
        if workers <= 1 || chunks < 2 {
            return batch.iter().map(|(m, d)| self.prepare(m, *d)).collect();
        }
        let work = Work::new(self, batch, chunks);
        std::thread::scope(|s| {
            for _ in 1..workers.min(chunks) {
                s.spawn(|| work.help());
            }
            work.help();
        });
        work.slots
            .into_iter()
            .flat_map(|s| {
                s.into_inner()
                    .expect("slot lock")
                    .expect("every chunk prepared")
            })
            .collect()
    }
}

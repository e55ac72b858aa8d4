//! Writes checkpoints to the store on a thread of its own, so the consumer
//! keeps evaluating while SQLite inserts rows and syncs the file (tens of
//! milliseconds for a large checkpoint).
//!
//! Order is what keeps counts exact: checkpoints are committed one at a time
//! in the order they were taken, and after a failure none is committed any
//! more (the next one's deltas would otherwise land without the failed one's).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::model::PartitionOffset;
use crate::store::{Checkpoint, CheckpointStore, StoreError};
use crate::telemetry::Metrics;

/// The result of one checkpoint: its partitions' next offsets once committed.
pub(crate) type Written = Result<Vec<PartitionOffset>, StoreError>;

pub(crate) struct CheckpointWriter {
    queue: Option<SyncSender<Checkpoint>>,
    results: Receiver<Written>,
    thread: Option<JoinHandle<()>>,
    /// Submitted and not yet reported back.
    outstanding: usize,
}

impl CheckpointWriter {
    pub fn new(store: Arc<dyn CheckpointStore>, metrics: Arc<Metrics>) -> Self {
        // One checkpoint queued while one is written: a slow disk slows the
        // consumer down (back-pressure) instead of piling up memory.
        let (queue, jobs) = sync_channel::<Checkpoint>(1);
        let (report, results) = sync_channel::<Written>(64);
        let thread = std::thread::Builder::new()
            .name("dqmon-checkpoint".into())
            .spawn(move || {
                let mut failed = false;
                for checkpoint in jobs {
                    let result = if failed {
                        Err(StoreError::Backend(
                            "an earlier checkpoint failed; nothing more is written".into(),
                        ))
                    } else {
                        let started = Instant::now();
                        let r = store.commit(&checkpoint);
                        if r.is_ok() {
                            metrics.checkpoint(Ok(started.elapsed()));
                        }
                        r.map(|()| checkpoint.offsets)
                    };
                    failed |= result.is_err();
                    if report.send(result).is_err() {
                        return;
                    }
                }
            })
            .expect("spawning the checkpoint writer");
        Self {
            queue: Some(queue),
            results,
            thread: Some(thread),
            outstanding: 0,
        }
    }

    /// Queues a checkpoint; waits while another one is already queued.
    pub(crate) fn submit(&mut self, checkpoint: Checkpoint) {
        let sent = self
            .queue
            .as_ref()
            .is_some_and(|q| q.send(checkpoint).is_ok());
        assert!(sent, "the checkpoint writer runs until dropped");
        self.outstanding += 1;
    }

    /// Results of the checkpoints written since the last call, in order;
    /// with `wait`, waits until every submitted one is written.
    pub fn results(&mut self, wait: bool) -> Vec<Written> {
        let mut out = Vec::new();
        while self.outstanding > 0 {
            let next = if wait {
                self.results.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                self.results.try_recv()
            };
            match next {
                Ok(r) => {
                    self.outstanding -= 1;
                    out.push(r);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.outstanding = 0;
                    out.push(Err(StoreError::Backend(
                        "the checkpoint writer stopped".into(),
                    )));
                }
            }
        }
        out
    }
}

impl Drop for CheckpointWriter {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the checkpoint it is writing.
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn checkpoint(offset: i64) -> Checkpoint {
        Checkpoint {
            offsets: vec![PartitionOffset::new("t", 0, offset)],
            ..Checkpoint::default()
        }
    }

    #[test]
    fn checkpoints_are_written_in_order_and_reported() {
        let store: Arc<dyn CheckpointStore> = Arc::new(SqliteStore::in_memory(10).unwrap());
        let checks =
            crate::catalog::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks"))
                .unwrap();
        let mut w = CheckpointWriter::new(store.clone(), Arc::new(Metrics::new(&checks)));
        // The store refuses offsets written without the partition's claim.
        let claims = store.claim("test", &[("t".into(), 0)]).unwrap();
        for o in 1..=5 {
            w.submit(Checkpoint {
                claims: claims.clone(),
                ..checkpoint(o)
            });
        }
        let results = w.results(true);
        let offsets: Vec<i64> = results.into_iter().map(|r| r.unwrap()[0].offset).collect();
        assert_eq!(offsets, vec![1, 2, 3, 4, 5]);
        assert_eq!(
            store.offsets().unwrap(),
            vec![PartitionOffset::new("t", 0, 5)]
        );
        assert!(w.results(true).is_empty());
    }

    #[test]
    fn nothing_is_written_after_a_failure() {
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = calls.clone();
        let store = Arc::new(crate::store::Stub {
            commit: move |_: &Checkpoint| match counted
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1
            {
                2 => Err(StoreError::Backend("disk full".into())),
                _ => Ok(()),
            },
            offsets: vec![],
        });
        let checks =
            crate::catalog::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks"))
                .unwrap();
        let mut w = CheckpointWriter::new(store.clone(), Arc::new(Metrics::new(&checks)));
        for o in 1..=4 {
            w.submit(checkpoint(o));
        }
        let ok: Vec<bool> = w.results(true).iter().map(Result::is_ok).collect();
        assert_eq!(ok, vec![true, false, false, false]);
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "no commit after the failure"
        );
    }
}

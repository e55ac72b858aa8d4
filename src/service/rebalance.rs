//! Rebalances: an assigned partition is claimed in the store and starts at
//! the store's offset, and a revoked one is checkpointed before its next
//! owner starts from the store.
//! The merge learns of both: what it buffered of a revoked partition was not
//! judged, so it is dropped and read again by the next owner.

use std::sync::atomic::Ordering;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, RebalanceProtocol};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, error, info};

use super::context::PipelineContext;

impl ConsumerContext for PipelineContext {
    /// librdkafka's default, except that assigned partitions start at the
    /// store's offsets.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                // Claim first: once the claim is ours, no earlier owner's
                // checkpoint can land, so the offsets read next are final.
                if let Err(e) = self.claim(tpl) {
                    self.fail("claiming the assigned partitions", &e);
                    return;
                }
                if let Err(e) = self.resume_from_store(tpl) {
                    // Not assigning leaves the partitions idle; the loop stops.
                    self.fail("reading the stored offsets", &e);
                    return;
                }
                let result = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                let mut merge = self.merge.lock().expect("merge lock");
                for elem in tpl.elements() {
                    let start = match elem.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    };
                    merge.assign(elem.topic(), elem.partition(), start);
                }
                drop(merge);
                self.post_rebalance(consumer, &Rebalance::Assign(tpl));
                result
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.pre_rebalance(consumer, &Rebalance::Revoke(tpl));
                let result = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                self.post_rebalance(consumer, &Rebalance::Revoke(tpl));
                result
            }
            other => {
                error!(error = %RDKafkaErrorCode::from(other), "rebalance error; unassigning");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            error!(error = %e, "applying the new assignment failed");
        }
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            info!(
                partitions = tpl.count(),
                "partitions revoked: finishing in-flight messages and checkpointing"
            );
            // The next owner resumes from the store: everything read from
            // these partitions must be in it now.
            if !self.checkpoint_all() && !self.failed.load(Ordering::Relaxed) {
                self.fail(
                    "checkpoint on revoke",
                    &"in-flight outputs were not acknowledged in time",
                );
            }
            self.settle(consumer, true);
            self.commit_group(consumer);
            let mut claims = self.claims.lock().expect("claims lock");
            for elem in tpl.elements() {
                claims.remove(&(elem.topic().to_owned(), elem.partition()));
            }
            drop(claims);
            let mut merge = self.merge.lock().expect("merge lock");
            let mut paused = TopicPartitionList::new();
            for elem in tpl.elements() {
                self.metrics.forget_lag(elem.topic(), elem.partition());
                if merge.revoke(elem.topic(), elem.partition()) {
                    paused.add_partition(elem.topic(), elem.partition());
                }
            }
            drop(merge);
            if let Some(shared) = &self.shared {
                let mut lanes = shared.lock().expect("shared lanes lock");
                for elem in tpl.elements() {
                    lanes.revoke(elem.topic(), elem.partition());
                }
            }
            // librdkafka keeps a pause across unassignment: a partition assigned
            // again later must be read.
            if paused.count() > 0
                && let Err(e) = consumer.resume(&paused)
            {
                error!(error = %e, "resuming revoked partitions failed");
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        let n = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.metrics.set_assigned(n);
        self.health.assigned.store(n > 0, Ordering::Relaxed);
        info!(partitions = n, "assignment changed");
    }
}

impl PipelineContext {
    /// Claims the assigned partitions in the store for this instance.
    fn claim(&self, tpl: &TopicPartitionList) -> Result<(), crate::store::StoreError> {
        let partitions: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let granted = self
            .checkpointing
            .store
            .claim(&self.checkpointing.owner, &partitions)?;
        let mut claims = self.claims.lock().expect("claims lock");
        for c in granted {
            claims.insert((c.topic.clone(), c.partition), c);
        }
        Ok(())
    }

    /// Sets each partition's start to the store's next offset; partitions the
    /// store has never seen start at the group's offset (or the beginning).
    fn resume_from_store(
        &self,
        tpl: &mut TopicPartitionList,
    ) -> Result<(), crate::store::StoreError> {
        let stored = self.checkpointing.store.offsets()?;
        for p in stored {
            if tpl.find_partition(&p.topic, p.partition).is_some() {
                let _ = tpl.set_partition_offset(&p.topic, p.partition, Offset::Offset(p.offset));
                debug!(
                    topic = p.topic,
                    partition = p.partition,
                    offset = p.offset,
                    "resuming from the store"
                );
            }
        }
        Ok(())
    }
}

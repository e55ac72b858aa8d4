//! The bus's order (the catalog's "message time is the clock"): every
//! judgement that depends on other records is taken in this order, by the
//! service and by `dqmon eval` alike, so both give the same outcomes whatever
//! order topics and partitions are read in.

use super::Message;

/// Where a message stands in the bus's order: by message timestamp, equal
/// timestamps by topic, partition and offset (field order is the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey<'a> {
    pub timestamp_ms: i64,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

impl<'a> Message<'a> {
    /// This message's place in the bus's order.
    pub fn order_key(&self) -> OrderKey<'a> {
        OrderKey {
            timestamp_ms: self.timestamp_ms,
            topic: self.topic,
            partition: self.partition,
            offset: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(timestamp_ms: i64, topic: &str, partition: i32, offset: i64) -> OrderKey<'_> {
        OrderKey {
            timestamp_ms,
            topic,
            partition,
            offset,
        }
    }

    #[test]
    fn time_first_then_topic_partition_offset() {
        assert!(key(1, "z", 9, 9) < key(2, "a", 0, 0), "time decides first");
        assert!(key(5, "a", 9, 9) < key(5, "b", 0, 0), "then the topic");
        assert!(key(5, "a", 0, 9) < key(5, "a", 1, 0), "then the partition");
        assert!(key(5, "a", 0, 1) < key(5, "a", 0, 2), "then the offset");
    }
}

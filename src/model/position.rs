//! Where a message sits on the bus.

/// The next offset to read of one partition: what a checkpoint stores, and
/// where a partition resumes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl PartitionOffset {
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        PartitionOffset {
            topic: topic.into(),
            partition,
            offset,
        }
    }
}

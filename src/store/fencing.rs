//! The fencing rule both backends apply inside the commit transaction: each
//! partition a checkpoint sets an offset for must carry a claim whose epoch
//! is still the stored one. The backends only read (and lock) the stored
//! epochs; the decision is here, once.

use std::collections::BTreeMap;

use super::{Checkpoint, StoreError};

/// The epoch each partition of `cp.offsets` was claimed with, by (topic,
/// partition) in order (the order the backends lock the claims in, so two
/// writers never wait on each other crosswise). Refuses a partition without
/// a claim.
pub(crate) fn required_epochs(cp: &Checkpoint) -> Result<BTreeMap<(&str, i32), i64>, StoreError> {
    let mut claimed: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for c in &cp.claims {
        let epoch = claimed
            .entry((c.topic.as_str(), c.partition))
            .or_insert(c.epoch);
        *epoch = (*epoch).max(c.epoch);
    }
    let mut required = BTreeMap::new();
    for o in &cp.offsets {
        let key = (o.topic.as_str(), o.partition);
        let epoch = claimed.get(&key).ok_or_else(|| fenced(key))?;
        required.insert(key, *epoch);
    }
    Ok(required)
}

/// Compares the required epochs with the stored ones (`stored`: the claimed
/// partitions' current epochs): any difference refuses the checkpoint.
pub(crate) fn check(
    required: &BTreeMap<(&str, i32), i64>,
    stored: &BTreeMap<(String, i32), i64>,
) -> Result<(), StoreError> {
    for (&(topic, partition), epoch) in required {
        if stored.get(&(topic.to_owned(), partition)) != Some(epoch) {
            return Err(fenced((topic, partition)));
        }
    }
    Ok(())
}

fn fenced((topic, partition): (&str, i32)) -> StoreError {
    StoreError::Fenced {
        topic: topic.to_owned(),
        partition,
    }
}

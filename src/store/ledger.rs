//! The assessment ledger: sealed reports (one chain of versions per period)
//! and the audit log of what officers and departments did. Both are
//! append-only: a backend refuses any UPDATE or DELETE of their rows (by
//! triggers), so a sealed version or an audit entry, once written, is there
//! for good.
//!
//! The ledger stores bytes and hashes only; what a report means (its
//! canonical form, its hash, the chain rule) is `tally::seal`'s, checked again
//! by whoever reads it.

use chrono::NaiveDate;

use super::StoreError;

/// One version of a period's sealed report, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRow {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// 1 for the seal, n + 1 for the amendment of version n.
    pub version: u32,
    /// Hex SHA-256 of `report`.
    pub sha256: String,
    /// The hash of the version this one amends (none for version 1).
    pub amends: Option<String>,
    /// The report's canonical JSON.
    pub report: Vec<u8>,
    /// When it was written (milliseconds since the epoch), and by whom (a
    /// token's name): for people, not part of the report or its hash.
    pub at_ms: i64,
    pub actor: String,
}

/// The newest version of one sealed period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealHead {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub version: u32,
    pub sha256: String,
    pub amends: Option<String>,
    pub at_ms: i64,
    pub actor: String,
}

/// One action in the audit log. Nothing personal: the actor is a token's
/// name, the subject a period, a hash or a violation's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// The token's name.
    pub actor: String,
    /// The token's role (`officer`, `department`).
    pub role: String,
    /// What was done: `seal`, `amend`...
    pub action: String,
    /// What it was done to, e.g. `2026-04-01..2026-06-30`.
    pub subject: String,
    /// More, e.g. `version 2, sha256 ...`.
    pub detail: String,
}

/// An audit entry with its place in the log (ids grow with every entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: AuditEntry,
}

/// The ledger of a store. Blocking, like the other store traits.
pub trait LedgerStore: Send + Sync {
    /// Appends `row` to its period's chain and `audit` to the log, in one
    /// transaction. [`StoreError::Conflict`] (nothing written) unless `row`
    /// is the next version of its chain: version 1 of an unsealed period, or
    /// version n + 1 amending the stored version n.
    fn seal(&self, row: &SealRow, audit: &AuditEntry) -> Result<(), StoreError>;

    /// Every version of the period `from..=to`, oldest first (none when it
    /// was never sealed).
    fn seals(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<SealRow>, StoreError>;

    /// The newest version of every sealed period, by (from, to).
    fn sealed_periods(&self) -> Result<Vec<SealHead>, StoreError>;

    /// Appends one entry to the audit log; returns its id.
    fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;

    /// Up to `limit` entries with ids below `before` (all when `None`),
    /// newest first.
    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Whether `row` may follow `head` (the stored newest version of its
/// period): both backends decide by this, inside their transaction.
pub(crate) fn check_next(head: Option<(u32, &str)>, row: &SealRow) -> Result<(), StoreError> {
    let expected = head.map_or(1, |(version, _)| version + 1);
    if row.version != expected {
        return Err(StoreError::Conflict(match head {
            None => "the period is not sealed: its first version must be version 1".into(),
            Some((version, _)) => format!(
                "the period's newest version is {version}: the next one must be {}",
                version + 1
            ),
        }));
    }
    if row.amends.as_deref() != head.map(|(_, sha)| sha) {
        return Err(StoreError::Conflict(
            "the new version does not amend the period's newest version".into(),
        ));
    }
    Ok(())
}

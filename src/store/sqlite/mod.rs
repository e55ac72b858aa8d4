//! SQLite backend of [`CheckpointStore`], [`ScoreStore`] and
//! [`LedgerStore`]: one database file in WAL mode, one connection behind a
//! mutex, every checkpoint in one IMMEDIATE transaction (which also
//! serialises claims and the fencing check against every other connection
//! to the file).
//!
//! `schema` holds the layout and every statement, `codec` the value
//! conversions, `write` a checkpoint's writes, `read` the queries and
//! `ledger` the sealed reports and the audit log; this file opens the
//! database and holds the connection.

mod codec;
mod disputes;
mod findings;
mod ledger;
mod read;
mod schema;
mod write;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::disputes::{Action, Dispute, DisputeFilter, DisputeStore, Failure, NewDispute, Step};
use super::findings::{FindingRecord, FindingStore, FixedStats, OpenFindingRow, Status};
use super::version::check_version;
use super::{
    AuditEntry, AuditRecord, Checkpoint, CheckpointStore, Claim, DayCounts, LedgerStore,
    ReferenceRow, ScoreStore, SealHead, SealRow, SeenRow, StoreError,
};
use crate::catalog::{DisputeRules, WorkingDays};
use crate::model::{PartitionOffset, Violation};
use read::Days;

/// Waited out before a locked database is an error: another process (a
/// backup, the sqlite3 shell) may hold the write lock for a moment.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Room for every statement of `schema`, so none is ever re-prepared.
const STATEMENT_CACHE: usize = 64;

/// The SQLite store: the daemon's checkpoints, the API's and `dqmon scores`'
/// reads.
pub struct SqliteStore {
    /// One connection: SQLite allows one writer at a time anyway, and a single
    /// connection keeps the prepared-statement cache warm. Readers (the API)
    /// wait for a running checkpoint.
    conn: Mutex<Connection>,
    violations_kept: usize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("violations_kept", &self.violations_kept)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date. Also prunes stored violations to
    /// `violations_kept_per_department`, in case that setting was lowered.
    ///
    /// A store written by an older dqmon is refused until `dqmon store
    /// migrate` ([`SqliteStore::migrate`]) has updated it.
    pub fn open(path: &Path, violations_kept_per_department: usize) -> Result<Self, StoreError> {
        // The version is checked by `init`'s migration, under the write lock.
        let conn = Connection::open(path)?;
        Self::init(conn, violations_kept_per_department)
    }

    /// Opens an existing store for reading only (`dqmon scores`): nothing is
    /// migrated, pruned or written, so it is safe beside a running service.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        match schema::version(&conn)? {
            0 => return Err(StoreError::NotAStore),
            v => check_version(v, schema::SCHEMA_VERSION, false)?,
        }
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            violations_kept: usize::MAX,
        })
    }

    /// Brings the schema of the store at `path` up to this dqmon's, each step
    /// in its own transaction; returns the versions before and after.
    pub fn migrate(path: &Path) -> Result<(i64, i64), StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let before = schema::version(&conn)?;
        check_version(before, schema::SCHEMA_VERSION, true)?;
        schema::migrate(&mut conn, true)?;
        Ok((before, schema::version(&conn)?))
    }

    /// A private in-memory database, for tests.
    pub fn in_memory(violations_kept_per_department: usize) -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, violations_kept_per_department)
    }

    fn init(mut conn: Connection, violations_kept: usize) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: a commit appends pages to one file (one fsync) instead of
        // journal + database, and other processes (a backup, the sqlite3
        // shell) can read while dqmon writes. The mode is persistent in the
        // file; in-memory databases answer "memory", and a file system without
        // shared memory keeps the rollback journal, which is as atomic and
        // durable, only slower.
        // Switching modes does not wait for another connection's lock (an
        // instance creating the file at the same moment): retried instead.
        let started = std::time::Instant::now();
        let _mode: String = loop {
            match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                result => break result?,
            }
        };
        // FULL, not NORMAL: in WAL mode NORMAL does not fsync the WAL at
        // commit, so after a power loss or OS crash the last acknowledged
        // checkpoints may vanish. Atomicity would survive (counts and offsets
        // roll back together) but counts already served by the API would go
        // back in time, and the replay they need may no longer be in Kafka
        // once retention has run. One fsync per checkpoint is cheap.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn, false)?;
        write::prune_all_violations(&mut conn, violations_kept)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            violations_kept,
        })
    }

    /// Locks the connection. A poisoned lock is taken over: a panic while it
    /// was held unwound through any open `Transaction`, whose drop rolled it
    /// back, so the connection is in a clean state.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Per-day counts (not summed), for tests that compare whole stores.
    #[cfg(test)]
    pub(crate) fn daily_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        read::counts(&self.lock(), from, to, department, Days::Each)
    }
}

impl CheckpointStore for SqliteStore {
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        if checkpoint.is_empty() {
            return Ok(());
        }
        let mut conn = self.lock();
        // IMMEDIATE takes the write lock up front: a deferred transaction
        // that later upgrades from read to write fails with SQLITE_BUSY at
        // once (no busy wait) if another connection wrote in between.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // On any error `tx` is dropped here, which rolls everything back.
        write::fence(&tx, checkpoint)?;
        write::checkpoint(&tx, checkpoint, self.violations_kept)?;
        tx.commit()?;
        Ok(())
    }

    fn claim(&self, owner: &str, partitions: &[(String, i32)]) -> Result<Vec<Claim>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claims = write::claim(&tx, owner, partitions)?;
        tx.commit()?;
        Ok(claims)
    }

    fn offsets(&self) -> Result<Vec<PartitionOffset>, StoreError> {
        read::offsets(&self.lock())
    }

    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError> {
        read::references(&self.lock())
    }

    fn seen(&self) -> Result<Vec<SeenRow>, StoreError> {
        read::seen(&self.lock())
    }

    fn open_findings(&self) -> Result<Vec<OpenFindingRow>, StoreError> {
        findings::open_findings(&self.lock())
    }
}

impl FindingStore for SqliteStore {
    fn open_by_day(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, NaiveDate, u64)>, StoreError> {
        findings::open_by_day(&self.lock(), department)
    }

    fn fixed_stats(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, FixedStats)>, StoreError> {
        findings::fixed_stats(&self.lock(), department)
    }

    fn list_findings(
        &self,
        department: Option<&str>,
        status: Status,
        opened_until: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        findings::list(&self.lock(), department, status, opened_until, limit)
    }
}

impl DisputeStore for SqliteStore {
    fn file_dispute(&self, dispute: &NewDispute, audit: &AuditEntry) -> Result<i64, StoreError> {
        disputes::file(&mut self.lock(), dispute, audit)
    }

    fn act(
        &self,
        id: i64,
        action: &Action,
        step: Step,
        rules: &DisputeRules,
        calendar: &WorkingDays,
        audit: &AuditEntry,
    ) -> Result<Option<Dispute>, StoreError> {
        disputes::act(&mut self.lock(), id, action, step, rules, calendar, audit)
    }

    fn dispute(&self, id: i64) -> Result<Option<Dispute>, StoreError> {
        disputes::get(&self.lock(), id)
    }

    fn disputes(&self, filter: &DisputeFilter, limit: usize) -> Result<Vec<Dispute>, StoreError> {
        disputes::list(&self.lock(), filter, limit)
    }

    fn failure(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        check: &str,
    ) -> Result<Option<Failure>, StoreError> {
        disputes::find_failure(&self.lock(), topic, partition, offset, check)
    }

    fn failures_failing(
        &self,
        dataset: &str,
        check: &str,
        from: NaiveDate,
        to: NaiveDate,
        at: Option<(&str, i32, i64)>,
    ) -> Result<Vec<Failure>, StoreError> {
        disputes::failures_failing(&self.lock(), dataset, check, from, to, at)
    }
}

impl ScoreStore for SqliteStore {
    fn counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        read::counts(&self.lock(), from, to, department, Days::Summed)
    }

    fn recent_violations(
        &self,
        department: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Violation>, StoreError> {
        read::recent_violations(&self.lock(), department, limit)
    }
}

impl LedgerStore for SqliteStore {
    fn seal(&self, row: &SealRow, audit: &AuditEntry) -> Result<(), StoreError> {
        ledger::seal(&mut self.lock(), row, audit)
    }

    fn seals(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<SealRow>, StoreError> {
        ledger::seals(&self.lock(), from, to)
    }

    fn sealed_periods(&self) -> Result<Vec<SealHead>, StoreError> {
        ledger::sealed_periods(&self.lock())
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        ledger::append_audit(&mut self.lock(), entry)
    }

    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        ledger::audit(&self.lock(), before, limit)
    }
}

//! PostgreSQL backend of [`CheckpointStore`] and [`ScoreStore`], for a store
//! several dqmon instances (or a managed database) share: the SQLite
//! backend's tables and semantics, every checkpoint in one transaction,
//! fencing by row locks on the partition claims.
//!
//! Blocking, with the `postgres` crate (the synchronous wrapper of
//! tokio-postgres, each connection driven by a small runtime of its own):
//! the store traits are blocking and are called from dqmon's own threads
//! (the checkpoint writer, the rebalance callback, `spawn_blocking`), so an
//! async client would only add a runtime handle to every call, and these
//! calls must never run on an async worker anyway.
//!
//! Two connections: the writer's (checkpoints, claims, the state reloaded
//! at start-up) and the readers' (the API, `dqmon scores`), so a reader
//! never waits for a checkpoint in flight. Each is opened again after it was
//! lost; a checkpoint whose connection broke is still an error (it may or
//! may not have committed), and the caller stops, as the trait asks.
//!
//! `schema` holds the layout and every statement, `codec` the value
//! conversions and the error conversion, `write` a checkpoint's writes and
//! the claims, `read` the queries, `ledger` the sealed reports and the audit
//! log; this file opens the connections and holds them.

mod codec;
mod disputes;
mod findings;
mod ledger;
mod read;
mod schema;
mod tls;
mod write;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::NaiveDate;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, Row, Statement, Transaction};

use super::findings::{FindingRecord, FindingStore, FixedStats, OpenFindingRow, Status};
use super::version::check_version;
use super::{
    AuditEntry, AuditRecord, Checkpoint, CheckpointStore, Claim, DayCounts, LedgerStore,
    ReferenceRow, ScoreStore, SealHead, SealRow, SeenRow, StoreError,
};
use crate::model::{PartitionOffset, Violation};
use read::Days;

/// How long opening a connection may take when the URL does not say
/// (`connect_timeout`): an unreachable host must not hang start-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store: the daemon's checkpoints, the API's and `dqmon
/// scores`' reads.
pub struct PostgresStore {
    config: postgres::Config,
    /// How the server's certificate is checked (the URL's sslmode and
    /// sslrootcert, `tls.rs`).
    tls: tls::Verify,
    read_only: bool,
    writer: Mutex<Option<Session>>,
    reader: Mutex<Option<Session>>,
    violations_kept: usize,
}

impl Drop for PostgresStore {
    /// Closes the connections on a thread of their own: the blocking client
    /// runs a runtime to say goodbye, which panics where the last reference
    /// is dropped inside an async one (a service stopping, or rejoining
    /// after it was fenced).
    fn drop(&mut self) {
        let sessions = (
            self.writer
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
            self.reader
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let (None, None) = sessions {
            return;
        }
        let closing = std::thread::Builder::new()
            .name("dqmon-store-close".into())
            .spawn(move || drop(sessions));
        if let Err(e) = closing {
            tracing::warn!(error = %e, "closing the store's connections: no thread for it");
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // postgres::Config's own Debug leaves the password out.
        f.debug_struct("PostgresStore")
            .field("config", &self.config)
            .field("tls", &self.tls)
            .field("read_only", &self.read_only)
            .field("violations_kept", &self.violations_kept)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and brings an empty one up to the
    /// schema. Also prunes stored violations to
    /// `violations_kept_per_department`, in case that setting was lowered.
    ///
    /// A store written by an older dqmon is refused until `dqmon store
    /// migrate` ([`PostgresStore::migrate`]) has updated it.
    pub fn open(url: &str, violations_kept_per_department: usize) -> Result<Self, StoreError> {
        let (config, tls) = parse(url)?;
        Self::open_tls(config, tls, violations_kept_per_department)
    }

    /// Opens an existing store for reading only (`dqmon scores`): every
    /// transaction of its sessions is read-only, so nothing is migrated,
    /// pruned or written even by mistake.
    pub fn open_read_only(url: &str) -> Result<Self, StoreError> {
        let (config, tls) = parse(url)?;
        Self::open_read_only_tls(config, tls)
    }

    /// Brings the schema of the store at `url` up to this dqmon's, each step
    /// in its own transaction; returns the versions before and after.
    pub fn migrate(url: &str) -> Result<(i64, i64), StoreError> {
        let (config, tls) = parse(url)?;
        Self::migrate_tls(config, tls)
    }

    /// [`PostgresStore::open`] of a parsed configuration (TLS as libpq's
    /// default `prefer`: when offered, unverified).
    #[cfg(test)]
    pub(crate) fn open_with(
        config: postgres::Config,
        violations_kept: usize,
    ) -> Result<Self, StoreError> {
        Self::open_tls(config, tls::Verify::default(), violations_kept)
    }

    #[cfg(test)]
    pub(crate) fn open_read_only_with(config: postgres::Config) -> Result<Self, StoreError> {
        Self::open_read_only_tls(config, tls::Verify::default())
    }

    #[cfg(test)]
    pub(crate) fn migrate_with(config: postgres::Config) -> Result<(i64, i64), StoreError> {
        Self::migrate_tls(config, tls::Verify::default())
    }

    fn open_tls(
        config: postgres::Config,
        tls: tls::Verify,
        violations_kept: usize,
    ) -> Result<Self, StoreError> {
        let config = with_defaults(config);
        let mut session = Session::connect(&config, &tls, false)?;
        // Under the migration lock: another instance may be creating the schema.
        session.migrate(false)?;
        let mut conn = session.begin()?;
        write::prune_all_violations(&mut conn, violations_kept)?;
        conn.commit()?;
        Ok(PostgresStore {
            config,
            tls,
            read_only: false,
            writer: Mutex::new(Some(session)),
            reader: Mutex::new(None),
            violations_kept,
        })
    }

    fn open_read_only_tls(config: postgres::Config, tls: tls::Verify) -> Result<Self, StoreError> {
        let config = with_defaults(config);
        let mut session = Session::connect(&config, &tls, true)?;
        match session.version()? {
            0 => return Err(StoreError::NotAStore),
            v => check_version(v, schema::SCHEMA_VERSION, false)?,
        }
        Ok(PostgresStore {
            config,
            tls,
            read_only: true,
            writer: Mutex::new(None),
            reader: Mutex::new(Some(session)),
            violations_kept: usize::MAX,
        })
    }

    fn migrate_tls(config: postgres::Config, tls: tls::Verify) -> Result<(i64, i64), StoreError> {
        let mut session = Session::connect(&with_defaults(config), &tls, false)?;
        let before = session.version()?;
        check_version(before, schema::SCHEMA_VERSION, true)?;
        session.migrate(true)?;
        Ok((before, session.version()?))
    }

    /// The writer's session, connected again if it was lost.
    fn writer(&self) -> Result<SessionGuard<'_>, StoreError> {
        self.session(&self.writer)
    }

    /// The readers' session, connected again if it was lost.
    fn reader(&self) -> Result<SessionGuard<'_>, StoreError> {
        self.session(&self.reader)
    }

    /// A poisoned lock is taken over: a panic while it was held unwound
    /// through any open transaction, whose drop rolled it back.
    fn session<'s>(
        &self,
        slot: &'s Mutex<Option<Session>>,
    ) -> Result<SessionGuard<'s>, StoreError> {
        let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if guard
            .as_ref()
            .is_none_or(|s| s.lost || s.client.is_closed())
        {
            *guard = None;
            *guard = Some(Session::connect(&self.config, &self.tls, self.read_only)?);
        }
        Ok(SessionGuard(guard))
    }

    /// Per-day counts (not summed), for tests that compare whole stores.
    #[cfg(test)]
    pub(crate) fn daily_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let counts = read::counts(&mut conn, from, to, department, Days::Each)?;
        conn.commit()?;
        Ok(counts)
    }

    /// Runs SQL on the writer's connection, for tests that reach past the traits.
    #[cfg(test)]
    pub(crate) fn sql(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.writer()?.client.batch_execute(sql)?)
    }

    /// The first column of every row of `sql`, on the writer's connection.
    #[cfg(test)]
    pub(crate) fn query_column<T: for<'r> postgres::types::FromSql<'r>>(
        &self,
        sql: &str,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.writer()?.client.query(sql, &[])?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// One value of the first row of `sql`, on the writer's connection.
    #[cfg(test)]
    pub(crate) fn query_one<T: for<'r> postgres::types::FromSql<'r>>(
        &self,
        sql: &str,
    ) -> Result<T, StoreError> {
        Ok(self.writer()?.client.query_one(sql, &[])?.try_get(0)?)
    }
}

/// What is wrong with `url` as a store URL, if anything (for `dqmon
/// validate` and start-up), never quoting its password.
pub fn check_url(url: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if scheme.is_some_and(|s| s != "postgres" && s != "postgresql") {
        return Err("not a postgres:// URL".into());
    }
    let (config, verify) = parse(url).map_err(|e| match e {
        StoreError::Backend(text) => text,
        other => other.to_string(),
    })?;
    if config.get_hosts().is_empty() {
        return Err("names no host".into());
    }
    if let Some(root) = &verify.root_cert
        && let Err(e) = std::fs::metadata(root)
    {
        return Err(format!("sslrootcert {}: {e}", root.display()));
    }
    Ok(())
}

/// The client's configuration and the certificate check of `url`.
fn parse(url: &str) -> Result<(postgres::Config, tls::Verify), StoreError> {
    let (url, verify) = tls::split(url)?;
    Ok((url.parse::<postgres::Config>()?, verify))
}

/// What dqmon sets unless the URL says otherwise: a connect timeout, and its
/// name in `pg_stat_activity`.
fn with_defaults(mut config: postgres::Config) -> postgres::Config {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("dqmon");
    }
    config
}

/// One connection and the statements prepared on it: each statement is
/// parsed and planned once per connection, not once per checkpoint.
struct Session {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// Set when a call failed because the connection broke: the client may
    /// not know it is closed yet, and the next call must not try it again.
    lost: bool,
}

/// Whether `e` means the connection is gone (rather than one statement failed).
fn connection_lost(e: &postgres::Error) -> bool {
    use std::error::Error as _;
    match e.as_db_error() {
        // connection_exception, or the server shutting the session down.
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("57P0")
        }
        None => e.is_closed() || e.source().is_some_and(|c| c.is::<std::io::Error>()),
    }
}

struct SessionGuard<'s>(MutexGuard<'s, Option<Session>>);

impl std::ops::Deref for SessionGuard<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.0
            .as_ref()
            .expect("connected by PostgresStore::session")
    }
}

impl std::ops::DerefMut for SessionGuard<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.0
            .as_mut()
            .expect("connected by PostgresStore::session")
    }
}

impl Session {
    fn connect(
        config: &postgres::Config,
        tls: &tls::Verify,
        read_only: bool,
    ) -> Result<Self, StoreError> {
        let mut client = config.connect(tls::connector(tls)?)?;
        if read_only {
            client.batch_execute("SET default_transaction_read_only = on")?;
        } else {
            // A database or role set to `synchronous_commit = off` would
            // acknowledge checkpoints a crash of the server then loses:
            // counts already served would go back in time, and the replay
            // they need may be gone from Kafka. Stronger settings are kept.
            let setting: String = client
                .query_one("SELECT current_setting('synchronous_commit')", &[])?
                .try_get(0)?;
            if setting == "off" {
                client.batch_execute("SET synchronous_commit = on")?;
            }
        }
        Ok(Session {
            client,
            statements: HashMap::new(),
            lost: false,
        })
    }

    /// A transaction at the default isolation (READ COMMITTED): what the
    /// writer's row locks and upserts are designed for.
    fn begin(&mut self) -> Result<Conn<'_>, StoreError> {
        let tx = self.client.transaction();
        let tx = track(&mut self.lost, tx)?;
        Ok(Conn {
            tx,
            statements: &mut self.statements,
            lost: &mut self.lost,
        })
    }

    /// A read-only transaction that sees one snapshot, so the statements of
    /// one read agree with each other even while checkpoints commit.
    fn begin_snapshot(&mut self) -> Result<Conn<'_>, StoreError> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start();
        let tx = track(&mut self.lost, tx)?;
        Ok(Conn {
            tx,
            statements: &mut self.statements,
            lost: &mut self.lost,
        })
    }

    /// The schema version of the database (0: no dqmon schema yet).
    fn version(&mut self) -> Result<i64, StoreError> {
        let mut conn = self.begin()?;
        let version = conn.version()?;
        conn.commit()?;
        Ok(version)
    }

    /// Applies pending migrations, each in its own transaction with its
    /// version bump, under a lock so that two instances starting at once do
    /// not both apply one. Unless `may_migrate`, only an empty database (or
    /// one another instance is creating: the lock waits for it) gets the
    /// schema; an older one is refused.
    fn migrate(&mut self, may_migrate: bool) -> Result<(), StoreError> {
        // A session lock, taken outside any transaction: each migration's
        // transaction then starts after the previous holder committed, and
        // sees its tables. (A transaction-scoped lock waited for inside a
        // transaction begun earlier let four instances starting at once all
        // read version 0: the wait does not refresh the catalog.)
        track(
            &mut self.lost,
            self.client.batch_execute(schema::LOCK_FOR_MIGRATION),
        )?;
        let migrated = self.migrate_locked(may_migrate);
        let unlocked = track(
            &mut self.lost,
            self.client.batch_execute(schema::UNLOCK_AFTER_MIGRATION),
        );
        migrated.and(unlocked)
    }

    fn migrate_locked(&mut self, may_migrate: bool) -> Result<(), StoreError> {
        let mut first = true;
        loop {
            let mut conn = self.begin()?;
            let version = conn.version()?;
            if std::mem::take(&mut first) {
                check_version(version, schema::SCHEMA_VERSION, may_migrate)?;
            }
            if version > schema::SCHEMA_VERSION {
                return Err(StoreError::UnsupportedSchema {
                    found: version,
                    supported: schema::SCHEMA_VERSION,
                });
            }
            if version == schema::SCHEMA_VERSION {
                return conn.commit();
            }
            let step = usize::try_from(version)
                .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
            conn.batch_execute(schema::MIGRATIONS[step])?;
            let bumped = conn.tx.execute(schema::SET_VERSION, &[&(version + 1)]);
            track(conn.lost, bumped)?;
            conn.commit()?;
        }
    }
}

/// `result`, marking the session lost if its error says the connection is.
fn track<T>(lost: &mut bool, result: Result<T, postgres::Error>) -> Result<T, StoreError> {
    result.map_err(|e| {
        *lost |= connection_lost(&e);
        StoreError::from(e)
    })
}

/// A transaction with the session's statement cache.
pub(crate) struct Conn<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
    lost: &'a mut bool,
}

impl Conn<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = track(self.lost, self.tx.prepare(sql))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        track(self.lost, self.tx.execute(&statement, params))
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        track(self.lost, self.tx.query(&statement, params))
    }

    /// Statements outside the cache (DDL, the version table).
    fn batch_execute(&mut self, sql: &str) -> Result<(), StoreError> {
        track(self.lost, self.tx.batch_execute(sql))
    }

    /// The schema version, read inside this transaction.
    fn version(&mut self) -> Result<i64, StoreError> {
        let exists = track(self.lost, self.tx.query_one(schema::HAS_VERSION_TABLE, &[]))?;
        if !exists.try_get::<_, bool>(0)? {
            return Ok(0);
        }
        let rows = track(self.lost, self.tx.query(schema::SELECT_VERSION, &[]))?;
        match rows.as_slice() {
            [row] => Ok(row.try_get(0)?),
            _ => Err(StoreError::Corrupt(
                "dqmon_schema does not hold exactly one version".into(),
            )),
        }
    }

    fn commit(self) -> Result<(), StoreError> {
        track(self.lost, self.tx.commit())
    }
}

impl CheckpointStore for PostgresStore {
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        if checkpoint.is_empty() {
            return Ok(());
        }
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        // On any error `conn` is dropped here, which rolls everything back.
        write::fence(&mut conn, checkpoint)?;
        write::checkpoint(&mut conn, checkpoint, self.violations_kept)?;
        conn.commit()
    }

    fn claim(&self, owner: &str, partitions: &[(String, i32)]) -> Result<Vec<Claim>, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let claims = write::claim(&mut conn, owner, partitions)?;
        conn.commit()?;
        Ok(claims)
    }

    fn offsets(&self) -> Result<Vec<PartitionOffset>, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let offsets = read::offsets(&mut conn)?;
        conn.commit()?;
        Ok(offsets)
    }

    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let rows = read::references(&mut conn)?;
        conn.commit()?;
        Ok(rows)
    }

    fn seen(&self) -> Result<Vec<SeenRow>, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let rows = read::seen(&mut conn)?;
        conn.commit()?;
        Ok(rows)
    }

    fn open_findings(&self) -> Result<Vec<OpenFindingRow>, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let rows = findings::open_findings(&mut conn)?;
        conn.commit()?;
        Ok(rows)
    }
}

impl FindingStore for PostgresStore {
    fn open_by_day(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, NaiveDate, u64)>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = findings::open_by_day(&mut conn, department)?;
        conn.commit()?;
        Ok(rows)
    }

    fn fixed_stats(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, FixedStats)>, StoreError> {
        let mut session = self.reader()?;
        // One snapshot: the count and the middle rows agree.
        let mut conn = session.begin_snapshot()?;
        let rows = findings::fixed_stats(&mut conn, department)?;
        conn.commit()?;
        Ok(rows)
    }

    fn list_findings(
        &self,
        department: Option<&str>,
        status: Status,
        opened_until: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = findings::list(&mut conn, department, status, opened_until, limit)?;
        conn.commit()?;
        Ok(rows)
    }
}

impl ScoreStore for PostgresStore {
    fn counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let counts = read::counts(&mut conn, from, to, department, Days::Summed)?;
        conn.commit()?;
        Ok(counts)
    }

    fn recent_violations(
        &self,
        department: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Violation>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = read::recent_violations(&mut conn, department, limit)?;
        conn.commit()?;
        Ok(rows)
    }
}

impl LedgerStore for PostgresStore {
    fn seal(&self, row: &SealRow, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        ledger::seal(&mut conn, row, audit)?;
        conn.commit()
    }

    fn seals(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<SealRow>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = ledger::seals(&mut conn, from, to)?;
        conn.commit()?;
        Ok(rows)
    }

    fn sealed_periods(&self) -> Result<Vec<SealHead>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = ledger::sealed_periods(&mut conn)?;
        conn.commit()?;
        Ok(rows)
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let id = ledger::insert_audit(&mut conn, entry)?;
        conn.commit()?;
        Ok(id)
    }

    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = ledger::audit(&mut conn, before, limit)?;
        conn.commit()?;
        Ok(rows)
    }
}

//! SQLite backend of [`Store`]: one database file in WAL mode, one connection
//! behind a mutex, every checkpoint in one IMMEDIATE transaction.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, Row, Transaction, TransactionBehavior, params};

use super::{
    Checkpoint, CheckpointStore, DayCounts, ReferenceRow, ScoreStore, SeenRow, StoreError,
};
use crate::model::{Counts, Dimension, PartitionOffset, Violation};
use crate::tally::DatasetCounts;

/// `PRAGMA user_version` this code writes. A migration from version `n` to
/// `n + 1` is `MIGRATIONS[n]`.
pub const SCHEMA_VERSION: i64 = 1;

/// Waited out before a locked database is an error: another process (a
/// backup, the sqlite3 shell) may hold the write lock for a moment.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Room for every statement below, so none is ever re-prepared.
const STATEMENT_CACHE: usize = 64;

/// Column names of the count columns of `day_counts`, in SELECT order
/// (the DDL spells them out; a test checks both agree).
fn count_columns() -> Vec<String> {
    let mut cols = vec!["records".to_owned(), "malformed".to_owned()];
    for dim in Dimension::ALL {
        cols.push(format!("{dim}_passed"));
        cols.push(format!("{dim}_failed"));
    }
    cols
}

/// Number of count columns: records, malformed, 5 × (passed, failed).
const COUNT_COLUMNS: usize = 2 + 2 * Dimension::ALL.len();

/// Schema v1, frozen: a later change is a new entry in [`MIGRATIONS`], never
/// an edit here. STRICT makes SQLite reject a value of the wrong type (e.g.
/// an integer sum that overflowed into a REAL) instead of storing it; WITHOUT
/// ROWID keeps rows in their primary-key B-tree, halving the work for tables
/// only looked up by that key.
const SCHEMA_V1: &str = "CREATE TABLE IF NOT EXISTS day_counts (
    day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    records INTEGER NOT NULL CHECK (records >= 0),
    malformed INTEGER NOT NULL CHECK (malformed >= 0),
    completeness_passed INTEGER NOT NULL CHECK (completeness_passed >= 0),
    completeness_failed INTEGER NOT NULL CHECK (completeness_failed >= 0),
    format_passed INTEGER NOT NULL CHECK (format_passed >= 0),
    format_failed INTEGER NOT NULL CHECK (format_failed >= 0),
    consistency_passed INTEGER NOT NULL CHECK (consistency_passed >= 0),
    consistency_failed INTEGER NOT NULL CHECK (consistency_failed >= 0),
    freshness_passed INTEGER NOT NULL CHECK (freshness_passed >= 0),
    freshness_failed INTEGER NOT NULL CHECK (freshness_failed >= 0),
    uniqueness_passed INTEGER NOT NULL CHECK (uniqueness_passed >= 0),
    uniqueness_failed INTEGER NOT NULL CHECK (uniqueness_failed >= 0),
    PRIMARY KEY (day, department, dataset)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS check_counts (
    day TEXT NOT NULL,
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    check_id TEXT NOT NULL,
    passed INTEGER NOT NULL CHECK (passed >= 0),
    failed INTEGER NOT NULL CHECK (failed >= 0),
    PRIMARY KEY (day, department, dataset, check_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL CHECK (partition_id >= 0),
    next_offset INTEGER NOT NULL CHECK (next_offset >= 0),
    PRIMARY KEY (topic, partition_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reference_rows (
    entity INTEGER NOT NULL CHECK (entity BETWEEN 0 AND 65535),
    key_hash BLOB NOT NULL CHECK (length(key_hash) = 16),
    value_hashes BLOB NOT NULL CHECK (length(value_hashes) = 16),
    updated_secs INTEGER NOT NULL CHECK (updated_secs BETWEEN 0 AND 4294967295),
    known INTEGER NOT NULL CHECK (known BETWEEN 0 AND 255),
    PRIMARY KEY (entity, key_hash)
) STRICT, WITHOUT ROWID;
-- For expiry: without it every checkpoint would scan the whole table.
CREATE INDEX IF NOT EXISTS reference_rows_updated ON reference_rows (updated_secs);
CREATE TABLE IF NOT EXISTS seen (
    key_hash BLOB NOT NULL PRIMARY KEY CHECK (length(key_hash) = 16),
    at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- Costs about as much per insert as the table itself, but keeps expiry
-- proportional to the rows expired instead of to the table.
CREATE INDEX IF NOT EXISTS seen_at ON seen (at_ms);
-- AUTOINCREMENT: ids never reused, so id order is commit order even after pruning.
CREATE TABLE IF NOT EXISTS violations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    record_offset INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    record_id TEXT,
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dimension TEXT NOT NULL,
    check_id TEXT NOT NULL,
    field TEXT,
    reason TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS violations_department ON violations (department, id);
";

/// `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [SCHEMA_V1];

static UPSERT_DAY: LazyLock<String> = LazyLock::new(|| {
    let cols = count_columns();
    let placeholders: Vec<String> = (4..4 + cols.len()).map(|i| format!("?{i}")).collect();
    let sums: Vec<String> = cols
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO day_counts (day, department, dataset, {}) VALUES (?1, ?2, ?3, {}) \
         ON CONFLICT (day, department, dataset) DO UPDATE SET {}",
        cols.join(", "),
        placeholders.join(", "),
        sums.join(", ")
    )
});

const UPSERT_CHECK: &str = "INSERT INTO check_counts (day, department, dataset, check_id, passed, failed) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (day, department, dataset, check_id) DO UPDATE SET \
     passed = passed + excluded.passed, failed = failed + excluded.failed";

const UPSERT_OFFSET: &str = "INSERT INTO offsets (topic, partition_id, next_offset) VALUES (?1, ?2, ?3) \
     ON CONFLICT (topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset";

const UPSERT_REFERENCE: &str = "INSERT INTO reference_rows (entity, key_hash, value_hashes, updated_secs, known) \
     VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (entity, key_hash) DO UPDATE SET value_hashes = excluded.value_hashes, \
     updated_secs = excluded.updated_secs, known = excluded.known";

const UPSERT_SEEN: &str = "INSERT INTO seen (key_hash, at_ms) VALUES (?1, ?2) \
     ON CONFLICT (key_hash) DO UPDATE SET at_ms = excluded.at_ms";

const EXPIRE_SEEN: &str = "DELETE FROM seen WHERE at_ms < ?1";
const EXPIRE_REFERENCES: &str = "DELETE FROM reference_rows WHERE updated_secs < ?1";

const INSERT_VIOLATION: &str = "INSERT INTO violations (topic, partition_id, record_offset, timestamp_ms, \
     record_id, department, dataset, dimension, check_id, field, reason) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// Deletes all but the newest ?2 violations of department ?1 (a NULL
/// sub-select, i.e. fewer rows than that, deletes nothing).
const PRUNE_VIOLATIONS: &str = "DELETE FROM violations WHERE department = ?1 AND id <= \
     (SELECT id FROM violations WHERE department = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";

const SELECT_VIOLATIONS: &str = "SELECT topic, partition_id, record_offset, timestamp_ms, record_id, \
     department, dataset, dimension, check_id, field, reason FROM violations";

/// Summed (`summed`) or per-day count rows: day (NULL when summed),
/// department, dataset, then the count columns.
fn select_day_counts(summed: bool) -> String {
    let cols = count_columns();
    let filter = "WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR department = ?3)";
    if summed {
        let sums: Vec<String> = cols.iter().map(|c| format!("SUM({c})")).collect();
        format!(
            "SELECT NULL, department, dataset, {} FROM day_counts {filter} \
             GROUP BY department, dataset ORDER BY department, dataset",
            sums.join(", ")
        )
    } else {
        format!(
            "SELECT day, department, dataset, {} FROM day_counts {filter} \
             ORDER BY day, department, dataset",
            cols.join(", ")
        )
    }
}

static SELECT_SUMMED: LazyLock<String> = LazyLock::new(|| select_day_counts(true));
static SELECT_DAILY: LazyLock<String> = LazyLock::new(|| select_day_counts(false));

const SELECT_CHECKS_SUMMED: &str = "SELECT NULL, department, dataset, check_id, SUM(passed), SUM(failed) \
     FROM check_counts WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR department = ?3) \
     GROUP BY department, dataset, check_id ORDER BY department, dataset, check_id";

const SELECT_CHECKS_DAILY: &str = "SELECT day, department, dataset, check_id, passed, failed \
     FROM check_counts WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR department = ?3) \
     ORDER BY day, department, dataset, check_id";

/// SQLite implementation of [`Store`].
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
    pub fn open(path: &Path, violations_kept_per_department: usize) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        Self::init(conn, violations_kept_per_department)
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
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        // FULL, not NORMAL: in WAL mode NORMAL does not fsync the WAL at
        // commit, so after a power loss or OS crash the last acknowledged
        // checkpoints may vanish. Atomicity would survive (counts and offsets
        // roll back together) but counts already served by the API would go
        // back in time, and the replay they need may no longer be in Kafka
        // once retention has run. One fsync per checkpoint is cheap.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&mut conn)?;

        let store = SqliteStore {
            conn: Mutex::new(conn),
            violations_kept,
        };
        store.prune_all_violations()?;
        Ok(store)
    }

    /// Locks the connection. A poisoned lock is taken over: a panic while it
    /// was held unwound through any open `Transaction`, whose drop rolled it
    /// back, so the connection is in a clean state.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn prune_all_violations(&self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let departments: Vec<String> = {
            let mut stmt = tx.prepare("SELECT DISTINCT department FROM violations")?;
            stmt.query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?
        };
        for department in &departments {
            prune_violations(&tx, department, self.violations_kept)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Applies pending migrations, each in its own transaction with its
/// `user_version` bump, so an interrupted upgrade resumes where it stopped.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::UnsupportedSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let step = usize::try_from(version)
            .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
        tx.execute_batch(MIGRATIONS[step])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

impl From<rusqlite::Error> for StoreError {
    /// Keeps SQLite's own message (it names constraints and columns, never
    /// bound values) but drops the values some rusqlite variants carry.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        let text = match &e {
            E::SqliteFailure(err, Some(msg)) => format!("{msg} ({:?})", err.code),
            E::SqliteFailure(err, None) => err.to_string(),
            E::IntegralValueOutOfRange(col, _) => format!("integer out of range in column {col}"),
            E::FromSqlConversionFailure(col, ty, _) => {
                format!("cannot convert {ty} value in column {col}")
            }
            E::ToSqlConversionFailure(_) => "cannot convert a value for SQLite".to_owned(),
            other => other.to_string(),
        };
        StoreError::Backend(text)
    }
}

/// 'YYYY-MM-DD' for writing; years beyond four digits would not sort as text.
fn day_key(day: NaiveDate) -> Result<String, StoreError> {
    if !(0..=9999).contains(&day.year()) {
        return Err(StoreError::Invalid("day outside years 0000..=9999".into()));
    }
    Ok(format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        day.month(),
        day.day()
    ))
}

/// Query bounds as text, clamped to the storable years; `None` if the range
/// cannot contain a stored day.
fn query_range(from: NaiveDate, to: NaiveDate) -> Option<(String, String)> {
    let lo = from.max(NaiveDate::from_ymd_opt(0, 1, 1)?);
    let hi = to.min(NaiveDate::from_ymd_opt(9999, 12, 31)?);
    if lo > hi {
        return None;
    }
    Some((day_key(lo).ok()?, day_key(hi).ok()?))
}

fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt("day is not a YYYY-MM-DD date".into()))
}

/// SQLite integers are signed 64-bit; a delta above that is refused rather
/// than wrapped.
fn to_sql_count(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid("count above 2^63-1".into()))
}

fn from_sql_count(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative count".into()))
}

/// Big-endian, so blob order (memcmp) is numeric order of (key[0], key[1]).
fn key_bytes(key: [u64; 2]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..8].copy_from_slice(&key[0].to_be_bytes());
    b[8..].copy_from_slice(&key[1].to_be_bytes());
    b
}

fn key_from_bytes(b: &[u8]) -> Result<[u64; 2], StoreError> {
    let b: &[u8; 16] = b
        .try_into()
        .map_err(|_| StoreError::Corrupt("key hash is not 16 bytes".into()))?;
    let (hi, lo) = b.split_at(8);
    Ok([
        u64::from_be_bytes(hi.try_into().expect("8 bytes")),
        u64::from_be_bytes(lo.try_into().expect("8 bytes")),
    ])
}

/// A borrowed blob column: no allocation per row on a full reload.
fn blob<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
    row.get_ref(i)?
        .as_blob()
        .map_err(|_| StoreError::Corrupt("hash column is not a blob".into()))
}

fn values_bytes(values: [u32; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    for (chunk, v) in b.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    b
}

fn values_from_bytes(b: &[u8]) -> Result<[u32; 4], StoreError> {
    if b.len() != 16 {
        return Err(StoreError::Corrupt("value hashes are not 16 bytes".into()));
    }
    let mut values = [0; 4];
    for (v, chunk) in values.iter_mut().zip(b.chunks_exact(4)) {
        *v = u32::from_be_bytes(chunk.try_into().expect("4 bytes"));
    }
    Ok(values)
}

fn write_counts(tx: &Transaction<'_>, counts: &[DayCounts]) -> Result<(), StoreError> {
    let mut day_stmt = tx.prepare_cached(&UPSERT_DAY)?;
    let mut check_stmt = tx.prepare_cached(UPSERT_CHECK)?;
    for c in counts {
        let day = day_key(c.day)?;
        let mut values = [0i64; COUNT_COLUMNS];
        values[0] = to_sql_count(c.counts.records)?;
        values[1] = to_sql_count(c.counts.malformed)?;
        for (i, d) in c.counts.dimensions.iter().enumerate() {
            values[2 + 2 * i] = to_sql_count(d.passed)?;
            values[3 + 2 * i] = to_sql_count(d.failed)?;
        }
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&day, &c.department, &c.dataset];
        bound.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
        day_stmt.execute(bound.as_slice())?;
        for (id, counts) in &c.counts.checks {
            check_stmt.execute(params![
                day,
                c.department,
                c.dataset,
                id,
                to_sql_count(counts.passed)?,
                to_sql_count(counts.failed)?,
            ])?;
        }
    }
    Ok(())
}

fn write_violations(
    tx: &Transaction<'_>,
    violations: &[Violation],
    kept: usize,
) -> Result<(), StoreError> {
    if violations.is_empty() {
        return Ok(());
    }
    // Rows that pruning would delete at once are not inserted: a burst of
    // failures must not cost a write per failure.
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    for v in violations {
        *remaining.entry(v.department.as_str()).or_default() += 1;
    }
    let mut stmt = tx.prepare_cached(INSERT_VIOLATION)?;
    for v in violations {
        let left = remaining
            .get_mut(v.department.as_str())
            .expect("counted above");
        let skip = *left > kept;
        *left -= 1;
        if skip {
            continue;
        }
        stmt.execute(params![
            v.topic,
            v.partition,
            v.offset,
            v.timestamp,
            v.record_id,
            v.department,
            v.dataset,
            v.dimension.as_str(),
            v.check,
            v.field,
            v.reason,
        ])?;
    }
    let mut departments: Vec<&str> = remaining.into_keys().collect();
    departments.sort_unstable();
    for department in departments {
        prune_violations(tx, department, kept)?;
    }
    Ok(())
}

fn prune_violations(tx: &Transaction<'_>, department: &str, kept: usize) -> Result<(), StoreError> {
    let kept = i64::try_from(kept).unwrap_or(i64::MAX);
    tx.prepare_cached(PRUNE_VIOLATIONS)?
        .execute(params![department, kept])?;
    Ok(())
}

/// Rows in key order: inserting hashed (random) keys in B-tree order touches
/// each page once instead of at random, which is most of a large
/// checkpoint's cost. Stable, so of two rows with one key the later still
/// wins.
fn sorted_by_key<T, K: Ord>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut sorted: Vec<&T> = rows.iter().collect();
    sorted.sort_by_key(|r| key(r));
    sorted
}

fn commit_in(tx: &Transaction<'_>, cp: &Checkpoint, kept: usize) -> Result<(), StoreError> {
    write_counts(tx, &cp.counts)?;

    if !cp.offsets.is_empty() {
        let mut stmt = tx.prepare_cached(UPSERT_OFFSET)?;
        for o in &cp.offsets {
            stmt.execute(params![o.topic, o.partition, o.offset])?;
        }
    }

    if !cp.references.is_empty() {
        let mut stmt = tx.prepare_cached(UPSERT_REFERENCE)?;
        for r in sorted_by_key(&cp.references, |r| (r.entity, r.key)) {
            stmt.execute(params![
                r.entity,
                key_bytes(r.key),
                values_bytes(r.values),
                r.updated_secs,
                r.known,
            ])?;
        }
    }

    if !cp.seen.is_empty() {
        let mut stmt = tx.prepare_cached(UPSERT_SEEN)?;
        for s in sorted_by_key(&cp.seen, |s| s.key) {
            stmt.execute(params![key_bytes(s.key), s.at_ms])?;
        }
    }

    // After the upserts: the engine's memory has dropped expired rows even if
    // this very checkpoint touched them, and the store must match it.
    if let Some(expiry) = cp.expire {
        tx.prepare_cached(EXPIRE_SEEN)?
            .execute([expiry.seen_before_ms])?;
        tx.prepare_cached(EXPIRE_REFERENCES)?
            .execute([expiry.references_before_secs])?;
    }

    write_violations(tx, &cp.violations, kept)
}

/// Reads summed or daily counts with their checks.
fn read_counts(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&str>,
    summed: bool,
) -> Result<Vec<DayCounts>, StoreError> {
    let Some((lo, hi)) = query_range(from, to) else {
        return Ok(Vec::new());
    };
    // BTreeMap: output order (day, department, dataset) by Rust's ordering,
    // whatever the SQL collation.
    type Key = (NaiveDate, String, String);
    let mut out: BTreeMap<Key, DayCounts> = BTreeMap::new();
    let key_of = |row: &Row<'_>| -> Result<Key, StoreError> {
        let day = if summed {
            from
        } else {
            parse_day(&row.get::<_, String>(0)?)?
        };
        Ok((day, row.get(1)?, row.get(2)?))
    };

    let sql = if summed {
        &*SELECT_SUMMED
    } else {
        &*SELECT_DAILY
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![lo, hi, department])?;
    while let Some(row) = rows.next()? {
        let key = key_of(row)?;
        let mut v = [0u64; COUNT_COLUMNS];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = from_sql_count(row.get(3 + i)?)?;
        }
        let mut dimensions = [Counts::ZERO; 5];
        for (i, d) in dimensions.iter_mut().enumerate() {
            *d = Counts {
                passed: v[2 + 2 * i],
                failed: v[3 + 2 * i],
            };
        }
        let (day, department, dataset) = key.clone();
        out.insert(
            key,
            DayCounts {
                day,
                department,
                dataset,
                counts: DatasetCounts {
                    records: v[0],
                    malformed: v[1],
                    dimensions,
                    checks: Vec::new(),
                },
            },
        );
    }

    let sql = if summed {
        SELECT_CHECKS_SUMMED
    } else {
        SELECT_CHECKS_DAILY
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![lo, hi, department])?;
    while let Some(row) = rows.next()? {
        let key = key_of(row)?;
        let id: String = row.get(3)?;
        let counts = Counts {
            passed: from_sql_count(row.get(4)?)?,
            failed: from_sql_count(row.get(5)?)?,
        };
        // A check row always comes with its day row (both are written from
        // one DayCounts); the fallback only keeps counts visible if not.
        let entry = out
            .entry(key)
            .or_insert_with_key(|(day, department, dataset)| {
                DayCounts::new(*day, department, dataset)
            });
        entry.counts.checks.push((id, counts));
    }

    let mut result: Vec<DayCounts> = out.into_values().collect();
    for c in &mut result {
        c.counts.checks.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(result)
}

fn violation_from_row(row: &Row<'_>) -> rusqlite::Result<Violation> {
    let dimension: String = row.get(7)?;
    let dimension = Dimension::parse(&dimension).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            "not a dimension".into(),
        )
    })?;
    Ok(Violation {
        topic: row.get(0)?,
        partition: row.get(1)?,
        offset: row.get(2)?,
        timestamp: row.get(3)?,
        record_id: row.get(4)?,
        department: row.get(5)?,
        dataset: row.get(6)?,
        dimension,
        check: row.get(8)?,
        field: row.get(9)?,
        reason: row.get(10)?,
    })
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
        commit_in(&tx, checkpoint, self.violations_kept)?;
        tx.commit()?;
        Ok(())
    }

    fn offsets(&self) -> Result<Vec<PartitionOffset>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT topic, partition_id, next_offset FROM offsets ORDER BY topic, partition_id",
        )?;
        let rows = stmt
            .query_map([], |row| {
                Ok(PartitionOffset {
                    topic: row.get(0)?,
                    partition: row.get(1)?,
                    offset: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT entity, key_hash, value_hashes, updated_secs, known FROM reference_rows \
             ORDER BY entity, key_hash",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(ReferenceRow {
                entity: row.get(0)?,
                key: key_from_bytes(blob(row, 1)?)?,
                values: values_from_bytes(blob(row, 2)?)?,
                updated_secs: row.get(3)?,
                known: row.get(4)?,
            });
        }
        Ok(out)
    }

    fn seen(&self) -> Result<Vec<SeenRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT key_hash, at_ms FROM seen ORDER BY key_hash")?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(SeenRow {
                key: key_from_bytes(blob(row, 0)?)?,
                at_ms: row.get(1)?,
            });
        }
        Ok(out)
    }
}

impl SqliteStore {
    /// Per-day counts (not summed), for tests that compare whole stores.
    #[cfg(test)]
    pub(crate) fn daily_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        read_counts(&self.lock(), from, to, department, false)
    }
}

impl ScoreStore for SqliteStore {
    fn counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        read_counts(&self.lock(), from, to, department, true)
    }

    fn recent_violations(
        &self,
        department: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Violation>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.lock();
        // Two statements rather than `?1 IS NULL OR department = ?1`, so the
        // filtered one walks the (department, id) index backwards.
        let rows = match department {
            Some(d) => {
                let sql =
                    format!("{SELECT_VIOLATIONS} WHERE department = ?1 ORDER BY id DESC LIMIT ?2");
                let mut stmt = conn.prepare_cached(&sql)?;
                stmt.query_map(params![d, limit], violation_from_row)?
                    .collect::<Result<_, _>>()?
            }
            None => {
                let sql = format!("{SELECT_VIOLATIONS} ORDER BY id DESC LIMIT ?1");
                let mut stmt = conn.prepare_cached(&sql)?;
                stmt.query_map(params![limit], violation_from_row)?
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Expiry;
    use proptest::prelude::*;
    use std::time::Instant;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn counts(day: &str, department: &str, dataset: &str, records: u64) -> DayCounts {
        let mut c = DayCounts::new(d(day), department, dataset);
        c.counts.records = records;
        c.counts.malformed = records / 10;
        for (i, dim) in c.counts.dimensions.iter_mut().enumerate() {
            *dim = [records * (i as u64 + 1), i as u64].into();
        }
        c.counts.checks = vec![
            ("b-check".into(), [records, 1].into()),
            ("a-check".into(), [2, records].into()),
        ];
        c
    }

    fn violation(department: &str, offset: i64) -> Violation {
        Violation {
            topic: "t".into(),
            partition: 0,
            offset,
            timestamp: 1_000 + offset,
            record_id: Some(format!("r{offset}")),
            department: department.into(),
            dataset: "ds".into(),
            dimension: Dimension::Format,
            check: "c".into(),
            field: None,
            reason: "bad".into(),
        }
    }

    fn reference(entity: u16, k: u64, updated_secs: u32) -> ReferenceRow {
        ReferenceRow {
            entity,
            key: [k, !k],
            values: [1, 2, 3, k as u32],
            updated_secs,
            known: 0b101,
        }
    }

    #[test]
    fn deltas_committed_twice_are_summed() {
        let store = SqliteStore::in_memory(10).unwrap();
        let cp = Checkpoint {
            counts: vec![counts("2026-06-15", "tax", "persons", 5)],
            ..Default::default()
        };
        store.commit(&cp).unwrap();
        store.commit(&cp).unwrap();
        let got = store
            .counts(d("2026-06-15"), d("2026-06-15"), None)
            .unwrap();
        let mut want = counts("2026-06-15", "tax", "persons", 5);
        want.add(&counts("2026-06-15", "tax", "persons", 5));
        want.counts.checks.sort();
        assert_eq!(got, vec![want]);
        assert_eq!(got[0].counts.records, 10);
        assert_eq!(got[0].counts.check("a-check"), Some([4, 10].into()));
        assert_eq!(got[0].counts.checks[0].0, "a-check", "checks sorted by id");
    }

    #[test]
    fn offsets_are_overwritten() {
        let store = SqliteStore::in_memory(10).unwrap();
        store
            .commit(&Checkpoint {
                offsets: vec![
                    PartitionOffset::new("b", 1, 10),
                    PartitionOffset::new("a", 2, 5),
                    PartitionOffset::new("a", 0, 7),
                ],
                ..Default::default()
            })
            .unwrap();
        store
            .commit(&Checkpoint {
                offsets: vec![
                    PartitionOffset::new("a", 2, 9),
                    PartitionOffset::new("a", 2, 11),
                ],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            store.offsets().unwrap(),
            vec![
                PartitionOffset::new("a", 0, 7),
                PartitionOffset::new("a", 2, 11),
                PartitionOffset::new("b", 1, 10)
            ]
        );
    }

    #[test]
    fn references_and_seen_are_upserted_and_expired() {
        let store = SqliteStore::in_memory(10).unwrap();
        store
            .commit(&Checkpoint {
                references: vec![
                    reference(1, 1, 100),
                    reference(1, 2, 100),
                    reference(2, 1, 50),
                ],
                seen: vec![
                    SeenRow {
                        key: [1, 1],
                        at_ms: 1_000,
                    },
                    SeenRow {
                        key: [2, 2],
                        at_ms: 2_000,
                    },
                    SeenRow {
                        key: [u64::MAX, 0],
                        at_ms: 3_000,
                    },
                ],
                ..Default::default()
            })
            .unwrap();
        let mut updated = reference(1, 2, 300);
        updated.values = [9, 9, 9, 9];
        updated.known = 1;
        store
            .commit(&Checkpoint {
                references: vec![updated],
                seen: vec![SeenRow {
                    key: [1, 1],
                    at_ms: 5_000,
                }],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            store.references().unwrap(),
            vec![reference(1, 1, 100), updated, reference(2, 1, 50)]
        );
        assert_eq!(
            store.seen().unwrap(),
            vec![
                SeenRow {
                    key: [1, 1],
                    at_ms: 5_000
                },
                SeenRow {
                    key: [2, 2],
                    at_ms: 2_000
                },
                SeenRow {
                    key: [u64::MAX, 0],
                    at_ms: 3_000
                },
            ]
        );

        // Expiry applies after the upserts of the same checkpoint.
        store
            .commit(&Checkpoint {
                seen: vec![SeenRow {
                    key: [7, 7],
                    at_ms: 10,
                }],
                expire: Some(Expiry {
                    seen_before_ms: 3_000,
                    references_before_secs: 100,
                }),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            store.seen().unwrap(),
            vec![
                SeenRow {
                    key: [1, 1],
                    at_ms: 5_000
                },
                SeenRow {
                    key: [u64::MAX, 0],
                    at_ms: 3_000
                },
            ]
        );
        assert_eq!(
            store.references().unwrap(),
            vec![reference(1, 1, 100), updated]
        );
    }

    #[test]
    fn violations_pruned_per_department_newest_first() {
        let store = SqliteStore::in_memory(3).unwrap();
        store
            .commit(&Checkpoint {
                violations: (1..=5)
                    .map(|o| violation("tax", o))
                    .chain([violation("health", 100), violation("health", 101)])
                    .collect(),
                ..Default::default()
            })
            .unwrap();
        store
            .commit(&Checkpoint {
                violations: vec![violation("tax", 6), violation("tax", 7)],
                ..Default::default()
            })
            .unwrap();
        let offsets = |rows: Vec<Violation>| rows.iter().map(|v| v.offset).collect::<Vec<_>>();
        assert_eq!(
            offsets(store.recent_violations(Some("tax"), 10).unwrap()),
            [7, 6, 5]
        );
        assert_eq!(
            offsets(store.recent_violations(Some("health"), 10).unwrap()),
            [101, 100]
        );
        assert_eq!(
            offsets(store.recent_violations(Some("tax"), 2).unwrap()),
            [7, 6]
        );
        assert_eq!(
            offsets(store.recent_violations(None, 4).unwrap()),
            [7, 6, 101, 100]
        );
        assert!(
            store
                .recent_violations(Some("none"), 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.recent_violations(None, 1).unwrap()[0],
            violation("tax", 7)
        );
        let total: i64 = store
            .lock()
            .query_row("SELECT count(*) FROM violations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, 5, "pruned rows are deleted, not just hidden");
    }

    #[test]
    fn lowering_violations_kept_prunes_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dq.sqlite");
        {
            let store = SqliteStore::open(&path, 10).unwrap();
            store
                .commit(&Checkpoint {
                    violations: (1..=6).map(|o| violation("tax", o)).collect(),
                    ..Default::default()
                })
                .unwrap();
        }
        let store = SqliteStore::open(&path, 2).unwrap();
        let rows = store.recent_violations(None, 100).unwrap();
        assert_eq!(rows.iter().map(|v| v.offset).collect::<Vec<_>>(), [6, 5]);
        let store = SqliteStore::in_memory(0).unwrap();
        store
            .commit(&Checkpoint {
                violations: vec![violation("tax", 1)],
                ..Default::default()
            })
            .unwrap();
        assert!(store.recent_violations(None, 100).unwrap().is_empty());
    }

    /// A checkpoint with state in every table, for atomicity checks.
    fn full_checkpoint(records: u64, next_offset: i64) -> Checkpoint {
        Checkpoint {
            counts: vec![
                counts("2026-06-15", "tax", "persons", records),
                counts("2026-06-16", "health", "cases", records),
            ],
            offsets: vec![
                PartitionOffset::new("t", 0, next_offset),
                PartitionOffset::new("t", 1, next_offset),
            ],
            references: vec![reference(1, next_offset as u64, 10)],
            seen: vec![SeenRow {
                key: [next_offset as u64, 0],
                at_ms: next_offset,
            }],
            expire: None,
            violations: vec![violation("tax", next_offset)],
        }
    }

    /// Everything a commit can change, for before/after comparison.
    type Snapshot = (
        Vec<DayCounts>,
        Vec<PartitionOffset>,
        Vec<ReferenceRow>,
        Vec<SeenRow>,
        Vec<Violation>,
    );

    fn snapshot(store: &SqliteStore) -> Snapshot {
        (
            store
                .daily_counts(d("2000-01-01"), d("2100-01-01"), None)
                .unwrap(),
            store.offsets().unwrap(),
            store.references().unwrap(),
            store.seen().unwrap(),
            store.recent_violations(None, 100).unwrap(),
        )
    }

    #[test]
    fn failed_checkpoint_applies_nothing() {
        let store = SqliteStore::in_memory(10).unwrap();
        store.commit(&full_checkpoint(3, 10)).unwrap();
        let before = snapshot(&store);

        // 1. CHECK constraint (negative partition) after counts and a valid offset.
        let mut cp = full_checkpoint(4, 20);
        cp.offsets.push(PartitionOffset::new("t", -1, 20));
        let err = store.commit(&cp).unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err}");
        assert!(err.to_string().contains("CHECK constraint"), "{err}");
        assert_eq!(snapshot(&store), before);

        // 2. A count that does not fit SQLite's integers, in the second DayCounts.
        let mut cp = full_checkpoint(4, 20);
        cp.counts[1].counts.dimensions[4].failed = u64::MAX;
        assert!(matches!(store.commit(&cp), Err(StoreError::Invalid(_))));
        assert_eq!(snapshot(&store), before);

        // 3. A failure injected at the very last step (violations), after
        //    counts, offsets, references and seen rows were written.
        store
            .lock()
            .execute_batch(
                "CREATE TEMP TRIGGER fail_violations BEFORE INSERT ON violations \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            )
            .unwrap();
        let err = store.commit(&full_checkpoint(4, 20)).unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert_eq!(snapshot(&store), before);

        // 4. A stored sum overflowing i64 (STRICT refuses the REAL it becomes).
        store
            .lock()
            .execute_batch("DROP TRIGGER fail_violations")
            .unwrap();
        let mut big = counts("2026-06-15", "tax", "persons", 0);
        big.counts.records = i64::MAX as u64;
        let mut cp = full_checkpoint(4, 20);
        cp.counts.push(big);
        let err = store.commit(&cp).unwrap_err();
        assert!(
            err.to_string().contains("REAL value in INTEGER column"),
            "{err}"
        );
        assert_eq!(snapshot(&store), before);

        // The store stays usable after failed commits.
        store.commit(&full_checkpoint(4, 20)).unwrap();
        let got = store
            .counts(d("2026-06-15"), d("2026-06-15"), None)
            .unwrap();
        assert_eq!(got[0].counts.records, 7);
        assert_eq!(
            store.offsets().unwrap()[0],
            PartitionOffset::new("t", 0, 20)
        );
    }

    #[test]
    fn file_store_is_durable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dq.sqlite");
        let before = {
            let store = SqliteStore::open(&path, 10).unwrap();
            store.commit(&full_checkpoint(3, 10)).unwrap();
            store.commit(&full_checkpoint(4, 20)).unwrap();
            let conn = store.lock();
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            let sync: i64 = conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            assert_eq!(sync, 2, "synchronous=FULL");
            drop(conn);
            snapshot(&store)
        };
        let store = SqliteStore::open(&path, 10).unwrap();
        assert_eq!(snapshot(&store), before);
        let got = store
            .counts(d("2026-06-01"), d("2026-06-30"), Some("tax"))
            .unwrap();
        assert_eq!(got[0].counts.records, 7);
        assert_eq!(
            store.offsets().unwrap(),
            vec![
                PartitionOffset::new("t", 0, 20),
                PartitionOffset::new("t", 1, 20)
            ]
        );
        let version: i64 = store
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn generated_sql_matches_the_frozen_schema() {
        let store = SqliteStore::in_memory(1).unwrap();
        let conn = store.lock();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('day_counts')")
            .unwrap();
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(columns[..3], ["day", "department", "dataset"]);
        assert_eq!(columns[3..], count_columns()[..]);
        assert_eq!(count_columns().len(), COUNT_COLUMNS);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dq.sqlite");
        drop(SqliteStore::open(&path, 10).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        match SqliteStore::open(&path, 10) {
            Err(StoreError::UnsupportedSchema { found, supported }) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            other => panic!("expected UnsupportedSchema, got {other:?}"),
        }
    }

    #[test]
    fn counts_sum_days_in_range_only() {
        let store = SqliteStore::in_memory(10).unwrap();
        store
            .commit(&Checkpoint {
                counts: vec![
                    counts("2026-05-31", "tax", "persons", 1000),
                    counts("2026-06-01", "tax", "persons", 1),
                    counts("2026-06-15", "tax", "persons", 2),
                    counts("2026-06-15", "tax", "firms", 4),
                    counts("2026-06-30", "health", "cases", 8),
                    counts("2026-07-01", "tax", "persons", 1000),
                ],
                ..Default::default()
            })
            .unwrap();
        let june = store
            .counts(d("2026-06-01"), d("2026-06-30"), None)
            .unwrap();
        let keys: Vec<_> = june
            .iter()
            .map(|c| {
                (
                    c.day,
                    c.department.as_str(),
                    c.dataset.as_str(),
                    c.counts.records,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (d("2026-06-01"), "health", "cases", 8),
                (d("2026-06-01"), "tax", "firms", 4),
                (d("2026-06-01"), "tax", "persons", 3),
            ]
        );
        let persons = &june[2];
        assert_eq!(persons.counts.dimensions[4], [15, 8].into());
        assert_eq!(persons.counts.check("a-check"), Some([4, 3].into()));
        assert_eq!(persons.counts.check("b-check"), Some([3, 2].into()));

        let tax = store
            .counts(d("2026-06-01"), d("2026-06-30"), Some("tax"))
            .unwrap();
        assert_eq!(tax.len(), 2);
        assert!(tax.iter().all(|c| c.department == "tax"));
        assert!(
            store
                .counts(d("2026-06-02"), d("2026-06-14"), None)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .counts(d("2026-06-30"), d("2026-06-01"), None)
                .unwrap()
                .is_empty()
        );
        // Bounds beyond storable years are clamped, not an error.
        let all = store
            .counts(NaiveDate::MIN, NaiveDate::MAX, Some("tax"))
            .unwrap();
        assert_eq!(all.iter().map(|c| c.counts.records).sum::<u64>(), 2007);
    }

    #[test]
    fn daily_counts_are_per_day() {
        let store = SqliteStore::in_memory(10).unwrap();
        store
            .commit(&Checkpoint {
                counts: vec![
                    counts("2026-06-02", "tax", "persons", 2),
                    counts("2026-06-01", "tax", "persons", 1),
                    counts("2026-06-01", "health", "cases", 5),
                    counts("2026-06-03", "tax", "persons", 3),
                ],
                ..Default::default()
            })
            .unwrap();
        let days = store
            .daily_counts(d("2026-06-01"), d("2026-06-02"), None)
            .unwrap();
        let keys: Vec<_> = days
            .iter()
            .map(|c| {
                (
                    c.day,
                    c.department.as_str(),
                    c.counts.records,
                    c.counts.checks.len(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (d("2026-06-01"), "health", 5, 2),
                (d("2026-06-01"), "tax", 1, 2),
                (d("2026-06-02"), "tax", 2, 2),
            ]
        );
        assert_eq!(days[1], {
            let mut c = counts("2026-06-01", "tax", "persons", 1);
            c.counts.checks.sort();
            c
        });
        let tax = store
            .daily_counts(d("2026-06-01"), d("2026-06-30"), Some("tax"))
            .unwrap();
        assert_eq!(
            tax.iter().map(|c| c.counts.records).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn days_outside_four_digit_years_are_refused() {
        let store = SqliteStore::in_memory(10).unwrap();
        let mut c = DayCounts::new(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap(), "a", "b");
        c.counts.records = 1;
        let err = store
            .commit(&Checkpoint {
                counts: vec![c],
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
    }

    #[test]
    fn shared_across_threads() {
        // Also proves the trait is object-safe: the daemon holds an Arc<dyn CheckpointStore>.
        let store = std::sync::Arc::new(SqliteStore::in_memory(10).unwrap());
        let _: std::sync::Arc<dyn CheckpointStore> = store.clone();
        let _: std::sync::Arc<dyn ScoreStore> = store.clone();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        store
                            .commit(&Checkpoint {
                                counts: vec![counts("2026-06-15", "tax", "persons", t + 1)],
                                ..Default::default()
                            })
                            .unwrap();
                        store
                            .counts(d("2026-06-15"), d("2026-06-15"), None)
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let got = store
            .counts(d("2026-06-15"), d("2026-06-15"), None)
            .unwrap();
        assert_eq!(got[0].counts.records, 25 * (1 + 2 + 3 + 4));
    }

    /// Deterministic pseudo-random keys for the timing test.
    fn mix(i: u64) -> u64 {
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 31;
        x.wrapping_mul(0xBF58_476D_1CE4_E5B9)
    }

    /// Prints how long big checkpoints take on a real file (fsync included).
    /// Run with `--nocapture`; asserts no time, only the contents.
    #[test]
    fn large_checkpoint_timing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("dq.sqlite"), 100).unwrap();
        let big = |round: u64| Checkpoint {
            counts: (0..50)
                .map(|i| {
                    counts(
                        "2026-06-15",
                        &format!("dep{}", i % 10),
                        &format!("ds{i}"),
                        7,
                    )
                })
                .collect(),
            offsets: (0..12)
                .map(|p| PartitionOffset::new("topic", p, 1_000 * round as i64))
                .collect(),
            references: (0..10_000)
                .map(|i| reference((i % 4) as u16, mix(round * 10_000 + i), 1_000))
                .collect(),
            seen: (0..100_000)
                .map(|i| SeenRow {
                    key: [mix(round * 100_000 + i), i],
                    // Increasing over rounds, as message times are.
                    at_ms: (round * 100_000 + i) as i64,
                })
                .collect(),
            expire: Some(Expiry {
                seen_before_ms: 0,
                references_before_secs: 0,
            }),
            violations: (0..1_000)
                .map(|i| violation(&format!("dep{}", i % 10), i))
                .collect(),
        };
        for round in 0..3 {
            let cp = big(round);
            let start = Instant::now();
            store.commit(&cp).unwrap();
            println!(
                "checkpoint {round}: 100k seen + 10k references (+50 counts, 1k violations) \
                 committed in {:?}",
                start.elapsed()
            );
        }
        let start = Instant::now();
        let seen = store.seen().unwrap();
        let references = store.references().unwrap();
        println!(
            "reload of {} seen + {} references in {:?}",
            seen.len(),
            references.len(),
            start.elapsed()
        );
        assert_eq!(seen.len(), 300_000);
        assert_eq!(references.len(), 30_000);
    }

    /// Child half of the kill -9 test: commits checkpoints in a loop until
    /// killed. Does nothing unless started by the parent test.
    #[test]
    fn kill9_child() {
        let Ok(path) = std::env::var(CRASH_DB_VAR) else {
            return;
        };
        let store = SqliteStore::open(Path::new(&path), 5).unwrap();
        let mut next = store.offsets().unwrap().first().map_or(0, |o| o.offset);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Bounded, so an orphaned child stops on its own.
        while Instant::now() < deadline {
            store.commit(&crash_checkpoint(next)).unwrap();
            next += CRASH_STEP;
        }
    }

    const CRASH_DB_VAR: &str = "DQMON_STORE_KILL9_DB";
    const CRASH_STEP: i64 = 7;
    const CRASH_SEEN: i64 = 500;

    /// Checkpoint consuming offsets next..next+7: 7 records, 500 seen rows.
    fn crash_checkpoint(next: i64) -> Checkpoint {
        let mut c = counts("2026-06-15", "tax", "persons", CRASH_STEP as u64);
        c.counts.checks.truncate(1);
        Checkpoint {
            counts: vec![c],
            offsets: vec![PartitionOffset::new("t", 0, next + CRASH_STEP)],
            seen: (0..CRASH_SEEN)
                .map(|i| SeenRow {
                    key: [next as u64, i as u64],
                    at_ms: next,
                })
                .collect(),
            violations: vec![violation("tax", next)],
            ..Default::default()
        }
    }

    /// kill -9 of a process in the middle of committing, then reopen: counts,
    /// offsets and state always agree (each equals k checkpoints' worth).
    #[cfg(unix)]
    #[test]
    fn kill9_at_any_moment_keeps_counts_offsets_and_state_together() {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dq.sqlite");
        drop(SqliteStore::open(&path, 5).unwrap());
        let test_name = format!(
            "{}::kill9_child",
            module_path!().split_once("::").expect("crate::path").1
        );
        let stored_offset = || -> i64 {
            let conn = Connection::open(&path).unwrap();
            conn.busy_timeout(BUSY_TIMEOUT).unwrap();
            conn.query_row(
                "SELECT coalesce(max(next_offset), 0) FROM offsets",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let mut last = 0;
        for (round, extra_ms) in [0u64, 1, 2, 3, 5, 8, 13, 21].into_iter().enumerate() {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args([test_name.as_str(), "--exact", "--test-threads=1"])
                .env(CRASH_DB_VAR, &path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Wait until the child is committing, then kill it at a varying moment.
            let deadline = Instant::now() + Duration::from_secs(60);
            while stored_offset() <= last {
                assert!(Instant::now() < deadline, "child made no progress");
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(extra_ms));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();

            let store = SqliteStore::open(&path, 5).unwrap();
            let offset = store.offsets().unwrap()[0].offset;
            let records = store
                .counts(d("2026-06-15"), d("2026-06-15"), None)
                .unwrap()[0]
                .counts
                .records;
            let seen = store.seen().unwrap().len() as i64;
            assert_eq!(records as i64, offset, "round {round}");
            assert_eq!(seen, offset / CRASH_STEP * CRASH_SEEN, "round {round}");
            assert!(offset > last, "round {round}");
            last = offset;
        }
        println!(
            "kill -9 test: {} checkpoints survived 8 kills",
            last / CRASH_STEP
        );
    }

    /// A small key space so deltas collide.
    fn arb_counts() -> impl Strategy<Value = DayCounts> {
        (
            0u32..4,
            prop::sample::select(vec!["tax", "health"]),
            prop::sample::select(vec!["a", "b"]),
            0u64..1_000,
            0u64..10,
            prop::array::uniform5([0u64..50, 0u64..50]),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["c1", "c2", "c3"]),
                    [0u64..9, 0u64..9],
                ),
                0..3,
            ),
        )
            .prop_map(|(day, dep, ds, records, malformed, dimensions, checks)| {
                let mut c =
                    DayCounts::new(d("2026-06-28") + chrono::Days::new(day.into()), dep, ds);
                c.counts.records = records;
                c.counts.malformed = malformed;
                c.counts.dimensions = dimensions.map(Counts::from);
                // Check ids unique within one delta, as the engine emits them.
                for (id, pf) in checks {
                    if c.counts.check(id).is_none() {
                        c.counts.checks.push((id.to_owned(), pf.into()));
                    }
                }
                c
            })
    }

    fn arb_checkpoint() -> impl Strategy<Value = Checkpoint> {
        (
            prop::collection::vec(arb_counts(), 0..5),
            prop::collection::vec((0i32..3, 0i64..1_000), 0..3),
        )
            .prop_map(|(counts, offsets)| Checkpoint {
                counts,
                offsets: offsets
                    .into_iter()
                    .map(|(p, o)| PartitionOffset::new("t", p, o))
                    .collect(),
                ..Default::default()
            })
    }

    /// Expected counts, computed without SQL.
    fn model(checkpoints: &[Checkpoint]) -> Vec<DayCounts> {
        let mut map: BTreeMap<(NaiveDate, String, String), DayCounts> = BTreeMap::new();
        for c in checkpoints.iter().flat_map(|cp| &cp.counts) {
            map.entry((c.day, c.department.clone(), c.dataset.clone()))
                .or_insert_with(|| DayCounts::new(c.day, &c.department, &c.dataset))
                .add(c);
        }
        map.into_values()
            .map(|mut c| {
                c.counts.checks.sort();
                c
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Committing the same deltas one by one, all at once, or in any
        /// grouping gives the same counts and offsets.
        #[test]
        fn grouping_of_checkpoints_does_not_matter(
            checkpoints in prop::collection::vec(arb_checkpoint(), 1..8),
            cuts in prop::collection::vec(any::<bool>(), 8),
        ) {
            let one_by_one = SqliteStore::in_memory(10).unwrap();
            for cp in &checkpoints {
                one_by_one.commit(cp).unwrap();
            }
            let merged = |group: &[Checkpoint]| Checkpoint {
                counts: group.iter().flat_map(|cp| cp.counts.clone()).collect(),
                offsets: group.iter().flat_map(|cp| cp.offsets.clone()).collect(),
                ..Default::default()
            };
            let all_at_once = SqliteStore::in_memory(10).unwrap();
            all_at_once.commit(&merged(&checkpoints)).unwrap();
            let grouped = SqliteStore::in_memory(10).unwrap();
            let mut start = 0;
            for i in 1..=checkpoints.len() {
                if i == checkpoints.len() || cuts[i] {
                    grouped.commit(&merged(&checkpoints[start..i])).unwrap();
                    start = i;
                }
            }

            let (from, to) = (d("2026-06-28"), d("2026-07-01"));
            let want = model(&checkpoints);
            let summed_model = {
                let mut map: BTreeMap<(String, String), DayCounts> = BTreeMap::new();
                for c in &want {
                    map.entry((c.department.clone(), c.dataset.clone()))
                        .or_insert_with(|| DayCounts::new(from, &c.department, &c.dataset))
                        .add(c);
                }
                map.into_values().map(|mut c| { c.counts.checks.sort(); c }).collect::<Vec<_>>()
            };
            for store in [&one_by_one, &all_at_once, &grouped] {
                prop_assert_eq!(&store.daily_counts(from, to, None).unwrap(), &want);
                prop_assert_eq!(&store.counts(from, to, None).unwrap(), &summed_model);
                prop_assert_eq!(store.offsets().unwrap(), one_by_one.offsets().unwrap());
            }
        }
    }
}

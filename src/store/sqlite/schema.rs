//! The database layout and every statement run against it. Schema versions
//! are frozen once released; the statements are built from the same column
//! list as the DDL, and a test checks both agree.

use std::sync::LazyLock;

use rusqlite::{Connection, TransactionBehavior};

use crate::store::StoreError;
use crate::store::version::check_version;

/// `PRAGMA user_version` this code writes. A migration from version `n` to
/// `n + 1` is `MIGRATIONS[n]`.
pub(crate) const SCHEMA_VERSION: i64 = 6;

pub(crate) use crate::store::columns::{COUNT_COLUMNS, count_columns};

/// Schema v1, frozen: a later change is a new entry in [`MIGRATIONS`], never
/// an edit here. STRICT makes SQLite reject a value of the wrong type (e.g.
/// an integer sum that overflowed into a REAL) instead of storing it; WITHOUT
/// ROWID keeps rows in their primary-key B-tree, halving the work for tables
/// only looked up by that key.
pub(super) const SCHEMA_V1: &str = "CREATE TABLE IF NOT EXISTS day_counts (
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

/// Schema v2, frozen: violations say whether their message was judged late.
const SCHEMA_V2: &str =
    "ALTER TABLE violations ADD COLUMN late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1));";

/// Schema v3, frozen: who may write each partition's offsets (fencing).
const SCHEMA_V3: &str = "CREATE TABLE IF NOT EXISTS partition_claims (
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL CHECK (partition_id >= 0),
    epoch INTEGER NOT NULL CHECK (epoch >= 1),
    owner TEXT NOT NULL,
    PRIMARY KEY (topic, partition_id)
) STRICT, WITHOUT ROWID;";

/// Schema v4, frozen: the ledger (sealed reports, audit log), append-only:
/// the triggers refuse every UPDATE and DELETE of their rows.
const SCHEMA_V4: &str = "CREATE TABLE IF NOT EXISTS sealed_reports (
    period_from TEXT NOT NULL CHECK (period_from GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    period_to TEXT NOT NULL CHECK (period_to GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    version INTEGER NOT NULL CHECK (version >= 1),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    amends TEXT CHECK (amends IS NULL OR length(amends) = 64),
    report BLOB NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (period_from, period_to, version)
) STRICT;
CREATE TRIGGER IF NOT EXISTS sealed_reports_no_update BEFORE UPDATE ON sealed_reports
BEGIN SELECT RAISE(ABORT, 'sealed reports are append-only'); END;
CREATE TRIGGER IF NOT EXISTS sealed_reports_no_delete BEFORE DELETE ON sealed_reports
BEGIN SELECT RAISE(ABORT, 'sealed reports are append-only'); END;
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;";

/// Schema v5, frozen: rectification findings, one row per opening of a
/// (dataset, entity key hash, check); `fixed_ms` set when a later record
/// passed the check.
const SCHEMA_V5: &str = "CREATE TABLE IF NOT EXISTS findings (
    dataset TEXT NOT NULL,
    key_hash BLOB NOT NULL CHECK (length(key_hash) = 16),
    check_id TEXT NOT NULL,
    opened_ms INTEGER NOT NULL,
    department TEXT NOT NULL,
    dimension TEXT NOT NULL,
    opened_day TEXT NOT NULL CHECK (opened_day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    record_offset INTEGER NOT NULL,
    record_id TEXT,
    fixed_ms INTEGER,
    fixed_partition INTEGER,
    fixed_offset INTEGER,
    fixed_record_id TEXT,
    PRIMARY KEY (dataset, key_hash, check_id, opened_ms)
) STRICT, WITHOUT ROWID;
-- Open findings by department and day (summary, restore), fixed ones by
-- department and time to fix (median).
CREATE INDEX IF NOT EXISTS findings_open ON findings (department, opened_day) WHERE fixed_ms IS NULL;
CREATE INDEX IF NOT EXISTS findings_fixed ON findings (department, fixed_ms - opened_ms) WHERE fixed_ms IS NOT NULL;";

/// Schema v6, frozen: disputes, and every failed check of a record while it
/// is disputable (`failures`, pruned by message time).
const SCHEMA_V6: &str = "CREATE TABLE IF NOT EXISTS failures (
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    record_offset INTEGER NOT NULL,
    check_id TEXT NOT NULL,
    record_id TEXT,
    timestamp_ms INTEGER NOT NULL,
    day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dimension TEXT NOT NULL,
    PRIMARY KEY (topic, partition_id, record_offset, check_id)
) STRICT, WITHOUT ROWID;
-- The records that failed a check (disputes of it), and pruning by age.
CREATE INDEX IF NOT EXISTS failures_check ON failures (dataset, check_id, day);
CREATE INDEX IF NOT EXISTS failures_age ON failures (timestamp_ms);
CREATE TABLE IF NOT EXISTS disputes (
    id INTEGER PRIMARY KEY,
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    check_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    topic TEXT,
    partition_id INTEGER,
    record_offset INTEGER,
    from_day TEXT NOT NULL,
    to_day TEXT NOT NULL,
    record_id TEXT,
    reason TEXT NOT NULL,
    authority_department TEXT,
    authority_dataset TEXT,
    stage TEXT NOT NULL CHECK (stage IN ('filed', 'verifying', 'deciding', 'upheld', 'rejected')),
    filed_ms INTEGER NOT NULL,
    filed_day TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    accepted_ms INTEGER,
    accepted_day TEXT,
    accepted_by TEXT,
    verified_ms INTEGER,
    verified_day TEXT,
    verified_by TEXT,
    verification TEXT CHECK (verification IN ('ours_right', 'ours_wrong')),
    verification_note TEXT,
    decided_ms INTEGER,
    decided_day TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    CHECK ((topic IS NULL) = (partition_id IS NULL) AND (topic IS NULL) = (record_offset IS NULL))
) STRICT;
CREATE INDEX IF NOT EXISTS disputes_finding ON disputes (dataset, check_id);";

/// `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6,
];

/// The schema version a database was written with (0: none yet).
pub(crate) fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Applies pending migrations, each in its own transaction with its
/// `user_version` bump, so an interrupted upgrade resumes where it stopped.
/// An empty database gets the whole schema in one transaction: an instance
/// opening it meanwhile waits for the write lock, then finds it complete
/// (one step at a time, it found an older schema half-way and refused it).
/// Unless `may_migrate`, an older schema is refused, under the same lock.
pub(crate) fn migrate(conn: &mut Connection, may_migrate: bool) -> Result<(), StoreError> {
    let mut first = true;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if std::mem::take(&mut first) {
            check_version(version, SCHEMA_VERSION, may_migrate)?;
        }
        if version == 0 {
            for step in MIGRATIONS {
                tx.execute_batch(step)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            return Ok(());
        }
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

// Writing a checkpoint.

pub(crate) static UPSERT_DAY: LazyLock<String> = LazyLock::new(|| {
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

pub(crate) const UPSERT_CHECK: &str = "INSERT INTO check_counts (day, department, dataset, check_id, passed, failed) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (day, department, dataset, check_id) DO UPDATE SET \
     passed = passed + excluded.passed, failed = failed + excluded.failed";

pub(crate) const UPSERT_OFFSET: &str = "INSERT INTO offsets (topic, partition_id, next_offset) VALUES (?1, ?2, ?3) \
     ON CONFLICT (topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset";

pub(crate) const UPSERT_REFERENCE: &str = "INSERT INTO reference_rows (entity, key_hash, value_hashes, updated_secs, known) \
     VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (entity, key_hash) DO UPDATE SET value_hashes = excluded.value_hashes, \
     updated_secs = excluded.updated_secs, known = excluded.known";

pub(crate) const UPSERT_SEEN: &str = "INSERT INTO seen (key_hash, at_ms) VALUES (?1, ?2) \
     ON CONFLICT (key_hash) DO UPDATE SET at_ms = excluded.at_ms";

pub(crate) const EXPIRE_SEEN: &str = "DELETE FROM seen WHERE at_ms < ?1";
pub(crate) const EXPIRE_REFERENCES: &str = "DELETE FROM reference_rows WHERE updated_secs < ?1";

pub(crate) const INSERT_VIOLATION: &str = "INSERT INTO violations (topic, partition_id, record_offset, timestamp_ms, \
     record_id, department, dataset, dimension, check_id, field, reason, late) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// Deletes all but the newest ?2 violations of department ?1 (a NULL
/// sub-select, i.e. fewer rows than that, deletes nothing).
pub(crate) const PRUNE_VIOLATIONS: &str = "DELETE FROM violations WHERE department = ?1 AND id <= \
     (SELECT id FROM violations WHERE department = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";

/// Grants the next epoch of partition (?1, ?2) to owner ?3.
pub(crate) const CLAIM: &str = "INSERT INTO partition_claims (topic, partition_id, epoch, owner) \
     VALUES (?1, ?2, 1, ?3) \
     ON CONFLICT (topic, partition_id) DO UPDATE SET epoch = epoch + 1, owner = excluded.owner \
     RETURNING epoch";

pub(crate) const SELECT_CLAIM_EPOCH: &str =
    "SELECT epoch FROM partition_claims WHERE topic = ?1 AND partition_id = ?2";

pub(crate) const SELECT_VIOLATION_DEPARTMENTS: &str = "SELECT DISTINCT department FROM violations";

// Reading.

pub(crate) const SELECT_OFFSETS: &str =
    "SELECT topic, partition_id, next_offset FROM offsets ORDER BY topic, partition_id";

pub(crate) const SELECT_REFERENCES: &str = "SELECT entity, key_hash, value_hashes, updated_secs, known FROM reference_rows \
     ORDER BY entity, key_hash";

pub(crate) const SELECT_SEEN: &str = "SELECT key_hash, at_ms FROM seen ORDER BY key_hash";

const SELECT_VIOLATIONS: &str = "SELECT topic, partition_id, record_offset, timestamp_ms, record_id, \
     department, dataset, dimension, check_id, field, reason, late FROM violations";

// Two statements rather than `?1 IS NULL OR department = ?1`, so the
// filtered one walks the (department, id) index backwards.

pub(crate) static SELECT_RECENT_VIOLATIONS: LazyLock<String> =
    LazyLock::new(|| format!("{SELECT_VIOLATIONS} ORDER BY id DESC LIMIT ?1"));

pub(crate) static SELECT_RECENT_VIOLATIONS_OF_DEPARTMENT: LazyLock<String> = LazyLock::new(|| {
    format!("{SELECT_VIOLATIONS} WHERE department = ?1 ORDER BY id DESC LIMIT ?2")
});

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

pub(crate) static SELECT_SUMMED: LazyLock<String> = LazyLock::new(|| select_day_counts(true));
pub(crate) static SELECT_DAILY: LazyLock<String> = LazyLock::new(|| select_day_counts(false));

pub(crate) const SELECT_CHECKS_SUMMED: &str = "SELECT NULL, department, dataset, check_id, SUM(passed), SUM(failed) \
     FROM check_counts WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR department = ?3) \
     GROUP BY department, dataset, check_id ORDER BY department, dataset, check_id";

pub(crate) const SELECT_CHECKS_DAILY: &str = "SELECT day, department, dataset, check_id, passed, failed \
     FROM check_counts WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR department = ?3) \
     ORDER BY day, department, dataset, check_id";

// The ledger.

pub(crate) const INSERT_SEAL: &str = "INSERT INTO sealed_reports \
     (period_from, period_to, version, sha256, amends, report, at_ms, actor) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

const SEAL_COLUMNS: &str = "period_from, period_to, version, sha256, amends, report, at_ms, actor";

pub(crate) static SELECT_SEALS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SEAL_COLUMNS} FROM sealed_reports WHERE period_from = ?1 AND period_to = ?2 \
         ORDER BY version"
    )
});

pub(crate) const SELECT_SEAL_HEAD: &str = "SELECT version, sha256 FROM sealed_reports \
     WHERE period_from = ?1 AND period_to = ?2 ORDER BY version DESC LIMIT 1";

/// The newest version of each period: the row with no later version.
pub(crate) const SELECT_SEALED_PERIODS: &str = "SELECT period_from, period_to, version, sha256, amends, at_ms, actor \
     FROM sealed_reports s WHERE version = (SELECT MAX(version) FROM sealed_reports \
     WHERE period_from = s.period_from AND period_to = s.period_to) ORDER BY period_from, period_to";

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (at_ms, actor, role, action, subject, detail) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";

pub(crate) const SELECT_AUDIT: &str = "SELECT id, at_ms, actor, role, action, subject, detail FROM audit_log \
     WHERE id < ?1 ORDER BY id DESC LIMIT ?2";

// Findings.

pub(crate) const UPSERT_FINDING_OPENED: &str = "INSERT INTO findings (dataset, key_hash, check_id, opened_ms, \
     department, dimension, opened_day, topic, partition_id, record_offset, record_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
     ON CONFLICT (dataset, key_hash, check_id, opened_ms) DO UPDATE SET fixed_ms = NULL, \
     fixed_partition = NULL, fixed_offset = NULL, fixed_record_id = NULL";

pub(crate) const UPDATE_FINDING_FIXED: &str = "UPDATE findings SET fixed_ms = ?5, fixed_partition = ?6, \
     fixed_offset = ?7, fixed_record_id = ?8 \
     WHERE dataset = ?1 AND key_hash = ?2 AND check_id = ?3 AND opened_ms = ?4";

pub(crate) const SELECT_OPEN_FINDINGS: &str = "SELECT key_hash, dataset, check_id, opened_ms FROM findings \
     WHERE fixed_ms IS NULL ORDER BY dataset, key_hash, check_id, opened_ms";

pub(crate) const SELECT_OPEN_BY_DAY: &str = "SELECT department, opened_day, COUNT(*) FROM findings \
     WHERE fixed_ms IS NULL AND (?1 IS NULL OR department = ?1) \
     GROUP BY department, opened_day ORDER BY department, opened_day";

pub(crate) const SELECT_FIXED_COUNTS: &str = "SELECT department, COUNT(*) FROM findings \
     WHERE fixed_ms IS NOT NULL AND (?1 IS NULL OR department = ?1) \
     GROUP BY department ORDER BY department";

/// The middle one or two times to fix of a department: `?2` = (n - 1) / 2, `?3` = 1 or 2.
pub(crate) const SELECT_FIXED_MIDDLE: &str = "SELECT fixed_ms - opened_ms AS d FROM findings \
     WHERE fixed_ms IS NOT NULL AND department = ?1 ORDER BY d LIMIT ?3 OFFSET ?2";

pub(crate) const SELECT_FINDINGS: &str = "SELECT department, dataset, check_id, dimension, opened_ms, \
     opened_day, topic, partition_id, record_offset, record_id, fixed_ms, fixed_partition, \
     fixed_offset, fixed_record_id FROM findings \
     WHERE (?1 IS NULL OR department = ?1) AND ((?2 = 0 AND fixed_ms IS NULL) OR (?2 = 1 AND fixed_ms IS NOT NULL)) \
     AND (?4 IS NULL OR opened_day <= ?4) \
     ORDER BY opened_ms DESC, dataset, check_id, partition_id, record_offset LIMIT ?3";

// Disputes.

pub(crate) const INSERT_FAILURE: &str = "INSERT INTO failures (topic, partition_id, record_offset, check_id, \
     record_id, timestamp_ms, day, department, dataset, dimension) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING";

pub(crate) static PRUNE_FAILURES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM failures WHERE timestamp_ms < ?1 AND {}",
        crate::store::disputes::PRUNE_UNLESS_DISPUTED
    )
});

const FAILURE_COLUMNS: &str = "f.topic, f.partition_id, f.record_offset, f.record_id, f.timestamp_ms, \
     f.day, f.department, f.dataset, f.check_id, f.dimension";

pub(crate) static SELECT_FAILURE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {FAILURE_COLUMNS} FROM failures f \
         WHERE topic = ?1 AND partition_id = ?2 AND record_offset = ?3 AND check_id = ?4"
    )
});

/// Every failure of the records of dataset ?1 that failed check ?2 on a
/// day in ?3..=?4 (at position ?5, ?6, ?7 when ?5 is not NULL).
pub(crate) static SELECT_FAILURES_FAILING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {FAILURE_COLUMNS} FROM failures g JOIN failures f \
         ON f.topic = g.topic AND f.partition_id = g.partition_id AND f.record_offset = g.record_offset \
         WHERE g.dataset = ?1 AND g.check_id = ?2 AND g.day BETWEEN ?3 AND ?4 \
         AND (?5 IS NULL OR (g.topic = ?5 AND g.partition_id = ?6 AND g.record_offset = ?7)) \
         ORDER BY f.topic, f.partition_id, f.record_offset, f.check_id"
    )
});

pub(crate) const INSERT_DISPUTE: &str = "INSERT INTO disputes (department, dataset, check_id, dimension, \
     topic, partition_id, record_offset, from_day, to_day, record_id, reason, \
     authority_department, authority_dataset, stage, filed_ms, filed_day, filed_by) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'filed', ?14, ?15, ?16) RETURNING id";

pub(crate) const DISPUTE_COLUMNS: &str = "id, department, dataset, check_id, dimension, topic, \
     partition_id, record_offset, from_day, to_day, record_id, reason, authority_department, \
     authority_dataset, stage, filed_ms, filed_day, filed_by, accepted_ms, accepted_day, accepted_by, \
     verified_ms, verified_day, verified_by, verification, verification_note, decided_ms, \
     decided_day, decided_by, decision_reason";

pub(crate) static SELECT_DISPUTE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE id = ?1"));

pub(crate) static SELECT_DISPUTES: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DISPUTE_COLUMNS} FROM disputes ORDER BY id DESC"));

/// Writes a step's columns, only from the stage the step was allowed in.
pub(crate) const UPDATE_DISPUTE: &str = "UPDATE disputes SET stage = ?2, \
     accepted_ms = ?3, accepted_day = ?4, accepted_by = ?5, \
     verified_ms = ?6, verified_day = ?7, verified_by = ?8, verification = ?9, verification_note = ?10, \
     decided_ms = ?11, decided_day = ?12, decided_by = ?13, decision_reason = ?14 \
     WHERE id = ?1 AND stage = ?15";

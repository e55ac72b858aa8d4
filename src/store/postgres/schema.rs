//! The PostgreSQL layout and every statement run against it. Schema versions
//! are frozen once released, as in SQLite; `dqmon_schema` holds the version
//! (PostgreSQL has no `user_version`). Writes go as whole arrays (`UNNEST`),
//! one statement per table and checkpoint: on a networked database each
//! statement is a round trip, and a large checkpoint has 100 000 rows.

use std::sync::LazyLock;

use crate::store::columns::count_columns;

/// The version this code writes. A migration from version `n` to `n + 1` is
/// `MIGRATIONS[n]`.
pub(crate) const SCHEMA_VERSION: i64 = 4;

/// Schema v1, frozen: the SQLite store's v3 layout in PostgreSQL types.
/// Days are DATEs limited to the years SQLite can sort (0000..=9999, year 0
/// being 1 BC), counts BIGINT and never negative, hashes 16-byte BYTEA
/// (compared as bytes, so ordered as SQLite orders its blobs).
pub(super) const SCHEMA_V1: &str = "CREATE TABLE day_counts (
    day DATE NOT NULL CHECK (day BETWEEN '0001-01-01 BC' AND '9999-12-31'),
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    records BIGINT NOT NULL CHECK (records >= 0),
    malformed BIGINT NOT NULL CHECK (malformed >= 0),
    completeness_passed BIGINT NOT NULL CHECK (completeness_passed >= 0),
    completeness_failed BIGINT NOT NULL CHECK (completeness_failed >= 0),
    format_passed BIGINT NOT NULL CHECK (format_passed >= 0),
    format_failed BIGINT NOT NULL CHECK (format_failed >= 0),
    consistency_passed BIGINT NOT NULL CHECK (consistency_passed >= 0),
    consistency_failed BIGINT NOT NULL CHECK (consistency_failed >= 0),
    freshness_passed BIGINT NOT NULL CHECK (freshness_passed >= 0),
    freshness_failed BIGINT NOT NULL CHECK (freshness_failed >= 0),
    uniqueness_passed BIGINT NOT NULL CHECK (uniqueness_passed >= 0),
    uniqueness_failed BIGINT NOT NULL CHECK (uniqueness_failed >= 0),
    PRIMARY KEY (day, department, dataset)
);
CREATE TABLE check_counts (
    day DATE NOT NULL,
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    check_id TEXT NOT NULL,
    passed BIGINT NOT NULL CHECK (passed >= 0),
    failed BIGINT NOT NULL CHECK (failed >= 0),
    PRIMARY KEY (day, department, dataset, check_id)
);
CREATE TABLE offsets (
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL CHECK (partition_id >= 0),
    next_offset BIGINT NOT NULL CHECK (next_offset >= 0),
    PRIMARY KEY (topic, partition_id)
);
CREATE TABLE reference_rows (
    entity INTEGER NOT NULL CHECK (entity BETWEEN 0 AND 65535),
    key_hash BYTEA NOT NULL CHECK (octet_length(key_hash) = 16),
    value_hashes BYTEA NOT NULL CHECK (octet_length(value_hashes) = 16),
    updated_secs BIGINT NOT NULL CHECK (updated_secs BETWEEN 0 AND 4294967295),
    known SMALLINT NOT NULL CHECK (known BETWEEN 0 AND 255),
    PRIMARY KEY (entity, key_hash)
);
-- For expiry: without it every checkpoint would scan the whole table.
CREATE INDEX reference_rows_updated ON reference_rows (updated_secs);
CREATE TABLE seen (
    key_hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(key_hash) = 16),
    at_ms BIGINT NOT NULL
);
CREATE INDEX seen_at ON seen (at_ms);
-- Ids come from a sequence; writers take a lock on the table before
-- inserting (see INSERT_VIOLATIONS), so id order is commit order.
CREATE TABLE violations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    record_offset BIGINT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    record_id TEXT,
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dimension TEXT NOT NULL,
    check_id TEXT NOT NULL,
    field TEXT,
    reason TEXT NOT NULL,
    late BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX violations_department ON violations (department, id);
CREATE TABLE partition_claims (
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL CHECK (partition_id >= 0),
    epoch BIGINT NOT NULL CHECK (epoch >= 1),
    owner TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition_id)
);
CREATE TABLE dqmon_schema (version BIGINT NOT NULL);
INSERT INTO dqmon_schema (version) VALUES (0);
";

/// `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`; each runs
/// in one transaction with the version bump (PostgreSQL's DDL is
/// transactional), so an interrupted upgrade resumes where it stopped.
pub(super) const MIGRATIONS: [&str; SCHEMA_VERSION as usize] =
    [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4];

/// Schema v2, frozen: the SQLite store's v4 ledger (sealed reports, audit
/// log), append-only by a trigger that refuses every UPDATE and DELETE (and
/// TRUNCATE) of their rows, with an integrity SQLSTATE so the message is kept.
pub(super) const SCHEMA_V2: &str = "CREATE TABLE sealed_reports (
    period_from DATE NOT NULL CHECK (period_from BETWEEN '0001-01-01 BC' AND '9999-12-31'),
    period_to DATE NOT NULL CHECK (period_to BETWEEN '0001-01-01 BC' AND '9999-12-31'),
    version INTEGER NOT NULL CHECK (version >= 1),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    amends TEXT CHECK (amends IS NULL OR length(amends) = 64),
    report BYTEA NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (period_from, period_to, version)
);
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE FUNCTION dqmon_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER sealed_reports_append_only BEFORE UPDATE OR DELETE ON sealed_reports
    FOR EACH ROW EXECUTE FUNCTION dqmon_append_only();
CREATE TRIGGER sealed_reports_no_truncate BEFORE TRUNCATE ON sealed_reports
    FOR EACH STATEMENT EXECUTE FUNCTION dqmon_append_only();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION dqmon_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION dqmon_append_only();
";

/// Schema v3, frozen: the SQLite store's v5 rectification findings.
pub(super) const SCHEMA_V3: &str = "CREATE TABLE findings (
    dataset TEXT NOT NULL,
    key_hash BYTEA NOT NULL CHECK (octet_length(key_hash) = 16),
    check_id TEXT NOT NULL,
    opened_ms BIGINT NOT NULL,
    department TEXT NOT NULL,
    dimension TEXT NOT NULL,
    opened_day DATE NOT NULL CHECK (opened_day BETWEEN '0001-01-01 BC' AND '9999-12-31'),
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    record_offset BIGINT NOT NULL,
    record_id TEXT,
    fixed_ms BIGINT,
    fixed_partition INTEGER,
    fixed_offset BIGINT,
    fixed_record_id TEXT,
    PRIMARY KEY (dataset, key_hash, check_id, opened_ms)
);
CREATE INDEX findings_open ON findings (department, opened_day) WHERE fixed_ms IS NULL;
CREATE INDEX findings_fixed ON findings (department, (fixed_ms - opened_ms)) WHERE fixed_ms IS NOT NULL;
";

/// Schema v4, frozen: the SQLite store's v6 disputes, and every failed check
/// of a record while it is disputable (`failures`, pruned by message time).
pub(super) const SCHEMA_V4: &str = "CREATE TABLE failures (
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    record_offset BIGINT NOT NULL,
    check_id TEXT NOT NULL,
    record_id TEXT,
    timestamp_ms BIGINT NOT NULL,
    day DATE NOT NULL CHECK (day BETWEEN '0001-01-01 BC' AND '9999-12-31'),
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dimension TEXT NOT NULL,
    PRIMARY KEY (topic, partition_id, record_offset, check_id)
);
-- The records that failed a check (disputes of it), and pruning by age.
CREATE INDEX failures_check ON failures (dataset, check_id, day);
CREATE INDEX failures_age ON failures (timestamp_ms);
CREATE TABLE disputes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    department TEXT NOT NULL,
    dataset TEXT NOT NULL,
    check_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    topic TEXT,
    partition_id INTEGER,
    record_offset BIGINT,
    from_day DATE NOT NULL,
    to_day DATE NOT NULL,
    record_id TEXT,
    reason TEXT NOT NULL,
    authority_department TEXT,
    authority_dataset TEXT,
    stage TEXT NOT NULL CHECK (stage IN ('filed', 'verifying', 'deciding', 'upheld', 'rejected')),
    filed_ms BIGINT NOT NULL,
    filed_day DATE NOT NULL,
    filed_by TEXT NOT NULL,
    accepted_ms BIGINT,
    accepted_day DATE,
    accepted_by TEXT,
    verified_ms BIGINT,
    verified_day DATE,
    verified_by TEXT,
    verification TEXT CHECK (verification IN ('ours_right', 'ours_wrong')),
    verification_note TEXT,
    decided_ms BIGINT,
    decided_day DATE,
    decided_by TEXT,
    decision_reason TEXT,
    CHECK ((topic IS NULL) = (partition_id IS NULL) AND (topic IS NULL) = (record_offset IS NULL))
);
CREATE INDEX disputes_finding ON disputes (dataset, check_id);
";

/// Whether the version table exists (in the connection's search path).
pub(crate) const HAS_VERSION_TABLE: &str = "SELECT to_regclass('dqmon_schema') IS NOT NULL";
pub(crate) const SELECT_VERSION: &str = "SELECT version FROM dqmon_schema";
pub(crate) const SET_VERSION: &str = "UPDATE dqmon_schema SET version = $1";

/// Serialises migrations of one schema: two instances starting at once on an
/// empty database must not both create the tables. A session-level advisory
/// lock, keyed by the schema's name, taken outside the migrations'
/// transactions (see `Session::migrate`).
pub(crate) const LOCK_FOR_MIGRATION: &str =
    "SELECT pg_advisory_lock(1685221485, hashtext(current_schema()))";
pub(crate) const UNLOCK_AFTER_MIGRATION: &str =
    "SELECT pg_advisory_unlock(1685221485, hashtext(current_schema()))";

// Writing a checkpoint.

/// Deltas as parallel arrays ($1 days, $2 departments, $3 datasets, then one
/// per count column), summed per key first (one statement may not update a
/// row twice) in key order (so concurrent writers lock rows in one order),
/// then added to the stored row. A sum beyond BIGINT fails ("bigint out of
/// range") rather than wrap.
pub(crate) static UPSERT_DAYS: LazyLock<String> = LazyLock::new(|| {
    let cols = count_columns();
    let arrays: Vec<String> = (4..4 + cols.len())
        .map(|i| format!("${i}::bigint[]"))
        .collect();
    let sums: Vec<String> = cols.iter().map(|c| format!("sum({c})::bigint")).collect();
    let adds: Vec<String> = cols
        .iter()
        .map(|c| format!("{c} = day_counts.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO day_counts (day, department, dataset, {cols}) \
         SELECT day, department, dataset, {sums} \
         FROM UNNEST($1::date[], $2::text[], $3::text[], {arrays}) \
         AS d (day, department, dataset, {cols}) \
         GROUP BY day, department, dataset ORDER BY day, department, dataset \
         ON CONFLICT (day, department, dataset) DO UPDATE SET {adds}",
        cols = cols.join(", "),
        sums = sums.join(", "),
        arrays = arrays.join(", "),
        adds = adds.join(", "),
    )
});

pub(crate) const UPSERT_CHECKS: &str = "INSERT INTO check_counts (day, department, dataset, check_id, passed, failed) \
     SELECT day, department, dataset, check_id, sum(passed)::bigint, sum(failed)::bigint \
     FROM UNNEST($1::date[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) \
     AS c (day, department, dataset, check_id, passed, failed) \
     GROUP BY day, department, dataset, check_id ORDER BY day, department, dataset, check_id \
     ON CONFLICT (day, department, dataset, check_id) DO UPDATE SET \
     passed = check_counts.passed + excluded.passed, failed = check_counts.failed + excluded.failed";

/// Of two entries for one partition the later wins (DISTINCT ON keeps the
/// first row of each key, ordered newest first).
pub(crate) const UPSERT_OFFSETS: &str = "INSERT INTO offsets (topic, partition_id, next_offset) \
     SELECT DISTINCT ON (topic, partition_id) topic, partition_id, next_offset \
     FROM UNNEST($1::text[], $2::integer[], $3::bigint[]) WITH ORDINALITY \
     AS o (topic, partition_id, next_offset, n) \
     ORDER BY topic, partition_id, n DESC \
     ON CONFLICT (topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset";

pub(crate) const UPSERT_REFERENCES: &str = "INSERT INTO reference_rows (entity, key_hash, value_hashes, updated_secs, known) \
     SELECT DISTINCT ON (entity, key_hash) entity, key_hash, value_hashes, updated_secs, known \
     FROM UNNEST($1::integer[], $2::bytea[], $3::bytea[], $4::bigint[], $5::smallint[]) \
     WITH ORDINALITY AS r (entity, key_hash, value_hashes, updated_secs, known, n) \
     ORDER BY entity, key_hash, n DESC \
     ON CONFLICT (entity, key_hash) DO UPDATE SET value_hashes = excluded.value_hashes, \
     updated_secs = excluded.updated_secs, known = excluded.known";

pub(crate) const UPSERT_SEEN: &str = "INSERT INTO seen (key_hash, at_ms) \
     SELECT DISTINCT ON (key_hash) key_hash, at_ms \
     FROM UNNEST($1::bytea[], $2::bigint[]) WITH ORDINALITY AS s (key_hash, at_ms, n) \
     ORDER BY key_hash, n DESC \
     ON CONFLICT (key_hash) DO UPDATE SET at_ms = excluded.at_ms";

pub(crate) const EXPIRE_SEEN: &str = "DELETE FROM seen WHERE at_ms < $1";
pub(crate) const EXPIRE_REFERENCES: &str = "DELETE FROM reference_rows WHERE updated_secs < $1";

/// Taken before inserting violations and held to the commit: ids are drawn
/// from the sequence at insert time, so without it two writers could commit
/// in the other order than their ids. Conflicts with itself only (readers
/// and the other tables go on); the last lock a checkpoint takes, so it
/// cannot close a cycle of waits.
pub(crate) const LOCK_VIOLATIONS: &str = "LOCK TABLE violations IN SHARE ROW EXCLUSIVE MODE";

/// Inserted in the given order (ORDER BY the ordinality), so ids follow it.
pub(crate) const INSERT_VIOLATIONS: &str = "INSERT INTO violations (topic, partition_id, record_offset, timestamp_ms, \
     record_id, department, dataset, dimension, check_id, field, reason, late) \
     SELECT topic, partition_id, record_offset, timestamp_ms, record_id, department, dataset, \
     dimension, check_id, field, reason, late \
     FROM UNNEST($1::text[], $2::integer[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[]) WITH ORDINALITY \
     AS v (topic, partition_id, record_offset, timestamp_ms, record_id, department, dataset, \
     dimension, check_id, field, reason, late, n) \
     ORDER BY n";

/// Deletes all but the newest $2 violations of each department in $1.
pub(crate) const PRUNE_VIOLATIONS: &str = "DELETE FROM violations WHERE id IN (\
     SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY department ORDER BY id DESC) AS rank \
     FROM violations WHERE department = ANY($1)) ranked WHERE rank > $2)";

/// The same for every department (on open).
pub(crate) const PRUNE_ALL_VIOLATIONS: &str = "DELETE FROM violations WHERE id IN (\
     SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY department ORDER BY id DESC) AS rank \
     FROM violations) ranked WHERE rank > $1)";

// Claims and fencing.

/// Grants the next epoch of each partition ($1 topics, $2 partitions, no
/// duplicates) to owner $3, in key order.
pub(crate) const CLAIM: &str = "INSERT INTO partition_claims (topic, partition_id, epoch, owner) \
     SELECT topic, partition_id, 1, $3 FROM UNNEST($1::text[], $2::integer[]) AS p (topic, partition_id) \
     ORDER BY topic, partition_id \
     ON CONFLICT (topic, partition_id) DO UPDATE SET epoch = partition_claims.epoch + 1, \
     owner = excluded.owner, claimed_at = now() \
     RETURNING topic, partition_id, epoch";

/// The current epochs of the partitions a checkpoint writes, locked until it
/// commits: a claim made meanwhile waits for the commit, and a commit that
/// waited for a claim reads the new epoch (READ COMMITTED re-reads a row it
/// had to wait for).
pub(crate) const LOCK_CLAIMS: &str = "SELECT topic, partition_id, epoch FROM partition_claims \
     WHERE (topic, partition_id) IN (SELECT * FROM UNNEST($1::text[], $2::integer[])) \
     ORDER BY topic, partition_id FOR UPDATE";

// Reading. Text sorts by code point (COLLATE \"C\") where the database sorts,
// as SQLite does, whatever the database's collation.

pub(crate) const SELECT_OFFSETS: &str = "SELECT topic, partition_id, next_offset FROM offsets \
     ORDER BY topic COLLATE \"C\", partition_id";

pub(crate) const SELECT_REFERENCES: &str = "SELECT entity, key_hash, value_hashes, updated_secs, known FROM reference_rows \
     ORDER BY entity, key_hash";

pub(crate) const SELECT_SEEN: &str = "SELECT key_hash, at_ms FROM seen ORDER BY key_hash";

const SELECT_VIOLATIONS: &str = "SELECT topic, partition_id, record_offset, timestamp_ms, record_id, \
     department, dataset, dimension, check_id, field, reason, late FROM violations";

pub(crate) static SELECT_RECENT_VIOLATIONS: LazyLock<String> =
    LazyLock::new(|| format!("{SELECT_VIOLATIONS} ORDER BY id DESC LIMIT $1"));

pub(crate) static SELECT_RECENT_VIOLATIONS_OF_DEPARTMENT: LazyLock<String> = LazyLock::new(|| {
    format!("{SELECT_VIOLATIONS} WHERE department = $1 ORDER BY id DESC LIMIT $2")
});

/// Summed or per-day count rows: day (NULL when summed), department,
/// dataset, then the count columns ($1..$2 the days, $3 a department or NULL).
fn select_day_counts(summed: bool) -> String {
    let cols = count_columns();
    let filter = "WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR department = $3)";
    if summed {
        // SUM of BIGINT is NUMERIC: back to BIGINT, failing beyond it.
        let sums: Vec<String> = cols.iter().map(|c| format!("sum({c})::bigint")).collect();
        format!(
            "SELECT NULL::date, department, dataset, {} FROM day_counts {filter} \
             GROUP BY department, dataset",
            sums.join(", ")
        )
    } else {
        format!(
            "SELECT day, department, dataset, {} FROM day_counts {filter}",
            cols.join(", ")
        )
    }
}

pub(crate) static SELECT_SUMMED: LazyLock<String> = LazyLock::new(|| select_day_counts(true));
pub(crate) static SELECT_DAILY: LazyLock<String> = LazyLock::new(|| select_day_counts(false));

pub(crate) const SELECT_CHECKS_SUMMED: &str = "SELECT NULL::date, department, dataset, check_id, \
     sum(passed)::bigint, sum(failed)::bigint \
     FROM check_counts WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR department = $3) \
     GROUP BY department, dataset, check_id";

pub(crate) const SELECT_CHECKS_DAILY: &str = "SELECT day, department, dataset, check_id, passed, failed \
     FROM check_counts WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR department = $3)";

/// Column names of `day_counts` in order, for the test that the DDL and the
/// generated statements agree.
#[cfg(test)]
pub(crate) const SELECT_DAY_COUNTS_COLUMNS: &str = "SELECT column_name::text FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name = 'day_counts' ORDER BY ordinal_position";

// The ledger.

/// Serialises seals: two instances sealing one period at once must not both
/// find it unsealed (readers are not blocked by this mode).
pub(crate) const LOCK_LEDGER: &str = "LOCK TABLE sealed_reports IN SHARE ROW EXCLUSIVE MODE";

pub(crate) const INSERT_SEAL: &str = "INSERT INTO sealed_reports \
     (period_from, period_to, version, sha256, amends, report, at_ms, actor) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const SELECT_SEALS: &str = "SELECT period_from, period_to, version, sha256, amends, report, at_ms, actor \
     FROM sealed_reports WHERE period_from = $1 AND period_to = $2 ORDER BY version";

pub(crate) const SELECT_SEAL_HEAD: &str = "SELECT version, sha256 FROM sealed_reports \
     WHERE period_from = $1 AND period_to = $2 ORDER BY version DESC LIMIT 1";

pub(crate) const SELECT_SEALED_PERIODS: &str = "SELECT DISTINCT ON (period_from, period_to) \
     period_from, period_to, version, sha256, amends, at_ms, actor FROM sealed_reports \
     ORDER BY period_from, period_to, version DESC";

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (at_ms, actor, role, action, subject, detail) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

pub(crate) const SELECT_AUDIT: &str = "SELECT id, at_ms, actor, role, action, subject, detail FROM audit_log \
     WHERE id < $1 ORDER BY id DESC LIMIT $2";

// Findings.

/// Openings as parallel arrays; an opening written before is open again (a
/// replay after a crash), its other columns kept. Of two rows of one opening
/// the first is written, as SQLite's row-by-row upsert keeps it (one
/// statement may not upsert a row twice).
pub(crate) const UPSERT_FINDINGS_OPENED: &str = "INSERT INTO findings (dataset, key_hash, check_id, opened_ms, \
     department, dimension, opened_day, topic, partition_id, record_offset, record_id) \
     SELECT DISTINCT ON (dataset, key_hash, check_id, opened_ms) dataset, key_hash, check_id, opened_ms, \
     department, dimension, opened_day, topic, partition_id, record_offset, record_id \
     FROM UNNEST($1::text[], $2::bytea[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::date[], \
     $8::text[], $9::integer[], $10::bigint[], $11::text[]) WITH ORDINALITY \
     AS f (dataset, key_hash, check_id, opened_ms, department, dimension, opened_day, topic, partition_id, \
     record_offset, record_id, n) \
     ORDER BY dataset, key_hash, check_id, opened_ms, n \
     ON CONFLICT (dataset, key_hash, check_id, opened_ms) DO UPDATE SET fixed_ms = NULL, \
     fixed_partition = NULL, fixed_offset = NULL, fixed_record_id = NULL";

/// Fixes as parallel arrays. Of two fixes of one opening the later wins, as
/// SQLite's row-by-row updates leave it (an UPDATE joined to two rows would
/// apply one of them, and count the row once); the caller compares the rows
/// updated with the distinct openings fixed.
pub(crate) const UPDATE_FINDINGS_FIXED: &str = "UPDATE findings SET fixed_ms = x.fixed_ms, \
     fixed_partition = x.partition_id, fixed_offset = x.record_offset, fixed_record_id = x.record_id \
     FROM (SELECT DISTINCT ON (dataset, key_hash, check_id, opened_ms) * \
     FROM UNNEST($1::text[], $2::bytea[], $3::text[], $4::bigint[], $5::bigint[], $6::integer[], \
     $7::bigint[], $8::text[]) WITH ORDINALITY AS u (dataset, key_hash, check_id, opened_ms, fixed_ms, \
     partition_id, record_offset, record_id, n) \
     ORDER BY dataset, key_hash, check_id, opened_ms, n DESC) AS x \
     WHERE findings.dataset = x.dataset AND findings.key_hash = x.key_hash \
     AND findings.check_id = x.check_id AND findings.opened_ms = x.opened_ms";

pub(crate) const SELECT_OPEN_FINDINGS: &str = "SELECT key_hash, dataset, check_id, opened_ms FROM findings \
     WHERE fixed_ms IS NULL ORDER BY dataset COLLATE \"C\", key_hash, check_id COLLATE \"C\", opened_ms";

pub(crate) const SELECT_OPEN_BY_DAY: &str = "SELECT department, opened_day, COUNT(*) FROM findings \
     WHERE fixed_ms IS NULL AND ($1::text IS NULL OR department = $1) \
     GROUP BY department, opened_day ORDER BY department COLLATE \"C\", opened_day";

pub(crate) const SELECT_FIXED_COUNTS: &str = "SELECT department, COUNT(*) FROM findings \
     WHERE fixed_ms IS NOT NULL AND ($1::text IS NULL OR department = $1) \
     GROUP BY department ORDER BY department COLLATE \"C\"";

/// The middle one or two times to fix of a department: `$2` = (n - 1) / 2, `$3` = 1 or 2.
pub(crate) const SELECT_FIXED_MIDDLE: &str = "SELECT fixed_ms - opened_ms AS d FROM findings \
     WHERE fixed_ms IS NOT NULL AND department = $1 ORDER BY d LIMIT $3 OFFSET $2";

pub(crate) const SELECT_FINDINGS: &str = "SELECT department, dataset, check_id, dimension, opened_ms, \
     opened_day, topic, partition_id, record_offset, record_id, fixed_ms, fixed_partition, \
     fixed_offset, fixed_record_id FROM findings \
     WHERE ($1::text IS NULL OR department = $1) AND (fixed_ms IS NOT NULL) = $2 \
     AND ($4::date IS NULL OR opened_day <= $4) \
     ORDER BY opened_ms DESC, dataset COLLATE \"C\", check_id COLLATE \"C\", partition_id, record_offset LIMIT $3";

// Disputes.

/// A checkpoint's failures as parallel arrays; a failure stored before (a
/// replay after a crash) is kept as it is.
pub(crate) const INSERT_FAILURES: &str = "INSERT INTO failures (topic, partition_id, record_offset, check_id, \
     record_id, timestamp_ms, day, department, dataset, dimension) \
     SELECT * FROM UNNEST($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], \
     $7::date[], $8::text[], $9::text[], $10::text[]) \
     ON CONFLICT DO NOTHING";

pub(crate) static PRUNE_FAILURES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM failures WHERE timestamp_ms < $1 AND {}",
        crate::store::disputes::PRUNE_UNLESS_DISPUTED
    )
});

const FAILURE_COLUMNS: &str = "f.topic, f.partition_id, f.record_offset, f.record_id, f.timestamp_ms, \
     f.day, f.department, f.dataset, f.check_id, f.dimension";

pub(crate) static SELECT_FAILURE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {FAILURE_COLUMNS} FROM failures f \
         WHERE topic = $1 AND partition_id = $2 AND record_offset = $3 AND check_id = $4"
    )
});

/// Every failure of the records of dataset $1 that failed check $2 on a day
/// in $3..=$4, and (`at`) only at position ($5, $6, $7): two statements, so
/// no parameter is a NULL whose type PostgreSQL would have to guess.
fn select_failures_failing(at: bool) -> String {
    let position = if at {
        " AND g.topic = $5 AND g.partition_id = $6 AND g.record_offset = $7"
    } else {
        ""
    };
    format!(
        "SELECT {FAILURE_COLUMNS} FROM failures g JOIN failures f \
         ON f.topic = g.topic AND f.partition_id = g.partition_id AND f.record_offset = g.record_offset \
         WHERE g.dataset = $1 AND g.check_id = $2 AND g.day BETWEEN $3 AND $4{position} \
         ORDER BY f.topic COLLATE \"C\", f.partition_id, f.record_offset, f.check_id COLLATE \"C\""
    )
}

pub(crate) static SELECT_FAILURES_FAILING: LazyLock<String> =
    LazyLock::new(|| select_failures_failing(false));
pub(crate) static SELECT_FAILURES_FAILING_AT: LazyLock<String> =
    LazyLock::new(|| select_failures_failing(true));

pub(crate) const INSERT_DISPUTE: &str = "INSERT INTO disputes (department, dataset, check_id, dimension, \
     topic, partition_id, record_offset, from_day, to_day, record_id, reason, \
     authority_department, authority_dataset, stage, filed_ms, filed_day, filed_by) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'filed', $14, $15, $16) RETURNING id";

const DISPUTE_COLUMNS: &str = "id, department, dataset, check_id, dimension, topic, \
     partition_id, record_offset, from_day, to_day, record_id, reason, authority_department, \
     authority_dataset, stage, filed_ms, filed_day, filed_by, accepted_ms, accepted_day, accepted_by, \
     verified_ms, verified_day, verified_by, verification, verification_note, decided_ms, \
     decided_day, decided_by, decision_reason";

pub(crate) static SELECT_DISPUTE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE id = $1"));

/// The row a step changes, locked to the end of its transaction: a step
/// done meanwhile waits, then this reads the row it left.
pub(crate) static SELECT_DISPUTE_FOR_UPDATE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE id = $1 FOR UPDATE"));

pub(crate) static SELECT_DISPUTES: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {DISPUTE_COLUMNS} FROM disputes ORDER BY id DESC"));

/// Writes a step's columns, only from the stage the step was allowed in.
pub(crate) const UPDATE_DISPUTE: &str = "UPDATE disputes SET stage = $2, \
     accepted_ms = $3, accepted_day = $4, accepted_by = $5, \
     verified_ms = $6, verified_day = $7, verified_by = $8, verification = $9, verification_note = $10, \
     decided_ms = $11, decided_day = $12, decided_by = $13, decision_reason = $14 \
     WHERE id = $1 AND stage = $15";

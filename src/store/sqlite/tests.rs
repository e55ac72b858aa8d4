//! The store's tests (`crate::store::tests`) on SQLite files, and what only
//! SQLite has: older schema versions to migrate from, files that are missing.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::Connection;

use super::schema::SCHEMA_VERSION;
use super::{BUSY_TIMEOUT, SqliteStore};
use crate::model::Violation;
use crate::store::tests::{TestDb, store_tests, violation};
use crate::store::{Checkpoint, CheckpointStore, DayCounts, LedgerStore, ScoreStore, StoreError};

/// A database file in a temporary folder of its own (a file, not memory:
/// tests reopen it, and read it from other connections and processes).
pub(crate) struct SqliteDb {
    _dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl SqliteDb {
    fn connection(&self) -> Connection {
        let conn = Connection::open(&self.path).unwrap();
        conn.busy_timeout(BUSY_TIMEOUT).unwrap();
        conn
    }
}

impl TestDb for SqliteDb {
    type Store = SqliteStore;
    const SCHEMA_VERSION: i64 = SCHEMA_VERSION;
    const CHECK_VIOLATION: &'static str = "CHECK constraint";
    // STRICT refuses the REAL an overflowing integer sum becomes.
    const SUM_OVERFLOW: &'static str = "REAL value in INTEGER column";
    const TESTS: &'static str = "store::sqlite::tests";
    const CHILD_ARGS: &'static [&'static str] = &[];

    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dq.sqlite");
        SqliteDb {
            _dir: Some(dir),
            path,
        }
    }

    fn target(&self) -> String {
        self.path
            .to_str()
            .expect("a UTF-8 temporary path")
            .to_owned()
    }

    fn attach(target: &str) -> Self {
        SqliteDb {
            _dir: None,
            path: PathBuf::from(target),
        }
    }

    fn open(&self, violations_kept: usize) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.path, violations_kept)
    }

    fn open_read_only(&self) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_read_only(&self.path)
    }

    fn migrate(&self) -> Result<(i64, i64), StoreError> {
        SqliteStore::migrate(&self.path)
    }

    fn make_empty(&self) {
        drop(Connection::open(&self.path).unwrap());
    }

    fn schema_version(&self) -> i64 {
        self.connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    fn set_schema_version(&self, version: i64) {
        self.connection()
            .pragma_update(None, "user_version", version)
            .unwrap();
    }

    /// The main file's bytes and the WAL's (a missing WAL and an empty one
    /// are the same: no pending writes).
    fn fingerprint(&self) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        for p in [self.path.as_path(), Path::new(&wal)] {
            std::fs::read(p).unwrap_or_default().hash(&mut h);
        }
        h.finish()
    }

    fn max_stored_offset(&self) -> i64 {
        self.connection()
            .query_row(
                "SELECT coalesce(max(next_offset), 0) FROM offsets",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn daily_counts(
        store: &SqliteStore,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        store.daily_counts(from, to, department)
    }

    fn violation_rows(store: &SqliteStore) -> i64 {
        store
            .lock()
            .query_row("SELECT count(*) FROM violations", [], |r| r.get(0))
            .unwrap()
    }

    fn fail_violation_inserts(store: &SqliteStore, fail: bool) {
        let sql = if fail {
            "CREATE TEMP TRIGGER fail_violations BEFORE INSERT ON violations \
             BEGIN SELECT RAISE(ABORT, 'injected_failure'); END;"
        } else {
            "DROP TRIGGER fail_violations"
        };
        store.lock().execute_batch(sql).unwrap();
    }

    fn day_counts_columns(store: &SqliteStore) -> Vec<String> {
        let conn = store.lock();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('day_counts')")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn execute(store: &SqliteStore, sql: &str) -> Result<(), StoreError> {
        Ok(store.lock().execute_batch(sql)?)
    }

    fn check_durability(store: &SqliteStore) {
        let conn = store.lock();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
}

store_tests!(plain SqliteDb);

/// Instances started at once on a new file all open it: one creates the
/// schema in one transaction, the others wait for the write lock and find it
/// complete (created a step at a time, they found version 2 half-way and
/// refused it as older).
#[test]
fn instances_starting_at_once_all_open_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dqmon.sqlite");
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(&path, 10).map(|_| ()))
        })
        .collect();
    for o in opened {
        o.join().unwrap().unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    assert_eq!(super::schema::version(&conn).unwrap(), SCHEMA_VERSION);
}

#[test]
fn an_in_memory_store_works_like_a_file() {
    let store = SqliteStore::in_memory(10).unwrap();
    store
        .commit(&Checkpoint {
            violations: vec![violation("tax", 1)],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.recent_violations(None, 10).unwrap().len(), 1);
}

#[test]
fn a_version_1_store_migrates_and_keeps_its_violations() {
    let db = SqliteDb::new();
    {
        let conn = db.connection();
        conn.execute_batch(super::schema::SCHEMA_V1).unwrap();
        conn.execute(
            "INSERT INTO violations (topic, partition_id, record_offset, timestamp_ms, record_id, \
             department, dataset, dimension, check_id, field, reason) \
             VALUES ('t', 0, 5, 1005, 'r5', 'tax', 'ds', 'format', 'c', NULL, 'bad')",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    assert!(matches!(
        db.open(10),
        Err(StoreError::NeedsMigration { found: 1, .. })
    ));
    assert!(matches!(
        db.open_read_only(),
        Err(StoreError::NeedsMigration { found: 1, .. })
    ));
    assert_eq!(db.migrate().unwrap(), (1, SCHEMA_VERSION));
    let store = db.open(10).unwrap();
    let cp = Checkpoint {
        violations: vec![Violation {
            late: true,
            ..violation("tax", 6)
        }],
        ..Checkpoint::default()
    };
    store.commit(&cp).unwrap();
    let got = store.recent_violations(Some("tax"), 10).unwrap();
    let late: Vec<(i64, bool)> = got.iter().map(|v| (v.offset, v.late)).collect();
    assert_eq!(
        late,
        vec![(6, true), (5, false)],
        "newest first; the old one was not late"
    );
    // And v3's claims work on the migrated store.
    let claims = store.claim("a", &[("t".into(), 0)]).unwrap();
    assert_eq!(claims[0].epoch, 1);
}

#[test]
fn a_version_2_store_needs_migrating_for_the_claims() {
    let db = SqliteDb::new();
    {
        let conn = db.connection();
        conn.execute_batch(super::schema::SCHEMA_V1).unwrap();
        conn.execute_batch(
            "ALTER TABLE violations ADD COLUMN late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1));",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO offsets (topic, partition_id, next_offset) VALUES ('t', 0, 42)",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
    }
    assert!(matches!(
        db.open(10),
        Err(StoreError::NeedsMigration {
            found: 2,
            supported: SCHEMA_VERSION
        })
    ));
    assert_eq!(db.migrate().unwrap(), (2, SCHEMA_VERSION));
    let store = db.open(10).unwrap();
    assert_eq!(store.offsets().unwrap()[0].offset, 42);
    assert_eq!(store.claim("a", &[("t".into(), 0)]).unwrap()[0].epoch, 1);
}

#[test]
fn a_version_3_store_migrates_to_the_ledger_and_keeps_its_counts() {
    let db = SqliteDb::new();
    {
        let store = db.open(10).unwrap();
        let cp = Checkpoint {
            counts: vec![crate::store::tests::counts(
                "2026-06-15",
                "tax",
                "persons",
                9,
            )],
            ..Checkpoint::default()
        };
        store.commit(&cp).unwrap();
    }
    {
        // Back to what a dqmon of schema v3 left: no ledger tables.
        let conn = db.connection();
        conn.execute_batch(
            "DROP TRIGGER sealed_reports_no_update; DROP TRIGGER sealed_reports_no_delete; \
             DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; \
             DROP TABLE sealed_reports; DROP TABLE audit_log;",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
    }
    assert!(matches!(
        db.open(10),
        Err(StoreError::NeedsMigration { found: 3, .. })
    ));
    assert_eq!(db.migrate().unwrap(), (3, SCHEMA_VERSION));
    let store = db.open(10).unwrap();
    let d = crate::store::tests::d;
    let counts = store
        .counts(d("2026-06-01"), d("2026-06-30"), None)
        .unwrap();
    assert_eq!(counts[0].counts.records, 9);
    assert_eq!(store.sealed_periods().unwrap(), vec![]);
    assert_eq!(
        store
            .append_audit(&crate::store::AuditEntry {
                at_ms: 1,
                actor: "a".into(),
                role: "officer".into(),
                action: "seal".into(),
                subject: "s".into(),
                detail: String::new(),
            })
            .unwrap(),
        1
    );
}

#[test]
fn a_missing_file_is_not_opened_for_reading() {
    let db = SqliteDb::new();
    assert!(db.open_read_only().is_err());
    assert!(!db.path.exists(), "a reader created no file");
}

//! The store's tests (`crate::store::tests`) on PostgreSQL, each in a fresh
//! schema of the database `DQMON_TEST_POSTGRES_URL` names (so they run in
//! parallel), dropped afterwards. They are `#[ignore]`d (they need a server:
//! `eval "$(scripts/postgres-local.sh start)"`, then `cargo test --lib --
//! --ignored postgres`) and fail, never skip, when the variable is absent.
//! Also what only PostgreSQL has: server settings, its error messages.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use postgres::NoTls;

use super::PostgresStore;
use super::schema::{SCHEMA_VERSION, SELECT_DAY_COUNTS_COLUMNS};
use crate::model::PartitionOffset;
use crate::store::tests::{TestDb, full_checkpoint, store_tests};
use crate::store::{Checkpoint, CheckpointStore, DayCounts, StoreError};

const URL_VAR: &str = "DQMON_TEST_POSTGRES_URL";

fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: start a server with `eval \"$(scripts/postgres-local.sh start)\"`"
        )
    })
}

/// One schema of the test database; the store's connections use it as
/// their search path.
pub(crate) struct PgDb {
    config: postgres::Config,
    schema: String,
    /// Dropped with this value (not in a kill -9 child, which only attaches).
    owned: bool,
}

impl PgDb {
    fn in_schema(schema: &str, owned: bool) -> Self {
        let mut config: postgres::Config = url().parse().expect("a valid test URL");
        config.options(&format!("-c search_path={schema}"));
        PgDb {
            config,
            schema: schema.to_owned(),
            owned,
        }
    }

    /// A connection of its own, in the schema.
    fn admin(&self) -> postgres::Client {
        self.config
            .connect(NoTls)
            .expect("connecting to the test server")
    }

    fn open_with(
        &self,
        config: postgres::Config,
        kept: usize,
    ) -> Result<PostgresStore, StoreError> {
        PostgresStore::open_with(config, kept)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if self.owned {
            // Best effort: a leftover schema only costs disk on a test server.
            let _ = self
                .admin()
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

impl TestDb for PgDb {
    type Store = PostgresStore;
    const SCHEMA_VERSION: i64 = SCHEMA_VERSION;
    const CHECK_VIOLATION: &'static str = "violates check constraint";
    const SUM_OVERFLOW: &'static str = "bigint out of range";
    const TESTS: &'static str = "store::postgres::tests";
    const CHILD_ARGS: &'static [&'static str] = &["--ignored"];

    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "dqmon_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&url(), NoTls)
            .unwrap_or_else(|e| panic!("connecting to {URL_VAR}: {}", StoreError::from(e)));
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        PgDb::in_schema(&schema, true)
    }

    fn target(&self) -> String {
        self.schema.clone()
    }

    fn attach(target: &str) -> Self {
        PgDb::in_schema(target, false)
    }

    fn open(&self, violations_kept: usize) -> Result<PostgresStore, StoreError> {
        self.open_with(self.config.clone(), violations_kept)
    }

    fn open_read_only(&self) -> Result<PostgresStore, StoreError> {
        PostgresStore::open_read_only_with(self.config.clone())
    }

    fn migrate(&self) -> Result<(i64, i64), StoreError> {
        PostgresStore::migrate_with(self.config.clone())
    }

    /// The fresh schema is empty already.
    fn make_empty(&self) {}

    fn schema_version(&self) -> i64 {
        self.admin()
            .query_one("SELECT version FROM dqmon_schema", &[])
            .unwrap()
            .get(0)
    }

    fn set_schema_version(&self, version: i64) {
        self.admin()
            .execute("UPDATE dqmon_schema SET version = $1", &[&version])
            .unwrap();
    }

    /// Every row of every table with the transaction that wrote it, and the
    /// violation ids drawn: any insert, update or delete changes it.
    fn fingerprint(&self) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut client = self.admin();
        let mut h = DefaultHasher::new();
        for table in [
            "day_counts",
            "check_counts",
            "offsets",
            "reference_rows",
            "seen",
            "violations",
            "partition_claims",
            "failures",
            "disputes",
            "dqmon_schema",
        ] {
            let digest: String = client
                .query_one(
                    &format!(
                        "SELECT md5(coalesce(string_agg(t::text || '@' || t.xmin::text, '|' \
                         ORDER BY t::text), '')) FROM {table} t"
                    ),
                    &[],
                )
                .unwrap()
                .get(0);
            digest.hash(&mut h);
        }
        let drawn: i64 = client
            .query_one("SELECT last_value FROM violations_id_seq", &[])
            .unwrap()
            .get(0);
        drawn.hash(&mut h);
        h.finish()
    }

    fn max_stored_offset(&self) -> i64 {
        self.admin()
            .query_one("SELECT coalesce(max(next_offset), 0) FROM offsets", &[])
            .unwrap()
            .get(0)
    }

    fn daily_counts(
        store: &PostgresStore,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        store.daily_counts(from, to, department)
    }

    fn violation_rows(store: &PostgresStore) -> i64 {
        store.query_one("SELECT count(*) FROM violations").unwrap()
    }

    fn fail_violation_inserts(store: &PostgresStore, fail: bool) {
        let sql = if fail {
            "ALTER TABLE violations ADD CONSTRAINT injected_failure CHECK (false) NOT VALID"
        } else {
            "ALTER TABLE violations DROP CONSTRAINT injected_failure"
        };
        store.sql(sql).unwrap();
    }

    fn day_counts_columns(store: &PostgresStore) -> Vec<String> {
        store.query_column(SELECT_DAY_COUNTS_COLUMNS).unwrap()
    }

    fn execute(store: &PostgresStore, sql: &str) -> Result<(), StoreError> {
        store.sql(sql)
    }

    fn check_durability(store: &PostgresStore) {
        let setting: String = store
            .query_one("SELECT current_setting('synchronous_commit')")
            .unwrap();
        assert_ne!(setting, "off", "commits wait for the WAL flush");
    }
}

store_tests!(ignored PgDb);

/// Needs no server: nothing listens on port 1.
#[test]
fn a_connection_error_names_no_password() {
    let err = PostgresStore::open(
        "postgres://dqmon:hunter2-secret@127.0.0.1:1/dqmon?connect_timeout=2",
        10,
    )
    .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("connect"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let err = PostgresStore::open("postgres://dqmon:hunter2-secret@db/dq?colour=blue", 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown option `colour`"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
#[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL"]
fn postgres_errors_carry_no_row_data() {
    let db = PgDb::new();
    let store = db.open(10).unwrap();
    let claims = store.claim("a", &[("topic-marker-7".into(), 0)]).unwrap();
    let err = store
        .commit(&Checkpoint {
            offsets: vec![PartitionOffset::new("topic-marker-7", 0, -12345)],
            claims,
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("violates check constraint"), "{err}");
    assert!(err.contains("SQLSTATE 23514"), "{err}");
    for value in ["marker", "-12345"] {
        assert!(!err.contains(value), "{err}");
    }
}

#[test]
#[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL"]
fn postgres_synchronous_commit_off_is_turned_on_for_the_writer() {
    let db = PgDb::new();
    let mut config = db.config.clone();
    config.options(&format!(
        "-c search_path={} -c synchronous_commit=off",
        db.schema
    ));
    let store = db.open_with(config, 10).unwrap();
    PgDb::check_durability(&store);
    store
        .commit(&Checkpoint {
            ..full_checkpoint_without_offsets()
        })
        .unwrap();
}

/// Instances of a group started at once on an empty database all open it:
/// one creates the schema, the others wait for it and find it made (before
/// migrations took a session lock, three of four failed with "relation
/// day_counts already exists").
#[test]
#[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL"]
fn postgres_instances_starting_at_once_all_open_an_empty_store() {
    let db = PgDb::new();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let config = db.config.clone();
            std::thread::spawn(move || PostgresStore::open_with(config, 10).map(|_| ()))
        })
        .collect();
    for o in opened {
        o.join().unwrap().unwrap();
    }
    assert_eq!(db.schema_version(), SCHEMA_VERSION);
}

fn full_checkpoint_without_offsets() -> Checkpoint {
    Checkpoint {
        offsets: Vec::new(),
        ..full_checkpoint(1, 1)
    }
}

#[test]
#[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL"]
fn postgres_a_lost_connection_is_opened_again() {
    let db = PgDb::new();
    // Named after the schema, so only this test's sessions are ended.
    let mut config = db.config.clone();
    config.application_name(&db.schema);
    let store = db.open_with(config, 10).unwrap();
    store.commit(&full_checkpoint_without_offsets()).unwrap();
    // End the store's sessions from outside, as a server restart would.
    let ended: i64 = db
        .admin()
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1) ended",
            &[&db.schema],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        ended, 1,
        "the writer's session (the reader's opens on first use)"
    );
    // The first call fails on the dead connection: it may have been a
    // commit, whose outcome the caller cannot know. Later calls reconnect.
    let err = store.seen().unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
    assert_eq!(store.seen().unwrap().len(), 1);
    store.commit(&full_checkpoint_without_offsets()).unwrap();
}

#[test]
#[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL"]
fn postgres_a_version_3_store_migrates_to_disputes_and_keeps_its_findings() {
    use crate::store::disputes::{DisputeStore, NewDispute, Scope, Step};
    use crate::store::findings::{FindingStore, RecordAt, Status};
    use crate::store::tests::d;
    use crate::store::{AuditEntry, Failure, LedgerStore};

    let db = PgDb::new();
    {
        // What a dqmon of schema v3 left, with a finding in it.
        let mut admin = db.admin();
        for step in &super::schema::MIGRATIONS[..3] {
            admin.batch_execute(step).unwrap();
        }
        admin
            .batch_execute(
                "UPDATE dqmon_schema SET version = 3; \
                 INSERT INTO findings (dataset, key_hash, check_id, opened_ms, department, \
                 dimension, opened_day, topic, partition_id, record_offset) VALUES ('persons', \
                 '\\x00000000000000010000000000000002', 'id.format', 5, 'tax', 'format', \
                 '2026-06-15', 't', 0, 5)",
            )
            .unwrap();
    }
    assert!(matches!(
        db.open(10),
        Err(StoreError::NeedsMigration { found: 3, .. })
    ));
    assert_eq!(db.migrate().unwrap(), (3, SCHEMA_VERSION));
    let store = db.open(10).unwrap();
    assert_eq!(
        store
            .list_findings(None, Status::Open, None, 10)
            .unwrap()
            .len(),
        1
    );
    // Failures are written and pruned, except those a dispute covers: one
    // of a record, one of a check over days (DATE columns on both sides).
    let fail = |offset: i64, day: &str, check: &str| Failure {
        at: RecordAt {
            topic: "t".into(),
            partition: 0,
            offset,
            record_id: None,
        },
        timestamp_ms: offset,
        day: d(day),
        department: "tax".into(),
        dataset: "persons".into(),
        check: check.into(),
        dimension: crate::model::Dimension::Format,
    };
    let failures = vec![
        fail(1, "2026-06-01", "a"),
        fail(2, "2026-06-02", "a"),
        fail(3, "2026-06-03", "b"),
    ];
    store
        .commit(&Checkpoint {
            failures: failures.clone(),
            ..Default::default()
        })
        .unwrap();
    let audit = AuditEntry {
        at_ms: 1,
        actor: "hr".into(),
        role: "department".into(),
        action: "dispute.file".into(),
        subject: String::new(),
        detail: String::new(),
    };
    let new = |check: &str, scope: Scope| NewDispute {
        department: "tax".into(),
        dataset: "persons".into(),
        check: check.into(),
        dimension: crate::model::Dimension::Format,
        scope,
        record_id: None,
        reason: "wrong".into(),
        authority: None,
        filed: Step {
            at_ms: 1,
            day: d("2026-06-05"),
            actor: "hr".into(),
        },
    };
    let first = store
        .file_dispute(
            &new(
                "a",
                Scope::Record {
                    topic: "t".into(),
                    partition: 0,
                    offset: 1,
                    day: d("2026-06-01"),
                },
            ),
            &audit,
        )
        .unwrap();
    let second = store
        .file_dispute(
            &new(
                "b",
                Scope::Check {
                    from: d("2026-06-03"),
                    to: d("2026-06-30"),
                },
            ),
            &audit,
        )
        .unwrap();
    assert_eq!(second, first + 1);
    assert_eq!(
        store.audit(None, 1).unwrap()[0].entry.subject,
        format!("dispute {second}")
    );
    store
        .commit(&Checkpoint {
            failures_before_ms: Some(100),
            ..Default::default()
        })
        .unwrap();
    let kept = store
        .failures_failing("persons", "a", d("2026-06-01"), d("2026-06-30"), None)
        .unwrap();
    assert_eq!(kept, vec![failures[0].clone()]);
    assert_eq!(
        store.failure("t", 0, 3, "b").unwrap(),
        Some(failures[2].clone())
    );
    assert_eq!(store.failure("t", 0, 2, "a").unwrap(), None);
    assert_eq!(
        store
            .failures_failing(
                "persons",
                "b",
                d("2026-06-01"),
                d("2026-06-30"),
                Some(("t", 0, 3))
            )
            .unwrap(),
        vec![failures[2].clone()]
    );
}

/// The trusted root of the test server's certificate, or an unrelated one.
fn test_ca(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: start a server with `eval \"$(scripts/postgres-local.sh start)\"`"
        )
    })
}

/// `url()` with `query` added, and whether the session it opens is on TLS.
fn connects_with_tls(query: &str) -> Result<bool, StoreError> {
    let base = url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let (config, verify) = super::parse(&format!("{base}{sep}{query}"))?;
    let mut session = super::Session::connect(&config, &verify, true)?;
    let row = session
        .client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(StoreError::from)?;
    Ok(row.get(0))
}

#[test]
#[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL"]
fn postgres_tls_follows_libpqs_sslmode_and_sslrootcert() {
    let ca = test_ca("DQMON_TEST_POSTGRES_CA");
    let other = test_ca("DQMON_TEST_POSTGRES_OTHER_CA");
    for (query, tls) in [
        ("sslmode=disable".to_owned(), false),
        // The default, prefer: TLS when the server offers it.
        ("application_name=dqmon-tls-test".to_owned(), true),
        ("sslmode=require".to_owned(), true),
        (format!("sslmode=verify-ca&sslrootcert={ca}"), true),
        (format!("sslmode=verify-full&sslrootcert={ca}"), true),
    ] {
        assert_eq!(connects_with_tls(&query).unwrap(), tls, "{query}");
    }
    // A certificate that no trusted root signed is refused, as is one for
    // another host (the same server reached under a name its certificate
    // does not hold), and the error says why without any secret.
    for query in [
        format!("sslmode=verify-ca&sslrootcert={other}"),
        format!("sslmode=require&sslrootcert={other}"),
    ] {
        let e = connects_with_tls(&query).expect_err(&query).to_string();
        assert!(e.contains("certificate verify failed"), "{query}: {e}");
    }
    let misnamed = url().replace("127.0.0.1", "misnamed.invalid");
    let (config, verify) = super::parse(&format!(
        "{misnamed}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"
    ))
    .unwrap();
    let e = super::Session::connect(&config, &verify, true)
        .err()
        .expect("a certificate for another name")
        .to_string();
    assert!(e.contains("certificate verify failed"), "{e}");
    // verify-ca does not check the name: the same connection passes.
    let (config, verify) = super::parse(&format!(
        "{misnamed}?hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}"
    ))
    .unwrap();
    assert!(super::Session::connect(&config, &verify, true).is_ok());
}

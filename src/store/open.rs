//! Opening whichever store is configured: an SQLite file or a PostgreSQL
//! database. [`AnyStore`] is one type for both, so the service holds one
//! `Arc` and hands it out as `Arc<dyn CheckpointStore>` and `Arc<dyn
//! ScoreStore>` alike.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::disputes::{Action, Dispute, DisputeFilter, DisputeStore, Failure, NewDispute, Step};
use super::findings::{FindingRecord, FindingStore, FixedStats, OpenFindingRow, Status};
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{
    AuditEntry, AuditRecord, Checkpoint, CheckpointStore, Claim, DayCounts, LedgerStore,
    ReferenceRow, ScoreStore, SealHead, SealRow, SeenRow, StoreError,
};
use crate::catalog::{DisputeRules, WorkingDays};
use crate::model::{PartitionOffset, Violation};

/// Where the store is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded default: one SQLite file.
    Sqlite(PathBuf),
    /// A `postgres://` URL (or libpq `key=value` list), password included if any.
    Postgres(String),
}

/// Shown in logs and errors: the file, or the URL without its password.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(&redacted_url(url)),
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StoreLocation::Postgres(url) => {
                f.debug_tuple("Postgres").field(&redacted_url(url)).finish()
            }
        }
    }
}

const REDACTED: &str = "<redacted>";

/// `url` with any password replaced: the `user:password@` of a URL, a
/// `password=` query parameter, or a `password=` pair of a libpq key/value
/// list.
pub fn redacted_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The authority ends at the first '/', '?' or '#'; its user
        // information before the last '@' (a password may hold '@' only
        // percent-encoded, but be generous).
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:{REDACTED}@{host}"),
                None => format!("{userinfo}@{host}"),
            },
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let pairs: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                            format!("{key}={REDACTED}")
                        }
                        _ => pair.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", pairs.join("&"))
            }
            None => tail.to_owned(),
        };
        return format!("{scheme}://{authority}{tail}");
    }
    // key=value list: values may be quoted and hold spaces; a password's
    // whole value, quoted or not, goes.
    let mut out = String::new();
    let mut rest = url;
    while let Some(at) = find_password_key(rest) {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let eq = after.find('=').expect("found with '='");
        out.push_str(after[..=eq].trim_end());
        out.push_str(REDACTED);
        let value = after[eq + 1..].trim_start();
        rest = if let Some(quoted) = value.strip_prefix('\'') {
            let mut end = quoted.len();
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '\'' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            &quoted[end..]
        } else {
            &value[value.find(char::is_whitespace).unwrap_or(value.len())..]
        };
    }
    out.push_str(rest);
    out
}

/// Where `password` starts as a key of a key/value list (`password =` too).
fn find_password_key(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("password") {
        let at = from + i;
        let starts_word = at == 0 || lower[..at].ends_with(char::is_whitespace);
        let after = lower[at + "password".len()..].trim_start();
        if starts_word && after.starts_with('=') {
            return Some(at);
        }
        from = at + "password".len();
    }
    None
}

/// The SQLite or the PostgreSQL store.
#[derive(Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    /// Boxed: its connection configuration is large, and one store lives
    /// for the whole run.
    Postgres(Box<PostgresStore>),
}

impl AnyStore {
    /// Opens the writer's store: creates the schema of an empty database,
    /// refuses an older one ([`StoreError::NeedsMigration`]), prunes
    /// violations to `violations_kept_per_department`.
    pub fn open(
        location: &StoreLocation,
        violations_kept_per_department: usize,
    ) -> Result<Self, StoreError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => {
                AnyStore::Sqlite(SqliteStore::open(path, violations_kept_per_department)?)
            }
            StoreLocation::Postgres(url) => AnyStore::Postgres(Box::new(PostgresStore::open(
                url,
                violations_kept_per_department,
            )?)),
        })
    }

    /// Opens an existing store for reading only: nothing is migrated, pruned
    /// or written ([`StoreError::NotAStore`] when there is none).
    pub fn open_read_only(location: &StoreLocation) -> Result<Self, StoreError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => AnyStore::Sqlite(SqliteStore::open_read_only(path)?),
            StoreLocation::Postgres(url) => {
                AnyStore::Postgres(Box::new(PostgresStore::open_read_only(url)?))
            }
        })
    }

    /// `dqmon store migrate`: the schema versions before and after.
    pub fn migrate(location: &StoreLocation) -> Result<(i64, i64), StoreError> {
        match location {
            StoreLocation::Sqlite(path) => SqliteStore::migrate(path),
            StoreLocation::Postgres(url) => PostgresStore::migrate(url),
        }
    }

    /// True when `location` is an SQLite file that does not exist (reading
    /// commands refuse it rather than create it).
    pub fn is_missing_file(location: &StoreLocation) -> bool {
        matches!(location, StoreLocation::Sqlite(path) if !Path::new(path).exists())
    }

    fn writer(&self) -> &dyn CheckpointStore {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(s) => &**s,
        }
    }

    fn reader(&self) -> &dyn ScoreStore {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(s) => &**s,
        }
    }

    fn findings(&self) -> &dyn FindingStore {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(s) => &**s,
        }
    }

    fn ledger(&self) -> &dyn LedgerStore {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(s) => &**s,
        }
    }

    fn disputes_store(&self) -> &dyn DisputeStore {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(s) => &**s,
        }
    }
}

impl DisputeStore for AnyStore {
    fn file_dispute(&self, dispute: &NewDispute, audit: &AuditEntry) -> Result<i64, StoreError> {
        self.disputes_store().file_dispute(dispute, audit)
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
        self.disputes_store()
            .act(id, action, step, rules, calendar, audit)
    }
    fn dispute(&self, id: i64) -> Result<Option<Dispute>, StoreError> {
        self.disputes_store().dispute(id)
    }
    fn disputes(&self, filter: &DisputeFilter, limit: usize) -> Result<Vec<Dispute>, StoreError> {
        self.disputes_store().disputes(filter, limit)
    }
    fn failure(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        check: &str,
    ) -> Result<Option<Failure>, StoreError> {
        self.disputes_store()
            .failure(topic, partition, offset, check)
    }
    fn failures_failing(
        &self,
        dataset: &str,
        check: &str,
        from: NaiveDate,
        to: NaiveDate,
        at: Option<(&str, i32, i64)>,
    ) -> Result<Vec<Failure>, StoreError> {
        self.disputes_store()
            .failures_failing(dataset, check, from, to, at)
    }
}

impl CheckpointStore for AnyStore {
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.writer().commit(checkpoint)
    }
    fn claim(&self, owner: &str, partitions: &[(String, i32)]) -> Result<Vec<Claim>, StoreError> {
        self.writer().claim(owner, partitions)
    }
    fn offsets(&self) -> Result<Vec<PartitionOffset>, StoreError> {
        self.writer().offsets()
    }
    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError> {
        self.writer().references()
    }
    fn seen(&self) -> Result<Vec<SeenRow>, StoreError> {
        self.writer().seen()
    }
    fn open_findings(&self) -> Result<Vec<OpenFindingRow>, StoreError> {
        self.writer().open_findings()
    }
}

impl FindingStore for AnyStore {
    fn open_by_day(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, NaiveDate, u64)>, StoreError> {
        self.findings().open_by_day(department)
    }
    fn fixed_stats(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<(String, FixedStats)>, StoreError> {
        self.findings().fixed_stats(department)
    }
    fn list_findings(
        &self,
        department: Option<&str>,
        status: Status,
        opened_until: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        self.findings()
            .list_findings(department, status, opened_until, limit)
    }
}

impl ScoreStore for AnyStore {
    fn counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        self.reader().counts(from, to, department)
    }
    fn recent_violations(
        &self,
        department: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Violation>, StoreError> {
        self.reader().recent_violations(department, limit)
    }
}

impl LedgerStore for AnyStore {
    fn seal(&self, row: &SealRow, audit: &AuditEntry) -> Result<(), StoreError> {
        self.ledger().seal(row, audit)
    }
    fn seals(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<SealRow>, StoreError> {
        self.ledger().seals(from, to)
    }
    fn sealed_periods(&self) -> Result<Vec<SealHead>, StoreError> {
        self.ledger().sealed_periods()
    }
    fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        self.ledger().append_audit(entry)
    }
    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.ledger().audit(before, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_every_url_form() {
        for (url, shown) in [
            (
                "postgres://dqmon:pa55-word@db.example:5432/dqmon",
                "postgres://dqmon:<redacted>@db.example:5432/dqmon",
            ),
            (
                "postgresql://dqmon:p%40ss@db/dq?sslmode=require&password=pa55-word",
                "postgresql://dqmon:<redacted>@db/dq?sslmode=require&password=<redacted>",
            ),
            (
                "postgres://dqmon@127.0.0.1:5433/dqmon",
                "postgres://dqmon@127.0.0.1:5433/dqmon",
            ),
            (
                "host=db user=dqmon password=pa55-word dbname=dq",
                "host=db user=dqmon password=<redacted> dbname=dq",
            ),
            (
                "host=db password = 'pa55 \\' word' dbname=dq",
                "host=db password =<redacted> dbname=dq",
            ),
        ] {
            assert_eq!(redacted_url(url), shown);
            let location = StoreLocation::Postgres(url.to_owned());
            for text in [location.to_string(), format!("{location:?}")] {
                assert!(!text.contains("pa55"), "{text}");
                assert!(text.contains("dq"), "{text}");
            }
        }
    }
}

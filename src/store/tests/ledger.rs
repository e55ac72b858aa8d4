//! The ledger: a seal chain per period that only grows by its next version,
//! an audit log that only grows, both refusing every change to a written row.

use super::{TestDb, d};
use crate::store::{AuditEntry, LedgerStore, SealRow, StoreError};

fn row(from: &str, to: &str, version: u32, amends: Option<&str>) -> SealRow {
    SealRow {
        from: d(from),
        to: d(to),
        version,
        sha256: format!("{version:064x}"),
        amends: amends.map(str::to_owned),
        report: format!("{{\"version\":{version}}}").into_bytes(),
        at_ms: 1_000 * i64::from(version),
        actor: "quality-office-1".into(),
    }
}

fn entry(action: &str, subject: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 7,
        actor: "quality-office-1".into(),
        role: "officer".into(),
        action: action.into(),
        subject: subject.into(),
        detail: "version 1".into(),
    }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict(why)) => why,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

pub(crate) fn a_seal_chain_grows_only_by_its_next_version<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    let q2 = ("2026-04-01", "2026-06-30");
    let v1 = row(q2.0, q2.1, 1, None);
    // Nothing but version 1 starts a chain.
    conflict(store.seal(&row(q2.0, q2.1, 2, Some(&v1.sha256)), &entry("amend", "q2")));
    conflict(store.seal(&row(q2.0, q2.1, 1, Some(&v1.sha256)), &entry("seal", "q2")));
    store.seal(&v1, &entry("seal", "q2")).unwrap();
    let why = conflict(store.seal(&v1, &entry("seal", "q2")));
    assert!(why.contains("newest version is 1"), "{why}");
    // Version 2 must amend version 1's hash, and skipping a version is refused.
    conflict(store.seal(
        &row(q2.0, q2.1, 2, Some(&"f".repeat(64))),
        &entry("amend", "q2"),
    ));
    conflict(store.seal(&row(q2.0, q2.1, 3, Some(&v1.sha256)), &entry("amend", "q2")));
    let v2 = row(q2.0, q2.1, 2, Some(&v1.sha256));
    store.seal(&v2, &entry("amend", "q2")).unwrap();
    // Another period is another chain.
    let june = row("2026-06-01", "2026-06-30", 1, None);
    store.seal(&june, &entry("seal", "june")).unwrap();
    drop(store);

    let store = db.open(10).unwrap();
    assert_eq!(store.seals(d(q2.0), d(q2.1)).unwrap(), vec![v1, v2.clone()]);
    assert!(
        store
            .seals(d("2026-01-01"), d("2026-03-31"))
            .unwrap()
            .is_empty()
    );
    let heads: Vec<(String, u32, String)> = store
        .sealed_periods()
        .unwrap()
        .into_iter()
        .map(|h| (h.from.to_string(), h.version, h.sha256))
        .collect();
    assert_eq!(
        heads,
        vec![
            (q2.0.to_owned(), 2, v2.sha256),
            ("2026-06-01".to_owned(), 1, june.sha256)
        ]
    );
    // One audit entry per version written, none for a refused one.
    let actions: Vec<String> = store
        .audit(None, 100)
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {}", r.entry.action, r.entry.subject))
        .collect();
    assert_eq!(actions, vec!["seal june", "amend q2", "seal q2"]);
    // A reader sees the same.
    let reader = db.open_read_only().unwrap();
    assert_eq!(reader.sealed_periods().unwrap().len(), 2);
    assert_eq!(reader.audit(None, 100).unwrap().len(), 3);
}

pub(crate) fn the_audit_log_pages_newest_first<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    let ids: Vec<i64> = (0..5)
        .map(|i| {
            store
                .append_audit(&entry("seal", &format!("p{i}")))
                .unwrap()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let page = |before, limit| -> Vec<String> {
        store
            .audit(before, limit)
            .unwrap()
            .into_iter()
            .map(|r| r.entry.subject)
            .collect()
    };
    assert_eq!(page(None, 2), vec!["p4", "p3"]);
    assert_eq!(page(Some(ids[3]), 10), vec!["p2", "p1", "p0"]);
    assert!(page(Some(ids[0]), 10).is_empty());
    let first = &store.audit(None, 1).unwrap()[0];
    assert_eq!(first.id, ids[4]);
    assert_eq!(first.entry, entry("seal", "p4"));
}

pub(crate) fn the_ledger_refuses_every_change_to_a_written_row<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    store
        .seal(
            &row("2026-04-01", "2026-06-30", 1, None),
            &entry("seal", "q2"),
        )
        .unwrap();
    for sql in [
        "UPDATE sealed_reports SET actor = 'someone-else'",
        "DELETE FROM sealed_reports",
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
    ] {
        let err = D::execute(&store, sql).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        store.seals(d("2026-04-01"), d("2026-06-30")).unwrap().len(),
        1
    );
    assert_eq!(
        store.audit(None, 10).unwrap()[0].entry.actor,
        "quality-office-1"
    );
}

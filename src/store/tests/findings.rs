//! Findings: opened and fixed by checkpoints (both in one checkpoint too),
//! restored while open, summarised per department with overdue by the
//! working-day calendar and the median time to fix, listed newest first.

use super::{TestDb, d};
use crate::catalog::WorkingDays;
use crate::model::Dimension;
use crate::store::findings::{self, FindingStore, RecordAt, Status};
use crate::store::{Checkpoint, CheckpointStore, FindingFixed, FindingOpened, StoreError};

const HOUR: i64 = 3_600_000;

fn at(offset: i64) -> RecordAt {
    RecordAt {
        topic: "exchange.tax.taxpayer_registration".into(),
        partition: 1,
        offset,
        record_id: Some(format!("r{offset}")),
    }
}

fn opened(department: &str, key: u64, check: &str, opened_ms: i64, day: &str) -> FindingOpened {
    FindingOpened {
        key: [key, key],
        department: department.into(),
        dataset: format!("{department}_ds"),
        check: check.into(),
        dimension: Dimension::Format,
        opened_ms,
        opened_day: d(day),
        at: at(opened_ms / HOUR),
    }
}

fn fixed(o: &FindingOpened, fixed_ms: i64) -> FindingFixed {
    FindingFixed {
        key: o.key,
        dataset: o.dataset.clone(),
        check: o.check.clone(),
        opened_ms: o.opened_ms,
        fixed_ms,
        at: at(fixed_ms / HOUR),
    }
}

fn commit<S: CheckpointStore>(store: &S, opened: Vec<FindingOpened>, fixed: Vec<FindingFixed>) {
    store
        .commit(&Checkpoint {
            findings_opened: opened,
            findings_fixed: fixed,
            ..Checkpoint::default()
        })
        .unwrap();
}

pub(crate) fn findings_open_fix_restore_and_summarise<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    // tax: three findings; one opened and fixed in the same checkpoint.
    let a = opened("tax", 1, "uscc.format", 10 * HOUR, "2026-09-28");
    let b = opened("tax", 2, "uscc.format", 20 * HOUR, "2026-09-30");
    let c = opened("tax", 3, "name.required", 30 * HOUR, "2026-10-09");
    commit(
        &store,
        vec![a.clone(), b.clone(), c.clone()],
        vec![fixed(&c, 32 * HOUR)],
    );
    // health: one opened, fixed in a later checkpoint.
    let h = opened("health", 4, "gender.format", 5 * HOUR, "2026-10-09");
    commit(&store, vec![h.clone()], vec![]);
    commit(
        &store,
        vec![],
        vec![fixed(&a, 14 * HOUR), fixed(&h, 6 * HOUR)],
    );

    let mut open = store.open_findings().unwrap();
    open.sort_by_key(|r| r.key);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0].key, open[0].check.as_str()),
        ([2, 2], "uscc.format")
    );
    assert_eq!(open[0].opened_ms, 20 * HOUR);

    // Fixed tax findings took 4 h and 2 h: median 3 h.
    let calendar = WorkingDays::default();
    let departments = vec!["health".to_owned(), "tax".to_owned(), "hrss".to_owned()];
    // b opened Wednesday 30 September; overdue after 3 working days: from
    // Monday 5 October on (this calendar has no holidays).
    for (today, overdue) in [("2026-10-02", 0), ("2026-10-05", 0), ("2026-10-06", 1)] {
        let s = findings::summary(&store, &departments, None, &calendar, 3, d(today)).unwrap();
        assert_eq!(s["tax"].open, 1);
        assert_eq!(s["tax"].overdue, overdue, "{today}");
        assert_eq!(s["tax"].fixed, 2);
        assert_eq!(s["tax"].median_time_to_fix_secs, Some(3 * 3600));
        assert_eq!(s["health"].median_time_to_fix_secs, Some(3600));
        assert_eq!(
            s["hrss"],
            Default::default(),
            "a department without findings has zeros"
        );
    }
    let only = findings::summary(
        &store,
        &departments,
        Some("health"),
        &calendar,
        3,
        d("2026-12-01"),
    )
    .unwrap();
    assert_eq!(only.keys().collect::<Vec<_>>(), ["health"]);

    let listed = store
        .list_findings(Some("tax"), Status::Fixed, None, 10)
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].opened_ms, 30 * HOUR, "newest opening first");
    assert_eq!(
        listed[0].fixed.as_ref().map(|(ms, at)| (*ms, at.offset)),
        Some((32 * HOUR, 32))
    );
    assert_eq!(listed[0].opened.record_id.as_deref(), Some("r30"));
    let listed = store.list_findings(None, Status::Open, None, 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].department.as_str(), listed[0].dimension),
        ("tax", Dimension::Format)
    );
    assert_eq!(listed[0].opened_day, d("2026-09-30"));
    assert!(listed[0].fixed.is_none());
    assert_eq!(
        store
            .list_findings(None, Status::Fixed, None, 1)
            .unwrap()
            .len(),
        1
    );

    // Opened on or before a day: b (30 September) is, a later one is not.
    let e = opened("tax", 6, "uscc.format", 40 * HOUR, "2026-10-12");
    commit(&store, vec![e.clone()], vec![]);
    let until = |day: &str| {
        store
            .list_findings(Some("tax"), Status::Open, Some(d(day)), 10)
            .unwrap()
            .into_iter()
            .map(|f| f.opened_day)
            .collect::<Vec<_>>()
    };
    assert_eq!(until("2026-09-30"), [d("2026-09-30")]);
    assert_eq!(until("2026-10-12"), [d("2026-10-12"), d("2026-09-30")]);
    assert!(until("2026-09-29").is_empty());
    commit(&store, vec![], vec![fixed(&e, 41 * HOUR)]);

    // Reopened (a restart replays the opening): open again, fix forgotten.
    commit(&store, vec![a.clone()], vec![]);
    assert_eq!(store.open_findings().unwrap().len(), 2);
    // A fix of an opening that was never written is refused, and nothing lands.
    let ghost = opened("tax", 9, "uscc.format", HOUR, "2026-09-01");
    let err = store
        .commit(&Checkpoint {
            findings_opened: vec![b.clone()],
            findings_fixed: vec![fixed(&ghost, 2 * HOUR)],
            ..Checkpoint::default()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(store.open_findings().unwrap().len(), 2);

    // Even counts of fixes: the mean of the middle two.
    let e = opened("health", 5, "gender.format", 0, "2026-10-09");
    commit(&store, vec![e.clone()], vec![fixed(&e, 4 * HOUR)]);
    let s = findings::summary(&store, &departments, None, &calendar, 3, d("2026-12-01")).unwrap();
    assert_eq!(
        s["tax"].fixed, 2,
        "2 h and 1 h: a's fix was undone by its reopening"
    );
    assert_eq!(s["tax"].median_time_to_fix_secs, Some(5400));
    assert_eq!(s["health"].fixed, 2);
    assert_eq!(
        s["health"].median_time_to_fix_secs,
        Some(9000),
        "1 h and 4 h: 2.5 h"
    );
}

/// One checkpoint holding an opening twice and two fixes of it (a late
/// failure at the opening's very millisecond reopens it): both backends keep
/// the first opening's record and the later fix, as row-by-row writes would.
pub(crate) fn findings_written_twice_in_one_checkpoint<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    let o = opened("tax", 7, "uscc.format", 10 * HOUR, "2026-09-28");
    let mut again = o.clone();
    again.at = at(99);
    commit(
        &store,
        vec![o.clone(), again],
        vec![fixed(&o, 11 * HOUR), fixed(&o, 12 * HOUR)],
    );
    let listed = store.list_findings(None, Status::Fixed, None, 10).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].opened.offset, 10, "the first opening's record");
    assert_eq!(
        listed[0].fixed.as_ref().map(|(ms, at)| (*ms, at.offset)),
        Some((12 * HOUR, 12))
    );
    assert!(store.open_findings().unwrap().is_empty());
}

//! Disputes: what an upheld dispute withdraws from the scores (against a
//! hand-computed case), the procedure's order and its audit entries, and
//! the failures kept while disputable.

use std::path::Path;

use super::{TestDb, d};
use crate::catalog::Checks;
use crate::model::period::PeriodBounds;
use crate::model::{Counts, Dimension};
use crate::store::assessment::live_scores;
use crate::store::disputes::{
    Action, Authority, Decision, DisputeFilter, DisputeStore, NewDispute, Scope, Stage, Step,
    Verification,
};
use crate::store::findings::RecordAt;
use crate::store::{
    AuditEntry, Checkpoint, CheckpointStore, DayCounts, Failure, LedgerStore, StoreError,
};

const DEP: &str = "hrss";
const DS: &str = "social_insurance";
const TOPIC: &str = "exchange.hrss.social_insurance";
/// 2026-03-02 12:00 in Beijing.
const NOON: i64 = 1_772_424_000_000;

fn checks() -> Checks {
    crate::catalog::load(Path::new("checks")).unwrap()
}

/// The two first format checks and the cross-source check of the dataset.
fn check_ids(checks: &Checks) -> (String, String, String) {
    let ds = checks.dataset(DEP, DS).unwrap();
    let mut format = ds
        .checks
        .iter()
        .filter(|c| c.dimension == Dimension::Format);
    let f1 = format.next().unwrap().id.clone();
    let f2 = format.next().unwrap().id.clone();
    let cs = ds
        .checks
        .iter()
        .find(|c| checks.authority_of(ds, &c.id).is_some())
        .unwrap()
        .id
        .clone();
    (f1, f2, cs)
}

fn failure(offset: i64, check: &str, dimension: Dimension) -> Failure {
    Failure {
        at: RecordAt {
            topic: TOPIC.into(),
            partition: 0,
            offset,
            record_id: Some(format!("r{offset}")),
        },
        timestamp_ms: NOON + offset,
        day: d("2026-03-02"),
        department: DEP.into(),
        dataset: DS.into(),
        check: check.into(),
        dimension,
    }
}

fn step(day: &str, actor: &str) -> Step {
    Step {
        at_ms: NOON,
        day: d(day),
        actor: actor.into(),
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        at_ms: NOON,
        actor: "someone".into(),
        role: "officer".into(),
        action: action.into(),
        subject: String::new(),
        detail: String::new(),
    }
}

fn new_dispute(checks: &Checks, check: &str, scope: Scope) -> NewDispute {
    let ds = checks.dataset(DEP, DS).unwrap();
    NewDispute {
        department: DEP.into(),
        dataset: DS.into(),
        check: check.into(),
        dimension: ds.checks.iter().find(|c| c.id == check).unwrap().dimension,
        scope,
        record_id: None,
        reason: "the rule misfires".into(),
        authority: checks.authority_of(ds, check).map(|a| Authority {
            department: a.department.clone(),
            dataset: a.name.clone(),
        }),
        filed: step("2026-03-03", "hrss-desk"),
    }
}

fn record(offset: i64) -> Scope {
    Scope::Record {
        topic: TOPIC.into(),
        partition: 0,
        offset,
        day: d("2026-03-02"),
    }
}

fn act<S: DisputeStore>(store: &S, checks: &Checks, id: i64, action: Action, day: &str) {
    store
        .act(
            id,
            &action,
            step(day, "officer-desk"),
            &checks.governance.disputes,
            &checks.working_days,
            &audit(action.name()),
        )
        .unwrap()
        .unwrap();
}

/// Per dimension, and per check with outcomes: [passed, failed].
type Outcomes = (Vec<[u64; 2]>, Vec<(String, [u64; 2])>);

/// The counts of (department, dataset) in March 2026's live scores.
fn counts_of<D: TestDb>(
    store: &D::Store,
    checks: &Checks,
    department: &str,
    dataset: &str,
) -> Outcomes {
    let period = PeriodBounds::clamped(d("2026-03-01"), d("2026-03-31"));
    let scores = live_scores(store, store, checks, period, None).unwrap();
    let report = &scores.departments[department].report.datasets[dataset];
    let dims = Dimension::ALL
        .iter()
        .map(|dim| {
            let c = report.dimensions[dim];
            [c.passed, c.failed]
        })
        .collect();
    let checks = report
        .checks
        .iter()
        .filter(|(_, c)| c.total() > 0)
        .map(|(id, c)| (id.clone(), [c.passed, c.failed]))
        .collect();
    (dims, checks)
}

/// Four records on 2 March: r1 fails format check f1 only; r2 fails f1 and
/// f2 (both format); r3 fails the cross-source check; r4 passes everything.
/// Disputes: f1 over March (upheld), r3's conflict (upheld after the
/// authority said its value was wrong), r2's f2 (pending). A fifth record
/// failing f1 arrives after the decisions.
pub(crate) fn disputes_withdraw_exactly_what_they_cover<D: TestDb>() {
    use Dimension::*;
    let mut checks = checks();
    let (f1, f2, cs) = check_ids(&checks);
    let db = D::new();
    let store = db.open(10).unwrap();
    let mut hrss = DayCounts::new(d("2026-03-02"), DEP, DS);
    hrss.counts.records = 4;
    // completeness, format, consistency, freshness, uniqueness
    hrss.counts.dimensions = [[4, 0], [2, 2], [3, 1], [4, 0], [4, 0]].map(Counts::from);
    hrss.counts.checks = vec![
        (f1.clone(), [2, 2].into()),
        (f2.clone(), [3, 1].into()),
        (cs.clone(), [3, 1].into()),
    ];
    let mut ps = DayCounts::new(d("2026-03-02"), "public_security", "household_registration");
    ps.counts.records = 1;
    ps.counts.dimensions[Completeness as usize] = [1, 0].into();
    store
        .commit(&Checkpoint {
            counts: vec![hrss.clone(), ps],
            failures: vec![
                failure(1, &f1, Format),
                failure(2, &f1, Format),
                failure(2, &f2, Format),
                failure(3, &cs, Consistency),
            ],
            ..Checkpoint::default()
        })
        .unwrap();
    let before = counts_of::<D>(&store, &checks, DEP, DS);
    assert_eq!(before.0, vec![[4, 0], [2, 2], [3, 1], [4, 0], [4, 0]]);

    let whole = store
        .file_dispute(
            &new_dispute(
                &checks,
                &f1,
                Scope::Check {
                    from: d("2026-03-01"),
                    to: d("2026-03-31"),
                },
            ),
            &audit("dispute.file"),
        )
        .unwrap();
    let conflict = store
        .file_dispute(
            &new_dispute(&checks, &cs, record(3)),
            &audit("dispute.file"),
        )
        .unwrap();
    let pending = store
        .file_dispute(
            &new_dispute(&checks, &f2, record(2)),
            &audit("dispute.file"),
        )
        .unwrap();
    // Filed only: nothing changes.
    assert_eq!(counts_of::<D>(&store, &checks, DEP, DS), before);
    let upheld = || Action::Decide {
        decision: Decision::Upheld,
        reason: None,
    };
    act(&store, &checks, whole, Action::Accept, "2026-03-04");
    act(&store, &checks, whole, upheld(), "2026-03-05");
    act(&store, &checks, conflict, Action::Accept, "2026-03-04");
    act(
        &store,
        &checks,
        conflict,
        Action::Verify {
            answer: Verification::OursWrong,
            note: Some("our register was stale, corrected".into()),
        },
        "2026-03-05",
    );
    act(&store, &checks, conflict, upheld(), "2026-03-06");
    assert_eq!(store.dispute(pending).unwrap().unwrap().stage, Stage::Filed);
    // A late record r5 of 2 March failing f1: the upheld check dispute
    // covers it too, whenever it arrives.
    let mut late = DayCounts::new(d("2026-03-02"), DEP, DS);
    late.counts.records = 1;
    late.counts.dimensions = [[1, 0], [0, 1], [1, 0], [1, 0], [1, 0]].map(Counts::from);
    late.counts.checks = vec![(f1.clone(), [0, 1].into())];
    store
        .commit(&Checkpoint {
            counts: vec![late],
            failures: vec![failure(5, &f1, Format)],
            ..Checkpoint::default()
        })
        .unwrap();

    // By hand: format: r1 and r5 pass now (f1 was their only format
    // failure), r2 still fails f2: [5 - 1, 1]. f1: all five pass. The
    // conflict of r3 is withdrawn: consistency [5, 0]; charged to the
    // authority instead: one consistency failure there.
    let (dims, by_check) = counts_of::<D>(&store, &checks, DEP, DS);
    assert_eq!(dims, vec![[5, 0], [4, 1], [5, 0], [5, 0], [5, 0]]);
    assert_eq!(
        by_check,
        [
            (cs.clone(), [4, 0]),
            (f1.clone(), [5, 0]),
            (f2.clone(), [3, 1])
        ]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    let (ps_dims, ps_checks) =
        counts_of::<D>(&store, &checks, "public_security", "household_registration");
    assert_eq!(ps_dims[Consistency as usize], [0, 1]);
    assert_eq!(
        ps_checks,
        vec![(crate::store::withdraw::CHARGED_CHECK.to_owned(), [0, 1])]
    );

    // When pending disputes do not count against the score, r2's f2 is
    // withdrawn too: r2's format passes, and f2 with it.
    checks.governance.disputes.pending_counts_against_score = false;
    let (dims, by_check) = counts_of::<D>(&store, &checks, DEP, DS);
    assert_eq!(dims[Format as usize], [5, 0]);
    assert!(by_check.contains(&(f2.clone(), [4, 0])), "{by_check:?}");
    // A seal of March freezes these scores and names the decided disputes
    // (not the pending one), with where the conflict was charged.
    checks.governance.disputes.pending_counts_against_score = true;
    let march = PeriodBounds::clamped(d("2026-03-01"), d("2026-03-31"));
    let actor = crate::store::assessment::Actor {
        name: "officer-desk".into(),
        role: "officer".into(),
        at_ms: NOON,
    };
    crate::store::assessment::seal_period(
        &store,
        &store,
        &store,
        &checks,
        march,
        d("2026-04-01"),
        crate::store::assessment::SealAction::Seal,
        &actor,
    )
    .unwrap();
    let (_, link) = crate::store::assessment::sealed(&store, march)
        .unwrap()
        .pop()
        .unwrap();
    let named: Vec<(i64, &str, Option<&str>)> = link
        .report
        .disputes
        .iter()
        .map(|d| (d.id, d.decision.as_str(), d.charged_to.as_deref()))
        .collect();
    assert_eq!(
        named,
        vec![
            (whole, "upheld", None),
            (
                conflict,
                "upheld",
                Some("public_security.household_registration")
            ),
        ]
    );
    assert_eq!(
        link.report.scores.departments[DEP].report.datasets[DS].dimensions[&Format],
        Counts::from([4, 1])
    );
    // Another period is untouched.
    let april = PeriodBounds::clamped(d("2026-04-01"), d("2026-04-30"));
    assert!(
        live_scores(&store, &store, &checks, april, None)
            .unwrap()
            .departments
            .values()
            .all(|dep| dep.report.records == 0)
    );
}

pub(crate) fn dispute_steps_follow_the_procedure_and_are_audited<D: TestDb>() {
    let checks = checks();
    let (f1, _, cs) = check_ids(&checks);
    let db = D::new();
    let store = db.open(10).unwrap();
    store
        .commit(&Checkpoint {
            failures: vec![
                failure(1, &f1, Dimension::Format),
                failure(3, &cs, Dimension::Consistency),
            ],
            ..Checkpoint::default()
        })
        .unwrap();
    // A record without a kept failure of the check: refused, nothing stored.
    assert!(matches!(
        store.file_dispute(
            &new_dispute(&checks, &cs, record(1)),
            &audit("dispute.file")
        ),
        Err(StoreError::Conflict(_))
    ));
    assert!(store.audit(None, 10).unwrap().is_empty());
    let id = store
        .file_dispute(
            &new_dispute(&checks, &cs, record(3)),
            &audit("dispute.file"),
        )
        .unwrap();
    let other = store
        .file_dispute(
            &new_dispute(&checks, &f1, record(1)),
            &audit("dispute.file"),
        )
        .unwrap();
    assert!(other > id);
    let rules = &checks.governance.disputes;
    let cal = &checks.working_days;
    let try_act = |action: Action| {
        store.act(
            id,
            &action,
            step("2026-03-04", "x"),
            rules,
            cal,
            &audit(action.name()),
        )
    };
    // Out of order: refused, nothing written (no audit entry either).
    let audited = store.audit(None, 100).unwrap().len();
    assert!(matches!(
        try_act(Action::Verify {
            answer: Verification::OursRight,
            note: None
        }),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.audit(None, 100).unwrap().len(), audited);
    assert_eq!(store.dispute(id).unwrap().unwrap().stage, Stage::Filed);
    let accepted = try_act(Action::Accept).unwrap().unwrap();
    assert_eq!(accepted.stage, Stage::Verifying);
    assert_eq!(accepted.accepted.as_ref().unwrap().day, d("2026-03-04"));
    // The stored row says the same, and lists filter by department (filer
    // or authority) and stage.
    assert_eq!(store.dispute(id).unwrap().unwrap(), accepted);
    let of = |dep: &str, stages: Vec<Stage>| {
        store
            .disputes(
                &DisputeFilter {
                    department: Some(dep.into()),
                    stages,
                },
                10,
            )
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("hrss", vec![]), vec![other, id]);
    assert_eq!(of("public_security", vec![]), vec![id]);
    assert_eq!(of("tax", vec![]), Vec::<i64>::new());
    assert_eq!(of("hrss", vec![Stage::Filed]), vec![other]);
    assert!(
        store
            .act(
                999,
                &Action::Accept,
                step("2026-03-04", "x"),
                rules,
                cal,
                &audit("a")
            )
            .unwrap()
            .is_none()
    );
    // Every step and filing is in the audit log, subject the dispute.
    let log = store.audit(None, 100).unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|r| (r.entry.action.as_str(), r.entry.subject.as_str()))
        .collect();
    let first = format!("dispute {id}");
    let second = format!("dispute {other}");
    assert_eq!(
        actions,
        vec![
            ("dispute.accept", ""),
            ("dispute.file", second.as_str()),
            ("dispute.file", first.as_str()),
        ]
    );
}

pub(crate) fn failures_are_kept_while_disputable<D: TestDb>() {
    use Dimension::*;
    let checks = checks();
    let (f1, f2, _) = check_ids(&checks);
    let db = D::new();
    let store = db.open(10).unwrap();
    store
        .commit(&Checkpoint {
            failures: vec![
                failure(1, &f1, Format),
                failure(2, &f1, Format),
                failure(2, &f2, Format),
            ],
            ..Checkpoint::default()
        })
        .unwrap();
    // The same failure written again (a replay) is one row.
    store
        .commit(&Checkpoint {
            failures: vec![failure(1, &f1, Format)],
            ..Checkpoint::default()
        })
        .unwrap();
    assert_eq!(
        store.failure(TOPIC, 0, 1, &f1).unwrap(),
        Some(failure(1, &f1, Format))
    );
    assert_eq!(store.failure(TOPIC, 0, 1, &f2).unwrap(), None);
    let of_r2 = store
        .failures_failing(DS, &f2, d("2026-03-02"), d("2026-03-02"), None)
        .unwrap();
    assert_eq!(
        of_r2,
        vec![failure(2, &f1, Format), failure(2, &f2, Format)]
    );
    assert_eq!(
        store
            .failures_failing(
                DS,
                &f1,
                d("2026-03-02"),
                d("2026-03-02"),
                Some((TOPIC, 0, 1))
            )
            .unwrap(),
        vec![failure(1, &f1, Format)]
    );
    assert!(
        store
            .failures_failing(DS, &f1, d("2026-03-03"), d("2026-03-31"), None)
            .unwrap()
            .is_empty()
    );
    // r2 is disputed: pruning past both keeps r2's failures (all of them:
    // its outcome is recomputed from them), drops r1's.
    store
        .file_dispute(
            &new_dispute(&checks, &f2, record(2)),
            &audit("dispute.file"),
        )
        .unwrap();
    store
        .commit(&Checkpoint {
            failures_before_ms: Some(NOON + 100),
            ..Checkpoint::default()
        })
        .unwrap();
    assert_eq!(store.failure(TOPIC, 0, 1, &f1).unwrap(), None);
    assert!(store.failure(TOPIC, 0, 2, &f1).unwrap().is_some());
    assert!(store.failure(TOPIC, 0, 2, &f2).unwrap().is_some());
}

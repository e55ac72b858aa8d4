//! What the store says a period's scores are, for an assessment: the newest
//! sealed version when the period is sealed (late records and later
//! decisions never move it), else the live scores built from the counts;
//! and sealing or amending a period. The API, the scorecard and `dqmon
//! scores` all answer through here, so they cannot disagree.
//!
//! Pure of the clock: the caller says what day it is and when it acts.

use chrono::NaiveDate;

use super::disputes::{Dispute, DisputeFilter, DisputeStore, Scope, Stage};
use super::{AuditEntry, DayCounts, LedgerStore, ScoreStore, SealRow, StoreError, withdraw};
use crate::catalog::Checks;
use crate::model::period::PeriodBounds;
use crate::tally::{Chain, DecidedDispute, Scores, SealedLink, SealedReport, build_scores};

/// The seal a served report comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealMark {
    pub version: u32,
    pub sha256: String,
    pub amends: Option<String>,
    pub at_ms: i64,
    pub actor: String,
}

/// A period's scores as served, and the seal they come from (none: live).
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub scores: Scores,
    pub seal: Option<SealMark>,
}

/// The live scores of a period: built from the stored counts, corrected by
/// the disputes that withdraw findings of its records.
pub fn live_scores(
    store: &dyn ScoreStore,
    disputes: &dyn DisputeStore,
    checks: &Checks,
    period: PeriodBounds,
    department: Option<&str>,
) -> Result<Scores, StoreError> {
    let mut counts = store.counts(period.from, period.to, department)?;
    corrected(disputes, checks, period, department, &mut counts)?;
    let rows: Vec<_> = counts.iter().map(DayCounts::row).collect();
    Ok(build_scores(checks, period, department, &rows))
}

/// Applies the corrections of every withdrawing dispute to a period's
/// summed counts (rows by (department, dataset), `day` = the period's first).
/// A department's counts may change through another's dispute (a charge),
/// so every dispute is looked at, whatever `department` is.
pub fn corrected(
    disputes: &dyn DisputeStore,
    checks: &Checks,
    period: PeriodBounds,
    department: Option<&str>,
    counts: &mut Vec<DayCounts>,
) -> Result<(), StoreError> {
    let rules = &checks.governance.disputes;
    let filter = DisputeFilter {
        department: None,
        stages: Stage::ALL
            .into_iter()
            .filter(|s| {
                *s == Stage::Upheld || (s.is_pending() && !rules.pending_counts_against_score)
            })
            .collect(),
    };
    let withdrawing: Vec<Dispute> = disputes
        .disputes(&filter, usize::MAX)?
        .into_iter()
        .filter(|d| d.withdraws(rules))
        .collect();
    let mut failures = Vec::new();
    for d in &withdrawing {
        let (first, last) = d.days();
        let (from, to) = (first.max(period.from), last.min(period.to));
        if from > to {
            continue;
        }
        let at = d.scope.position();
        failures.extend(disputes.failures_failing(&d.dataset, &d.check, from, to, at)?);
    }
    if failures.is_empty() {
        return Ok(());
    }
    let refs: Vec<&Dispute> = withdrawing.iter().collect();
    for ((dep, dataset), correction) in withdraw::corrections(&refs, &failures) {
        if department.is_some_and(|d| d != dep) {
            continue;
        }
        let row = match counts
            .iter_mut()
            .position(|r| r.department == dep && r.dataset == dataset)
        {
            Some(i) => &mut counts[i],
            None => {
                counts.push(DayCounts::new(period.from, &dep, &dataset));
                counts.last_mut().expect("just pushed")
            }
        };
        correction.apply(&mut row.counts);
    }
    counts.sort_by(|a, b| (&a.department, &a.dataset).cmp(&(&b.department, &b.dataset)));
    Ok(())
}

/// The decided disputes that contest records of the period, as a sealed
/// report names them.
pub fn decided_in(
    disputes: &dyn DisputeStore,
    period: PeriodBounds,
) -> Result<Vec<DecidedDispute>, StoreError> {
    let filter = DisputeFilter {
        department: None,
        stages: vec![Stage::Upheld, Stage::Rejected],
    };
    Ok(disputes
        .disputes(&filter, usize::MAX)?
        .into_iter()
        .filter(|d| {
            let (first, last) = d.days();
            first <= period.to && last >= period.from
        })
        .map(|d| DecidedDispute {
            id: d.id,
            contested: match &d.scope {
                Scope::Record {
                    topic,
                    partition,
                    offset,
                    ..
                } => format!("record {topic}/{partition}/{offset}"),
                Scope::Check { from, to } => format!("check {from}..{to}"),
            },
            decision: d.stage.as_str().to_owned(),
            charged_to: d
                .charges_authority()
                .then(|| {
                    d.authority
                        .as_ref()
                        .map(|a| format!("{}.{}", a.department, a.dataset))
                })
                .flatten(),
            department: d.department,
            dataset: d.dataset,
            check: d.check,
        })
        .collect())
}

/// Every sealed version of a period, oldest first, each checked against its
/// stored hash (a row altered behind dqmon's back is [`StoreError::Corrupt`]).
pub fn sealed(
    ledger: &dyn LedgerStore,
    period: PeriodBounds,
) -> Result<Vec<(SealRow, SealedLink)>, StoreError> {
    ledger
        .seals(period.from, period.to)?
        .into_iter()
        .map(|row| {
            let link = SealedLink::parse(&row.sha256, &row.report).map_err(StoreError::Corrupt)?;
            Ok((row, link))
        })
        .collect()
}

/// The chain file of a sealed period (`None` when it is not sealed).
pub fn chain(ledger: &dyn LedgerStore, period: PeriodBounds) -> Result<Option<Chain>, StoreError> {
    let versions: Vec<SealedLink> = sealed(ledger, period)?
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    Ok((!versions.is_empty()).then(|| Chain::new(versions)))
}

/// The scores of a period as served: the newest sealed version's (for a
/// department, its own part of it), else the live ones.
pub fn served_scores(
    store: &dyn ScoreStore,
    disputes: &dyn DisputeStore,
    ledger: &dyn LedgerStore,
    checks: &Checks,
    period: PeriodBounds,
    department: Option<&str>,
) -> Result<Served, StoreError> {
    match sealed(ledger, period)?.pop() {
        Some((row, link)) => {
            let scores = link.report.scores;
            Ok(Served {
                scores: match department {
                    Some(d) => scores.only(d),
                    None => scores,
                },
                seal: Some(mark(&row)),
            })
        }
        None => Ok(Served {
            scores: live_scores(store, disputes, checks, period, department)?,
            seal: None,
        }),
    }
}

/// Sealing (version 1) or amending (version n + 1) a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealAction {
    Seal,
    Amend,
}

impl SealAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SealAction::Seal => "seal",
            SealAction::Amend => "amend",
        }
    }
}

/// Who acts, and when (milliseconds since the epoch).
#[derive(Debug, Clone)]
pub struct Actor {
    /// A token's name.
    pub name: String,
    pub role: String,
    pub at_ms: i64,
}

/// Seals a period (or amends its seal) with its live scores of every
/// department, writing the version and its audit entry in one transaction.
/// Refused with [`StoreError::Conflict`]: a period that has not ended by
/// `today` (it could still change by the day), sealing a sealed period,
/// amending an unsealed one, an amendment that changes nothing.
// The three stores are one database behind three traits; bundling them
// would only move the count of parameters into a struct built per call.
#[allow(clippy::too_many_arguments)]
pub fn seal_period(
    store: &dyn ScoreStore,
    disputes: &dyn DisputeStore,
    ledger: &dyn LedgerStore,
    checks: &Checks,
    period: PeriodBounds,
    today: NaiveDate,
    action: SealAction,
    actor: &Actor,
) -> Result<SealMark, StoreError> {
    if period.to >= today {
        return Err(StoreError::Conflict(format!(
            "the period ends on {}: it can be sealed from the day after",
            period.to
        )));
    }
    let head = sealed(ledger, period)?.pop().map(|(_, link)| link);
    let scores = live_scores(store, disputes, checks, period, None)?;
    let decided = decided_in(disputes, period)?;
    let report = match (action, &head) {
        (SealAction::Seal, Some(_)) => {
            return Err(StoreError::Conflict(
                "the period is sealed already: amend it instead".into(),
            ));
        }
        (SealAction::Amend, None) => {
            return Err(StoreError::Conflict(
                "the period is not sealed: seal it first".into(),
            ));
        }
        (_, previous) => SealedReport::new(scores, &checks.contracts_sha256, previous.as_ref())
            .with_disputes(decided),
    };
    if let Some(previous) = &head
        && previous.report.same_content(&report)
    {
        return Err(StoreError::Conflict(
            "the live scores are those of the newest sealed version: nothing to amend".into(),
        ));
    }
    let link = report.link();
    let row = SealRow {
        from: period.from,
        to: period.to,
        version: link.report.version,
        sha256: link.sha256.clone(),
        amends: link.report.amends.clone(),
        report: link.report.canonical(),
        at_ms: actor.at_ms,
        actor: actor.name.clone(),
    };
    let audit = AuditEntry {
        at_ms: actor.at_ms,
        actor: actor.name.clone(),
        role: actor.role.clone(),
        action: action.as_str().to_owned(),
        subject: format!("{}..{}", period.from, period.to),
        detail: match &row.amends {
            None => format!("version {}, sha256 {}", row.version, row.sha256),
            Some(amends) => format!(
                "version {}, sha256 {}, amends {amends}",
                row.version, row.sha256
            ),
        },
    };
    ledger.seal(&row, &audit)?;
    Ok(mark(&row))
}

fn mark(row: &SealRow) -> SealMark {
    SealMark {
        version: row.version,
        sha256: row.sha256.clone(),
        amends: row.amends.clone(),
        at_ms: row.at_ms,
        actor: row.actor.clone(),
    }
}

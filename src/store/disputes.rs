//! Disputes (异议) in the store: a department contests a failed check of one
//! record, or one check of one of its datasets over a period; the officer
//! accepts it, the authoritative department verifies its value when the
//! check compares with it, and the officer decides. Every step is one
//! transaction with its audit entry.
//!
//! For disputes to reach back `disputable_for_days`, every failed check is
//! kept as a [`Failure`] that long (not only the recent violations): what a
//! withdrawal needs to recompute the record's dimension outcome from its
//! other checks. What a decision does to the scores is `tally::withdraw`'s.
//!
//! Whether a step may follow the dispute's state is decided here
//! ([`Dispute::apply`]), by both backends, inside their transaction.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::findings::RecordAt;
use super::{AuditEntry, StoreError};
use crate::catalog::{DisputeRules, WorkingDays};
use crate::model::Dimension;

/// One failed check of one record, kept while disputable. Written with the
/// checkpoint that counts the record; no field value in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub at: RecordAt,
    /// Message time, epoch milliseconds.
    pub timestamp_ms: i64,
    /// Its day in the exchange's time zone: the day its counts are in.
    pub day: NaiveDate,
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: Dimension,
}

/// What a dispute contests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// The check's failure on one record.
    Record {
        topic: String,
        partition: i32,
        offset: i64,
        /// The record's day (of its message time).
        day: NaiveDate,
    },
    /// The check on every record of the dataset with a message day in
    /// `from..=to` ("the rule is wrong for this value").
    Check { from: NaiveDate, to: NaiveDate },
}

impl Scope {
    /// The record's position (`None` for a check over a period).
    pub fn position(&self) -> Option<(&str, i32, i64)> {
        match self {
            Scope::Record {
                topic,
                partition,
                offset,
                ..
            } => Some((topic.as_str(), *partition, *offset)),
            Scope::Check { .. } => None,
        }
    }

    /// The days of the records it contests (a record's day twice).
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        match self {
            Scope::Record { day, .. } => (*day, *day),
            Scope::Check { from, to } => (*from, *to),
        }
    }
}

/// The authoritative department's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// "Our value is right": the finding stands as far as the authority knows.
    OursRight,
    /// "Ours is wrong, corrected": an upheld dispute charges the conflict to
    /// the authority's dataset.
    OursWrong,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::OursRight => "ours_right",
            Verification::OursWrong => "ours_wrong",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ours_right" => Some(Verification::OursRight),
            "ours_wrong" => Some(Verification::OursWrong),
            _ => None,
        }
    }
}

/// The officer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The finding is withdrawn.
    Upheld,
    /// The finding stands (a reason is required).
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Upheld => "upheld",
            Decision::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upheld" => Some(Decision::Upheld),
            "rejected" => Some(Decision::Rejected),
            _ => None,
        }
    }
}

/// Where a dispute stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Waiting for the officer to accept it.
    Filed,
    /// Accepted; waiting for the authoritative department's answer.
    Verifying,
    /// Accepted (and verified where needed); waiting for the decision.
    Deciding,
    Upheld,
    Rejected,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Filed,
        Stage::Verifying,
        Stage::Deciding,
        Stage::Upheld,
        Stage::Rejected,
    ];
    pub const PENDING: [Stage; 3] = [Stage::Filed, Stage::Verifying, Stage::Deciding];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Filed => "filed",
            Stage::Verifying => "verifying",
            Stage::Deciding => "deciding",
            Stage::Upheld => "upheld",
            Stage::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_pending(self) -> bool {
        Stage::PENDING.contains(&self)
    }
}

/// Who did a step, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at_ms: i64,
    /// The day in the exchange's time zone: deadlines count from it.
    pub day: NaiveDate,
    /// A token's name.
    pub actor: String,
}

/// The dataset a cross-source check compares with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authority {
    pub department: String,
    pub dataset: String,
}

/// A new dispute, as its department files it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDispute {
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: Dimension,
    pub scope: Scope,
    /// The disputed record's id (record scope), from its stored failure.
    pub record_id: Option<String>,
    pub reason: String,
    /// Set for cross-source checks: who must verify first.
    pub authority: Option<Authority>,
    pub filed: Step,
}

/// A dispute as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispute {
    pub id: i64,
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: Dimension,
    pub scope: Scope,
    pub record_id: Option<String>,
    pub reason: String,
    pub authority: Option<Authority>,
    pub stage: Stage,
    pub filed: Step,
    pub accepted: Option<Step>,
    pub verified: Option<Step>,
    pub verification: Option<Verification>,
    /// The authority's note (for people; no personal data asked for).
    pub verification_note: Option<String>,
    pub decided: Option<Step>,
    pub decision_reason: Option<String>,
}

/// A step of the procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The officer accepts the dispute for handling.
    Accept,
    /// The authoritative department answers.
    Verify {
        answer: Verification,
        note: Option<String>,
    },
    /// The officer decides.
    Decide {
        decision: Decision,
        reason: Option<String>,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "dispute.accept",
            Action::Verify { .. } => "dispute.verify",
            Action::Decide { .. } => "dispute.decide",
        }
    }
}

impl Dispute {
    /// The dispute as `action` done at `step` leaves it, or why it may not
    /// follow now ([`StoreError::Conflict`]). `rules` and `calendar` say
    /// whether the authority's deadline has passed: then the officer may
    /// decide without its answer.
    pub fn apply(
        &self,
        action: &Action,
        step: Step,
        rules: &DisputeRules,
        calendar: &WorkingDays,
    ) -> Result<Dispute, StoreError> {
        let conflict = |what: &str| {
            Err(StoreError::Conflict(format!(
                "dispute {} is {}: {what}",
                self.id,
                self.stage.as_str()
            )))
        };
        let mut next = self.clone();
        match action {
            Action::Accept => {
                if self.stage != Stage::Filed {
                    return conflict("only a filed dispute can be accepted");
                }
                next.stage = if self.authority.is_some() {
                    Stage::Verifying
                } else {
                    Stage::Deciding
                };
                next.accepted = Some(step);
            }
            Action::Verify { answer, note } => {
                if self.stage != Stage::Verifying {
                    return conflict("only an accepted cross-source dispute awaits verification");
                }
                next.stage = Stage::Deciding;
                next.verified = Some(step);
                next.verification = Some(*answer);
                next.verification_note = note.clone();
            }
            Action::Decide { decision, reason } => {
                match (self.stage, decision) {
                    (Stage::Deciding, _) | (Stage::Filed, Decision::Rejected) => {}
                    (Stage::Verifying, _)
                        if self
                            .deadline(Stage::Verifying, rules, calendar)
                            .is_some_and(|due| step.day > due) => {}
                    (Stage::Filed, Decision::Upheld) => {
                        return conflict("accept it before upholding it");
                    }
                    (Stage::Verifying, _) => {
                        return conflict(
                            "the authoritative department has not answered and its deadline has not passed",
                        );
                    }
                    _ => return conflict("it is decided already"),
                }
                if *decision == Decision::Rejected
                    && reason.as_deref().is_none_or(|r| r.trim().is_empty())
                {
                    return Err(StoreError::Invalid("a rejection needs a reason".to_owned()));
                }
                next.stage = match decision {
                    Decision::Upheld => Stage::Upheld,
                    Decision::Rejected => Stage::Rejected,
                };
                next.decided = Some(step);
                next.decision_reason = reason.clone();
            }
        }
        Ok(next)
    }

    /// The last day of the stage's deadline (`None` for a decided dispute,
    /// or a stage not reached). Accept and decide count from filing, verify
    /// from acceptance.
    pub fn deadline(
        &self,
        stage: Stage,
        rules: &DisputeRules,
        calendar: &WorkingDays,
    ) -> Option<NaiveDate> {
        let (from, days) = match stage {
            Stage::Filed => (self.filed.day, rules.accept_within_working_days),
            Stage::Verifying => (
                self.accepted.as_ref()?.day,
                rules.verify_within_working_days,
            ),
            Stage::Deciding => (self.filed.day, rules.decide_within_working_days),
            Stage::Upheld | Stage::Rejected => return None,
        };
        Some(calendar.add_working_days(from, days))
    }

    /// The deadline of where it stands now.
    pub fn due(&self, rules: &DisputeRules, calendar: &WorkingDays) -> Option<NaiveDate> {
        self.deadline(self.stage, rules, calendar)
    }

    /// Past the deadline of where it stands, on `today`.
    pub fn overdue(&self, rules: &DisputeRules, calendar: &WorkingDays, today: NaiveDate) -> bool {
        self.due(rules, calendar).is_some_and(|due| today > due)
    }

    /// Whether it takes the finding out of the scores: upheld, or pending
    /// when pending disputes do not count against the score.
    pub fn withdraws(&self, rules: &DisputeRules) -> bool {
        self.stage == Stage::Upheld
            || (!rules.pending_counts_against_score && self.stage.is_pending())
    }

    /// Whether an upheld dispute charges the conflict to the authority.
    pub fn charges_authority(&self) -> bool {
        self.stage == Stage::Upheld && self.verification == Some(Verification::OursWrong)
    }

    /// Whether `f` is one of the failures it contests.
    pub fn covers(&self, f: &Failure) -> bool {
        if f.department != self.department || f.dataset != self.dataset || f.check != self.check {
            return false;
        }
        match &self.scope {
            Scope::Record {
                topic,
                partition,
                offset,
                ..
            } => f.at.topic == *topic && f.at.partition == *partition && f.at.offset == *offset,
            Scope::Check { from, to } => (*from..=*to).contains(&f.day),
        }
    }

    /// What the audit log says it is about: the id and the finding, no value.
    pub fn subject(&self) -> String {
        format!("dispute {}", self.id)
    }

    /// The days of the records it contests.
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        self.scope.days()
    }
}

/// One step's stored columns: when, its day, who (all or none set).
pub(crate) type StepColumns = (Option<i64>, Option<NaiveDate>, Option<String>);

/// A dispute's stored columns as either backend reads them (in the order of
/// both schemas' `DISPUTE_COLUMNS`), before they are checked into a
/// [`Dispute`]: the decoding is one, whatever the backend.
pub(crate) struct DisputeColumns {
    pub id: i64,
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: String,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub record_id: Option<String>,
    pub reason: String,
    pub authority_department: Option<String>,
    pub authority_dataset: Option<String>,
    pub stage: String,
    /// Filed, accepted, verified, decided.
    pub steps: [StepColumns; 4],
    pub verification: Option<String>,
    pub verification_note: Option<String>,
    pub decision_reason: Option<String>,
}

impl DisputeColumns {
    /// The dispute, or [`StoreError::Corrupt`] for columns dqmon never writes.
    pub(crate) fn into_dispute(self) -> Result<Dispute, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("a dispute's {what} is unknown"));
        let [filed, accepted, verified, decided] =
            self.steps.map(|(at, day, actor)| match (at, day, actor) {
                (Some(at_ms), Some(day), Some(actor)) => Some(Step { at_ms, day, actor }),
                _ => None,
            });
        let scope = match (self.topic, self.partition, self.offset) {
            (Some(topic), Some(partition), Some(offset)) => Scope::Record {
                topic,
                partition,
                offset,
                day: self.from,
            },
            _ => Scope::Check {
                from: self.from,
                to: self.to,
            },
        };
        let authority = match (self.authority_department, self.authority_dataset) {
            (Some(department), Some(dataset)) => Some(Authority {
                department,
                dataset,
            }),
            _ => None,
        };
        Ok(Dispute {
            id: self.id,
            department: self.department,
            dataset: self.dataset,
            check: self.check,
            dimension: Dimension::parse(&self.dimension).ok_or_else(|| corrupt("dimension"))?,
            scope,
            record_id: self.record_id,
            reason: self.reason,
            authority,
            stage: Stage::parse(&self.stage).ok_or_else(|| corrupt("stage"))?,
            filed: filed.ok_or_else(|| corrupt("filing"))?,
            accepted,
            verified,
            verification: self
                .verification
                .map(|v| Verification::parse(&v).ok_or_else(|| corrupt("verification")))
                .transpose()?,
            verification_note: self.verification_note,
            decided,
            decision_reason: self.decision_reason,
        })
    }
}

/// Which disputes to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisputeFilter {
    /// Those this department filed or is asked to verify (all when `None`).
    pub department: Option<String>,
    /// Only these stages (all when empty).
    pub stages: Vec<Stage>,
}

impl DisputeFilter {
    pub fn matches(&self, d: &Dispute) -> bool {
        self.department.as_ref().is_none_or(|dep| {
            d.department == *dep || d.authority.as_ref().is_some_and(|a| a.department == *dep)
        }) && (self.stages.is_empty() || self.stages.contains(&d.stage))
    }
}

/// Why a record's dispute is refused when its failure is gone (pruned at
/// the end of the disputable window) by the time it is stored.
pub(crate) const NO_LONGER_KEPT: &str =
    "the record's failure of this check is no longer kept (past the disputable window)";

/// The disputes' side of the store. Blocking, like the others.
pub trait DisputeStore: Send + Sync {
    /// Stores a new dispute and its audit entry in one transaction; returns
    /// its id. A record's dispute needs the record's failure of the check
    /// still kept, checked in the same transaction ([`StoreError::Conflict`]
    /// otherwise).
    fn file_dispute(&self, dispute: &NewDispute, audit: &AuditEntry) -> Result<i64, StoreError>;

    /// Does `action` to dispute `id` and appends `audit` (its detail and
    /// subject as given), in one transaction, after [`Dispute::apply`]
    /// allowed it on the stored row. `None` when there is no such dispute.
    fn act(
        &self,
        id: i64,
        action: &Action,
        step: Step,
        rules: &DisputeRules,
        calendar: &WorkingDays,
        audit: &AuditEntry,
    ) -> Result<Option<Dispute>, StoreError>;

    fn dispute(&self, id: i64) -> Result<Option<Dispute>, StoreError>;

    /// Matching disputes, newest first (by id), at most `limit`.
    fn disputes(&self, filter: &DisputeFilter, limit: usize) -> Result<Vec<Dispute>, StoreError>;

    /// The stored failure of `check` on the record at (topic, partition,
    /// offset), if it failed and is still kept.
    fn failure(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        check: &str,
    ) -> Result<Option<Failure>, StoreError>;

    /// Every stored failure (all checks) of the records of `dataset` with a
    /// day in `from..=to` that failed `check`, at one position when given:
    /// what a dispute of that check needs to recompute their outcomes.
    fn failures_failing(
        &self,
        dataset: &str,
        check: &str,
        from: NaiveDate,
        to: NaiveDate,
        at: Option<(&str, i32, i64)>,
    ) -> Result<Vec<Failure>, StoreError>;
}

/// Deletes failures with a message time before `before_ms`, but never those
/// of a record a dispute covers (all its checks: recomputing its dimension
/// outcome needs them), so an upheld dispute keeps withdrawing what it
/// withdrew. Both backends' pruning condition, over the row's columns.
pub(crate) const PRUNE_UNLESS_DISPUTED: &str = "NOT EXISTS (SELECT 1 FROM disputes d \
     WHERE d.dataset = failures.dataset \
     AND ((d.topic IS NOT NULL AND d.topic = failures.topic \
           AND d.partition_id = failures.partition_id AND d.record_offset = failures.record_offset) \
       OR (d.topic IS NULL AND failures.day BETWEEN d.from_day AND d.to_day)))";

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn step(d: &str) -> Step {
        Step {
            at_ms: 0,
            day: day(d),
            actor: "someone".into(),
        }
    }

    pub(crate) fn cross_source(filed: &str) -> Dispute {
        Dispute {
            id: 7,
            department: "hrss".into(),
            dataset: "insured_persons".into(),
            check: "name.cross_source".into(),
            dimension: Dimension::Consistency,
            scope: Scope::Record {
                topic: "hrss.insured_persons".into(),
                partition: 0,
                offset: 3,
                day: day("2026-03-01"),
            },
            record_id: None,
            reason: "the register is stale".into(),
            authority: Some(Authority {
                department: "public_security".into(),
                dataset: "household_register".into(),
            }),
            stage: Stage::Filed,
            filed: step(filed),
            accepted: None,
            verified: None,
            verification: None,
            verification_note: None,
            decided: None,
            decision_reason: None,
        }
    }

    #[test]
    fn steps_follow_the_procedure() {
        let rules = crate::catalog::Governance::default().disputes;
        let cal = WorkingDays::default();
        let d = cross_source("2026-03-02");
        let upheld = Action::Decide {
            decision: Decision::Upheld,
            reason: None,
        };
        assert!(matches!(
            d.apply(&upheld, step("2026-03-02"), &rules, &cal),
            Err(StoreError::Conflict(_))
        ));
        let accepted = d
            .apply(&Action::Accept, step("2026-03-03"), &rules, &cal)
            .unwrap();
        assert_eq!(accepted.stage, Stage::Verifying);
        // Not before the authority answered, unless its deadline passed
        // (5 working days from Tuesday 3 March: Tuesday 10 March).
        assert!(
            accepted
                .apply(&upheld, step("2026-03-10"), &rules, &cal)
                .is_err()
        );
        assert_eq!(
            accepted
                .apply(&upheld, step("2026-03-11"), &rules, &cal)
                .unwrap()
                .stage,
            Stage::Upheld
        );
        let verified = accepted
            .apply(
                &Action::Verify {
                    answer: Verification::OursWrong,
                    note: None,
                },
                step("2026-03-04"),
                &rules,
                &cal,
            )
            .unwrap();
        assert_eq!(verified.stage, Stage::Deciding);
        assert!(
            verified
                .apply(&Action::Accept, step("2026-03-04"), &rules, &cal)
                .is_err()
        );
        let no_reason = Action::Decide {
            decision: Decision::Rejected,
            reason: Some("  ".into()),
        };
        assert!(matches!(
            verified.apply(&no_reason, step("2026-03-05"), &rules, &cal),
            Err(StoreError::Invalid(_))
        ));
        let done = verified
            .apply(&upheld, step("2026-03-05"), &rules, &cal)
            .unwrap();
        assert!(done.charges_authority() && done.withdraws(&rules));
        assert!(
            done.apply(&upheld, step("2026-03-05"), &rules, &cal)
                .is_err()
        );
        // A filed dispute may be rejected outright, with a reason.
        let rejected = d
            .apply(
                &Action::Decide {
                    decision: Decision::Rejected,
                    reason: Some("not a finding of this department".into()),
                },
                step("2026-03-02"),
                &rules,
                &cal,
            )
            .unwrap();
        assert_eq!(rejected.stage, Stage::Rejected);
        assert!(!rejected.withdraws(&rules) && rejected.due(&rules, &cal).is_none());
    }

    #[test]
    fn deadlines_count_working_days_across_national_day() {
        let checks = crate::catalog::load(std::path::Path::new("checks")).unwrap();
        let (rules, cal) = (&checks.governance.disputes, &checks.working_days);
        // Filed on Wednesday 30 September 2026: 1 to 7 October are
        // holidays, Saturday 10 October is a make-up working day.
        let filed = cross_source("2026-09-30");
        // Accept within 2 working days: Thursday 8 and Friday 9 October.
        assert_eq!(filed.due(rules, cal), Some(day("2026-10-09")));
        assert!(!filed.overdue(rules, cal, day("2026-10-09")));
        assert!(filed.overdue(rules, cal, day("2026-10-10")));
        // Accepted on the 9th: verify within 5 working days, the make-up
        // Saturday counted (10, 12, 13, 14, 15), so Thursday 15, not Friday 16.
        let accepted = filed
            .apply(&Action::Accept, step("2026-10-09"), rules, cal)
            .unwrap();
        assert_eq!(accepted.due(rules, cal), Some(day("2026-10-15")));
        // Decide within 10 working days of filing: 8, 9, 10, 12..16, 19, 20.
        assert_eq!(
            accepted.deadline(Stage::Deciding, rules, cal),
            Some(day("2026-10-20"))
        );
        // Past the authority's deadline the officer may decide without it.
        let upheld = Action::Decide {
            decision: Decision::Upheld,
            reason: None,
        };
        assert!(
            accepted
                .apply(&upheld, step("2026-10-15"), rules, cal)
                .is_err()
        );
        assert!(
            accepted
                .apply(&upheld, step("2026-10-16"), rules, cal)
                .is_ok()
        );
    }

    #[test]
    fn pending_disputes_withdraw_only_when_configured() {
        let mut rules = crate::catalog::Governance::default().disputes;
        let d = cross_source("2026-03-02");
        assert!(!d.withdraws(&rules));
        rules.pending_counts_against_score = false;
        assert!(d.withdraws(&rules) && !d.charges_authority());
    }
}

//! Disputes (异议): a department contests a failed check of one of its
//! records, or a check of one of its datasets over a period; the officer
//! accepts it; for a cross-source check the authoritative department
//! verifies its value; the officer decides. Each step is allowed to one
//! role (403 for the others), follows the procedure (409 out of order) and
//! is in the audit log with its actor. Deadlines are in working days of
//! `governance.yaml`, shown on every dispute.
//!
//! Nothing personal: a record is named by topic, partition, offset and
//! `record_id`; reasons and notes are the parties' own words.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::query::{ApiJson, ApiPath, period_bounds};
use super::seals::rfc3339;
use super::state::blocking;
use super::{Access, ApiError, ApiQuery, ApiState, Identity, today};
use crate::store::AuditEntry;
use crate::store::disputes::{
    Action, Authority, Decision, Dispute, DisputeFilter, NewDispute, Scope, Stage, Step,
    Verification,
};

/// Longest reason or note kept, in characters.
pub(super) const MAX_TEXT_CHARS: usize = 2000;
/// Disputes per list.
pub(super) const MAX_DISPUTES: usize = 1000;

/// The largest offset a filing names: 2^53 - 1, so that every JSON number
/// the document allows (`1.0` is an integer to JSON Schema) is exact.
pub(super) const MAX_OFFSET: i64 = (1 << 53) - 1;

/// The record a dispute contests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordRef {
    topic: String,
    #[serde(deserialize_with = "integral")]
    partition: i32,
    #[serde(deserialize_with = "integral")]
    offset: i64,
}

/// A whole number in `0..=MAX_OFFSET` written as JSON allows it (`7` or
/// `7.0`), as the target type.
fn integral<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    let whole = n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=MAX_OFFSET as f64).contains(f))
            .map(|f| f as i64)
    });
    whole
        .filter(|v| (0..=MAX_OFFSET).contains(v))
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| {
            D::Error::custom(format!(
                "{n} is not a whole number from 0 to {MAX_OFFSET} (or to 2^31 - 1 for a partition)"
            ))
        })
}

/// `POST /api/v1/disputes`: one record's failure of `check` (`record`), or
/// the check over a period (`period`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBody {
    dataset: String,
    check: String,
    reason: String,
    record: Option<RecordRef>,
    period: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyBody {
    answer: String,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecideBody {
    decision: String,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    /// Only disputes at this stage, or `pending` (any undecided one).
    stage: Option<String>,
}

/// A step as answered.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StepView {
    /// RFC 3339, UTC.
    pub at: String,
    pub by: String,
}

/// A dispute as answered.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DisputeView {
    pub id: i64,
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: &'static str,
    pub scope: Scope,
    pub record_id: Option<String>,
    pub reason: String,
    /// The department asked to verify (cross-source checks).
    pub authority: Option<Authority>,
    pub stage: &'static str,
    /// The last day of the current stage's deadline (none once decided).
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    pub filed: StepView,
    pub accepted: Option<StepView>,
    pub verified: Option<StepView>,
    pub verification: Option<&'static str>,
    pub verification_note: Option<String>,
    pub decided: Option<StepView>,
    pub decision_reason: Option<String>,
    /// Whether an upheld decision charged the conflict to the authority.
    pub charged_to_authority: bool,
}

impl DisputeView {
    pub(crate) fn new(state: &ApiState, d: &Dispute, today: NaiveDate) -> Self {
        let rules = &state.checks.governance.disputes;
        let calendar = &state.checks.working_days;
        let view = |s: &Option<Step>| {
            s.as_ref().map(|s| StepView {
                at: rfc3339(s.at_ms),
                by: s.actor.clone(),
            })
        };
        DisputeView {
            id: d.id,
            department: d.department.clone(),
            dataset: d.dataset.clone(),
            check: d.check.clone(),
            dimension: d.dimension.as_str(),
            scope: d.scope.clone(),
            record_id: d.record_id.clone(),
            reason: d.reason.clone(),
            authority: d.authority.clone(),
            stage: d.stage.as_str(),
            due: d.due(rules, calendar),
            overdue: d.overdue(rules, calendar, today),
            filed: view(&Some(d.filed.clone())).expect("filed"),
            accepted: view(&d.accepted),
            verified: view(&d.verified),
            verification: d.verification.map(Verification::as_str),
            verification_note: d.verification_note.clone(),
            decided: view(&d.decided),
            decision_reason: d.decision_reason.clone(),
            charged_to_authority: d.charges_authority(),
        }
    }
}

/// A reason or note: not blank, not too long.
fn text(what: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ApiError::BadRequest(format!("{what} must not be blank")));
    }
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "{what} is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(s.to_owned())
}

/// Now, as a step of `who`.
fn step(state: &ApiState, who: &Identity) -> Step {
    Step {
        at_ms: chrono::Utc::now().timestamp_millis(),
        day: today(state),
        actor: who.name.clone(),
    }
}

fn audit(who: &Identity, at_ms: i64, action: &str, subject: String, detail: String) -> AuditEntry {
    AuditEntry {
        at_ms,
        actor: who.name.clone(),
        role: who.access.role().to_owned(),
        action: action.to_owned(),
        subject,
        detail,
    }
}

/// `POST /api/v1/disputes`: a department files a dispute of its own data.
pub(super) async fn post_dispute(
    who: Identity,
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<FileBody>,
) -> Result<Response, ApiError> {
    let filing = Filing {
        dataset: body.dataset,
        check: body.check,
        reason: body.reason,
        record: body.record.map(|r| (r.topic, r.partition, r.offset)),
        period: body.period,
    };
    let view = state.file_dispute(&who, filing).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// A dispute as its department files it, from the API's body or the
/// scorecard's form.
pub(crate) struct Filing {
    pub dataset: String,
    pub check: String,
    pub reason: String,
    /// (topic, partition, offset) of one record's failure...
    pub record: Option<(String, i32, i64)>,
    /// ...or the check over a period.
    pub period: Option<String>,
}

impl ApiState {
    /// Files a dispute as `who` (a department, of its own dataset).
    pub(crate) async fn file_dispute(
        &self,
        who: &Identity,
        body: Filing,
    ) -> Result<DisputeView, ApiError> {
        let state = self;
        let Access::Department(own) = &who.access else {
            return Err(ApiError::Forbidden(
                "only a department token may file a dispute (of its own data)".into(),
            ));
        };
        let reason = text("reason", &body.reason)?;
        let checks = state.checks.clone();
        let Some(ds) = checks.datasets.iter().find(|d| d.name == body.dataset) else {
            return Err(ApiError::BadRequest(format!(
                "unknown dataset {:?}",
                body.dataset
            )));
        };
        if ds.department != *own {
            return Err(ApiError::Forbidden(
                "a department may dispute findings of its own datasets only".into(),
            ));
        }
        let Some(check) = ds.checks.iter().find(|c| c.id == body.check) else {
            return Err(ApiError::BadRequest(format!(
                "dataset {:?} has no check {:?}",
                body.dataset, body.check
            )));
        };
        let authority = checks.authority_of(ds, &check.id).map(|a| Authority {
            department: a.department.clone(),
            dataset: a.name.clone(),
        });
        let filed = step(state, who);
        let (scope, record_id) = match (body.record, body.period) {
            (Some((topic, partition, offset)), None) => {
                let (disputes, check_id) = (state.disputes.clone(), check.id.clone());
                let failure =
                    blocking(move || Ok(disputes.failure(&topic, partition, offset, &check_id)?))
                        .await?;
                let Some(f) = failure.filter(|f| f.dataset == ds.name && f.department == *own)
                else {
                    return Err(ApiError::NotFound(
                        "no kept failure of this check on this record of the dataset".into(),
                    ));
                };
                (
                    Scope::Record {
                        topic: f.at.topic,
                        partition: f.at.partition,
                        offset: f.at.offset,
                        day: f.day,
                    },
                    f.at.record_id,
                )
            }
            (None, Some(period)) => {
                let p = period_bounds(&period)?;
                if p.from > filed.day {
                    return Err(ApiError::Conflict(
                        "the period has not begun: nothing to dispute yet".into(),
                    ));
                }
                (
                    Scope::Check {
                        from: p.from,
                        to: p.to,
                    },
                    None,
                )
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "give either `record` (one finding) or `period` (the check over a period)"
                        .into(),
                ));
            }
        };
        let new = NewDispute {
            department: own.clone(),
            dataset: ds.name.clone(),
            check: check.id.clone(),
            dimension: check.dimension,
            scope,
            record_id,
            reason,
            authority,
            filed: filed.clone(),
        };
        let entry = audit(
            who,
            filed.at_ms,
            "dispute.file",
            String::new(),
            format!("{}.{} {}", new.department, new.dataset, new.check),
        );
        let disputes = state.disputes.clone();
        let dispute = blocking(move || {
            let id = disputes.file_dispute(&new, &entry)?;
            disputes.dispute(id)?.ok_or_else(|| {
                ApiError::internal("dispute filing", "the filed dispute is not stored")
            })
        })
        .await?;
        tracing::info!(actor = %who.name, dispute = dispute.id, "dispute filed");
        Ok(DisputeView::new(state, &dispute, filed.day))
    }
}

/// `GET /api/v1/disputes`: officers see all; a department those it filed
/// and those it is asked to verify.
pub(super) async fn get_disputes(
    who: Identity,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<DisputeView>>, ApiError> {
    let stages = match q.stage.as_deref() {
        None => vec![],
        Some("pending") => Stage::PENDING.to_vec(),
        Some(s) => vec![Stage::parse(s).ok_or_else(|| {
            ApiError::BadRequest(
                "stage must be filed, verifying, deciding, upheld, rejected or pending".into(),
            )
        })?],
    };
    let list = state.disputes_seen_by(&who.access, stages).await?;
    let today = today(&state);
    Ok(Json(
        list.iter()
            .map(|d| DisputeView::new(&state, d, today))
            .collect(),
    ))
}

impl ApiState {
    /// The disputes `access` sees (officers all; a department those it
    /// filed or is asked to verify) at `stages` (all when empty), newest first.
    pub(crate) async fn disputes_seen_by(
        &self,
        access: &Access,
        stages: Vec<Stage>,
    ) -> Result<Vec<Dispute>, ApiError> {
        let filter = DisputeFilter {
            department: match access {
                Access::Officer => None,
                Access::Department(d) => Some(d.clone()),
            },
            stages,
        };
        let disputes = self.disputes.clone();
        blocking(move || Ok(disputes.disputes(&filter, MAX_DISPUTES)?)).await
    }

    /// The officer accepts dispute `id` (the API's and the scorecard's).
    pub(crate) async fn accept_dispute(
        &self,
        who: &Identity,
        id: i64,
    ) -> Result<DisputeView, ApiError> {
        who.access.officer_only("accept a dispute")?;
        load(self, who, id).await?;
        act(self, who, id, Action::Accept, String::new()).await
    }

    /// The authoritative department answers (`ours_right` or `ours_wrong`).
    pub(crate) async fn verify_dispute(
        &self,
        who: &Identity,
        id: i64,
        answer: &str,
        note: Option<&str>,
    ) -> Result<DisputeView, ApiError> {
        let answer = Verification::parse(answer).ok_or_else(|| {
            ApiError::BadRequest("answer must be ours_right or ours_wrong".into())
        })?;
        let note = note.map(|n| text("note", n)).transpose()?;
        let d = load(self, who, id).await?;
        let authority = d.authority.as_ref().map(|a| a.department.as_str());
        match &who.access {
            Access::Department(dep) if Some(dep.as_str()) == authority => {}
            _ => {
                return Err(ApiError::Forbidden(
                    "only the authoritative department's token may verify its value".into(),
                ));
            }
        }
        let detail = format!("answer {}", answer.as_str());
        act(self, who, id, Action::Verify { answer, note }, detail).await
    }

    /// The officer decides (`upheld` or `rejected`; a rejection needs a reason).
    pub(crate) async fn decide_dispute(
        &self,
        who: &Identity,
        id: i64,
        decision: &str,
        reason: Option<&str>,
    ) -> Result<DisputeView, ApiError> {
        who.access.officer_only("decide a dispute")?;
        let decision = Decision::parse(decision)
            .ok_or_else(|| ApiError::BadRequest("decision must be upheld or rejected".into()))?;
        let reason = reason.map(|r| text("reason", r)).transpose()?;
        if decision == Decision::Rejected && reason.is_none() {
            return Err(ApiError::BadRequest("a rejection needs a reason".into()));
        }
        load(self, who, id).await?;
        let detail = decision.as_str().to_owned();
        act(self, who, id, Action::Decide { decision, reason }, detail).await
    }
}

/// Whether `who` may see dispute `d`: officers, its department, its authority.
fn party(who: &Identity, d: &Dispute) -> bool {
    match &who.access {
        Access::Officer => true,
        Access::Department(dep) => {
            d.department == *dep || d.authority.as_ref().is_some_and(|a| a.department == *dep)
        }
    }
}

async fn load(state: &ApiState, who: &Identity, id: i64) -> Result<Dispute, ApiError> {
    let disputes = state.disputes.clone();
    let found = blocking(move || Ok(disputes.dispute(id)?)).await?;
    match found {
        // A department not party to it learns nothing, not even that it exists.
        Some(d) if party(who, &d) => Ok(d),
        _ => Err(ApiError::NotFound(format!("no dispute {id}"))),
    }
}

/// `GET /api/v1/disputes/{id}`.
pub(super) async fn get_dispute(
    who: Identity,
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DisputeView>, ApiError> {
    let d = load(&state, &who, id).await?;
    Ok(Json(DisputeView::new(&state, &d, today(&state))))
}

/// Does `action` to dispute `id` as `who`, once its role was checked.
async fn act(
    state: &ApiState,
    who: &Identity,
    id: i64,
    action: Action,
    detail: String,
) -> Result<DisputeView, ApiError> {
    let step = step(state, who);
    let entry = audit(
        who,
        step.at_ms,
        action.name(),
        format!("dispute {id}"),
        detail,
    );
    let (disputes, checks) = (state.disputes.clone(), state.checks.clone());
    let day = step.day;
    let name = action.name();
    let done = blocking(move || {
        disputes
            .act(
                id,
                &action,
                step,
                &checks.governance.disputes,
                &checks.working_days,
                &entry,
            )
            .map_err(|e| match e {
                crate::store::StoreError::Invalid(why) => ApiError::BadRequest(why),
                other => other.into(),
            })
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no dispute {id}")))?;
    tracing::info!(actor = %who.name, dispute = id, action = name, stage = done.stage.as_str(), "dispute step");
    Ok(DisputeView::new(state, &done, day))
}

/// `POST /api/v1/disputes/{id}/acceptance` (officers).
pub(super) async fn post_acceptance(
    who: Identity,
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DisputeView>, ApiError> {
    state.accept_dispute(&who, id).await.map(Json)
}

/// `POST /api/v1/disputes/{id}/verification` (the authoritative department).
pub(super) async fn post_verification(
    who: Identity,
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<DisputeView>, ApiError> {
    state
        .verify_dispute(&who, id, &body.answer, body.note.as_deref())
        .await
        .map(Json)
}

/// `POST /api/v1/disputes/{id}/decision` (officers).
pub(super) async fn post_decision(
    who: Identity,
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DecideBody>,
) -> Result<Json<DisputeView>, ApiError> {
    state
        .decide_dispute(&who, id, &body.decision, body.reason.as_deref())
        .await
        .map(Json)
}

//! `/disputes`: the disputes (异议) the signed-in token sees (officers
//! every one; a department those it filed or is asked to verify), newest
//! first, each with the form of its next step for the viewer's role, which
//! posts here: the same calls as `POST /api/v1/disputes/{id}/…`, the same
//! audit entries, then back to the list. The session cookie is
//! SameSite=Strict, so another site cannot post these forms as the user.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{dimension_label, error_page, header_bar, page};
use super::login::{SignedIn, SignedInAs};
use super::period::Today;
use crate::store::disputes::{Dispute, Scope, Stage, Step, Verification};
use crate::web::api::{Access, ApiError, ApiState, Filing};

const TITLE: &str = "异议 Disputes";

pub(super) async fn disputes_page(
    SignedIn(access): SignedIn,
    State(state): State<ApiState>,
    Today(today): Today,
) -> Response {
    match state.disputes_seen_by(&access, vec![]).await {
        Ok(list) => page(StatusCode::OK, TITLE, render(&state, &access, &list, today)),
        Err(e) => error_page(e),
    }
}

/// The authoritative department's answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyForm {
    answer: String,
    #[serde(default)]
    note: String,
}

/// The officer's decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecideForm {
    decision: String,
    #[serde(default)]
    reason: String,
}

/// A department's filing: one record's failure (topic, partition, offset,
/// as the rectification page's forms send them) or a check over a period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileForm {
    dataset: String,
    check: String,
    reason: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    partition: String,
    #[serde(default)]
    offset: String,
    #[serde(default)]
    period: String,
}

/// A whole number typed in a form field.
fn number<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{what} must be a whole number")))
}

impl FileForm {
    fn filing(self) -> Result<Filing, ApiError> {
        let record = match given(&self.topic) {
            None => None,
            Some(topic) => Some((
                topic.to_owned(),
                number("partition", &self.partition)?,
                number("offset", &self.offset)?,
            )),
        };
        Ok(Filing {
            dataset: self.dataset,
            check: self.check,
            reason: self.reason,
            record,
            period: given(&self.period).map(|p| p.trim().to_owned()),
        })
    }
}

/// `POST /disputes`: a department files a dispute from the rectification
/// page (one finding) or from this page (a check over a period).
pub(super) async fn post_file(
    SignedInAs(who): SignedInAs,
    State(state): State<ApiState>,
    form: Result<Form<FileForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        state.file_dispute(&who, form.filing()?).await
    }
    .await;
    done(result)
}

/// A form field left empty is not given.
fn given(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.trim().is_empty())
}

/// Back to the list once done, or the error as a page.
fn done<T>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(_) => Redirect::to("/disputes").into_response(),
        Err(e) => error_page(e),
    }
}

/// The dispute id of a path: 404 when it is not one.
fn dispute_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no dispute {id:?}")))
}

pub(super) async fn post_accept(
    SignedInAs(who): SignedInAs,
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = dispute_id(&id)?;
        state.accept_dispute(&who, id).await
    }
    .await;
    done(result)
}

pub(super) async fn post_verify(
    SignedInAs(who): SignedInAs,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    form: Result<Form<VerifyForm>, FormRejection>,
) -> Response {
    let result = async {
        let id = dispute_id(&id)?;
        let Form(form) = form.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        state
            .verify_dispute(&who, id, &form.answer, given(&form.note))
            .await
    }
    .await;
    done(result)
}

pub(super) async fn post_decide(
    SignedInAs(who): SignedInAs,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    form: Result<Form<DecideForm>, FormRejection>,
) -> Response {
    let result = async {
        let id = dispute_id(&id)?;
        let Form(form) = form.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        state
            .decide_dispute(&who, id, &form.decision, given(&form.reason))
            .await
    }
    .await;
    done(result)
}

/// A step's time in the exchange's zone, as people read it, and who did it.
fn step_text(s: &Step, tz: chrono_tz::Tz) -> Markup {
    let at = chrono::DateTime::from_timestamp_millis(s.at_ms).map_or_else(
        || s.at_ms.to_string(),
        |t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
    );
    html! { span.muted { (at) " · " (s.actor) } }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Filed => "已提交 filed",
        Stage::Verifying => "核实中 verifying",
        Stage::Deciding => "待裁定 deciding",
        Stage::Upheld => "已采纳 upheld",
        Stage::Rejected => "已驳回 rejected",
    }
}

fn render(state: &ApiState, access: &Access, disputes: &[Dispute], today: NaiveDate) -> Markup {
    let checks = &state.checks;
    let tz = checks.time_zone;
    let (rules, calendar) = (&checks.governance.disputes, &checks.working_days);
    html! {
        (header_bar(TITLE, true))
        p { a href="/" { "← 返回评分卡 Back to the scorecard" } }
        p.muted {
            "部门可对本部门数据的检查结果提出异议；主管部门受理并裁定，跨源比对的检查先由权威部门核实。"
            br;
            "A department may dispute a finding on its own data; the officer accepts and decides, and for a cross-source check the authoritative department verifies first. "
            "Times in " (tz.name()) "."
        }
        @if let Access::Department(own) = access {
            (check_form(state, own))
        }
        @if disputes.is_empty() {
            p.muted { "暂无 None." }
        } @else {
            table #disputes {
                thead { tr {
                    th.num { "编号 Id" } th { "部门 · 数据集 · 检查 Finding" }
                    th { "异议对象 Contested" } th { "理由 Reason" } th { "状态 · 期限 Stage · due" }
                    th { "核实 · 裁定 Verification · decision" }
                } }
                tbody {
                    @for d in disputes {
                        @let overdue = d.overdue(rules, calendar, today);
                        tr id={ "dispute-" (d.id) } {
                            td.num { (d.id) }
                            td {
                                (checks.department_name(&d.department)) " · " (d.dataset) br;
                                code { (d.check) } " "
                                span.muted { (dimension_label(d.dimension)) }
                            }
                            td.contested { (contested(d)) }
                            td {
                                (d.reason) br;
                                (step_text(&d.filed, tz))
                            }
                            td {
                                (stage_label(d.stage))
                                @if let Some(due) = d.due(rules, calendar) { br; span.muted { "至 by " (due) } }
                                @if overdue { br; strong.bad.overdue { "逾期 overdue" } }
                            }
                            td {
                                @if let Some(a) = &d.authority {
                                    span.muted { "权威 Authority: " (checks.department_name(&a.department)) " · " (a.dataset) } br;
                                }
                                @match d.verification {
                                    Some(Verification::OursRight) => "我方数据正确 Ours is right",
                                    Some(Verification::OursWrong) => "我方数据有误，已更正 Ours was wrong, corrected",
                                    None => "",
                                }
                                @if let Some(n) = &d.verification_note { br; (n) }
                                @if let Some(s) = &d.verified { br; (step_text(s, tz)) }
                                @if let Some(s) = &d.decided {
                                    @if d.verified.is_some() { br; }
                                    strong { (stage_label(d.stage)) }
                                    @if d.charges_authority() { " " span.muted { "计入权威部门 charged to the authority" } }
                                    @if let Some(r) = &d.decision_reason { br; (r) }
                                    br; (step_text(s, tz))
                                }
                            }
                        }
                        @let form = next_step(access, d, overdue);
                        @if let Some(form) = form {
                            tr.next-step { td {} td colspan="5" { (form) } }
                        }
                    }
                }
            }
        }
    }
}

/// A department disputes one of its checks over a period ("the rule is
/// wrong for this value"); one finding is disputed from its rectification page.
fn check_form(state: &ApiState, own: &str) -> Markup {
    let datasets: Vec<_> = state
        .checks
        .datasets
        .iter()
        .filter(|d| d.department == own)
        .collect();
    html! {
        details.dispute-check {
            summary { "对某项检查提出异议 Dispute a check over a period" }
            p.muted {
                "对单条问题的异议，请在本部门的整改页面提出。"
                " To dispute one finding, use the form beside it on your rectification page ("
                a href={ "/departments/" (own) "/findings" } { "整改 Rectification" } ")."
            }
            form.dispute-file method="post" action="/disputes" {
                label { "数据集 Dataset " select name="dataset" {
                    @for d in &datasets { option value=(d.name) { (d.name) } }
                } }
                " "
                label { "检查 Check " select name="check" {
                    @for d in &datasets { @for c in &d.checks { option value=(c.id) { (c.id) } } }
                } }
                " "
                label { "期间 Period " input type="text" name="period" required placeholder="2026-Q1"; }
                " "
                label { "理由 Reason " input type="text" name="reason" required maxlength="2000"; }
                " "
                button type="submit" { "提出异议 File" }
            }
        }
    }
}

/// The record (or the check over its days) a dispute contests.
fn contested(d: &Dispute) -> Markup {
    html! {
        @match &d.scope {
            Scope::Record { topic, partition, offset, day } => {
                @if let Some(id) = &d.record_id { code { (id) } br; }
                span.muted { (topic) " / " (partition) " / " (offset) " · " (day) }
            }
            Scope::Check { from, to } => {
                "检查 Check " (from) " — " (to)
            }
        }
    }
}

/// The form of a pending dispute's next step, for the viewer's role.
fn next_step(access: &Access, d: &Dispute, overdue: bool) -> Option<Markup> {
    let authority = d.authority.as_ref().map(|a| a.department.as_str());
    let decide = || {
        html! {
            form.dispute-decide method="post" action={ "/disputes/" (d.id) "/decide" } {
                label { "裁定 Decision " select name="decision" {
                    option value="upheld" { "采纳 Uphold" }
                    option value="rejected" { "驳回 Reject" }
                } }
                " "
                label { "理由 Reason " input type="text" name="reason" maxlength="2000"; }
                " "
                button type="submit" { "裁定 Decide" }
            }
        }
    };
    match (access, d.stage) {
        (Access::Officer, Stage::Filed) => Some(html! {
            form.dispute-accept method="post" action={ "/disputes/" (d.id) "/accept" } {
                button type="submit" { "受理 Accept" }
            }
        }),
        // Past the authority's deadline the officer may decide without it.
        (Access::Officer, Stage::Verifying) if overdue => Some(decide()),
        (Access::Officer, Stage::Deciding) => Some(decide()),
        (Access::Department(dep), Stage::Verifying) if Some(dep.as_str()) == authority => {
            Some(html! {
                form.dispute-verify method="post" action={ "/disputes/" (d.id) "/verify" } {
                    label { "核实 Answer " select name="answer" {
                        option value="ours_right" { "我方数据正确 Ours is right" }
                        option value="ours_wrong" { "我方数据有误，已更正 Ours was wrong, corrected" }
                    } }
                    " "
                    label { "说明 Note " input type="text" name="note" maxlength="2000"; }
                    " "
                    button type="submit" { "提交核实 Verify" }
                }
            })
        }
        _ => None,
    }
}

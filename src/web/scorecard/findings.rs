//! `/departments/{department}/findings`: rectification (整改) for one
//! department: how many findings are open, overdue and fixed, the median
//! time to fix, and the findings of one status, each named by dataset,
//! check and where its records were on the bus (never by a value).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{dimension_label, error_page, header_bar, may_view, page};
use super::login::SignedIn;
use super::period::Today;
use crate::model::Dimension;
use crate::store::findings::{FindingSummary, RecordAt};
use crate::web::api::{Access, ApiError, ApiState, FindingView, FindingsAnswer, Listed};

/// Findings listed on the page.
const PAGE_FINDINGS: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub(super) struct FindingsPageQuery {
    status: Option<String>,
}

pub(super) async fn findings_page(
    Path(department): Path<String>,
    SignedIn(access): SignedIn,
    State(state): State<ApiState>,
    Today(today): Today,
    q: Result<Query<FindingsPageQuery>, QueryRejection>,
) -> Response {
    if let Err(e) = may_view(&access, &state.checks, &department) {
        return error_page(e);
    }
    let status = match q {
        Ok(Query(q)) => q.status.filter(|s| !s.is_empty()),
        Err(e) => return error_page(ApiError::BadRequest(e.body_text())),
    };
    let listed = match Listed::parse(status.as_deref()) {
        Ok(l) => l,
        Err(e) => return error_page(e),
    };
    match state
        .findings(Some(department.clone()), listed, PAGE_FINDINGS, today)
        .await
    {
        Ok(answer) => {
            let name = state.checks.department_name(&department).to_owned();
            page(
                StatusCode::OK,
                &format!("{name} — 整改 Rectification"),
                render(
                    &department,
                    &name,
                    listed,
                    &answer,
                    state.checks.time_zone,
                    // The department itself may dispute its open findings.
                    matches!(&access, Access::Department(d) if *d == department),
                ),
            )
        }
        Err(e) => error_page(e),
    }
}

fn render(
    department: &str,
    name: &str,
    listed: Listed,
    a: &FindingsAnswer,
    tz: chrono_tz::Tz,
    may_dispute: bool,
) -> Markup {
    let s = a
        .departments
        .iter()
        .find(|d| d.department == department)
        .map(|d| d.summary)
        .unwrap_or_default();
    html! {
        (header_bar(&format!("{name} — 整改 Rectification"), true))
        p { a href={ "/departments/" (department) } { "← 返回部门页 Back to the department" } }
        p.muted {
            "一条待整改问题：某实体的记录未通过某项检查；同一实体之后的记录通过该检查即为已整改。"
            "超过 " (a.overdue_after_working_days) " 个工作日未整改为逾期（" (a.as_of) " 判定）。"
            br;
            "A finding is a failed check of an entity's record; a later record of the same entity that passes the check fixes it. "
            "Open longer than " (a.overdue_after_working_days) " working days is overdue (judged on " (a.as_of) ")."
        }
        (summary_table(&s))
        nav.tabs {
            @for (l, label) in [(Listed::Open, "待整改 Open"), (Listed::Overdue, "逾期 Overdue"), (Listed::Fixed, "已整改 Fixed")] {
                @if l == listed {
                    strong { (label) }
                } @else {
                    a href={ "/departments/" (department) "/findings?status=" (l.as_str()) } { (label) }
                }
                " "
            }
        }
        (findings_table(&a.findings, listed, tz, may_dispute && listed != Listed::Fixed))
    }
}

/// Files a dispute of the finding's opening record (`POST /disputes`).
fn dispute_form(f: &FindingView) -> Markup {
    html! {
        form.dispute-file method="post" action="/disputes" {
            input type="hidden" name="dataset" value=(f.dataset);
            input type="hidden" name="check" value=(f.check);
            input type="hidden" name="topic" value=(f.opened.topic);
            input type="hidden" name="partition" value=(f.opened.partition);
            input type="hidden" name="offset" value=(f.opened.offset);
            input type="text" name="reason" required maxlength="2000" placeholder="理由 Reason";
            " "
            button type="submit" { "提出异议 Dispute" }
        }
    }
}

/// The four numbers, also on the department page.
pub(super) fn summary_table(s: &FindingSummary) -> Markup {
    html! {
        table #findings-summary {
            thead { tr {
                th.num { "待整改 Open" } th.num { "逾期 Overdue" } th.num { "已整改 Fixed" }
                th.num { "整改用时中位数 Median time to fix" }
            } }
            tbody { tr {
                td.num #open { (s.open) }
                td.num #overdue { @if s.overdue > 0 { strong.bad { (s.overdue) } } @else { (s.overdue) } }
                td.num #fixed { (s.fixed) }
                td.num #median { (duration_text(s.median_time_to_fix_secs)) }
            } }
        }
    }
}

/// "3 d 4 h", "2 h 10 min", "45 min"; "—" before any fix.
fn duration_text(secs: Option<i64>) -> String {
    let Some(secs) = secs else {
        return "—".into();
    };
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// An answer's RFC 3339 time in the exchange's zone, as people read it.
fn local(at: &str, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| at.to_owned())
}

fn findings_table(
    findings: &[FindingView],
    listed: Listed,
    tz: chrono_tz::Tz,
    may_dispute: bool,
) -> Markup {
    if findings.is_empty() {
        return html! { p.muted { "暂无 None." } };
    }
    let at = |r: &RecordAt| {
        html! {
            @if let Some(id) = &r.record_id { code { (id) } br; }
            span.muted { (r.topic) " / " (r.partition) " / " (r.offset) }
        }
    };
    html! {
        table #findings {
            thead { tr {
                th { "数据集 Dataset" } th { "检查 Check" } th { "维度 Dimension" } th { "状态 Status" }
                th { "发现 Opened (" (tz.name()) ")" } th { "整改期限 Due" } th { "发现记录 Opening record" }
                @if listed == Listed::Fixed { th { "整改 Fixed" } th { "整改记录 Fixing record" } }
                @if may_dispute { th { "异议 Dispute" } }
            } }
            tbody {
                @for f in findings {
                    tr {
                        td { (f.dataset) }
                        td { code { (f.check) } }
                        td { @match Dimension::parse(f.dimension) { Some(d) => (dimension_label(d)), None => (f.dimension) } }
                        td { @match f.status {
                            "overdue" => strong.bad { "逾期 overdue" },
                            "fixed" => span { "已整改 fixed" },
                            _ => span { "待整改 open" },
                        } }
                        td { (local(&f.opened_at, tz)) }
                        td { (f.due_day) }
                        td { (at(&f.opened)) }
                        @if listed == Listed::Fixed {
                            td { @if let Some(t) = &f.fixed_at { (local(t, tz)) } }
                            td { @if let Some(r) = &f.fixed { (at(r)) } }
                        }
                        @if may_dispute { td { (dispute_form(f)) } }
                    }
                }
            }
        }
    }
}

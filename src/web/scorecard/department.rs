//! `/departments/{department}`: one department's score, dimensions,
//! datasets, failing checks and recent violations for a period, and its
//! rectification findings now.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};

use super::findings::summary_table as findings_summary;
use super::layout::{
    bar, dataset_titles, dimension_cells, dimension_headers, dimension_label, error_page,
    grade_text, header_bar, may_view, page, score_text, seal_note,
};
use super::login::SignedIn;
use super::period::{InvalidQuery, PageQuery, Today, period_query};
use super::trend::trend_chart;
use crate::catalog::Checks;
use crate::model::period::PeriodBounds;
use crate::model::{Dimension, Violation};
use crate::store::assessment::SealMark;
use crate::store::findings::FindingSummary;
use crate::tally::{DepartmentScores, Step, Trend};
use crate::web::api::{ApiError, ApiState, Listed};

/// Recent violations shown on a department page.
const PAGE_VIOLATIONS: usize = 50;

pub(super) async fn department_page(
    // Before `SignedIn`, as it always was: a path that does not decode is a
    // 400 whoever asks.
    Path(department): Path<String>,
    SignedIn(access): SignedIn,
    State(state): State<ApiState>,
    today: Today,
    q: Result<PageQuery, InvalidQuery>,
) -> Response {
    if let Err(e) = may_view(&access, &state.checks, &department) {
        return error_page(e);
    }
    let bounds = match q.map_err(|InvalidQuery(m)| m).and_then(|q| q.bounds(today)) {
        Ok(b) => b,
        Err(m) => return error_page(ApiError::BadRequest(m)),
    };
    let limit = PAGE_VIOLATIONS.min(state.config.recent_violations_limit_max);
    let scores = state.scores(bounds, Some(department.clone())).await;
    let violations = state
        .recent_violations(Some(department.clone()), limit)
        .await;
    // The year of weeks up to the period shown.
    let trend = state
        .trend(Step::Week, bounds.to, Some(department.clone()))
        .await;
    // Findings are now, not of the period: rectification runs on people's days.
    let findings = state
        .findings(Some(department.clone()), Listed::Open, 1, today.0)
        .await;
    match (scores, violations, trend, findings) {
        (Ok(served), Ok(violations), Ok(trend), Ok(findings)) => {
            let summary = findings
                .departments
                .iter()
                .find(|d| d.department == department)
                .map(|d| d.summary)
                .unwrap_or_default();
            let Some(d) = served.scores.departments.get(&department) else {
                return error_page(ApiError::internal(
                    "department missing from its own scores",
                    &department,
                ));
            };
            page(
                StatusCode::OK,
                &format!("{department} — 数据质量 Data quality"),
                render_department(
                    &state.checks,
                    &department,
                    bounds,
                    d,
                    &Beside {
                        seal: served.seal.as_ref(),
                        violations: &violations,
                        trend: &trend,
                        findings: &summary,
                    },
                ),
            )
        }
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            error_page(e)
        }
    }
}

/// What the page shows beside the period's scores.
struct Beside<'a> {
    seal: Option<&'a SealMark>,
    violations: &'a [Violation],
    trend: &'a Trend,
    findings: &'a FindingSummary,
}

fn render_department(
    checks: &Checks,
    department: &str,
    p: PeriodBounds,
    d: &DepartmentScores,
    b: &Beside<'_>,
) -> Markup {
    let Beside {
        seal,
        violations,
        trend,
        findings,
    } = *b;
    html! {
        (header_bar(&display_title(&d.name, department), true))
        p { a href={ "/?" (period_query(p)) } { "← 返回评分卡 Back to the scorecard" } }
        p.titles { (dataset_titles(checks, department)) }
        p {
            "统计周期 Period: " strong { (p.from) " — " (p.to) }
            span.muted { " (" (checks.time_zone.name()) ")" }
        }
        (seal_note(seal))
        p {
            span.muted { "质量评分 Score " }
            span.big #score { (score_text(d.report.score)) }
            " " span #grade { (grade_text(checks, d.report.grade.as_deref())) }
            span.muted { " · 记录数 Records " (d.report.records) " · 格式错误消息 Malformed " (d.report.malformed) }
        }
        h2 { "近一年每周趋势 Weekly, the last year" }
        (trend_chart(checks, trend, &[department]))
        h2 { "整改 Rectification" }
        (findings_summary(findings))
        p { a href={ "/departments/" (department) "/findings" } { "查看待整改问题 Open findings →" } " "
            a href={ "/departments/" (department) "/findings?status=overdue" } { "逾期 Overdue →" } " "
            a href={ "/departments/" (department) "/findings?status=fixed" } { "已整改 Fixed →" } " "
            a href="/disputes" { "异议 Disputes →" } }
        h2 { "维度 Dimensions" }
        (dimensions_table(checks, d))
        h2 { "数据集 Datasets" }
        (datasets_table(checks, department, d))
        h2 { "最需改进的检查 Checks failing most" }
        (worst_checks_table(d))
        h2 { "最近的问题记录 Recent violations" }
        (violations_table(checks.time_zone, violations))
    }
}

fn dimensions_table(checks: &Checks, d: &DepartmentScores) -> Markup {
    html! {
        table {
            thead { tr { th { "维度 Dimension" } th { "通过率 Pass rate" } th.num { "通过 Passed" } th.num { "未通过 Failed" } } }
            tbody {
                @for dim in Dimension::ALL {
                    @let c = d.report.dimensions.get(&dim).copied().unwrap_or_default();
                    tr {
                        td { (dimension_label(dim)) }
                        td.dim { (bar(c, checks.alert_thresholds[dim as usize])) }
                        td.num { (c.passed) }
                        td.num { (c.failed) }
                    }
                }
            }
        }
    }
}

fn datasets_table(checks: &Checks, department: &str, d: &DepartmentScores) -> Markup {
    let title_of = |ds: &str| {
        checks
            .datasets
            .iter()
            .find(|x| x.department == department && x.name == ds)
            .and_then(|x| x.title.clone())
    };
    html! {
        table {
            thead { tr {
                th { "数据集 Dataset" }
                th.num { "记录数 Records" }
                th.num { "质量评分 Score" }
                th { "等级 Grade" }
                (dimension_headers())
            } }
            tbody {
                @for (name, ds) in &d.report.datasets {
                    tr {
                        td {
                            @if let Some(t) = title_of(name) { (t) br; }
                            span.muted { (name) }
                        }
                        td.num { (ds.records) }
                        td.num.score { (score_text(ds.score)) }
                        td { (grade_text(checks, ds.grade.as_deref())) }
                        (dimension_cells(checks, &ds.dimensions))
                    }
                }
            }
        }
    }
}

fn worst_checks_table(d: &DepartmentScores) -> Markup {
    if d.worst_checks.is_empty() {
        return html! { p.muted { "本期无失败检查 No failed checks in this period." } };
    }
    html! {
        table {
            thead { tr {
                th { "数据集 Dataset" } th { "检查 Check" } th { "维度 Dimension" }
                th.num { "未通过 Failed" } th.num { "通过 Passed" } th.num { "失败率 Fail rate" }
            } }
            tbody {
                @for c in &d.worst_checks {
                    tr {
                        td { (c.dataset) }
                        td { code { (c.check) } }
                        td { @match c.dimension { Some(dim) => (dimension_label(dim)), None => span.na { "—" } } }
                        td.num { (c.failed) }
                        td.num { (c.passed) }
                        td.num { (format!("{:.2}%", c.fail_rate * 100.0)) }
                    }
                }
            }
        }
    }
}

fn violations_table(tz: Tz, violations: &[Violation]) -> Markup {
    if violations.is_empty() {
        return html! { p.muted { "暂无 None." } };
    }
    // The message's time in the exchange's zone; the raw value if out of range.
    let time = |ms: i64| {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| ms.to_string())
    };
    html! {
        table {
            thead { tr {
                th { "时间 Time" } th { "数据集 Dataset" } th { "维度 Dimension" } th { "检查 Check" }
                th { "字段 Field" } th { "原因 Reason" } th { "记录标识 Record id" } th { "位置 Topic / partition / offset" }
            } }
            tbody {
                @for v in violations {
                    tr {
                        td { (time(v.timestamp)) }
                        td { (v.dataset) }
                        td { (dimension_label(v.dimension)) }
                        td { code { (v.check) } }
                        td { @if let Some(f) = &v.field { (f) } }
                        td { (v.reason) }
                        td { @if let Some(r) = &v.record_id { code { (r) } } }
                        td.muted { (v.topic) " / " (v.partition) " / " (v.offset) }
                    }
                }
            }
        }
    }
}

/// The page title: the department's name, and its id when they differ.
fn display_title(name: &str, id: &str) -> String {
    if name == id {
        format!("{id} — 数据质量 Data quality")
    } else {
        format!("{name} ({id}) — 数据质量 Data quality")
    }
}

//! `/`: the departments ranked by score for a period, and `/scores.csv`, the
//! same numbers to download.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::{
    SCORECARD, dataset_titles, dimension_cells, dimension_headers, encode, error_page,
    grade_legend, grade_text, header_bar, page, score_text, seal_note,
};
use super::login::SignedIn;
use super::period::{InvalidQuery, PageQuery, Today, period_picker, period_query};
use super::seals::seal_form;
use super::trend::trend_chart;
use crate::catalog::Checks;
use crate::model::Dimension;
use crate::store::assessment::Served;
use crate::tally::{Scores, Step, Trend};
use crate::web::api::{Access, ApiError, ApiState, FindingsAnswer, Listed, csv_response};

const TITLE: &str = "数据质量评分卡 Scorecard";

pub(super) async fn index(
    SignedIn(access): SignedIn,
    State(state): State<ApiState>,
    today: Today,
    q: Result<PageQuery, InvalidQuery>,
) -> Response {
    let (q, bounds) = match q {
        Ok(q) => {
            let bounds = q.bounds(today);
            (q, bounds)
        }
        Err(InvalidQuery(message)) => (PageQuery::default(), Err(message)),
    };
    let bounds = match bounds {
        Ok(b) => b,
        // The form again, so the period can be corrected.
        Err(message) => {
            let body = html! {
                (header_bar(SCORECARD, false))
                (period_picker(today, &q))
                p.error role="alert" { "周期无效 Invalid period: " (message) }
            };
            return page(StatusCode::BAD_REQUEST, TITLE, body);
        }
    };
    let department = match &access {
        Access::Officer => None,
        Access::Department(d) => Some(d.clone()),
    };
    // The year of months up to the period shown.
    let trend = state
        .trend(Step::Month, bounds.to, department.clone())
        .await;
    // Rectification is now, whatever the period shown.
    let findings = state
        .findings(department.clone(), Listed::Open, 1, today.0)
        .await;
    match (state.scores(bounds, department).await, trend, findings) {
        (Ok(served), Ok(trend), Ok(findings)) => page(
            StatusCode::OK,
            TITLE,
            render_index(
                &state.checks,
                &access,
                today,
                &q,
                &served,
                &trend,
                &findings,
            ),
        ),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => error_page(e),
    }
}

/// The CSV export for browsers (the API's needs a bearer header).
pub(super) async fn csv_download(
    SignedIn(access): SignedIn,
    State(state): State<ApiState>,
    today: Today,
    q: Result<PageQuery, InvalidQuery>,
) -> Response {
    let result = async {
        let q = q.map_err(|InvalidQuery(m)| ApiError::BadRequest(m))?;
        let department = access.department_filter(&state.checks, q.department())?;
        let bounds = q.bounds(today).map_err(ApiError::BadRequest)?;
        let served = state.scores(bounds, department).await?;
        csv_response(&served.scores)
    }
    .await;
    result.unwrap_or_else(error_page)
}

fn render_index(
    checks: &Checks,
    access: &Access,
    today: Today,
    q: &PageQuery,
    served: &Served,
    trend: &Trend,
    findings: &FindingsAnswer,
) -> Markup {
    let scores = &served.scores;
    let p = scores.period;
    html! {
        (header_bar(SCORECARD, true))
        (period_picker(today, q))
        p {
            "统计周期 Period: " strong { (p.from) " — " (p.to) }
            span.muted { " (" (checks.time_zone.name()) ")" }
            " · "
            a href={ "/scores.csv?" (period_query(p)) } download { "下载 CSV Download CSV" }
        }
        (seal_note(served.seal.as_ref()))
        (seal_form(access, today, p, served.seal.as_ref()))
        h2 { "部门排名 Department ranking" }
        (ranking_table(checks, scores))
        (grade_legend(checks))
        h2 { "整改 Rectification" span.muted { " (" (findings.as_of) ")" } }
        (findings_table(findings))
        h2 { "近一年趋势 The last twelve months" }
        (trend_chart(checks, trend, &ranked(scores)))
        p.note {
            "质量评分 = 有结果的各维度通过率加权平均 × 100。 Score = weighted mean of the pass rates of the dimensions with outcomes × 100. 权重 Weights: "
            @for (i, d) in Dimension::ALL.iter().enumerate() {
                @if i > 0 { ", " }
                (d.as_str()) " " (checks.weights.0[i])
            }
            ". 红色：低于告警阈值 Red: below the alert threshold."
        }
    }
}

fn ranking_table(checks: &Checks, scores: &Scores) -> Markup {
    let p = scores.period;
    html! {
        table #ranking {
            thead { tr {
                th.num { "排名 Rank" }
                th { "部门 Department" }
                th.num { "质量评分 Score" }
                th { "等级 Grade" }
                th.num { "记录数 Records" }
                (dimension_headers())
            } }
            tbody {
                @for r in &scores.ranking {
                    @if let Some(d) = scores.departments.get(&r.department) {
                        tr {
                            td.num { @match r.rank { Some(n) => (n), None => span.na { "—" } } }
                            td {
                                a href={ "/departments/" (encode(&r.department)) "?" (period_query(p)) } { (r.name) }
                                @if r.name != r.department { " " span.muted { (r.department) } }
                                div.titles { (dataset_titles(checks, &r.department)) }
                            }
                            td.num.score { (score_text(r.score)) }
                            td { (grade_text(checks, r.grade.as_deref())) }
                            td.num { (d.report.records) }
                            (dimension_cells(checks, &d.report.dimensions))
                        }
                    }
                }
            }
        }
    }
}

/// Each department's open, overdue and fixed findings now, linking to its
/// rectification page.
fn findings_table(a: &FindingsAnswer) -> Markup {
    html! {
        table #findings-overview {
            thead { tr {
                th { "部门 Department" } th.num { "待整改 Open" } th.num { "逾期 Overdue" }
                th.num { "已整改 Fixed" }
            } }
            tbody {
                @for d in &a.departments {
                    tr {
                        td { a href={ "/departments/" (encode(&d.department)) "/findings" } { (d.name) } }
                        td.num { (d.summary.open) }
                        td.num { @if d.summary.overdue > 0 { strong.bad { (d.summary.overdue) } } @else { (d.summary.overdue) } }
                        td.num { (d.summary.fixed) }
                    }
                }
            }
        }
    }
}

/// The departments in ranking order, for the chart's lines.
fn ranked(scores: &Scores) -> Vec<&str> {
    scores
        .ranking
        .iter()
        .map(|r| r.department.as_str())
        .collect()
}

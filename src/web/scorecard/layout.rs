//! The page shell and the pieces every page uses: header, error page,
//! pass-rate bars, scores, dimension labels, link encoding.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::catalog::Checks;
use crate::model::{Counts, Dimension};
use crate::store::assessment::SealMark;
use crate::tally::pass_rate;
use crate::web::api::{Access, ApiError};

/// The scorecard's own title, on the pages that have no better one.
pub(super) const SCORECARD: &str = "数据质量评分卡 Data quality scorecard";

/// Inline, so the pages load nothing from elsewhere (see the CSP).
const CSS: &str = include_str!("style.css");

/// A whole HTML page.
pub(super) fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                // A constant: nothing is interpolated into it.
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    };
    (status, Html(doc.into_string())).into_response()
}

/// An error as a page; an invalid token goes back to the login form instead.
pub(super) fn error_page(e: ApiError) -> Response {
    let status = e.status();
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/login").into_response();
    }
    let body = html! {
        (header_bar(SCORECARD, false))
        p.error role="alert" { (status.as_u16()) " — " (e.message()) }
        p { a href="/" { "← 返回评分卡 Back to the scorecard" } }
    };
    page(status, "错误 Error", body)
}

pub(super) fn header_bar(title: &str, signed_in: bool) -> Markup {
    html! {
        header {
            h1 { (title) }
            @if signed_in {
                form method="post" action="/logout" { button type="submit" { "退出 Sign out" } }
            }
        }
    }
}

/// Dimension labels, Chinese and English.
pub(super) fn dimension_label(d: Dimension) -> &'static str {
    match d {
        Dimension::Completeness => "完整性 Completeness",
        Dimension::Format => "规范性 Format",
        Dimension::Consistency => "一致性 Consistency",
        Dimension::Freshness => "及时性 Freshness",
        Dimension::Uniqueness => "唯一性 Uniqueness",
    }
}

/// A pass-rate bar; red under the dimension's alert threshold.
pub(super) fn bar(c: Counts, threshold: f64) -> Markup {
    match pass_rate(c) {
        None => html! { span.na title="无结果 No outcomes" { "—" } },
        Some(r) => {
            let pct = r * 100.0;
            let class = if r < threshold { "bar low" } else { "bar" };
            html! {
                span.meter title={ (c.passed) " / " (c.passed + c.failed) } {
                    span class=(class) style={ "display:block;width:" (format!("{pct:.2}")) "%" } {}
                }
                " "
                span.rate { (format!("{pct:.2}%")) }
            }
        }
    }
}

pub(super) fn score_text(s: Option<f64>) -> Markup {
    match s {
        Some(s) => html! { (format!("{s:.2}")) },
        None => html! { span.na title="无数据 No data" { "—" } },
    }
}

/// A score's grade: its id and name, coloured by band (`g0` the best).
pub(super) fn grade_text(checks: &Checks, grade: Option<&str>) -> Markup {
    let bands = checks.grades.bands();
    match grade.and_then(|g| bands.iter().position(|b| b.grade == g)) {
        Some(i) => {
            let b = &bands[i];
            html! {
                span class={ "grade g" (i.min(4)) } title={ "≥ " (b.min_score) } { (b.grade) " " (b.name) }
            }
        }
        None => html! { span.na title="无数据 No data" { "—" } },
    }
}

/// The grade bands, as a line under a table.
pub(super) fn grade_legend(checks: &Checks) -> Markup {
    html! {
        p.muted.legend {
            "等级 Grades: "
            @for (i, b) in checks.grades.bands().iter().enumerate() {
                @if i > 0 { " · " }
                (grade_text(checks, Some(&b.grade))) " ≥ " (b.min_score)
            }
        }
    }
}

/// The titles of a department's datasets, for a line under its name.
pub(super) fn dataset_titles(checks: &Checks, department: &str) -> String {
    checks
        .datasets
        .iter()
        .filter(|d| d.department == department)
        .map(|d| d.title.clone().unwrap_or_else(|| d.name.clone()))
        .collect::<Vec<_>>()
        .join("、")
}

/// One column header per dimension, matching [`dimension_cells`].
pub(super) fn dimension_headers() -> Markup {
    html! {
        @for d in Dimension::ALL {
            th { (dimension_label(d)) }
        }
    }
}

/// One pass-rate bar per dimension.
pub(super) fn dimension_cells(checks: &Checks, dims: &BTreeMap<Dimension, Counts>) -> Markup {
    html! {
        @for d in Dimension::ALL {
            td.dim { (bar(dims.get(&d).copied().unwrap_or_default(), checks.alert_thresholds[d as usize])) }
        }
    }
}

/// Percent-encodes a path segment or query value (names are plain ids
/// today; this keeps links right if that ever changes).
pub(super) fn encode(s: &str) -> String {
    crate::web::api::url_component(s)
}

/// Whether the scores shown are a sealed version (and which), or live.
pub(super) fn seal_note(seal: Option<&SealMark>) -> Markup {
    html! {
        @match seal {
            Some(s) => p #seal .sealed {
                "已封存 Sealed · 第 " (s.version) " 版 version " (s.version)
                @if s.amends.is_some() { " (更正 amendment)" }
                " · SHA-256 " code { (s.sha256) }
            },
            None => p #seal .muted { "未封存：随迟到消息变化 Not sealed: late messages still change these scores" },
        }
    }
}

/// Whether `access` may view `department`'s pages: forbidden before
/// unknown, so a department token learns nothing about which other names
/// exist.
pub(super) fn may_view(access: &Access, checks: &Checks, department: &str) -> Result<(), ApiError> {
    if !access.sees(department) {
        return Err(ApiError::Forbidden(
            "此令牌只能查看本部门 This token may only view its own department".into(),
        ));
    }
    if !checks.departments.iter().any(|d| d == department) {
        return Err(ApiError::NotFound(format!(
            "未知部门 Unknown department {department:?}"
        )));
    }
    Ok(())
}

//! The scorecard: server-rendered HTML pages over the API's numbers, for
//! people without an API client. No scripts and no external assets; every
//! interpolation is escaped by `maud`.
//!
//! Browsers cannot send bearer headers on a plain navigation, so the pages
//! also accept the token from the `dqmon_token` cookie set by `/login`.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::catalog::Checks;
use crate::model::period::{Period, PeriodBounds, from_query};
use crate::model::{Counts, Dimension, Violation};
use crate::tally::{DepartmentScores, Scores, pass_rate};
use crate::web::api::{
    Access, ApiError, ApiState, authenticate, bearer_token, csv_response, is_token_byte,
    load_scores, load_violations,
};

/// The cookie holding the token of a signed-in browser.
pub const COOKIE: &str = "dqmon_token";

/// Recent violations shown on a department page.
const PAGE_VIOLATIONS: usize = 50;

/// The pages, with their own state (merge them into the service's router).
pub fn pages(state: ApiState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/departments/{department}", get(department_page))
        .route("/scores.csv", get(csv_download))
        .route("/login", get(login_get).post(login_post))
        .route("/logout", post(logout))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// Pages load nothing from elsewhere and run no script: say so to the
/// browser, and keep them out of frames, caches and referrers.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The `dqmon_token` cookie of a request.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The caller's access: the Authorization header first, else the cookie.
fn page_access(state: &ApiState, headers: &HeaderMap) -> Option<Access> {
    bearer_token(headers)
        .or_else(|| cookie_token(headers))
        .and_then(|t| authenticate(&state.config, t))
}

/// To the login form, which comes back here after signing in.
fn to_login(uri: &Uri) -> Response {
    let here = uri.path_and_query().map_or("/", |p| p.as_str());
    Redirect::to(&format!("/login?next={}", encode(here))).into_response()
}

/// Where to go after signing in: a path on this server only, so a crafted
/// link cannot send a signed-in user elsewhere (`//host` and `/\host` are
/// other hosts to browsers).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => "/",
    }
}

/// Period fields of a page's query; empty form fields count as absent.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    department: Option<String>,
}

impl PageQuery {
    fn field(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The requested period, or the current month in the exchange's time zone.
    fn bounds(&self, checks: &Checks) -> Result<PeriodBounds, String> {
        let (from, to, period) = (
            Self::field(&self.from),
            Self::field(&self.to),
            Self::field(&self.period),
        );
        let (from, to) = if from.is_none() && to.is_none() && period.is_none() {
            let today = today(checks);
            Period::Month {
                year: today.year(),
                month: today.month(),
            }
            .bounds()
        } else {
            from_query(from, to, period)?
        };
        Ok(PeriodBounds { from, to })
    }
}

fn today(checks: &Checks) -> chrono::NaiveDate {
    Utc::now().with_timezone(&checks.time_zone).date_naive()
}

fn page_query(q: Result<Query<PageQuery>, QueryRejection>) -> Result<PageQuery, String> {
    q.map(|Query(q)| q)
        .map_err(|e| format!("invalid query: {}", e.body_text()))
}

async fn index(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Some(access) = page_access(&state, &headers) else {
        return to_login(&uri);
    };
    let q = page_query(q);
    let bounds = q
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|q| q.bounds(&state.checks));
    let q = q.unwrap_or_default();
    let bounds = match bounds {
        Ok(b) => b,
        Err(message) => {
            let body = html! {
                (header_bar("数据质量评分卡 Data quality scorecard", false))
                (period_picker(&state.checks, &q))
                p.error role="alert" { "周期无效 Invalid period: " (message) }
            };
            return page(StatusCode::BAD_REQUEST, "数据质量评分卡 Scorecard", body);
        }
    };
    let department = match &access {
        Access::Officer => None,
        Access::Department(d) => Some(d.clone()),
    };
    match load_scores(&state, bounds, department).await {
        Ok(scores) => page(
            StatusCode::OK,
            "数据质量评分卡 Scorecard",
            render_index(&state.checks, &q, &scores),
        ),
        Err(e) => error_page(e),
    }
}

async fn department_page(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(department): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Some(access) = page_access(&state, &headers) else {
        return to_login(&uri);
    };
    // Forbidden before unknown: a department token learns nothing about
    // which other names exist.
    if !access.sees(&department) {
        return error_page(ApiError::Forbidden(
            "此令牌只能查看本部门 This token may only view its own department".into(),
        ));
    }
    if !state.checks.departments.contains(&department) {
        return error_page(ApiError::NotFound(format!(
            "未知部门 Unknown department {department:?}"
        )));
    }
    let bounds = match page_query(q).and_then(|q| q.bounds(&state.checks)) {
        Ok(b) => b,
        Err(m) => return error_page(ApiError::BadRequest(m)),
    };
    let limit = PAGE_VIOLATIONS.min(state.config.recent_violations_limit_max);
    let scores = load_scores(&state, bounds, Some(department.clone())).await;
    let violations = load_violations(&state, Some(department.clone()), limit).await;
    match (scores, violations) {
        (Ok(scores), Ok(violations)) => {
            let Some(d) = scores.departments.get(&department) else {
                return error_page(ApiError::internal(
                    "department missing from its own scores",
                    &department,
                ));
            };
            page(
                StatusCode::OK,
                &format!("{department} — 数据质量 Data quality"),
                render_department(&state.checks, &department, bounds, d, &violations),
            )
        }
        (Err(e), _) | (_, Err(e)) => error_page(e),
    }
}

/// The CSV export for browsers (the API's needs a bearer header).
async fn csv_download(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Some(access) = page_access(&state, &headers) else {
        return to_login(&uri);
    };
    let result = async {
        let q = page_query(q).map_err(ApiError::BadRequest)?;
        let department = crate::web::api::resolve_department(
            &state.checks,
            &access,
            PageQuery::field(&q.department),
        )?;
        let bounds = q.bounds(&state.checks).map_err(ApiError::BadRequest)?;
        let scores = load_scores(&state, bounds, department).await?;
        csv_response(&scores)
    }
    .await;
    result.unwrap_or_else(error_page)
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    token: Option<String>,
    /// A path of this server to return to (see [`safe_next`]).
    next: Option<String>,
}

/// `GET /login` shows the form. `GET /login?token=...[&next=/path]` signs in
/// at once and redirects: meant for scripted checks (a headless browser on
/// the command line cannot set a cookie or header itself). A token in a URL
/// lands in access logs and browser history, so people use the form, which
/// POSTs.
async fn login_get(
    headers: HeaderMap,
    State(state): State<ApiState>,
    q: Result<Query<LoginForm>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    match q.token {
        Some(token) => sign_in(&state, &headers, &token, q.next.as_deref()),
        None => login_page(StatusCode::OK, None, q.next.as_deref()),
    }
}

async fn login_post(
    headers: HeaderMap,
    State(state): State<ApiState>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let f = form.map(|Form(f)| f).unwrap_or_default();
    sign_in(
        &state,
        &headers,
        f.token.as_deref().unwrap_or(""),
        f.next.as_deref(),
    )
}

fn sign_in(state: &ApiState, headers: &HeaderMap, token: &str, next: Option<&str>) -> Response {
    let token = token.trim();
    // Only tokens that fit a cookie value unchanged can be kept in one.
    let valid = token.bytes().all(is_token_byte) && authenticate(&state.config, token).is_some();
    if !valid {
        return login_page(
            StatusCode::UNAUTHORIZED,
            Some("令牌无效 Invalid token"),
            next,
        );
    }
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{}",
        secure_suffix(headers)
    );
    let mut response = Redirect::to(safe_next(next)).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(v) => {
            response.headers_mut().insert(header::SET_COOKIE, v);
            response
        }
        Err(e) => error_page(ApiError::internal("login cookie", e)),
    }
}

/// `Secure` behind a TLS-terminating proxy that says so; on plain HTTP a
/// browser would drop a Secure cookie and the login would loop.
fn secure_suffix(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

async fn logout(headers: HeaderMap) -> Response {
    let cookie = format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure_suffix(&headers)
    );
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn login_page(status: StatusCode, error: Option<&str>, next: Option<&str>) -> Response {
    let next = safe_next(next);
    let body = html! {
        main.login {
            h1 { "数据质量评分卡 Data quality scorecard" }
            form method="post" action="/login" {
                label for="token" { "访问令牌 Access token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                input type="hidden" name="next" value=(next);
                button type="submit" { "登录 Sign in" }
            }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            p.note { "令牌保存在仅供服务器读取的 Cookie 中。 The token is kept in an HttpOnly cookie." }
        }
    };
    page(status, "登录 Sign in", body)
}

fn error_page(e: ApiError) -> Response {
    let status = e.status();
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/login").into_response();
    }
    let body = html! {
        (header_bar("数据质量评分卡 Data quality scorecard", false))
        p.error role="alert" { (status.as_u16()) " — " (e.message()) }
        p { a href="/" { "← 返回评分卡 Back to the scorecard" } }
    };
    page(status, "错误 Error", body)
}

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
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

const CSS: &str = r#"
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif;
       margin: 0 auto; max-width: 1240px; padding: 16px 24px; color: #1f2933; background: #fff; }
header { display: flex; justify-content: space-between; align-items: center; border-bottom: 2px solid #1f4e79; margin-bottom: 12px; }
h1 { font-size: 1.5rem; margin: 8px 0; color: #1f4e79; }
h2 { font-size: 1.15rem; margin: 20px 0 8px; color: #1f4e79; }
.muted, .note, .titles { color: #616e7c; font-size: .85rem; }
form.inline { display: inline-flex; gap: 6px; align-items: center; margin: 4px 16px 4px 0; }
.picker { background: #f5f7fa; padding: 8px 12px; border-radius: 6px; }
.picker a { margin-right: 10px; }
input { font: inherit; padding: 3px 6px; }
button { font: inherit; padding: 3px 12px; cursor: pointer; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 6px 8px; text-align: left; vertical-align: middle; }
th { background: #f5f7fa; font-weight: 600; font-size: .85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.score { font-size: 1.2rem; font-weight: 700; }
.big { font-size: 2.4rem; font-weight: 700; color: #1f4e79; }
td.dim { white-space: nowrap; }
.meter { display: inline-block; width: 64px; height: 10px; background: #e4e7eb; border-radius: 5px; vertical-align: middle; overflow: hidden; }
.bar { height: 100%; background: #2f855a; }
.bar.low { background: #c53030; }
.rate { display: inline-block; min-width: 4.2em; text-align: right; font-size: .85rem; font-variant-numeric: tabular-nums; }
.na { color: #9aa5b1; }
.error { color: #c53030; font-weight: 600; }
.login { max-width: 420px; margin: 80px auto; }
.login form { display: flex; flex-direction: column; gap: 8px; }
a { color: #1f4e79; }
"#;

/// Dimension labels, Chinese and English.
fn dimension_label(d: Dimension) -> &'static str {
    match d {
        Dimension::Completeness => "完整性 Completeness",
        Dimension::Format => "规范性 Format",
        Dimension::Consistency => "一致性 Consistency",
        Dimension::Freshness => "及时性 Freshness",
        Dimension::Uniqueness => "唯一性 Uniqueness",
    }
}

/// Percent-encodes a path segment or query value (names are plain ids
/// today; this keeps links right if that ever changes).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn period_query(p: PeriodBounds) -> String {
    format!("from={}&to={}", p.from, p.to)
}

fn header_bar(title: &str, signed_in: bool) -> Markup {
    html! {
        header {
            h1 { (title) }
            @if signed_in {
                form method="post" action="/logout" { button type="submit" { "退出 Sign out" } }
            }
        }
    }
}

fn period_picker(checks: &Checks, q: &PageQuery) -> Markup {
    let today = today(checks);
    let this_month = Period::Month {
        year: today.year(),
        month: today.month(),
    };
    let last = this_month.bounds().0.pred_opt().unwrap_or(today);
    let last_month = Period::Month {
        year: last.year(),
        month: last.month(),
    };
    let quarter = Period::Quarter {
        year: today.year(),
        quarter: today.month0() / 3 + 1,
    };
    let year = Period::Year(today.year());
    let quick = [
        ("本月 This month", this_month),
        ("上月 Last month", last_month),
        ("本季度 This quarter", quarter),
        ("本年 This year", year),
    ];
    html! {
        div.picker {
            form.inline method="get" action="/" {
                label for="period" { "周期 Period" }
                input #period type="text" name="period" placeholder="2026-Q2 / 2026-06 / 2026-W24"
                    value=[PageQuery::field(&q.period)] size="16";
                button type="submit" { "查询 Show" }
            }
            form.inline method="get" action="/" {
                label for="from" { "从 From" }
                input #from type="date" name="from" value=[PageQuery::field(&q.from)];
                label for="to" { "至 To" }
                input #to type="date" name="to" value=[PageQuery::field(&q.to)];
                button type="submit" { "查询 Show" }
            }
            div {
                @for (label, p) in quick {
                    a href={"/?period=" (encode(&p.to_string()))} { (label) }
                }
            }
        }
    }
}

/// A pass-rate bar; red under the dimension's alert threshold.
fn bar(c: Counts, threshold: f64) -> Markup {
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

fn score_text(s: Option<f64>) -> Markup {
    match s {
        Some(s) => html! { (format!("{s:.2}")) },
        None => html! { span.na title="无数据 No data" { "—" } },
    }
}

fn dataset_titles(checks: &Checks, department: &str) -> String {
    checks
        .datasets
        .iter()
        .filter(|d| d.department == department)
        .map(|d| d.title.clone().unwrap_or_else(|| d.name.clone()))
        .collect::<Vec<_>>()
        .join("、")
}

fn dimension_headers() -> Markup {
    html! {
        @for d in Dimension::ALL {
            th { (dimension_label(d)) }
        }
    }
}

fn dimension_cells(
    checks: &Checks,
    dims: &std::collections::BTreeMap<Dimension, Counts>,
) -> Markup {
    html! {
        @for d in Dimension::ALL {
            td.dim { (bar(dims.get(&d).copied().unwrap_or_default(), checks.alert_thresholds[d as usize])) }
        }
    }
}

fn render_index(checks: &Checks, q: &PageQuery, scores: &Scores) -> Markup {
    let p = scores.period;
    html! {
        (header_bar("数据质量评分卡 Data quality scorecard", true))
        (period_picker(checks, q))
        p {
            "统计周期 Period: " strong { (p.from) " — " (p.to) }
            span.muted { " (" (checks.time_zone.name()) ")" }
            " · "
            a href={ "/scores.csv?" (period_query(p)) } download { "下载 CSV Download CSV" }
        }
        h2 { "部门排名 Department ranking" }
        table #ranking {
            thead { tr {
                th.num { "排名 Rank" }
                th { "部门 Department" }
                th.num { "质量评分 Score" }
                th.num { "记录数 Records" }
                (dimension_headers())
            } }
            tbody {
                @for r in &scores.ranking {
                    @if let Some(d) = scores.departments.get(&r.department) {
                        tr {
                            td.num { @match r.rank { Some(n) => (n), None => span.na { "—" } } }
                            td {
                                a href={ "/departments/" (encode(&r.department)) "?" (period_query(p)) } { (r.department) }
                                div.titles { (dataset_titles(checks, &r.department)) }
                            }
                            td.num.score { (score_text(r.score)) }
                            td.num { (d.report.records) }
                            (dimension_cells(checks, &d.report.dimensions))
                        }
                    }
                }
            }
        }
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

fn render_department(
    checks: &Checks,
    department: &str,
    p: PeriodBounds,
    d: &DepartmentScores,
    violations: &[Violation],
) -> Markup {
    let title_of = |ds: &str| {
        checks
            .datasets
            .iter()
            .find(|x| x.department == department && x.name == ds)
            .and_then(|x| x.title.clone())
    };
    let tz = checks.time_zone;
    html! {
        (header_bar(&format!("{department} — 数据质量 Data quality"), true))
        p { a href={ "/?" (period_query(p)) } { "← 返回评分卡 Back to the scorecard" } }
        p.titles { (dataset_titles(checks, department)) }
        p {
            "统计周期 Period: " strong { (p.from) " — " (p.to) }
            span.muted { " (" (tz.name()) ")" }
        }
        p {
            span.muted { "质量评分 Score " }
            span.big #score { (score_text(d.report.score)) }
            span.muted { " · 记录数 Records " (d.report.records) " · 格式错误消息 Malformed " (d.report.malformed) }
        }
        h2 { "维度 Dimensions" }
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
        h2 { "数据集 Datasets" }
        table {
            thead { tr {
                th { "数据集 Dataset" }
                th.num { "记录数 Records" }
                th.num { "质量评分 Score" }
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
                        (dimension_cells(checks, &ds.dimensions))
                    }
                }
            }
        }
        h2 { "最需改进的检查 Checks failing most" }
        @if d.worst_checks.is_empty() {
            p.muted { "本期无失败检查 No failed checks in this period." }
        } @else {
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
        h2 { "最近的问题记录 Recent violations" }
        @if violations.is_empty() {
            p.muted { "暂无 None." }
        } @else {
            table {
                thead { tr {
                    th { "时间 Time" } th { "数据集 Dataset" } th { "维度 Dimension" } th { "检查 Check" }
                    th { "字段 Field" } th { "原因 Reason" } th { "记录标识 Record id" } th { "位置 Topic / partition / offset" }
                } }
                tbody {
                    @for v in violations {
                        tr {
                            td { (DateTime::<Utc>::from_timestamp_millis(v.timestamp)
                                    .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
                                    .unwrap_or_else(|| v.timestamp.to_string())) }
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
}

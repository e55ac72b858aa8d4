//! The period a page shows: its query, today's date, and the period picker.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{encode, error_page};
use crate::model::period::{Period, PeriodBounds, from_query};
use crate::web::api::{ApiError, ApiState};

/// The exchange's date now, in its time zone. The wall clock is read here,
/// at the edge; everything below gets the date as an argument.
#[derive(Debug, Clone, Copy)]
pub(super) struct Today(pub NaiveDate);

impl FromRequestParts<ApiState> for Today {
    type Rejection = Infallible;

    async fn from_request_parts(_: &mut Parts, state: &ApiState) -> Result<Self, Infallible> {
        Ok(Today(crate::web::api::today(state)))
    }
}

/// Period fields of a page's query; empty form fields count as absent.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    department: Option<String>,
}

/// A page query that does not parse. Handlers take `Result<PageQuery, _>`
/// and answer it themselves: each page has its own order of checks.
#[derive(Debug)]
pub(super) struct InvalidQuery(pub String);

impl IntoResponse for InvalidQuery {
    fn into_response(self) -> Response {
        error_page(ApiError::BadRequest(self.0))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = InvalidQuery;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, InvalidQuery> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(q)| q)
            .map_err(|e| InvalidQuery(format!("invalid query: {}", e.body_text())))
    }
}

fn field(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl PageQuery {
    pub(super) fn department(&self) -> Option<&str> {
        field(&self.department)
    }

    /// The requested period, or the current month.
    pub(super) fn bounds(&self, Today(today): Today) -> Result<PeriodBounds, String> {
        let (from, to, period) = (field(&self.from), field(&self.to), field(&self.period));
        let (from, to) = if from.is_none() && to.is_none() && period.is_none() {
            month_of(today).bounds()
        } else {
            from_query(from, to, period)?
        };
        Ok(PeriodBounds { from, to })
    }
}

fn month_of(day: NaiveDate) -> Period {
    Period::Month {
        year: day.year(),
        month: day.month(),
    }
}

/// The query of a link to the same period on another page.
pub(super) fn period_query(p: PeriodBounds) -> String {
    format!("from={}&to={}", p.from, p.to)
}

/// The forms for a period or a date range, and links to the usual periods.
pub(super) fn period_picker(Today(today): Today, q: &PageQuery) -> Markup {
    let this_month = month_of(today);
    let last_month = month_of(this_month.bounds().0.pred_opt().unwrap_or(today));
    let quarter = Period::Quarter {
        year: today.year(),
        quarter: today.month0() / 3 + 1,
    };
    let quick = [
        ("本月 This month", this_month),
        ("上月 Last month", last_month),
        ("本季度 This quarter", quarter),
        ("本年 This year", Period::Year(today.year())),
    ];
    html! {
        div.picker {
            form.inline method="get" action="/" {
                label for="period" { "周期 Period" }
                input #period type="text" name="period" placeholder="2026-Q2 / 2026-06 / 2026-W24"
                    value=[field(&q.period)] size="16";
                button type="submit" { "查询 Show" }
            }
            form.inline method="get" action="/" {
                label for="from" { "从 From" }
                input #from type="date" name="from" value=[field(&q.from)];
                label for="to" { "至 To" }
                input #to type="date" name="to" value=[field(&q.to)];
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

#[cfg(test)]
mod tests {
    use super::*;

    fn query(period: Option<&str>, from: Option<&str>, to: Option<&str>) -> PageQuery {
        PageQuery {
            period: period.map(Into::into),
            from: from.map(Into::into),
            to: to.map(Into::into),
            department: None,
        }
    }

    #[test]
    fn no_period_is_the_month_of_today_and_empty_fields_are_absent() {
        let today = Today("2026-02-11".parse().unwrap());
        for q in [query(None, None, None), query(Some(" "), Some(""), None)] {
            let b = q.bounds(today).unwrap();
            assert_eq!(
                (b.from.to_string(), b.to.to_string()),
                ("2026-02-01".into(), "2026-02-28".into())
            );
        }
        let b = query(Some("2026-Q2"), None, None).bounds(today).unwrap();
        assert_eq!(b.from.to_string(), "2026-04-01");
        assert!(query(Some("junk"), None, None).bounds(today).is_err());
    }

    #[test]
    fn the_picker_offers_periods_around_today() {
        let html = period_picker(Today("2026-01-15".parse().unwrap()), &PageQuery::default())
            .into_string();
        for period in ["2026-01", "2025-12", "2026-Q1", "2026\""] {
            assert!(
                html.contains(&format!("/?period={period}")),
                "{period}: {html}"
            );
        }
    }
}

//! Sealing from the scorecard: an officer signed in sees, under a period
//! that has ended, a button that seals it (or amends its seal), which posts
//! here; the same call as `POST /api/v1/seals`, the same audit entry, then
//! back to the period's page. The session cookie is SameSite=Strict, so
//! another site cannot post this form as the officer.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::error_page;
use super::login::SignedInAs;
use super::period::{Today, period_query};
use crate::model::period::{PeriodBounds, parse_date};
use crate::store::assessment::{SealAction, SealMark};
use crate::web::api::{Access, ApiError, ApiState};

/// The form: the period's first and last day, and seal or amend.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SealForm {
    from: String,
    to: String,
    action: String,
}

pub(super) async fn post_seal(
    SignedInAs(who): SignedInAs,
    State(state): State<ApiState>,
    Today(today): Today,
    form: Result<Form<SealForm>, FormRejection>,
) -> Response {
    let result = async {
        who.access.officer_only("seal or amend a period")?;
        let Form(form) = form.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let day = |s: &str| parse_date(s).map_err(ApiError::BadRequest);
        let period = PeriodBounds::clamped(day(&form.from)?, day(&form.to)?);
        let action = match form.action.as_str() {
            "seal" => SealAction::Seal,
            "amend" => SealAction::Amend,
            other => return Err(ApiError::BadRequest(format!("unknown action {other:?}"))),
        };
        state.seal(period, today, action, &who).await?;
        Ok(Redirect::to(&format!("/?{}", period_query(period))).into_response())
    }
    .await;
    result.unwrap_or_else(error_page)
}

/// The officer's button under a period that has ended: seal it, or amend
/// its seal. Nothing for departments, nor for a period still running.
pub(super) fn seal_form(
    access: &Access,
    today: Today,
    period: PeriodBounds,
    seal: Option<&SealMark>,
) -> Markup {
    let ended = period.to < today.0;
    html! {
        @if *access == Access::Officer && ended {
            form.seal method="post" action="/seals" {
                input type="hidden" name="from" value=(period.from);
                input type="hidden" name="to" value=(period.to);
                @match seal {
                    None => {
                        input type="hidden" name="action" value="seal";
                        button type="submit" { "封存本周期 Seal this period" }
                    }
                    Some(_) => {
                        input type="hidden" name="action" value="amend";
                        button type="submit" { "更正封存（计入迟到消息）Amend the seal (take late messages in)" }
                    }
                }
            }
        }
    }
}

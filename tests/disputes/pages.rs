//! The scorecard's disputes page (`/disputes`): a dispute filed through the
//! API shows to the officer with its accept form, not to an unrelated
//! department, and each role's form moves it to its next stage.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{HRSS, OFFICER, POLICE, TAX, TOPIC, app, the_checks};

async fn send(app: &Router, r: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(r).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, location, String::from_utf8(bytes.to_vec()).unwrap())
}

fn bearer(r: axum::http::request::Builder, token: &str) -> axum::http::request::Builder {
    r.header(header::AUTHORIZATION, format!("Bearer {token}"))
}

/// Signs `token` in through the login form, as a browser does: the
/// session cookie it sets, as `name=value`.
async fn session_cookie(app: &Router, token: &str) -> String {
    let login = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .unwrap();
    let response = app.clone().oneshot(login).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn page(app: &Router, cookie: &str) -> String {
    let r = Request::get("/disputes")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(app, r).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn form(uri: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn file(app: &Router, check: &str, offset: i64) -> i64 {
    let filing = json!({
        "dataset": "social_insurance",
        "check": check,
        "reason": "the value <is> right",
        "record": {"topic": TOPIC, "partition": 2, "offset": offset},
    });
    let r = bearer(Request::post("/api/v1/disputes"), HRSS)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(filing.to_string()))
        .unwrap();
    let (status, _, body) = send(app, r).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["id"].as_i64().unwrap()
}

async fn stage(app: &Router, id: i64) -> String {
    let r = bearer(Request::get(format!("/api/v1/disputes/{id}")), OFFICER)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(app, r).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["stage"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_officer_sees_a_dispute_and_accepts_it_from_the_page() {
    let (app, checks) = app();
    let [(check, _), _] = the_checks(&checks);
    let id = file(&app, &check, 42).await;
    let accept = format!("/disputes/{id}/accept");
    let officer = session_cookie(&app, OFFICER).await;
    let tax = session_cookie(&app, TAX).await;
    let hrss = session_cookie(&app, HRSS).await;

    // The officer sees it, escaped, with its accept form.
    let body = page(&app, &officer).await;
    assert!(body.contains(&format!(r#"id="dispute-{id}""#)), "{body}");
    assert!(body.contains("SI-42"), "{body}");
    assert!(body.contains(&check), "{body}");
    assert!(body.contains("the value &lt;is&gt; right"), "{body}");
    assert!(body.contains(&format!(r#"action="{accept}""#)), "{body}");
    assert!(!body.contains("<script"));

    // Its department sees it, without the officer's form; tax does not see it.
    let body = page(&app, &hrss).await;
    assert!(body.contains(&format!(r#"id="dispute-{id}""#)), "{body}");
    assert!(!body.contains(&accept), "{body}");
    let body = page(&app, &tax).await;
    assert!(!body.contains(&format!(r#"id="dispute-{id}""#)), "{body}");
    assert!(!body.contains("SI-42"), "{body}");

    // Without a session, to the login form; a department may not accept.
    let (status, location, _) =
        send(&app, Request::post(&accept).body(Body::empty()).unwrap()).await;
    assert!(status.is_redirection());
    assert!(location.unwrap().starts_with("/login"));
    let (status, _, _) = send(&app, form(&accept, &hrss, "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(stage(&app, id).await, "filed");

    // The officer's accept: back to the list (303), at its next stage.
    let (status, location, _) = send(&app, form(&accept, &officer, "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/disputes"));
    assert_eq!(stage(&app, id).await, "deciding");
    // Accepting twice is out of order.
    let (status, _, _) = send(&app, form(&accept, &officer, "")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The page now offers no accept form for it.
    let body = page(&app, &officer).await;
    assert!(!body.contains(&format!(r#"action="{accept}""#)), "{body}");
}

#[tokio::test]
async fn the_officer_decides_from_the_page() {
    let (app, checks) = app();
    let [(check, _), _] = the_checks(&checks);
    let id = file(&app, &check, 42).await;
    let officer = session_cookie(&app, OFFICER).await;
    let (status, _, _) = send(&app, form(&format!("/disputes/{id}/accept"), &officer, "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app, id).await, "deciding");
    let decide = format!("/disputes/{id}/decide");
    assert!(page(&app, &officer).await.contains(&decide));
    // A rejection needs a reason.
    let (status, _, _) = send(&app, form(&decide, &officer, "decision=rejected&reason=")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = send(
        &app,
        form(
            &decide,
            &officer,
            "decision=rejected&reason=the+rule+is+right",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app, id).await, "rejected");
    let body = page(&app, &officer).await;
    assert!(body.contains("the rule is right"), "{body}");
    assert!(!body.contains(&decide), "{body}");
}

#[tokio::test]
async fn the_authority_verifies_from_the_page() {
    let (app, checks) = app();
    let [_, (cross, _)] = the_checks(&checks);
    let id = file(&app, &cross, 41).await;
    let officer = session_cookie(&app, OFFICER).await;
    let police = session_cookie(&app, POLICE).await;
    let tax = session_cookie(&app, TAX).await;
    let verify = format!("/disputes/{id}/verify");
    // The authority sees it, but nothing to answer before the acceptance.
    let body = page(&app, &police).await;
    assert!(body.contains(&format!(r#"id="dispute-{id}""#)), "{body}");
    assert!(!body.contains(&verify), "{body}");
    let (status, _, _) = send(&app, form(&format!("/disputes/{id}/accept"), &officer, "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app, id).await, "verifying");
    // Now its form; not the officer's (before the deadline), nor tax's.
    assert!(page(&app, &police).await.contains(&verify));
    assert!(!page(&app, &officer).await.contains(&verify));
    let answer = "answer=ours_wrong&note=corrected";
    // The officer may not answer (403); tax, not party to it, learns
    // nothing of it (404), as in the API.
    for (who, expected) in [
        (&officer, StatusCode::FORBIDDEN),
        (&tax, StatusCode::NOT_FOUND),
    ] {
        let (status, _, _) = send(&app, form(&verify, who, answer)).await;
        assert_eq!(status, expected);
    }
    let (status, _, _) = send(&app, form(&verify, &police, "answer=maybe")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, location, _) = send(&app, form(&verify, &police, answer)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/disputes"));
    assert_eq!(stage(&app, id).await, "deciding");
    let body = page(&app, &officer).await;
    assert!(body.contains("corrected"), "{body}");
    assert!(body.contains(&format!("/disputes/{id}/decide")), "{body}");
}

#[tokio::test]
async fn a_department_files_from_its_pages() {
    let (app, checks) = app();
    let [(own, _), _] = the_checks(&checks);
    let officer = session_cookie(&app, OFFICER).await;
    let hrss = session_cookie(&app, HRSS).await;
    let tax = session_cookie(&app, TAX).await;
    let get = |uri: &str, cookie: &str| {
        Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap()
    };

    // The rectification page offers the department a dispute form per open
    // finding; the officer reads the same page without it.
    let (status, _, body) = send(&app, get("/departments/hrss/findings", &hrss)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#"action="/disputes""#), "{body}");
    assert!(body.contains(r#"name="offset" value="42""#), "{body}");
    let (_, _, body) = send(&app, get("/departments/hrss/findings", &officer)).await;
    assert!(!body.contains(r#"action="/disputes""#), "{body}");
    // The disputes page offers the department the form for a check over a
    // period, with its own checks only; not to the officer.
    let body = page(&app, &hrss).await;
    assert!(body.contains(r#"name="period""#), "{body}");
    assert!(body.contains(&format!(r#"option value="{own}""#)), "{body}");
    assert!(!page(&app, &officer).await.contains(r#"name="period""#));

    // Filing one finding, as the rectification page's form sends it.
    let one = format!(
        "dataset=social_insurance&check={own}&topic={TOPIC}&partition=2&offset=42&reason=legitimate+value"
    );
    for (cookie, expected) in [
        (&officer, StatusCode::FORBIDDEN),
        (&tax, StatusCode::FORBIDDEN),
    ] {
        let (status, _, body) = send(&app, form("/disputes", cookie, &one)).await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, location, body) = send(&app, form("/disputes", &hrss, &one)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/disputes"));
    // A check over a period, from the disputes page; a blank reason is refused.
    let period =
        format!("dataset=social_insurance&check={own}&period=2026-03&reason=the+rule+misfires");
    let (status, _, _) = send(&app, form("/disputes", &hrss, &period)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let blank = format!("dataset=social_insurance&check={own}&period=2026-03&reason=+");
    let (status, _, _) = send(&app, form("/disputes", &hrss, &blank)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Both are stored, filed by the department's token.
    let r = bearer(Request::get("/api/v1/disputes"), OFFICER)
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(&app, r).await;
    let list: Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["scope"]["kind"].as_str().unwrap(),
                d["filed"]["by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, vec![("check", "hrss-desk"), ("record", "hrss-desk")]);
}

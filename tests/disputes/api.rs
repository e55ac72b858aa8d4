//! The dispute API: the three roles, each step's 401 and 403, the order of
//! the steps, what an upheld cross-source dispute does to both departments'
//! scores, and the audit log.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{HRSS, OFFICER, POLICE, TAX, TOPIC, app, cross_source};

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            r = r.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(r.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// The consistency counts of a department's dataset in March 2026, as the API serves them.
async fn consistency(app: &Router, department: &str, dataset: &str) -> Value {
    let (status, v) = call(
        app,
        "GET",
        "/api/v1/scores?period=2026-03",
        Some(OFFICER),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["departments"][department]["datasets"][dataset]["dimensions"]["consistency"].clone()
}

#[tokio::test]
async fn a_cross_source_dispute_through_its_three_roles() {
    let (app, checks) = app();
    let cs = cross_source(&checks);
    let filing = json!({
        "dataset": "social_insurance",
        "check": cs,
        "reason": "the person's name changed; the register is stale",
        "record": {"topic": TOPIC, "partition": 2, "offset": 41},
    });
    // Filing: the dataset's own department only.
    for (who, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(OFFICER), StatusCode::FORBIDDEN),
        (Some(TAX), StatusCode::FORBIDDEN),
        (Some(POLICE), StatusCode::FORBIDDEN),
    ] {
        let (status, v) = call(&app, "POST", "/api/v1/disputes", who, Some(filing.clone())).await;
        assert_eq!(status, expected, "{who:?}: {v}");
    }
    // A record without a kept failure of the check cannot be disputed.
    let mut elsewhere = filing.clone();
    elsewhere["record"]["offset"] = json!(40);
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/disputes",
        Some(HRSS),
        Some(elsewhere),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, filed) = call(&app, "POST", "/api/v1/disputes", Some(HRSS), Some(filing)).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(filed["stage"], "filed");
    assert_eq!(filed["record_id"], "SI-41");
    assert_eq!(filed["authority"]["department"], "public_security");
    assert_eq!(filed["filed"]["by"], "hrss-desk");
    assert!(filed["due"].is_string());
    let id = filed["id"].as_i64().unwrap();
    let path = |step: &str| format!("/api/v1/disputes/{id}/{step}");

    // Who sees it: the officer, the filer and the authority; not tax.
    let (_, list) = call(&app, "GET", "/api/v1/disputes", Some(POLICE), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = call(&app, "GET", "/api/v1/disputes", Some(TAX), None).await;
    assert_eq!(list, json!([]));
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/v1/disputes/{id}"),
        Some(TAX),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The authority cannot answer before the officer accepted it.
    let verify = json!({"answer": "ours_wrong", "note": "our register was stale; corrected"});
    let (status, _) = call(
        &app,
        "POST",
        &path("verification"),
        Some(POLICE),
        Some(verify.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Acceptance: officers only.
    for (who, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(HRSS), StatusCode::FORBIDDEN),
        (Some(POLICE), StatusCode::FORBIDDEN),
    ] {
        let (status, _) = call(&app, "POST", &path("acceptance"), who, None).await;
        assert_eq!(status, expected, "{who:?}");
    }
    let (status, accepted) = call(&app, "POST", &path("acceptance"), Some(OFFICER), None).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["stage"], "verifying");
    let (status, _) = call(&app, "POST", &path("acceptance"), Some(OFFICER), None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Verification: the authoritative department only.
    for (who, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(OFFICER), StatusCode::FORBIDDEN),
        (Some(HRSS), StatusCode::FORBIDDEN),
        (Some(TAX), StatusCode::NOT_FOUND),
    ] {
        let (status, _) = call(
            &app,
            "POST",
            &path("verification"),
            who,
            Some(verify.clone()),
        )
        .await;
        assert_eq!(status, expected, "{who:?}");
    }
    let (status, verified) = call(
        &app,
        "POST",
        &path("verification"),
        Some(POLICE),
        Some(verify),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["stage"], "deciding");
    assert_eq!(verified["verification"], "ours_wrong");

    // Decision: officers only; a rejection needs a reason.
    let upheld = json!({"decision": "upheld"});
    for (who, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(HRSS), StatusCode::FORBIDDEN),
        (Some(POLICE), StatusCode::FORBIDDEN),
    ] {
        let (status, _) = call(&app, "POST", &path("decision"), who, Some(upheld.clone())).await;
        assert_eq!(status, expected, "{who:?}");
    }
    let (status, _) = call(
        &app,
        "POST",
        &path("decision"),
        Some(OFFICER),
        Some(json!({"decision": "rejected"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        consistency(&app, "hrss", "social_insurance").await,
        json!({"passed": 1, "failed": 1})
    );
    let (status, decided) = call(
        &app,
        "POST",
        &path("decision"),
        Some(OFFICER),
        Some(upheld.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["stage"], "upheld");
    assert_eq!(decided["charged_to_authority"], true);
    assert_eq!(decided["due"], Value::Null);
    let (status, _) = call(&app, "POST", &path("decision"), Some(OFFICER), Some(upheld)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The conflict is withdrawn from hrss and charged to the register.
    assert_eq!(
        consistency(&app, "hrss", "social_insurance").await,
        json!({"passed": 2, "failed": 0})
    );
    assert_eq!(
        consistency(&app, "public_security", "household_registration").await,
        json!({"passed": 0, "failed": 1})
    );

    // Every step in the audit log, newest first, with who did it.
    let (status, log) = call(&app, "GET", "/api/v1/audit", Some(OFFICER), None).await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("dispute.decide", "officer-wang"),
        ("dispute.verify", "police-desk"),
        ("dispute.accept", "officer-wang"),
        ("dispute.file", "hrss-desk"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(steps, expected);
    assert!(log.to_string().contains(&format!("dispute {id}")));
}

#[tokio::test]
async fn a_check_over_a_period_and_a_rejection() {
    let (app, _) = app();
    let filing = json!({
        "dataset": "social_insurance",
        "check": "name.format",
        "reason": "names with a middle dot are legitimate",
        "period": "2026-03",
    });
    let (status, filed) = call(
        &app,
        "POST",
        "/api/v1/disputes",
        Some(HRSS),
        Some(filing.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(
        filed["scope"],
        json!({"kind": "check", "from": "2026-03-01", "to": "2026-03-31"})
    );
    assert_eq!(filed["authority"], Value::Null);
    // Both record and period, or neither, or an unknown check: 400.
    for broken in [
        json!({"dataset": "social_insurance", "check": "name.format", "reason": "x"}),
        json!({"dataset": "social_insurance", "check": "no.such", "reason": "x", "period": "2026-03"}),
        json!({"dataset": "social_insurance", "check": "name.format", "reason": "  ", "period": "2026-03"}),
    ] {
        let (status, v) = call(&app, "POST", "/api/v1/disputes", Some(HRSS), Some(broken)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    }
    // Numbers as JSON writes them: 2.0 is the integer 2; 2.5 and -1 are no offset.
    let cs = cross_source(&dqmon::catalog::load(std::path::Path::new("checks")).unwrap());
    for (partition, offset, expected) in [
        (json!(2.0), json!(41.0), StatusCode::CREATED),
        (json!(2.5), json!(41), StatusCode::BAD_REQUEST),
        (json!(2), json!(-1), StatusCode::BAD_REQUEST),
    ] {
        let body = json!({"dataset": "social_insurance", "check": cs, "reason": "r",
            "record": {"topic": TOPIC, "partition": partition, "offset": offset}});
        let (status, v) = call(&app, "POST", "/api/v1/disputes", Some(HRSS), Some(body)).await;
        assert_eq!(status, expected, "{partition} {offset}: {v}");
    }
    let id = filed["id"].as_i64().unwrap();
    // A filed dispute can be rejected outright, with a reason.
    let (status, decided) = call(
        &app,
        "POST",
        &format!("/api/v1/disputes/{id}/decision"),
        Some(OFFICER),
        Some(json!({"decision": "rejected", "reason": "the contract's pattern is the national standard's"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["stage"], "rejected");
    let (_, pending) = call(
        &app,
        "GET",
        "/api/v1/disputes?stage=pending",
        Some(OFFICER),
        None,
    )
    .await;
    assert_eq!(
        pending.as_array().unwrap().len(),
        1,
        "the record filed with 2.0 and 41.0"
    );
    let (_, rejected) = call(
        &app,
        "GET",
        "/api/v1/disputes?stage=rejected",
        Some(HRSS),
        None,
    )
    .await;
    assert_eq!(rejected.as_array().unwrap().len(), 1);
    let (status, _) = call(&app, "GET", "/api/v1/disputes?stage=lost", Some(HRSS), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

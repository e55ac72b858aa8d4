//! The OpenAPI 3.1 description of the API, served at `/api/v1/openapi.json`.
//!
//! It is exact, so a client (or a fuzzer: CI runs schemathesis against a live
//! demo) can rely on it both ways: every request it allows is answered, and
//! what it forbids is refused with 400. Departments come from the contracts,
//! `limit`'s maximum from the configuration and the period's pattern from
//! the parser's own module ([`crate::model::period::pattern`]).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::audit::{DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use super::findings::{DEFAULT_FINDINGS_LIMIT, MAX_FINDINGS_LIMIT};
use super::violations::DEFAULT_VIOLATIONS_LIMIT;
use super::{ApiState, LOCAL_PATH_PATTERN};
use crate::catalog::Grades;
use crate::model::Dimension;
use crate::model::period::{date_pattern, pattern};

/// Public: it describes the API and holds no data.
pub(super) async fn get_openapi(State(state): State<ApiState>) -> Json<Value> {
    Json(openapi(&state))
}

/// The OpenAPI 3.1 description of the API.
fn openapi(state: &ApiState) -> Value {
    let limit_max = state.config.recent_violations_limit_max;
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "dqmon assessment API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Data-quality scores of the exchange's departments. A department's score for a period is the weighted mean, over the dimensions with at least one outcome, of passed/(passed+failed), times 100. Officer tokens see every department; department tokens only their own."
        },
        "security": [{"bearerAuth": []}],
        "paths": with_dispute_paths(paths(limit_max)),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": parameters(&state.checks.departments),
            "schemas": schemas(&state.checks.grades),
        }
    })
}

/// The responses of a data endpoint: `ok` for 200, and the error answers.
fn with_errors(ok: Value) -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        })
    };
    let mut responses = json!({
        "400": error("A parameter outside this description: a period or limit that does not match, an unknown department, an unknown parameter"),
        "401": {
            "description": "Missing or invalid bearer token",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": error("The token's department differs from the requested one"),
        "408": {"description": "No answer within the configured request timeout (a busy or slow server)"},
        "500": error("Internal error (details are in the server log)"),
    });
    responses["200"] = ok;
    responses
}

/// The responses of a seal or an amendment: 201 with the new version, 409
/// when the period's chain does not allow it.
fn seal_responses() -> Value {
    let mut responses = with_errors(json!({"description": "unused"}));
    if let Some(map) = responses.as_object_mut() {
        map.remove("200");
    }
    responses["201"] = json!({
        "description": "The new version, stored with its audit entry",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Seal"}}}
    });
    responses["403"] = json!({
        "description": "Not an officer token",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    responses["409"] = json!({
        "description": "The period has not ended, is sealed already (seal), is not sealed (amendment), or its live scores are those of its newest version (amendment)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    responses
}

/// `paths` with those of disputes.
fn with_dispute_paths(mut paths: Value) -> Value {
    let dispute = json!({"description": "The dispute as it stands now",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dispute"}}}});
    let id = json!([{"name": "id", "in": "path", "required": true,
        "schema": {"type": "integer", "minimum": 1, "maximum": i64::MAX}}]);
    let step = |summary: &str, who: &str, body: Option<&str>| {
        let mut responses = with_not_found(
            with_errors(dispute.clone()),
            "No such dispute, or not one this token is party to",
        );
        responses["403"] = json!({"description": who,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        responses["409"] = json!({"description": "The dispute is not at the stage this step follows",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        let mut op = json!({"summary": summary, "parameters": id, "responses": responses});
        if let Some(body) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        json!({"post": op})
    };
    let mut file = with_not_found(
        with_errors(json!({"description": "unused"})),
        "The record has no kept failure of this check",
    );
    if let Some(map) = file.as_object_mut() {
        map.remove("200");
    }
    file["201"] = json!({"description": "The dispute, filed, with its audit entry",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dispute"}}}});
    file["403"] = json!({"description": "Not a department token, or not the dataset's department",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    file["409"] = json!({"description": "The period has not begun, or the record's failure was pruned meanwhile (past the disputable window)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    paths["/api/v1/disputes"] = json!({
        "get": {
            "summary": "Disputes (异议), newest first: all for officers; for a department those it filed or must verify",
            "parameters": [{"name": "stage", "in": "query", "required": false,
                "schema": {"type": "string", "enum": ["filed", "verifying", "deciding", "upheld", "rejected", "pending"]}}],
            "responses": with_errors(json!({"description": "Disputes",
                "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Dispute"}}}}}))
        },
        "post": {
            "summary": "Files a dispute (department tokens): one record's failure of a check, or a check of one of its datasets over a period",
            "description": "Deadlines count in working days of governance.yaml: the officer accepts within accept_within_working_days, the authoritative department (cross-source checks) verifies within verify_within_working_days of acceptance, the officer decides within decide_within_working_days of filing. An upheld dispute withdraws the finding from the scores; if the authority said its value was wrong, the conflict is charged to its dataset.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DisputeFiling"}}}},
            "responses": file
        }
    });
    let mut one = with_not_found(
        with_errors(dispute.clone()),
        "No such dispute, or not one this token is party to",
    );
    one["403"] = json!({"description": "Not used: a department not party to the dispute gets 404",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    paths["/api/v1/disputes/{id}"] =
        json!({"get": {"summary": "One dispute", "parameters": id, "responses": one}});
    paths["/api/v1/disputes/{id}/acceptance"] = step(
        "Accepts a filed dispute (officers)",
        "Not an officer token",
        None,
    );
    paths["/api/v1/disputes/{id}/verification"] = step(
        "The authoritative department's answer on its value (its token only): ours_right or ours_wrong (corrected)",
        "Not the authoritative department's token",
        Some("DisputeVerification"),
    );
    paths["/api/v1/disputes/{id}/decision"] = step(
        "Decides a dispute (officers): upheld withdraws the finding, rejected needs a reason",
        "Not an officer token",
        Some("DisputeDecision"),
    );
    paths
}

/// The schemas of disputes.
fn dispute_schemas(s: &mut Value) {
    let text = json!({"type": "string", "minLength": 1, "maxLength": super::disputes::MAX_TEXT_CHARS, "pattern": "\\S"});
    let step = json!({"type": "object", "additionalProperties": false, "required": ["at", "by"],
        "properties": {"at": {"type": "string", "format": "date-time"}, "by": {"type": "string"}}});
    let step_or_null = json!({"oneOf": [step, {"type": "null"}]});
    let text_or_null = json!({"type": ["string", "null"]});
    s["DisputeFiling"] = json!({"type": "object", "additionalProperties": false,
        "required": ["dataset", "check", "reason"],
        "properties": {
            "dataset": {"type": "string"}, "check": {"type": "string"}, "reason": text,
            "record": {"type": "object", "additionalProperties": false, "required": ["topic", "partition", "offset"],
                "properties": {"topic": {"type": "string"},
                    "partition": {"type": "integer", "minimum": 0, "maximum": i32::MAX},
                    "offset": {"type": "integer", "minimum": 0, "maximum": super::disputes::MAX_OFFSET}}},
            "period": {"type": "string", "pattern": pattern()}},
        "description": "Exactly one of record and period"});
    s["DisputeVerification"] = json!({"type": "object", "additionalProperties": false, "required": ["answer"],
        "properties": {"answer": {"type": "string", "enum": ["ours_right", "ours_wrong"]}, "note": text}});
    s["DisputeDecision"] = json!({"description": "A rejection needs a reason", "oneOf": [
        {"type": "object", "additionalProperties": false, "required": ["decision"],
         "properties": {"decision": {"const": "upheld"}, "reason": text}},
        {"type": "object", "additionalProperties": false, "required": ["decision", "reason"],
         "properties": {"decision": {"const": "rejected"}, "reason": text}}]});
    s["Dispute"] = json!({"type": "object", "additionalProperties": false,
        "required": ["id", "department", "dataset", "check", "dimension", "scope", "record_id", "reason", "authority",
                     "stage", "due", "overdue", "filed", "accepted", "verified", "verification", "verification_note",
                     "decided", "decision_reason", "charged_to_authority"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "department": {"type": "string"}, "dataset": {"type": "string"}, "check": {"type": "string"},
            "dimension": {"type": "string", "enum": Dimension::ALL.map(Dimension::as_str)},
            "scope": {"oneOf": [
                {"type": "object", "additionalProperties": false, "required": ["kind", "topic", "partition", "offset", "day"],
                 "properties": {"kind": {"const": "record"}, "topic": {"type": "string"}, "partition": {"type": "integer"},
                    "offset": {"type": "integer"}, "day": {"type": "string", "format": "date"}}},
                {"type": "object", "additionalProperties": false, "required": ["kind", "from", "to"],
                 "properties": {"kind": {"const": "check"}, "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"}}}]},
            "record_id": text_or_null,
            "reason": {"type": "string"},
            "authority": {"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": false,
                "required": ["department", "dataset"],
                "properties": {"department": {"type": "string"}, "dataset": {"type": "string"}}}]},
            "stage": {"type": "string", "enum": ["filed", "verifying", "deciding", "upheld", "rejected"]},
            "due": {"type": ["string", "null"], "format": "date", "description": "Last day of the current stage's deadline"},
            "overdue": {"type": "boolean"},
            "filed": step, "accepted": step_or_null, "verified": step_or_null, "decided": step_or_null,
            "verification": {"type": ["string", "null"], "enum": ["ours_right", "ours_wrong", null]},
            "verification_note": text_or_null, "decision_reason": text_or_null,
            "charged_to_authority": {"type": "boolean"}}});
}

/// `responses` with a 404 (`what` is not found).
fn with_not_found(mut responses: Value, what: &str) -> Value {
    responses["404"] = json!({
        "description": what,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    responses
}

/// The JSON body naming a period.
fn period_body() -> Value {
    json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PeriodBody"}}}
    })
}

/// `responses` with the 503 of a full table of sign-in links.
fn with_unavailable(mut responses: Value) -> Value {
    responses["503"] = json!({
        "description": "Too many sign-in links outstanding; try again later",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    responses
}

fn paths(limit_max: usize) -> Value {
    let period_params = json!([
        {"$ref": "#/components/parameters/period"},
        {"$ref": "#/components/parameters/department"},
    ]);
    json!({
        "/api/v1/scores": {"get": {
            "summary": "Scores, dimensions, datasets and checks of each department for a period",
            "parameters": period_params,
            "responses": with_errors(json!({
                "description": "Scores of the period",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Scores"}}}
            }))
        }},
        "/api/v1/scores.csv": {"get": {
            "summary": "The same numbers as CSV (UTF-8 with BOM): one row per department, dataset and dimension",
            "parameters": period_params,
            "responses": with_errors(json!({
                "description": "CSV with header period_from,period_to,department,dataset,dimension,passed,failed,pass_rate,dataset_score,dataset_grade,department_score,department_grade",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {"text/csv": {"schema": {"type": "string"}}}
            }))
        }},
        "/api/v1/trend": {"get": {
            "summary": "Each department's score and grade per week (the last 52) or month (the last 12), oldest first",
            "parameters": [
                {"name": "by", "in": "query", "required": false,
                 "schema": {"type": "string", "enum": ["week", "month"], "default": "month"}},
                {"name": "until", "in": "query", "required": false,
                 "description": "The last day covered (its week or month is the last point); default today in the exchange's time zone",
                 "schema": {"type": "string", "pattern": date_pattern()}},
                {"$ref": "#/components/parameters/department"}
            ],
            "responses": with_errors(json!({
                "description": "The trend",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Trend"}}}
            }))
        }},
        "/api/v1/violations": {"get": {
            "summary": "The most recent violations, newest first",
            "parameters": [
                {"$ref": "#/components/parameters/department"},
                {"name": "limit", "in": "query", "required": false,
                 "description": "How many (default 100, at most the configured maximum)",
                 "schema": {"type": "integer", "minimum": 1, "maximum": limit_max,
                            "default": DEFAULT_VIOLATIONS_LIMIT.min(limit_max)}}
            ],
            "responses": with_errors(json!({
                "description": "Violations",
                "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Violation"}
                }}}
            }))
        }},
        "/api/v1/seals": {
            "get": {
                "summary": "The newest version of every sealed period",
                "responses": with_errors(json!({
                    "description": "Sealed periods, by first day",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SealList"}}}
                }))
            },
            "post": {
                "summary": "Seals a period that has ended (officers): its scores frozen as canonical JSON with their SHA-256",
                "description": "Version 1 of the period's chain. Late records and later decisions never change it; they appear only through an amendment. The API, the scorecard and dqmon scores serve the sealed version from then on.",
                "requestBody": period_body(),
                "responses": seal_responses()
            }
        },
        "/api/v1/seals/amendments": {"post": {
            "summary": "Amends a sealed period (officers): its live scores as the next version, naming the hash it amends",
            "requestBody": period_body(),
            "responses": seal_responses()
        }},
        "/api/v1/seals/chain": {"get": {
            "summary": "Every version of a sealed period, oldest first, as the canonical file `dqmon verify-report` checks (officers)",
            "parameters": [{"$ref": "#/components/parameters/period"}],
            "responses": with_not_found(with_errors(json!({
                "description": "The chain (canonical JSON, RFC 8785, and a newline)",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Chain"}}}
            })), "The period is not sealed")
        }},
        "/api/v1/audit": {"get": {
            "summary": "The audit log, newest first (officers): every seal, amendment and dispute step, who and when",
            "parameters": [
                {"name": "limit", "in": "query", "required": false,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_LIMIT, "default": DEFAULT_AUDIT_LIMIT}},
                {"name": "before", "in": "query", "required": false,
                 "description": "Only entries with a smaller id: the last id of the previous page",
                 "schema": {"type": "integer", "minimum": 1, "maximum": i64::MAX}}
            ],
            "responses": with_errors(json!({
                "description": "Audit entries",
                "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}
                }}}
            }))
        }},
        "/api/v1/findings": {"get": {
            "summary": "Rectification: open, overdue and fixed findings per department, and a list of one status",
            "description": "A finding is a failed check of an entity's record (dataset, keyed hash of the entity key, check); a later record of the same entity that passes the check fixes it. Overdue: open past governance.yaml's working days. Records are named by topic, partition, offset and record_id only.",
            "parameters": [
                {"$ref": "#/components/parameters/department"},
                {"name": "status", "in": "query", "required": false,
                 "schema": {"type": "string", "enum": ["open", "overdue", "fixed"], "default": "open"}},
                {"name": "limit", "in": "query", "required": false,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_FINDINGS_LIMIT, "default": DEFAULT_FINDINGS_LIMIT}}
            ],
            "responses": with_errors(json!({
                "description": "Findings",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Findings"}}}
            }))
        }},
        "/api/v1/sign-in-link": {"post": {
            "summary": "A one-time link that signs a browser in as the caller",
            "description": "For a browser that cannot send the token (a headless check, a demo): GET the path once, within expires_in_secs, to get a session cookie and go to `next`. No token travels in a URL.",
            "parameters": [
                {"name": "next", "in": "query", "required": false,
                 "description": "A page of this server to open once signed in",
                 "schema": {"type": "string", "pattern": LOCAL_PATH_PATTERN}}
            ],
            "responses": with_unavailable(with_errors(json!({
                "description": "The link",
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["path", "expires_in_secs"],
                    "properties": {
                        "path": {"type": "string", "pattern": "^/login/once/"},
                        "expires_in_secs": {"type": "integer", "minimum": 1}}
                }}}
            })))
        }},
        "/api/v1/openapi.json": {"get": {
            "summary": "This description",
            "security": [],
            "responses": {"200": {
                "description": "OpenAPI 3.1 document",
                "content": {"application/json": {"schema": {"type": "object"}}}
            }}
        }}
    })
}

/// The query parameters the paths refer to.
fn parameters(departments: &[String]) -> Value {
    json!({
        "period": {"name": "period", "in": "query", "required": true,
                   "description": "A day (2026-06-15), ISO week (2026-W24), month (2026-06), quarter (2026-Q2), year (2026) or range of days (2026-06-01..2026-06-30, ends in either order, both inclusive), in the exchange's time zone",
                   "schema": {"type": "string", "pattern": pattern()}},
        "department": {"name": "department", "in": "query", "required": false,
                       "description": "One department; a department token defaults to its own and may ask for no other (403)",
                       "schema": {"type": "string", "enum": departments}}
    })
}

/// The answers' shapes. Closed (`additionalProperties: false`) wherever the
/// shape is fixed; department, dataset and check names are data (a store
/// holds periods of older contracts), so they are not enumerated.
fn schemas(grades: &Grades) -> Value {
    let mut s = data_schemas(grades);
    dispute_schemas(&mut s);
    let sha = json!({"type": "string", "pattern": "^[0-9a-f]{64}$"});
    let bounds = json!({"type": "object", "additionalProperties": false, "required": ["from", "to"],
                        "properties": {
                            "from": {"type": "string", "format": "date"},
                            "to": {"type": "string", "format": "date"}}});
    s["PeriodBody"] = json!({"type": "object", "additionalProperties": false, "required": ["period"],
                             "properties": {"period": {"type": "string", "pattern": pattern(),
                                                       "description": "As ?period= takes it"}}});
    s["Seal"] = json!({"type": "object", "additionalProperties": false,
                       "required": ["period", "version", "sha256", "amends", "sealed_at", "sealed_by"],
                       "properties": {
                           "period": bounds,
                           "version": {"type": "integer", "minimum": 1},
                           "sha256": sha,
                           "amends": {"oneOf": [sha, {"type": "null"}],
                                      "description": "The SHA-256 of the version this one amends; null for version 1"},
                           "sealed_at": {"type": "string", "format": "date-time"},
                           "sealed_by": {"type": "string", "description": "The name of the token that sealed it"}}});
    s["SealList"] = json!({"type": "object", "additionalProperties": false, "required": ["seals"],
                           "properties": {"seals": {"type": "array", "items": {"$ref": "#/components/schemas/Seal"}}}});
    s["Chain"] = json!({"type": "object", "additionalProperties": false, "required": ["format", "versions"],
                        "properties": {
                            "format": {"const": crate::tally::seal::CHAIN_FORMAT},
                            "versions": {"type": "array", "minItems": 1, "items": {
                                "type": "object", "additionalProperties": false, "required": ["sha256", "report"],
                                "properties": {
                                    "sha256": sha,
                                    "report": {"type": "object", "additionalProperties": false,
                                               "required": ["format", "version", "amends", "contracts_sha256", "scores"],
                                               "properties": {
                                                   "format": {"const": crate::tally::seal::REPORT_FORMAT},
                                                   "version": {"type": "integer", "minimum": 1},
                                                   "amends": {"oneOf": [sha, {"type": "null"}]},
                                                   "contracts_sha256": sha,
                                                   "scores": {"$ref": "#/components/schemas/Scores"}}}}}}}});
    s["AuditEntry"] = json!({"type": "object", "additionalProperties": false,
                             "required": ["id", "at", "actor", "role", "action", "subject", "detail"],
                             "properties": {
                                 "id": {"type": "integer"},
                                 "at": {"type": "string", "format": "date-time"},
                                 "actor": {"type": "string", "description": "The token's name"},
                                 "role": {"type": "string", "enum": ["officer", "department"]},
                                 "action": {"type": "string", "enum": ["seal", "amend", "dispute.file", "dispute.accept", "dispute.verify", "dispute.decide"]},
                                 "subject": {"type": "string"},
                                 "detail": {"type": "string"}}});
    let at = json!({"type": "object", "additionalProperties": false,
                    "required": ["topic", "partition", "offset", "record_id"],
                    "properties": {
                        "topic": {"type": "string"},
                        "partition": {"type": "integer", "minimum": 0},
                        "offset": {"type": "integer", "minimum": 0},
                        "record_id": {"type": ["string", "null"]}}});
    let count = json!({"type": "integer", "minimum": 0});
    s["Findings"] = json!({"type": "object", "additionalProperties": false,
        "required": ["as_of", "overdue_after_working_days", "departments", "status", "findings"],
        "properties": {
            "as_of": {"type": "string", "format": "date", "description": "The day overdue is judged on"},
            "overdue_after_working_days": {"type": "integer", "minimum": 1},
            "departments": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                "required": ["department", "name", "open", "overdue", "fixed", "median_time_to_fix_secs"],
                "properties": {
                    "department": {"type": "string"},
                    "name": {"type": "string"},
                    "open": count, "overdue": count, "fixed": count,
                    "median_time_to_fix_secs": {"type": ["integer", "null"], "minimum": 0,
                        "description": "Message time from the opening record to the fixing one; null before any fix"}}}},
            "status": {"type": "string", "enum": ["open", "overdue", "fixed"]},
            "findings": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                "required": ["department", "dataset", "check", "dimension", "status", "opened_at", "opened_day",
                             "due_day", "opened", "fixed_at", "fixed", "time_to_fix_secs"],
                "properties": {
                    "department": {"type": "string"},
                    "dataset": {"type": "string"},
                    "check": {"type": "string"},
                    "dimension": {"type": "string"},
                    "status": {"type": "string", "enum": ["open", "overdue", "fixed"]},
                    "opened_at": {"type": "string", "format": "date-time"},
                    "opened_day": {"type": "string", "format": "date"},
                    "due_day": {"type": "string", "format": "date", "description": "The last day to fix it in"},
                    "opened": at,
                    "fixed_at": {"type": ["string", "null"], "format": "date-time"},
                    "fixed": {"oneOf": [at, {"type": "null"}]},
                    "time_to_fix_secs": {"type": ["integer", "null"], "minimum": 0}}}}}});
    s["Scores"]["properties"]["seal"] = json!({"$ref": "#/components/schemas/Seal",
        "description": "Present when the period is sealed: the scores are that version's"});
    s["Trend"]["properties"]["points"]["items"]["properties"]["sealed"] = json!({
        "type": "string", "pattern": "^[0-9a-f]{64}$",
        "description": "Present when the period is sealed: the SHA-256 of the version shown"});
    s
}

/// The shapes of the data answers (scores, trend, violations).
fn data_schemas(grades: &Grades) -> Value {
    let count = json!({"type": "integer", "minimum": 0});
    let score = json!({"type": ["number", "null"], "minimum": 0, "maximum": 100});
    let ids: Vec<Value> = grades.bands().iter().map(|g| json!(g.grade)).collect();
    let grade = json!({"type": ["string", "null"], "enum": ids.iter().cloned().chain([Value::Null]).collect::<Vec<_>>(),
                       "description": "The score's band (scoring.yaml grades); null without a score"});
    let dimensions: Vec<&str> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
    json!({
        "Error": {"type": "object", "required": ["error"], "additionalProperties": false,
                  "properties": {"error": {"type": "string"}}},
        "Counts": {"type": "object", "required": ["passed", "failed"], "additionalProperties": false,
                   "properties": {"passed": count, "failed": count}},
        "Dimensions": {"type": "object", "required": dimensions, "additionalProperties": false,
                       "properties": dimensions.iter()
                           .map(|d| (d.to_string(), json!({"$ref": "#/components/schemas/Counts"})))
                           .collect::<serde_json::Map<_, _>>()},
        "Dataset": {"type": "object", "additionalProperties": false,
                    "required": ["records", "malformed", "score", "grade", "dimensions", "checks"],
                    "properties": {
                        "records": count, "malformed": count, "score": score, "grade": grade,
                        "dimensions": {"$ref": "#/components/schemas/Dimensions"},
                        "checks": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Counts"}}}},
        "Department": {"type": "object", "additionalProperties": false,
                       "required": ["name", "records", "malformed", "score", "grade", "dimensions", "datasets", "worst_checks", "worst_datasets"],
                       "properties": {
                           "name": {"type": "string", "description": "The department's own name (exchange.yaml), or its id"},
                           "records": count, "malformed": count, "score": score, "grade": grade,
                           "dimensions": {"$ref": "#/components/schemas/Dimensions"},
                           "datasets": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Dataset"}},
                           "worst_checks": {"type": "array", "items": {
                               "type": "object", "additionalProperties": false,
                               "required": ["dataset", "check", "dimension", "failed", "passed", "fail_rate"],
                               "properties": {
                                   "dataset": {"type": "string"}, "check": {"type": "string"},
                                   "dimension": {"type": ["string", "null"], "enum": dimensions.iter().map(|d| json!(d)).chain([Value::Null]).collect::<Vec<_>>(),
                                                 "description": "null for a check the current contracts no longer define"},
                                   "failed": count, "passed": count,
                                   "fail_rate": {"type": "number", "minimum": 0, "maximum": 1}}}},
                           "worst_datasets": {"type": "array", "items": {
                               "type": "object", "additionalProperties": false,
                               "required": ["dataset", "score", "records"],
                               "properties": {
                                   "dataset": {"type": "string"},
                                   "score": {"type": "number", "minimum": 0, "maximum": 100},
                                   "records": count}}}}},
        "Scores": {"type": "object", "additionalProperties": false,
                   "required": ["period", "messages", "malformed", "departments", "ranking", "grades"],
                   "properties": {
                       "period": {"type": "object", "additionalProperties": false, "required": ["from", "to"],
                                  "properties": {
                                      "from": {"type": "string", "format": "date"},
                                      "to": {"type": "string", "format": "date"}}},
                       "messages": count, "malformed": count,
                       "departments": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Department"}},
                       "ranking": {"type": "array", "items": {
                           "type": "object", "additionalProperties": false,
                           "required": ["rank", "department", "name", "score", "grade"],
                           "properties": {
                               "rank": {"type": ["integer", "null"], "minimum": 1},
                               "department": {"type": "string"},
                               "name": {"type": "string"},
                               "score": score, "grade": grade}}},
                       "grades": {"type": "array", "minItems": 1, "description": "The bands, best first: a score gets the first whose min_score it reaches",
                                  "items": {"type": "object", "additionalProperties": false,
                                            "required": ["grade", "name", "min_score"],
                                            "properties": {
                                                "grade": {"type": "string", "enum": ids},
                                                "name": {"type": "string"},
                                                "min_score": {"type": "number", "minimum": 0, "maximum": 100}}}}}},
        "Trend": {"type": "object", "additionalProperties": false, "required": ["by", "points"],
                  "properties": {
                      "by": {"type": "string", "enum": ["week", "month"]},
                      "points": {"type": "array", "items": {
                          "type": "object", "additionalProperties": false,
                          "required": ["period", "from", "to", "departments"],
                          "properties": {
                              "period": {"type": "string", "description": "2026-W24 or 2026-06"},
                              "from": {"type": "string", "format": "date"},
                              "to": {"type": "string", "format": "date"},
                              "departments": {"type": "object", "additionalProperties": {
                                  "type": "object", "additionalProperties": false,
                                  "required": ["score", "grade", "records"],
                                  "properties": {"score": score, "grade": grade, "records": count}}}}}}}},
        "Violation": {"type": "object", "additionalProperties": false,
                      "required": ["topic", "partition", "offset", "timestamp", "record_id", "department",
                                   "dataset", "dimension", "check", "field", "reason", "late"],
                      "properties": {
                          "topic": {"type": "string"},
                          "partition": {"type": "integer", "minimum": 0},
                          "offset": {"type": "integer", "minimum": 0},
                          "timestamp": {"type": "integer", "description": "Message time, epoch milliseconds"},
                          "record_id": {"type": ["string", "null"]},
                          "department": {"type": "string"}, "dataset": {"type": "string"},
                          "dimension": {"type": "string", "enum": dimensions},
                          "check": {"type": "string"},
                          "field": {"type": ["string", "null"]}, "reason": {"type": "string"},
                          "late": {"type": "boolean", "description": "Judged on arrival after later messages (the late-message rule)"}}}
    })
}

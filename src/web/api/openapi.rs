//! The OpenAPI 3.1 description of the API, served at `/api/v1/openapi.json`.

use axum::Json;
use serde_json::{Value, json};

use super::violations::DEFAULT_VIOLATIONS_LIMIT;

/// Public: it describes the API and holds no data.
pub(super) async fn get_openapi() -> Json<Value> {
    Json(openapi())
}

/// The OpenAPI 3.1 description of the API.
fn openapi() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "dqmon assessment API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Data-quality scores of the exchange's departments. A department's score for a period is the weighted mean, over the dimensions with at least one outcome, of passed/(passed+failed), times 100. Officer tokens see every department; department tokens only their own."
        },
        "security": [{"bearerAuth": []}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": parameters(),
            "schemas": schemas(),
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
        "400": error("Invalid period, dates, department or limit, or an unknown parameter"),
        "401": {
            "description": "Missing or invalid bearer token",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        },
        "403": error("The token's department differs from the requested one"),
        "500": error("Internal error (details are in the server log)"),
    });
    responses["200"] = ok;
    responses
}

fn paths() -> Value {
    let period_params = json!([
        {"$ref": "#/components/parameters/from"},
        {"$ref": "#/components/parameters/to"},
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
                "description": "CSV with header period_from,period_to,department,dataset,dimension,passed,failed,pass_rate",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {"text/csv": {"schema": {"type": "string"}}}
            }))
        }},
        "/api/v1/violations": {"get": {
            "summary": "The most recent violations, newest first",
            "parameters": [
                {"$ref": "#/components/parameters/department"},
                {"name": "limit", "in": "query", "required": false,
                 "description": "How many (default 100, at most the configured maximum)",
                 "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_VIOLATIONS_LIMIT}}
            ],
            "responses": with_errors(json!({
                "description": "Violations",
                "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Violation"}
                }}}
            }))
        }},
        "/api/v1/sign-in-link": {"post": {
            "summary": "A one-time link that signs a browser in as the caller",
            "description": "For a browser that cannot send the token (a headless check, a demo): GET the path once, within expires_in_secs, to get a session cookie and go to `next`. No token travels in a URL.",
            "parameters": [
                {"name": "next", "in": "query", "required": false,
                 "description": "A page of this server to open once signed in",
                 "schema": {"type": "string", "pattern": "^/"}}
            ],
            "responses": with_errors(json!({
                "description": "The link",
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["path", "expires_in_secs"],
                    "properties": {
                        "path": {"type": "string", "pattern": "^/login/once/"},
                        "expires_in_secs": {"type": "integer"}}
                }}}
            }))
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
fn parameters() -> Value {
    json!({
        "from": {"name": "from", "in": "query", "required": false,
                 "description": "First day (with `to`), YYYY-MM-DD",
                 "schema": {"type": "string", "format": "date"}},
        "to": {"name": "to", "in": "query", "required": false,
               "description": "Last day, inclusive (with `from`), YYYY-MM-DD",
               "schema": {"type": "string", "format": "date"}},
        "period": {"name": "period", "in": "query", "required": false,
                   "description": "Instead of from/to: 2026-06-15, 2026-W24, 2026-06, 2026-Q2, 2026 or 2026-06-01..2026-06-30",
                   "schema": {"type": "string"}},
        "department": {"name": "department", "in": "query", "required": false,
                       "description": "One department; a department token defaults to its own",
                       "schema": {"type": "string"}}
    })
}

/// The answers' shapes.
fn schemas() -> Value {
    json!({
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string"}}},
        "Counts": {"type": "object", "required": ["passed", "failed"], "properties": {
            "passed": {"type": "integer"}, "failed": {"type": "integer"}}},
        "Dimensions": {"type": "object", "properties": {
            "completeness": {"$ref": "#/components/schemas/Counts"},
            "format": {"$ref": "#/components/schemas/Counts"},
            "consistency": {"$ref": "#/components/schemas/Counts"},
            "freshness": {"$ref": "#/components/schemas/Counts"},
            "uniqueness": {"$ref": "#/components/schemas/Counts"}}},
        "Dataset": {"type": "object", "properties": {
            "records": {"type": "integer"}, "malformed": {"type": "integer"},
            "score": {"type": ["number", "null"]},
            "dimensions": {"$ref": "#/components/schemas/Dimensions"},
            "checks": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Counts"}}}},
        "Department": {"type": "object", "properties": {
            "records": {"type": "integer"}, "malformed": {"type": "integer"},
            "score": {"type": ["number", "null"]},
            "dimensions": {"$ref": "#/components/schemas/Dimensions"},
            "datasets": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Dataset"}},
            "worst_checks": {"type": "array", "items": {"type": "object", "properties": {
                "dataset": {"type": "string"}, "check": {"type": "string"},
                "dimension": {"type": ["string", "null"]},
                "failed": {"type": "integer"}, "passed": {"type": "integer"},
                "fail_rate": {"type": "number"}}}},
            "worst_datasets": {"type": "array", "items": {"type": "object", "properties": {
                "dataset": {"type": "string"}, "score": {"type": "number"},
                "records": {"type": "integer"}}}}}},
        "Scores": {"type": "object", "properties": {
            "period": {"type": "object", "properties": {
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"}}},
            "messages": {"type": "integer"}, "malformed": {"type": "integer"},
            "departments": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Department"}},
            "ranking": {"type": "array", "items": {"type": "object", "properties": {
                "rank": {"type": ["integer", "null"]}, "department": {"type": "string"},
                "score": {"type": ["number", "null"]}}}}}},
        "Violation": {"type": "object", "properties": {
            "topic": {"type": "string"}, "partition": {"type": "integer"},
            "offset": {"type": "integer"},
            "timestamp": {"type": "integer", "description": "Message time, epoch milliseconds"},
            "record_id": {"type": ["string", "null"]},
            "department": {"type": "string"}, "dataset": {"type": "string"},
            "dimension": {"type": "string"}, "check": {"type": "string"},
            "field": {"type": ["string", "null"]}, "reason": {"type": "string"},
            "late": {"type": "boolean", "description": "Judged on arrival after later messages (the late-message rule)"}}}
    })
}

//! Disputes (异议) end to end through the routers (`oneshot`) on an
//! in-memory store with two kept failures of hrss's social_insurance: the
//! API (`api.rs`: the three roles, each step's 401/403, the order of steps,
//! the scores of both departments after an upheld cross-source dispute, the
//! audit log) and the scorecard's `/disputes` page and forms (`pages.rs`).

mod api;
mod pages;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use dqmon::catalog::Checks;
use dqmon::model::{Counts, Dimension};
use dqmon::store::findings::RecordAt;
use dqmon::store::sqlite::SqliteStore;
use dqmon::store::{Checkpoint, CheckpointStore as _, DayCounts, Failure, FindingOpened};
use dqmon::web::api::{ApiConfig, ApiState, NamedToken, Role, routes, token_sha256};
use dqmon::web::scorecard::pages;

pub const OFFICER: &str = "officer-token-0000000001";
pub const HRSS: &str = "hrss-token-0000000000001";
pub const POLICE: &str = "police-token-00000000001";
pub const TAX: &str = "tax-token-00000000000001";
pub const TOPIC: &str = "exchange.hrss.social_insurance";

fn token(name: &str, role: Role, department: Option<&str>, secret: &str) -> NamedToken {
    NamedToken {
        name: name.into(),
        role,
        department: department.map(str::to_owned),
        sha256: token_sha256(secret),
    }
}

/// Two checks of hrss's social_insurance from the contracts in `checks/`:
/// one of its own, and the cross-source one (compared with
/// public_security's register).
pub fn the_checks(checks: &Checks) -> [(String, Dimension); 2] {
    let ds = checks.dataset("hrss", "social_insurance").unwrap();
    let pick = |cross: bool| {
        let c = ds
            .checks
            .iter()
            .find(|c| checks.authority_of(ds, &c.id).is_some() == cross)
            .unwrap();
        (c.id.clone(), c.dimension)
    };
    [pick(false), pick(true)]
}

/// The cross-source check of hrss's social_insurance.
pub fn cross_source(checks: &Checks) -> String {
    the_checks(checks)[1].0.clone()
}

/// The API and the pages on one state. Two hrss records of 2 March 2026 at
/// partition 2: offset 41 (`SI-41`) fails the cross-source check, offset 42
/// (`SI-42`) one of the dataset's own checks.
pub fn app() -> (Router, Arc<Checks>) {
    let checks = Arc::new(dqmon::catalog::load(Path::new("checks")).unwrap());
    let [(own, own_dimension), (cs, _)] = the_checks(&checks);
    let store = SqliteStore::in_memory(10).unwrap();
    let mut c = DayCounts::new("2026-03-02".parse().unwrap(), "hrss", "social_insurance");
    c.counts.records = 2;
    c.counts.dimensions = [[2, 0], [2, 0], [1, 1], [2, 0], [2, 0]].map(Counts::from);
    c.counts.checks = vec![(cs.clone(), [1, 1].into())];
    c.counts.dimensions[own_dimension as usize] = [1, 1].into();
    c.counts.checks.push((own.clone(), [1, 1].into()));
    let failure = |offset: i64, check: String, dimension: Dimension| Failure {
        at: RecordAt {
            topic: TOPIC.into(),
            partition: 2,
            offset,
            record_id: Some(format!("SI-{offset}")),
        },
        timestamp_ms: 1_772_424_000_000,
        day: "2026-03-02".parse().unwrap(),
        department: "hrss".into(),
        dataset: "social_insurance".into(),
        check,
        dimension,
    };
    store
        .commit(&Checkpoint {
            counts: vec![c],
            failures: vec![
                failure(41, cs, Dimension::Consistency),
                failure(42, own.clone(), own_dimension),
            ],
            // Record 42's failure is an open finding on the rectification page.
            findings_opened: vec![FindingOpened {
                key: [42, 42],
                department: "hrss".into(),
                dataset: "social_insurance".into(),
                check: own,
                dimension: own_dimension,
                opened_ms: 1_772_424_000_000,
                opened_day: "2026-03-02".parse().unwrap(),
                at: RecordAt {
                    topic: TOPIC.into(),
                    partition: 2,
                    offset: 42,
                    record_id: Some("SI-42".into()),
                },
            }],
            ..Checkpoint::default()
        })
        .unwrap();
    let config = ApiConfig {
        tokens: vec![
            token("officer-wang", Role::Officer, None, OFFICER),
            token("hrss-desk", Role::Department, Some("hrss"), HRSS),
            token(
                "police-desk",
                Role::Department,
                Some("public_security"),
                POLICE,
            ),
            token("tax-desk", Role::Department, Some("tax"), TAX),
        ],
        ..ApiConfig::default()
    };
    let state = ApiState::new(Arc::new(store), checks.clone(), Arc::new(config));
    (routes(state.clone()).merge(pages(state)), checks)
}

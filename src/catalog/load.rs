//! Reading the checks folder: the exchange and scoring files, the reference
//! tables and the contracts, each contract then compiled against the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::compile::{self, Shared};
use super::contract::{ContractFile, ExchangeFile, ScoringFile};
use super::error::{Collector, ContractErrors};
use super::{
    Checks, Entity, Grades, MAX_ENTITY_ATTRIBUTES, Weights, digest, governance, reference, rule,
    scoring, workdays,
};

const EXCHANGE_FILE: &str = "exchange.yaml";
const SCORING_FILE: &str = "scoring.yaml";
pub(crate) const REFERENCE_DIR: &str = "reference";
const DIVISIONS_TABLE: &str = "gb2260-divisions";

/// A contract file as read, beside its path.
type Contracts = [(PathBuf, ContractFile)];

/// Loads and compiles a checks folder, reporting every problem at once.
pub fn load(dir: &Path) -> Result<Checks, ContractErrors> {
    let mut errors = Collector::default();
    if !dir.is_dir() {
        errors.push(dir, "-", "not a directory");
        return errors.finish(unreachable_checks());
    }
    let exchange_path = dir.join(EXCHANGE_FILE);
    let exchange: Option<ExchangeFile> = read_yaml(&exchange_path, &mut errors);
    let scoring_path = dir.join(SCORING_FILE);
    let (weights, alert_thresholds, grades) = read_yaml::<ScoringFile>(&scoring_path, &mut errors)
        .map(|s| scoring::compile(&s, &scoring_path, &mut errors))
        .unwrap_or_else(|| {
            (
                Weights::default(),
                scoring::DEFAULT_THRESHOLDS,
                Grades::default(),
            )
        });
    let formats = reference::load(&dir.join(REFERENCE_DIR), DIVISIONS_TABLE, &mut errors);
    let working_days = workdays::load(&dir.join(REFERENCE_DIR), &mut errors);
    let governance = governance::load(dir, &mut errors);
    let contracts_sha256 = digest::contracts_sha256(dir, &mut errors);
    let contracts: Vec<(PathBuf, ContractFile)> = contract_paths(dir, &mut errors)
        .into_iter()
        .filter_map(|path| read_yaml(&path, &mut errors).map(|c| (path, c)))
        .collect();
    // Without the exchange's common fields no contract compiles.
    let Some(exchange) = exchange else {
        return errors.finish(unreachable_checks());
    };
    let time_zone = time_zone(&exchange, &exchange_path, &mut errors);
    let (by_name, topics) = index(&contracts, &mut errors);
    let entities = entities(&exchange, &exchange_path, &contracts, &by_name, &mut errors);
    let cel = rule::cel_env()
        .map_err(|e| errors.push(dir, "-", format!("cannot set up CEL: {e}")))
        .ok();
    let shared = Shared {
        exchange: &exchange,
        exchange_path: &exchange_path,
        entities: &entities,
        formats: &formats,
        cel: cel.as_ref(),
    };
    let datasets: Vec<_> = contracts
        .iter()
        .enumerate()
        .filter_map(|(i, (path, c))| compile::dataset(&shared, i, path, c, &mut errors))
        .collect();
    if contracts.is_empty() && errors.is_empty() {
        errors.push(
            dir,
            "-",
            "no contract found (expected <department>/<dataset>.yaml)",
        );
    }
    let departments: BTreeSet<String> = datasets.iter().map(|d| d.department.clone()).collect();
    // Checked against the contracts as written, so a broken contract does not
    // also make its department's name an error.
    let declared: BTreeSet<String> = contracts
        .iter()
        .map(|(_, c)| c.department.clone())
        .collect();
    let department_names = department_names(&exchange, &exchange_path, &declared, &mut errors);
    let day_ms = 86_400_000i64;
    errors.finish(Checks {
        datasets,
        entities,
        weights,
        grades,
        alert_thresholds,
        uniqueness_window_ms: i64::from(exchange.uniqueness_window_days) * day_ms,
        future_tolerance_ms: i64::from(exchange.future_tolerance_secs) * 1000,
        reference_ttl_ms: i64::from(exchange.reference_ttl_days) * day_ms,
        time_zone,
        reference: formats,
        working_days,
        governance,
        departments: departments.into_iter().collect(),
        department_names,
        contracts_sha256,
        topics,
    })
}

/// Display names of departments that own a dataset; a name for any other
/// id is a typo, reported.
fn department_names(
    exchange: &ExchangeFile,
    path: &Path,
    owners: &BTreeSet<String>,
    errors: &mut Collector,
) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for (id, d) in &exchange.departments {
        let at = format!("departments.{id}");
        if !owners.contains(id) {
            errors.push(
                path,
                &at,
                "no contract belongs to this department (is the id misspelt?)",
            );
        } else if d.name.trim().is_empty() {
            errors.push(path, format!("{at}.name"), "empty");
        } else {
            names.insert(id.clone(), d.name.trim().to_owned());
        }
    }
    names
}

/// Placeholder returned alongside errors; `Collector::finish` discards it.
fn unreachable_checks() -> Checks {
    Checks {
        datasets: Vec::new(),
        entities: Vec::new(),
        weights: Weights::default(),
        grades: Grades::default(),
        alert_thresholds: scoring::DEFAULT_THRESHOLDS,
        uniqueness_window_ms: 0,
        future_tolerance_ms: 0,
        reference_ttl_ms: 0,
        time_zone: chrono_tz::Asia::Shanghai,
        reference: Default::default(),
        working_days: Default::default(),
        governance: Default::default(),
        departments: Vec::new(),
        department_names: BTreeMap::new(),
        contracts_sha256: String::new(),
        topics: FxHashMap::default(),
    }
}

/// The exchange's time zone; an unknown name is an error, Shanghai stands in
/// so the contracts are still checked.
fn time_zone(exchange: &ExchangeFile, path: &Path, errors: &mut Collector) -> chrono_tz::Tz {
    exchange.time_zone.parse().unwrap_or_else(|_| {
        errors.push(
            path,
            "time_zone",
            format!("unknown time zone `{}`", exchange.time_zone),
        );
        chrono_tz::Asia::Shanghai
    })
}

/// Contract index by `<department>.<dataset>`, and by topic: both must be
/// unique, and entities name their authority by the first.
fn index(
    contracts: &Contracts,
    errors: &mut Collector,
) -> (BTreeMap<String, usize>, FxHashMap<String, usize>) {
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut topics: FxHashMap<String, usize> = FxHashMap::default();
    for (i, (path, c)) in contracts.iter().enumerate() {
        let qualified = format!("{}.{}", c.department, c.dataset);
        if let Some(&other) = by_name.get(&qualified) {
            errors.push(
                path,
                "dataset",
                format!(
                    "dataset `{qualified}` is also defined in {}",
                    contracts[other].0.display()
                ),
            );
        } else {
            by_name.insert(qualified, i);
        }
        if let Some(&other) = topics.get(&c.topic) {
            errors.push(
                path,
                "topic",
                format!(
                    "topic `{}` is also claimed by {}",
                    c.topic,
                    contracts[other].0.display()
                ),
            );
        } else {
            topics.insert(c.topic.clone(), i);
        }
    }
    (by_name, topics)
}

/// The exchange's entity types; one whose authority does not exist is left
/// out, so contracts naming it report an unknown entity too.
fn entities(
    exchange: &ExchangeFile,
    path: &Path,
    contracts: &Contracts,
    by_name: &BTreeMap<String, usize>,
    errors: &mut Collector,
) -> Vec<Entity> {
    let mut entities = Vec::new();
    for (name, spec) in &exchange.entities {
        let location = format!("entities.{name}");
        if spec.attributes.is_empty() || spec.attributes.len() > MAX_ENTITY_ATTRIBUTES {
            errors.push(
                path,
                format!("{location}.attributes"),
                format!("an entity has 1 to {MAX_ENTITY_ATTRIBUTES} attributes"),
            );
        }
        let Some(&i) = by_name.get(&spec.authoritative) else {
            errors.push(
                path,
                format!("{location}.authoritative"),
                format!(
                    "authoritative dataset `{}` does not exist",
                    spec.authoritative
                ),
            );
            continue;
        };
        let declares = contracts[i]
            .1
            .cross_source
            .iter()
            .any(|x| &x.entity == name);
        if !declares {
            errors.push(
                path,
                format!("{location}.authoritative"),
                format!(
                    "authoritative dataset `{}` has no cross_source entry for `{name}`, so it delivers no values",
                    spec.authoritative
                ),
            );
        }
        entities.push(Entity {
            name: name.clone(),
            authoritative: i,
            attributes: spec.attributes.clone(),
        });
    }
    entities
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path, errors: &mut Collector) -> Option<T> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(path, "-", format!("cannot read: {e}"));
            return None;
        }
    };
    match serde_yaml_ng::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            let location = match e.location() {
                Some(l) => format!("line {} column {}", l.line(), l.column()),
                None => "-".to_string(),
            };
            // serde_yaml_ng appends the location to the message; keep it once.
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            errors.push(path, location, message);
            None
        }
    }
}

/// `<dir>/<department>/<dataset>.yaml`, sorted so loading is deterministic.
fn contract_paths(dir: &Path, errors: &mut Collector) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(dir, "-", format!("cannot list: {e}"));
            return paths;
        }
    };
    for entry in entries.flatten() {
        let sub = entry.path();
        if !sub.is_dir() || sub.file_name().is_some_and(|n| n == REFERENCE_DIR) {
            continue;
        }
        if let Ok(files) = std::fs::read_dir(&sub) {
            for f in files.flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    paths.push(p);
                }
            }
        }
    }
    paths.sort();
    paths
}

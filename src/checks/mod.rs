//! The checks folder: contracts, the exchange's shared settings, scoring
//! weights and reference tables, loaded and compiled once.
//!
//! [`load`] is the single entry point: `dqmon validate` and the service's
//! start-up both call it, so what validates is exactly what runs.

pub mod contract;
pub mod error;
pub mod field;
pub mod reference;
pub mod rule;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use contract::{ContractFile, ExchangeFile, FieldSpec, FieldType, RuleSpec, ScoringFile};
use error::{Collector, ContractErrors};
use field::{FieldValidator, FormatContext};
use rule::{RuleLogic, TimeKind};

use crate::dimension::Dimension;
use crate::formats;

/// Index of a check within its dataset's `checks`.
pub type CheckId = usize;

/// One check of a dataset: a counter in reports and a label in metrics.
#[derive(Debug, Clone)]
pub struct CheckDef {
    /// Stable id, from configuration only (`name.required`, `birth_date_matches_id_number`).
    pub id: String,
    pub dimension: Dimension,
    /// The field a violation of it points at.
    pub field: Option<String>,
}

/// A compiled field.
#[derive(Debug)]
pub struct Field {
    pub name: String,
    pub required: bool,
    pub kind: FieldType,
    pub format: Option<String>,
    pub validator: FieldValidator,
    /// The field's rules as the contract writes them (enum, lengths, ranges...).
    pub spec: FieldSpec,
    /// `<field>.required`, for required fields.
    pub required_check: Option<CheckId>,
    /// `<field>.format`.
    pub format_check: CheckId,
}

/// A compiled within-record rule.
#[derive(Debug)]
pub struct Rule {
    pub check: CheckId,
    pub logic: RuleLogic,
    pub inputs: Vec<usize>,
}

/// Field indexes by field name.
pub type FieldIndex = FxHashMap<Box<str>, usize>;

/// A field of a dataset that carries an entity attribute.
#[derive(Debug, Clone)]
pub struct CrossSource {
    pub entity: usize,
    pub key_field: usize,
    pub attribute: usize,
    pub field: usize,
    /// True when this dataset is the entity's authority: it delivers the value.
    pub authoritative: bool,
    /// `<field>.cross_source`, for comparing datasets only.
    pub check: Option<CheckId>,
}

/// A compiled contract.
#[derive(Debug)]
pub struct Dataset {
    pub index: usize,
    pub department: String,
    pub name: String,
    pub title: Option<String>,
    pub topic: String,
    pub path: PathBuf,
    pub max_age_ms: i64,
    pub max_silence_secs: u64,
    pub fields: Vec<Field>,
    /// Field index by name, one entry per field (`load` rejects repeated
    /// names): the engine looks up every key of every record here (Fx hashing: measured ~1 200 instructions per record fewer than
    /// a binary search over the sorted names).
    pub by_name: FieldIndex,
    pub record_id_field: usize,
    pub updated_at_field: usize,
    pub key_field: usize,
    pub rules: Vec<Rule>,
    pub cross_source: Vec<CrossSource>,
    pub checks: Vec<CheckDef>,
    /// `checks[c].dimension`, packed: every outcome reads it, and one cache
    /// line holds them all.
    pub check_dimensions: Vec<Dimension>,
    /// `message.parse`: the payload is a JSON object.
    pub parse_check: CheckId,
    /// `<updated_at>.freshness`.
    pub freshness_check: CheckId,
    /// `<record_id>.unique`.
    pub unique_check: CheckId,
}

impl Dataset {
    /// `<department>.<dataset>`, the name used across the exchange.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.department, self.name)
    }
}

/// An entity type.
#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub authoritative: usize,
    pub attributes: Vec<String>,
}

/// Dimension weights of the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights(pub [f64; 5]);

impl Default for Weights {
    /// The catalog's defaults.
    fn default() -> Self {
        Weights([0.25, 0.25, 0.20, 0.20, 0.10])
    }
}

/// Everything the engine needs, compiled.
#[derive(Debug)]
pub struct Checks {
    pub dir: PathBuf,
    pub datasets: Vec<Dataset>,
    pub entities: Vec<Entity>,
    pub weights: Weights,
    /// Pass rate under which a dimension alerts, per dimension (catalog order).
    pub alert_thresholds: [f64; 5],
    pub uniqueness_window_ms: i64,
    pub future_tolerance_ms: i64,
    pub reference_ttl_ms: i64,
    pub time_zone: chrono_tz::Tz,
    /// The reference tables (divisions, code tables), for whoever needs their values.
    pub reference: FormatContext,
    /// Departments that own a dataset, sorted.
    pub departments: Vec<String>,
    /// Fx: looked up for every message, and topic names come from contracts.
    topics: FxHashMap<String, usize>,
}

impl Checks {
    /// The dataset a topic carries, if a contract claims it.
    pub fn dataset_for_topic(&self, topic: &str) -> Option<&Dataset> {
        self.topics.get(topic).map(|&i| &self.datasets[i])
    }

    pub fn topics(&self) -> Vec<String> {
        self.datasets.iter().map(|d| d.topic.clone()).collect()
    }

    pub fn total_checks(&self) -> usize {
        self.datasets.iter().map(|d| d.checks.len()).sum()
    }
}

/// The most checks one dataset may have: outcomes keep them in a 128-bit set.
pub const MAX_CHECKS: usize = 128;

/// The most attributes one entity type may have: state keeps them in a fixed array.
pub const MAX_ENTITY_ATTRIBUTES: usize = 4;

const EXCHANGE_FILE: &str = "exchange.yaml";
const SCORING_FILE: &str = "scoring.yaml";
const REFERENCE_DIR: &str = "reference";
const DIVISIONS_TABLE: &str = "gb2260-divisions";

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
    let scoring: Option<ScoringFile> = read_yaml(&scoring_path, &mut errors);
    let (weights, alert_thresholds) = scoring
        .map(|s| {
            (
                weights_from(&s, &scoring_path, &mut errors),
                thresholds_from(&s, &scoring_path, &mut errors),
            )
        })
        .unwrap_or((Weights::default(), DEFAULT_THRESHOLDS));
    let ctx = reference::load(&dir.join(REFERENCE_DIR), DIVISIONS_TABLE, &mut errors);

    let mut contracts = Vec::new();
    for path in contract_paths(dir, &mut errors) {
        if let Some(c) = read_yaml::<ContractFile>(&path, &mut errors) {
            contracts.push((path, c));
        }
    }
    let Some(exchange) = exchange else {
        return errors.finish(unreachable_checks());
    };
    let time_zone: chrono_tz::Tz = exchange.time_zone.parse().unwrap_or_else(|_| {
        errors.push(
            &exchange_path,
            "time_zone",
            format!("unknown time zone `{}`", exchange.time_zone),
        );
        chrono_tz::Asia::Shanghai
    });

    // Datasets are known by `<department>.<dataset>` before entities can point at them.
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

    let mut entities = Vec::new();
    for (name, spec) in &exchange.entities {
        let location = format!("entities.{name}");
        if spec.attributes.is_empty() || spec.attributes.len() > MAX_ENTITY_ATTRIBUTES {
            errors.push(
                &exchange_path,
                format!("{location}.attributes"),
                format!("an entity has 1 to {MAX_ENTITY_ATTRIBUTES} attributes"),
            );
        }
        match by_name.get(&spec.authoritative) {
            Some(&i) => {
                let declares = contracts[i]
                    .1
                    .cross_source
                    .iter()
                    .any(|x| &x.entity == name);
                if !declares {
                    errors.push(
                        &exchange_path,
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
            None => errors.push(
                &exchange_path,
                format!("{location}.authoritative"),
                format!(
                    "authoritative dataset `{}` does not exist",
                    spec.authoritative
                ),
            ),
        }
    }

    let env = match rule::cel_env() {
        Ok(env) => Some(env),
        Err(e) => {
            errors.push(dir, "-", format!("cannot set up CEL: {e}"));
            None
        }
    };
    let mut datasets = Vec::new();
    for (i, (path, c)) in contracts.iter().enumerate() {
        let compiled = compile_dataset(
            i,
            path,
            c,
            &exchange,
            &exchange_path,
            &entities,
            &ctx,
            env.as_ref(),
            &mut errors,
        );
        if let Some(d) = compiled {
            datasets.push(d);
        }
    }
    if contracts.is_empty() && errors.is_empty() {
        errors.push(
            dir,
            "-",
            "no contract found (expected <department>/<dataset>.yaml)",
        );
    }
    let departments: BTreeSet<String> = datasets.iter().map(|d| d.department.clone()).collect();
    let day_ms = 86_400_000i64;
    errors.finish(Checks {
        dir: dir.to_path_buf(),
        datasets,
        entities,
        weights,
        alert_thresholds,
        uniqueness_window_ms: i64::from(exchange.uniqueness_window_days) * day_ms,
        future_tolerance_ms: i64::from(exchange.future_tolerance_secs) * 1000,
        reference_ttl_ms: i64::from(exchange.reference_ttl_days) * day_ms,
        time_zone,
        reference: ctx,
        departments: departments.into_iter().collect(),
        topics,
    })
}

/// Placeholder returned alongside errors; `Collector::finish` discards it.
fn unreachable_checks() -> Checks {
    Checks {
        dir: PathBuf::new(),
        datasets: Vec::new(),
        entities: Vec::new(),
        weights: Weights::default(),
        alert_thresholds: DEFAULT_THRESHOLDS,
        uniqueness_window_ms: 0,
        future_tolerance_ms: 0,
        reference_ttl_ms: 0,
        time_zone: chrono_tz::Asia::Shanghai,
        reference: FormatContext::default(),
        departments: Vec::new(),
        topics: FxHashMap::default(),
    }
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

fn weights_from(s: &ScoringFile, path: &Path, errors: &mut Collector) -> Weights {
    let mut w = [0.0; 5];
    for (name, &value) in &s.weights {
        match Dimension::parse(name) {
            Some(d) if value.is_finite() && value >= 0.0 => w[d as usize] = value,
            Some(_) => errors.push(path, format!("weights.{name}"), "a weight is a number >= 0"),
            None => errors.push(
                path,
                format!("weights.{name}"),
                "unknown dimension (completeness, format, consistency, freshness, uniqueness)",
            ),
        }
    }
    for d in Dimension::ALL {
        if !s.weights.contains_key(d.as_str()) {
            errors.push(path, "weights", format!("missing weight for `{d}`"));
        }
    }
    if w.iter().sum::<f64>() <= 0.0 {
        errors.push(path, "weights", "the weights add up to 0");
    }
    Weights(w)
}

/// Pass rates under which a dimension alerts when scoring.yaml names none.
const DEFAULT_THRESHOLDS: [f64; 5] = [0.95; 5];

fn thresholds_from(s: &ScoringFile, path: &Path, errors: &mut Collector) -> [f64; 5] {
    let mut t = DEFAULT_THRESHOLDS;
    for (name, &value) in &s.alert_thresholds {
        match Dimension::parse(name) {
            Some(d) if (0.0..=1.0).contains(&value) => t[d as usize] = value,
            Some(_) => errors.push(
                path,
                format!("alert_thresholds.{name}"),
                "a threshold is a pass rate from 0 to 1",
            ),
            None => errors.push(
                path,
                format!("alert_thresholds.{name}"),
                "unknown dimension",
            ),
        }
    }
    t
}

/// Check ids are metric label values: keep them plain.
fn is_plain_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[allow(clippy::too_many_arguments)]
fn compile_dataset(
    index: usize,
    path: &Path,
    c: &ContractFile,
    exchange: &ExchangeFile,
    exchange_path: &Path,
    entities: &[Entity],
    ctx: &FormatContext,
    env: Option<&Arc<cel::Env>>,
    errors: &mut Collector,
) -> Option<Dataset> {
    // Problems of this contract; merged into `errors` at the end.
    let mut local = Collector::default();

    for (what, value) in [("department", &c.department), ("dataset", &c.dataset)] {
        if !is_plain_id(value) {
            local.push(path, what, "must be lowercase letters, digits and `_`");
        }
    }
    // The file's place names it, so a contract is found where its name says.
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    if folder != Some(c.department.as_str()) {
        local.push(
            path,
            "department",
            format!(
                "`{}` does not match the folder `{}`",
                c.department,
                folder.unwrap_or("")
            ),
        );
    }
    let stem = path.file_stem().and_then(|n| n.to_str());
    if stem != Some(c.dataset.as_str()) {
        local.push(
            path,
            "dataset",
            format!(
                "`{}` does not match the file name `{}`",
                c.dataset,
                stem.unwrap_or("")
            ),
        );
    }
    if c.topic.trim().is_empty() {
        local.push(path, "topic", "must not be empty");
    }
    if c.max_age_hours == 0 {
        local.push(path, "max_age_hours", "must be at least 1");
    }

    let mut checks: Vec<CheckDef> = Vec::new();
    let add_check = |checks: &mut Vec<CheckDef>, id: String, dim, field: Option<&str>| {
        checks.push(CheckDef {
            id,
            dimension: dim,
            field: field.map(String::from),
        });
        checks.len() - 1
    };
    let parse_check = add_check(&mut checks, "message.parse".into(), Dimension::Format, None);

    // Common fields first, then the contract's own, in name order.
    let mut specs: Vec<(String, &FieldSpec, String)> = Vec::new();
    for (name, spec) in &exchange.common_fields {
        specs.push((name.clone(), spec, format!("common_fields.{name}")));
    }
    for (name, spec) in &c.fields {
        if exchange.common_fields.contains_key(name) {
            local.push(
                path,
                format!("fields.{name}"),
                "is a common field of the exchange (exchange.yaml); do not repeat it",
            );
            continue;
        }
        specs.push((name.clone(), spec, format!("fields.{name}")));
    }
    let mut fields = Vec::new();
    for (name, spec, location) in &specs {
        let spec_path = if location.starts_with("common_fields") {
            exchange_path
        } else {
            path
        };
        let mut problems = Vec::new();
        if !is_plain_id(name) {
            problems.push((
                "".to_string(),
                "field names are lowercase letters, digits and `_`".to_string(),
            ));
        }
        if let Some(f) = &spec.format
            && !formats::NAMES.contains(&f.as_str())
        {
            problems.push((
                ".format".into(),
                format!(
                    "unknown format `{f}` (known: {})",
                    formats::NAMES.join(", ")
                ),
            ));
        }
        if let Some(t) = &spec.code_table
            && !ctx.code_tables.contains_key(t)
        {
            problems.push((
                ".code_table".into(),
                format!("unknown code table `{t}` (no {REFERENCE_DIR}/{t}.csv)"),
            ));
        }
        let is_string = spec.kind == FieldType::String;
        let is_number = matches!(spec.kind, FieldType::Integer | FieldType::Number);
        let string_only = [
            ("format", spec.format.is_some()),
            ("pattern", spec.pattern.is_some()),
            ("code_table", spec.code_table.is_some()),
            ("min_length", spec.min_length.is_some()),
            ("max_length", spec.max_length.is_some()),
        ];
        for (key, set) in string_only {
            if set && !is_string {
                problems.push((format!(".{key}"), "applies to string fields only".into()));
            }
        }
        let number_only = [
            ("minimum", spec.minimum.is_some()),
            ("maximum", spec.maximum.is_some()),
            ("exclusive_minimum", spec.exclusive_minimum.is_some()),
            ("exclusive_maximum", spec.exclusive_maximum.is_some()),
        ];
        for (key, set) in number_only {
            if set && !is_number {
                problems.push((format!(".{key}"), "applies to number fields only".into()));
            }
        }
        let validator = if problems.is_empty() {
            match FieldValidator::compile(spec, ctx) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(("".into(), format!("invalid rule: {e}")));
                    None
                }
            }
        } else {
            None
        };
        for (suffix, message) in problems {
            local.push(spec_path, format!("{location}{suffix}"), message);
        }
        let Some(validator) = validator else { continue };
        let required_check = spec.required.then(|| {
            add_check(
                &mut checks,
                format!("{name}.required"),
                Dimension::Completeness,
                Some(name),
            )
        });
        let format_check = add_check(
            &mut checks,
            format!("{name}.format"),
            Dimension::Format,
            Some(name),
        );
        fields.push(Field {
            name: name.clone(),
            required: spec.required,
            kind: spec.kind,
            format: spec.format.clone(),
            validator,
            spec: (*spec).clone(),
            required_check,
            format_check,
        });
    }
    let field_index = |name: &str| fields.iter().position(|f| f.name == name);
    let field_format = |i: usize| fields[i].format.as_deref();

    let record_id_field = field_index(&exchange.record_id_field);
    let updated_at_field = field_index(&exchange.updated_at_field);
    if record_id_field.is_none() {
        local.push(
            path,
            "-",
            format!(
                "the record id field `{}` is not a common field",
                exchange.record_id_field
            ),
        );
    }
    if updated_at_field.is_none() {
        local.push(
            path,
            "-",
            format!(
                "the updated-at field `{}` is not a common field",
                exchange.updated_at_field
            ),
        );
    }
    if let Some(i) = updated_at_field
        && field_format(i) != Some("date-time")
    {
        local.push(
            path,
            "-",
            format!(
                "the updated-at field `{}` must have format date-time",
                exchange.updated_at_field
            ),
        );
    }
    let key_field = field_index(&c.key_field);
    if key_field.is_none() {
        local.push(
            path,
            "key_field",
            format!("names field `{}`, which does not exist", c.key_field),
        );
    }

    let mut rule_ids = BTreeSet::new();
    let mut rules = Vec::new();
    for (n, spec) in c.rules.iter().enumerate() {
        let location = format!("rules[{n}]");
        let mut problems_in_expression = None;
        let id = spec.id();
        if !is_plain_id(id) {
            local.push(
                path,
                format!("{location}.id"),
                "rule ids are lowercase letters, digits and `_`",
            );
        } else if !rule_ids.insert(id.to_string()) {
            local.push(
                path,
                format!("{location}.id"),
                format!("duplicate rule id `{id}`"),
            );
        }
        let mut need = |key: &str, name: &str, formats: &[&str]| {
            need_field(&mut local, path, &fields, &location, key, name, formats)
        };
        let logic = match spec {
            RuleSpec::IdBirthDate {
                id_field,
                date_field,
                ..
            } => {
                let id = need("id_field", id_field, &["cn-resident-id"]);
                let date = need("date_field", date_field, &["date"]);
                id.zip(date)
                    .map(|(id, date)| RuleLogic::IdBirthDate { id, date })
            }
            RuleSpec::IdGender {
                id_field,
                gender_field,
                male,
                female,
                ..
            } => {
                let id = need("id_field", id_field, &["cn-resident-id"]);
                let gender = need("gender_field", gender_field, &[]);
                id.zip(gender).map(|(id, gender)| RuleLogic::IdGender {
                    id,
                    gender,
                    male: male.clone(),
                    female: female.clone(),
                })
            }
            RuleSpec::NotAfter { earlier, later, .. } => {
                let kinds = ["date", "date-time"];
                let a = need("earlier", earlier, &kinds);
                let b = need("later", later, &kinds);
                a.zip(b).map(|(a, b)| {
                    let kind = |i: usize| match field_format(i) {
                        Some("date") => TimeKind::Date,
                        _ => TimeKind::DateTime,
                    };
                    RuleLogic::NotAfter {
                        earlier: (a, kind(a)),
                        later: (b, kind(b)),
                    }
                })
            }
            RuleSpec::Expression { expression, .. } => env.and_then(|env| {
                RuleLogic::expression(env, expression, field_index)
                    .map_err(|e| problems_in_expression = Some(e))
                    .ok()
            }),
        };
        if let Some(e) = problems_in_expression.take() {
            local.push(path, format!("{location}.expression"), e);
        }
        if let Some(logic) = logic {
            let inputs = logic.inputs();
            let field = fields[inputs[0]].name.clone();
            let check = add_check(
                &mut checks,
                id.to_string(),
                Dimension::Consistency,
                Some(&field),
            );
            rules.push(Rule {
                check,
                logic,
                inputs,
            });
        }
    }

    let mut cross_source = Vec::new();
    for (n, x) in c.cross_source.iter().enumerate() {
        let location = format!("cross_source[{n}]");
        let Some(entity) = entities.iter().position(|e| e.name == x.entity) else {
            local.push(
                path,
                format!("{location}.entity"),
                format!(
                    "unknown entity `{}` (declare it in exchange.yaml)",
                    x.entity
                ),
            );
            continue;
        };
        let Some(key) = field_index(&x.key_field) else {
            local.push(
                path,
                format!("{location}.key_field"),
                format!("names field `{}`, which does not exist", x.key_field),
            );
            continue;
        };
        let authoritative = entities[entity].authoritative == index;
        for (attribute, field_name) in &x.attributes {
            let Some(a) = entities[entity]
                .attributes
                .iter()
                .position(|e| e == attribute)
            else {
                local.push(
                    path,
                    format!("{location}.attributes.{attribute}"),
                    format!("entity `{}` has no attribute `{attribute}`", x.entity),
                );
                continue;
            };
            let Some(f) = field_index(field_name) else {
                local.push(
                    path,
                    format!("{location}.attributes.{attribute}"),
                    format!("names field `{field_name}`, which does not exist"),
                );
                continue;
            };
            let check = (!authoritative).then(|| {
                add_check(
                    &mut checks,
                    format!("{field_name}.cross_source"),
                    Dimension::Consistency,
                    Some(field_name),
                )
            });
            cross_source.push(CrossSource {
                entity,
                key_field: key,
                attribute: a,
                field: f,
                authoritative,
                check,
            });
        }
    }
    let updated_name = exchange.updated_at_field.as_str();
    let freshness_check = add_check(
        &mut checks,
        format!("{updated_name}.freshness"),
        Dimension::Freshness,
        Some(updated_name),
    );
    let record_name = exchange.record_id_field.as_str();
    let unique_check = add_check(
        &mut checks,
        format!("{record_name}.unique"),
        Dimension::Uniqueness,
        Some(record_name),
    );

    if checks.len() > MAX_CHECKS {
        local.push(
            path,
            "-",
            format!(
                "{} checks; a dataset has at most {MAX_CHECKS}",
                checks.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for check in &checks {
        if !seen.insert(check.id.as_str()) {
            local.push(
                path,
                "rules",
                format!("check id `{}` is used twice", check.id),
            );
        }
    }
    if !local.is_empty() {
        errors.absorb(local);
        return None;
    }
    Some(Dataset {
        index,
        department: c.department.clone(),
        name: c.dataset.clone(),
        title: c.title.clone(),
        topic: c.topic.clone(),
        path: path.to_path_buf(),
        max_age_ms: i64::from(c.max_age_hours) * 3_600_000,
        max_silence_secs: u64::from(c.max_silence_minutes) * 60,
        by_name: fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str().into(), i))
            .collect(),
        fields,
        record_id_field: record_id_field?,
        updated_at_field: updated_at_field?,
        key_field: key_field?,
        rules,
        cross_source,
        check_dimensions: checks.iter().map(|c| c.dimension).collect(),
        checks,
        parse_check,
        freshness_check,
        unique_check,
    })
}

/// The index of a field a rule names, if it exists and has one of `formats`
/// (any format when `formats` is empty).
fn need_field(
    local: &mut Collector,
    path: &Path,
    fields: &[Field],
    location: &str,
    key: &str,
    name: &str,
    formats: &[&str],
) -> Option<usize> {
    let Some(i) = fields.iter().position(|f| f.name == name) else {
        local.push(
            path,
            format!("{location}.{key}"),
            format!("names field `{name}`, which does not exist"),
        );
        return None;
    };
    if !formats.is_empty() && !formats.contains(&fields[i].format.as_deref().unwrap_or("")) {
        local.push(
            path,
            format!("{location}.{key}"),
            format!("field `{name}` must have format {}", formats.join(" or ")),
        );
        return None;
    }
    Some(i)
}

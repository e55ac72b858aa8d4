//! The checks folder: contracts, the exchange's shared settings, scoring
//! weights and reference tables, loaded and compiled once.
//!
//! [`load`] is the single entry point: `dqmon validate` and the service's
//! start-up both call it, so what validates is exactly what runs.
//!
//! This file holds what loading compiles to; `load` reads the folder,
//! `scoring` the weights and thresholds, `compile` one contract, `workdays`
//! the working-day calendar (holidays and make-up working days).

mod calendar;
mod compile;
pub(crate) mod contract;
pub(crate) mod digest;
mod error;
pub(crate) mod field;
pub mod governance;
mod load;
pub(crate) mod reference;
pub(crate) mod rule;
mod scoring;
mod workdays;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use field::FieldValidator;
use rule::RuleLogic;

pub use error::{ContractError, ContractErrors};
pub use governance::{DisputeRules, Governance};
pub use load::load;
pub use workdays::WorkingDays;

use crate::formats::Format;
use crate::model::Dimension;

/// Index of a check within its dataset's `checks`.
pub(crate) type CheckId = usize;

/// One check of a dataset: a counter in reports and a label in metrics.
#[derive(Debug, Clone)]
pub struct CheckDef {
    /// Stable id, from configuration only (`name.required`, `birth_date_matches_id_number`).
    pub id: String,
    pub dimension: Dimension,
    /// The field a violation of it points at.
    pub(crate) field: Option<String>,
}

/// A compiled field.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) format: Option<Format>,
    pub(crate) validator: FieldValidator,
    /// The field's rules as the contract writes them (enum, lengths, ranges):
    /// the simulator draws its values within them.
    pub(crate) spec: contract::FieldSpec,
    /// `<field>.required`, for required fields.
    pub(crate) required_check: Option<CheckId>,
    /// `<field>.format`.
    pub(crate) format_check: CheckId,
}

/// A compiled within-record rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) check: CheckId,
    pub(crate) logic: RuleLogic,
    pub(crate) inputs: Vec<usize>,
}

/// Field indexes by field name.
pub type FieldIndex = FxHashMap<Box<str>, usize>;

/// A field of a dataset that carries an entity attribute.
#[derive(Debug, Clone)]
pub(crate) struct CrossSource {
    pub(crate) entity: usize,
    pub(crate) key_field: usize,
    pub(crate) attribute: usize,
    pub(crate) field: usize,
    /// True when this dataset is the entity's authority: it delivers the value.
    pub(crate) authoritative: bool,
    /// `<field>.cross_source`, for comparing datasets only.
    pub(crate) check: Option<CheckId>,
}

/// A compiled contract.
#[derive(Debug)]
pub struct Dataset {
    pub index: usize,
    pub department: String,
    pub name: String,
    pub(crate) title: Option<String>,
    pub(crate) topic: String,
    pub(crate) max_age_ms: i64,
    pub(crate) max_silence_secs: u64,
    pub(crate) fields: Vec<Field>,
    /// Field index by name, one entry per field (`load` rejects repeated
    /// names): the engine looks up every key of every record here (Fx
    /// hashing: measured ~1 200 instructions per record fewer than a binary
    /// search over the sorted names).
    pub by_name: FieldIndex,
    pub(crate) record_id_field: usize,
    /// The field the department keys its messages by (`key_field`).
    pub(crate) key_field: usize,
    pub(crate) updated_at_field: usize,
    pub(crate) rules: Vec<Rule>,
    pub(crate) cross_source: Vec<CrossSource>,
    pub checks: Vec<CheckDef>,
    /// `checks[c].dimension`, packed: every outcome reads it, and one cache
    /// line holds them all.
    pub(crate) check_dimensions: Vec<Dimension>,
    /// `message.parse`: the payload is a JSON object.
    pub(crate) parse_check: CheckId,
    /// `<updated_at>.freshness`.
    pub(crate) freshness_check: CheckId,
    /// `<record_id>.unique`.
    pub(crate) unique_check: CheckId,
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
    pub(crate) name: String,
    pub(crate) authoritative: usize,
    pub(crate) attributes: Vec<String>,
}

/// Dimension weights of the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights(pub(crate) [f64; 5]);

impl Default for Weights {
    /// The catalog's defaults.
    fn default() -> Self {
        Weights([0.25, 0.25, 0.20, 0.20, 0.10])
    }
}

/// One grade band: scores from `min_score` up to the next band's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Grade {
    /// Short id, as the API and CSV give it (`A`).
    pub grade: String,
    /// Its name for people (`优秀 excellent`).
    pub name: String,
    /// Lowest score of the band, inclusive.
    pub min_score: f64,
}

/// The grade bands of `scoring.yaml`, best first; the last starts at 0, so
/// every score has a grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Grades(pub(crate) Vec<Grade>);

impl Grades {
    /// The band of a (published, two-decimal) score.
    pub fn of(&self, score: f64) -> &Grade {
        self.0
            .iter()
            .find(|g| score >= g.min_score)
            .unwrap_or_else(|| self.0.last().expect("at least one band"))
    }

    /// The bands, best first.
    pub fn bands(&self) -> &[Grade] {
        &self.0
    }
}

impl Default for Grades {
    /// Five levels in the manner of Beijing's DB11/T 2317-2024 rating.
    fn default() -> Self {
        let band = |grade: &str, name: &str, min_score: f64| Grade {
            grade: grade.into(),
            name: name.into(),
            min_score,
        };
        Grades(vec![
            band("A", "优秀", 90.0),
            band("B", "良好", 80.0),
            band("C", "中等", 70.0),
            band("D", "合格", 60.0),
            band("E", "不合格", 0.0),
        ])
    }
}

/// Everything the engine needs, compiled.
#[derive(Debug)]
pub struct Checks {
    pub datasets: Vec<Dataset>,
    pub entities: Vec<Entity>,
    pub weights: Weights,
    /// Grade bands of the scores, best first.
    pub grades: Grades,
    /// Pass rate under which a dimension alerts, per dimension (catalog order).
    pub(crate) alert_thresholds: [f64; 5],
    pub(crate) uniqueness_window_ms: i64,
    pub(crate) future_tolerance_ms: i64,
    pub(crate) reference_ttl_ms: i64,
    pub time_zone: chrono_tz::Tz,
    /// The reference tables (divisions, code tables), for whoever needs their values.
    pub(crate) reference: field::FormatContext,
    /// Holidays and make-up working days, for deadlines in working days.
    pub working_days: WorkingDays,
    /// Deadlines of the procedures (`governance.yaml`).
    pub governance: Governance,
    /// Departments that own a dataset, sorted.
    pub departments: Vec<String>,
    /// Department id -> its display name (`exchange.yaml` departments).
    pub(crate) department_names: BTreeMap<String, String>,
    /// Hex SHA-256 of the checks folder's files (`digest.rs`): named in
    /// every sealed report.
    pub contracts_sha256: String,
    /// Fx: looked up for every message, and topic names come from contracts.
    topics: FxHashMap<String, usize>,
}

impl Checks {
    /// The name people know a department by, or its id when the exchange
    /// file gives none.
    pub fn department_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.department_names.get(id).map_or(id, String::as_str)
    }

    /// The dataset a topic carries, if a contract claims it.
    /// The dataset `name` of `department`.
    pub fn dataset(&self, department: &str, name: &str) -> Option<&Dataset> {
        self.datasets
            .iter()
            .find(|d| d.department == department && d.name == name)
    }

    /// The dataset a cross-source check of `ds` compares with (its
    /// entity's authoritative dataset), `None` for any other check.
    pub fn authority_of(&self, ds: &Dataset, check: &str) -> Option<&Dataset> {
        let index = ds.checks.iter().position(|c| c.id == check)?;
        let cs = ds.cross_source.iter().find(|cs| cs.check == Some(index))?;
        self.datasets.get(self.entities[cs.entity].authoritative)
    }

    pub fn dataset_for_topic(&self, topic: &str) -> Option<&Dataset> {
        self.topics.get(topic).map(|&i| &self.datasets[i])
    }

    /// The topics of the contracts, in dataset order.
    pub fn topics(&self) -> Vec<String> {
        self.datasets.iter().map(|d| d.topic.clone()).collect()
    }

    /// Checks over all datasets.
    pub fn total_checks(&self) -> usize {
        self.datasets.iter().map(|d| d.checks.len()).sum()
    }
}

/// The most checks one dataset may have: outcomes keep them in a 128-bit set.
pub(crate) const MAX_CHECKS: usize = 128;

/// The most attributes one entity type may have: state keeps them in a fixed array.
pub(crate) const MAX_ENTITY_ATTRIBUTES: usize = 4;

//! The file formats of the checks folder, as a data steward writes them.
//!
//! Every struct rejects unknown keys so a misspelt option is an error at
//! start-up, not a rule that silently never runs.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `checks/<department>/<dataset>.yaml`: the contract of one dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContractFile {
    /// The owning department, as in the topic name (`public_security`).
    pub(crate) department: String,
    /// The dataset, as in the topic name (`household_registration`).
    pub(crate) dataset: String,
    /// A human title, in the steward's language (`户籍人口信息`).
    #[serde(default)]
    pub(crate) title: Option<String>,
    /// Free text for the steward; accepted, never read.
    #[serde(default, rename = "description")]
    _description: Option<String>,
    /// The Kafka topic the dataset is published on.
    pub(crate) topic: String,
    /// The field that identifies the entity the record is about (also the message key).
    pub(crate) key_field: String,
    /// Maximum age of a record at publication (`message timestamp - updated_at`), in hours.
    pub(crate) max_age_hours: u32,
    /// How long the dataset may stay silent before operators are alerted, in minutes
    /// (exported as `dq_dataset_max_silence_seconds` for the alert rule).
    #[serde(default = "default_max_silence_minutes")]
    pub(crate) max_silence_minutes: u32,
    /// The fields of the record. The exchange's common fields (`record_id`, `updated_at`)
    /// are added from `exchange.yaml` and must not be repeated here.
    pub(crate) fields: BTreeMap<String, FieldSpec>,
    /// Rules that relate fields of the same record.
    #[serde(default)]
    pub(crate) rules: Vec<RuleSpec>,
    /// Fields that report an attribute of an entity whose authoritative dataset is named
    /// in `exchange.yaml`: compared against it, or delivering it when this dataset is the
    /// authority.
    #[serde(default)]
    pub(crate) cross_source: Vec<CrossSourceSpec>,
}

/// The JSON type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
}

/// The rules of one field; every rule is optional but the type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSpec {
    /// The JSON type of the value.
    #[serde(rename = "type")]
    pub(crate) kind: FieldType,
    /// Absent, `null` or blank is a completeness failure.
    #[serde(default)]
    pub(crate) required: bool,
    /// Free text for the steward; accepted, never read.
    #[serde(default, rename = "description")]
    _description: Option<String>,
    /// A named format (`cn-resident-id`, `cn-uscc`, `cn-division-code`, `cn-mobile`,
    /// `date`, `month`, `date-time`).
    #[serde(default)]
    pub(crate) format: Option<String>,
    /// A regular expression the whole value must match (anchor it with `^...$`).
    #[serde(default)]
    pub(crate) pattern: Option<String>,
    /// The allowed values.
    #[serde(default, rename = "enum")]
    pub(crate) allowed: Option<Vec<String>>,
    /// A code table under `checks/reference/<name>.csv` the value must be listed in.
    #[serde(default)]
    pub(crate) code_table: Option<String>,
    /// Shortest string, in Unicode characters.
    #[serde(default)]
    pub(crate) min_length: Option<u64>,
    /// Longest string, in Unicode characters.
    #[serde(default)]
    pub(crate) max_length: Option<u64>,
    /// Smallest number allowed.
    #[serde(default)]
    pub(crate) minimum: Option<f64>,
    /// Largest number allowed.
    #[serde(default)]
    pub(crate) maximum: Option<f64>,
    /// The number must be greater than this.
    #[serde(default)]
    pub(crate) exclusive_minimum: Option<f64>,
    /// The number must be less than this.
    #[serde(default)]
    pub(crate) exclusive_maximum: Option<f64>,
}

/// A rule within one record, selected by `kind`: a built-in rule or a CEL expression.
/// Every variant has an `id` (the check id, unique in the contract, used as a metric
/// label) and an optional `description` for the steward.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RuleSpec {
    /// A date field equals the birth date inside a resident ID number (characters 7-14).
    IdBirthDate {
        /// The check id.
        id: String,
        /// Free text for the steward; accepted, never read.
        #[serde(default, rename = "description")]
        _description: Option<String>,
        /// The `cn-resident-id` field.
        id_field: String,
        /// The `date` field.
        date_field: String,
    },
    /// A gender code agrees with the parity of the 17th character of a resident ID
    /// number: odd for `male`, even for `female`; other codes are not applicable.
    IdGender {
        /// The check id.
        id: String,
        /// Free text for the steward; accepted, never read.
        #[serde(default, rename = "description")]
        _description: Option<String>,
        /// The `cn-resident-id` field.
        id_field: String,
        /// The gender code field.
        gender_field: String,
        /// The code of male (GB/T 2261.1: `1`).
        #[serde(default = "default_male")]
        male: String,
        /// The code of female (GB/T 2261.1: `2`).
        #[serde(default = "default_female")]
        female: String,
    },
    /// `earlier` is not after `later`. Two date-times compare as instants; a date
    /// against a date-time compares with the calendar date of the date-time as written.
    NotAfter {
        /// The check id.
        id: String,
        /// Free text for the steward; accepted, never read.
        #[serde(default, rename = "description")]
        _description: Option<String>,
        /// The field that must not be later (a `date` or `date-time` field).
        earlier: String,
        /// The field it is compared with (a `date` or `date-time` field).
        later: String,
    },
    /// A CEL expression over the record's fields that must evaluate to `true`; every
    /// field it names is an input. The CEL strings extension is available.
    Expression {
        /// The check id.
        id: String,
        /// Free text for the steward; accepted, never read.
        #[serde(default, rename = "description")]
        _description: Option<String>,
        /// The expression, for example `int(mother_id_number.substring(16, 17)) % 2 == 0`.
        expression: String,
    },
}

impl RuleSpec {
    pub(crate) fn id(&self) -> &str {
        match self {
            RuleSpec::IdBirthDate { id, .. }
            | RuleSpec::IdGender { id, .. }
            | RuleSpec::NotAfter { id, .. }
            | RuleSpec::Expression { id, .. } => id,
        }
    }
}

fn default_max_silence_minutes() -> u32 {
    10
}

fn default_male() -> String {
    "1".into()
}
fn default_female() -> String {
    "2".into()
}

/// Fields of this dataset that carry attributes of an entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CrossSourceSpec {
    /// The entity type, declared in `exchange.yaml` (`person`, `legal_entity`).
    pub(crate) entity: String,
    /// The field holding the entity's key in this dataset.
    pub(crate) key_field: String,
    /// Entity attribute -> the field of this dataset that reports it.
    pub(crate) attributes: BTreeMap<String, String>,
}

/// `checks/exchange.yaml`: what the whole bus shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExchangeFile {
    /// The field every dataset identifies its records with.
    pub(crate) record_id_field: String,
    /// The field every dataset stamps with the source system's last change (RFC 3339).
    pub(crate) updated_at_field: String,
    /// Fields every dataset has, added to each contract.
    pub(crate) common_fields: BTreeMap<String, FieldSpec>,
    /// A record id seen again within this many days (by message time) is a duplicate.
    pub(crate) uniqueness_window_days: u32,
    /// An `updated_at` further in the future than this is a freshness failure.
    pub(crate) future_tolerance_secs: u32,
    /// An authoritative value not refreshed for this many days is forgotten, so memory
    /// stays bounded.
    pub(crate) reference_ttl_days: u32,
    /// The time zone that decides the calendar day of a message (scores per day, and
    /// "today" for dates such as birth dates), as an IANA name.
    pub(crate) time_zone: String,
    /// Entity types and their authoritative dataset.
    pub(crate) entities: BTreeMap<String, EntitySpec>,
    /// Department id -> the name people know it by (公安局), for pages and
    /// reports; a department without one is shown by its id.
    #[serde(default)]
    pub(crate) departments: BTreeMap<String, DepartmentSpec>,
}

/// A department of the exchange.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DepartmentSpec {
    /// Its own name (公安局).
    pub(crate) name: String,
}

/// An entity type shared by several datasets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntitySpec {
    /// Free text for the steward; accepted, never read.
    #[serde(default, rename = "description")]
    _description: Option<String>,
    /// The dataset that owns the entity (`<department>.<dataset>`); its records set the
    /// reference values, and are never charged for a conflict.
    pub(crate) authoritative: String,
    /// The attributes other datasets may be compared on.
    pub(crate) attributes: Vec<String>,
}

/// `checks/scoring.yaml`: the weights of the dimensions in a department's score.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScoringFile {
    /// Dimension -> weight; renormalized over the dimensions that have outcomes.
    pub(crate) weights: BTreeMap<String, f64>,
    /// Dimension -> pass rate (0 to 1) under which a department is alerted
    /// (exported as `dq_dimension_pass_rate_threshold` for the alert rule).
    #[serde(default)]
    pub(crate) alert_thresholds: BTreeMap<String, f64>,
    /// Grade bands, best first (default: five levels, A 90, B 80, C 70, D 60, E 0).
    #[serde(default)]
    pub(crate) grades: Option<Vec<GradeSpec>>,
}

/// One band of `grades` in `scoring.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradeSpec {
    /// Short id (`A`).
    pub(crate) grade: String,
    /// Name for people (`优秀`).
    pub(crate) name: String,
    /// Lowest score of the band, 0 to 100.
    pub(crate) min_score: f64,
}

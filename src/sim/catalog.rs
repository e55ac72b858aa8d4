//! The datasets as the simulator sees them, read from the compiled contracts
//! (`Checks`) and completed with the simulator's own [`profile`](super::profile) table.
//!
//! The contracts say which fields a record has and what makes each valid, which
//! fields identify a person or a company and which report an attribute of it, and
//! which rules relate fields; from that the simulator knows what to generate and
//! where each kind of defect can land, without a second copy of the dictionary.

use crate::catalog::contract::FieldType;
use crate::catalog::rule::{RuleLogic, TimeKind};
use crate::catalog::{Checks, Dataset};

use super::population::Kind;
use super::profile::{self, ExpressionBreak, Plausible, Pool};
use super::record::LocalTime;

pub(super) use crate::formats::Format;

/// A numeric field's range as its contract states it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Bounds {
    pub min: Option<f64>,
    pub min_exclusive: bool,
    pub max: Option<f64>,
    pub max_exclusive: bool,
}

impl Bounds {
    pub fn any(&self) -> bool {
        self.min.is_some() || self.max.is_some()
    }

    /// The smallest and largest whole numbers inside (`default_span` above the
    /// minimum when there is no maximum).
    pub(crate) fn whole(&self, default_span: i64) -> (i64, i64) {
        let lo = self.min.map_or(0, |m| {
            let c = m.ceil() as i64;
            if self.min_exclusive && c as f64 == m {
                c + 1
            } else {
                c
            }
        });
        let hi = self.max.map_or(lo.saturating_add(default_span), |m| {
            let f = m.floor() as i64;
            if self.max_exclusive && f as f64 == m {
                f - 1
            } else {
                f
            }
        });
        (lo, hi.max(lo))
    }
}

/// An attribute of a population member that a field can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attr {
    Name,
    Gender,
    BirthDate,
}

/// Which population property an entity attribute of the exchange (`exchange.yaml`)
/// is: the simulator's knowledge of what the attribute names mean.
fn attribute(kind: Kind, name: &str) -> Option<Attr> {
    match (kind, name) {
        (Kind::Person, "name") | (Kind::Company, "entity_name") => Some(Attr::Name),
        (Kind::Person, "gender") => Some(Attr::Gender),
        (Kind::Person, "birth_date") => Some(Attr::BirthDate),
        _ => None,
    }
}

/// Where a field's clean value comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Role {
    RecordId,
    UpdatedAt,
    /// The identifier of the record's `binding`-th member.
    Key(usize),
    Attribute(usize, Attr),
    Plausible(Plausible),
    /// From the contract's constraints alone.
    Generic,
}

#[derive(Debug)]
pub(super) struct SimField {
    pub required: bool,
    pub kind: FieldType,
    pub format: Option<Format>,
    /// The allowed values: the enum in contract order, or the code table's codes sorted.
    pub allowed: Vec<String>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub bounds: Bounds,
    pub role: Role,
}

impl SimField {
    pub(crate) fn is_common(&self) -> bool {
        matches!(self.role, Role::RecordId | Role::UpdatedAt)
    }

    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self.kind, FieldType::Integer | FieldType::Number)
    }

    /// A string that holds a numeric code, which spreadsheets like to send as a number.
    pub(crate) fn is_digit_code(&self) -> bool {
        let digits = |s: &String| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        self.kind == FieldType::String
            && (self.format == Some(Format::DivisionCode)
                || (!self.allowed.is_empty() && self.allowed.iter().all(digits)))
    }
}

/// A population member a record refers to through an identifier field.
#[derive(Debug)]
pub(super) struct Binding {
    pub kind: Kind,
    pub key_field: usize,
    /// Fields of the record that report an attribute of the member.
    pub attributes: Vec<(usize, Attr)>,
    /// This dataset is the authority of the member's entity: it delivers the values.
    pub authoritative: bool,
    /// The monitor compares the attributes with the authority's.
    pub compared: bool,
    pub pool: Pool,
}

/// A way to break one within-record rule of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RuleBreak {
    /// `via_id`: change the ID rather than the other input, because this dataset is
    /// the authority of that input and must not deliver a wrong value.
    IdGender {
        id: usize,
        gender: usize,
        via_id: bool,
    },
    IdBirthDate {
        id: usize,
        date: usize,
        via_id: bool,
    },
    NotAfter {
        earlier: usize,
        earlier_is_date: bool,
        later: usize,
    },
    ManInstead {
        binding: usize,
    },
}

#[derive(Debug)]
pub(super) struct SimDataset {
    pub department: String,
    pub topic: String,
    pub share: u32,
    pub prefix: &'static str,
    pub max_age_ms: i64,
    pub key_field: usize,
    pub fields: Vec<SimField>,
    pub names: Vec<String>,
    pub bindings: Vec<Binding>,
    /// The binding the record is about: its division, phone and address are the record's.
    pub subject: Option<usize>,
    pub breaks: Vec<RuleBreak>,
}

/// Everything the simulator reads from the contracts.
#[derive(Debug)]
pub(super) struct Catalog {
    pub datasets: Vec<SimDataset>,
    /// Per [`Kind`]: the dataset and binding that are its entity's authority.
    pub authority: [Option<(usize, usize)>; 2],
    /// The gender codes of men and women, as the `id_gender` rules name them.
    pub male: String,
    pub female: String,
    pub time: LocalTime,
    pub future_tolerance_ms: i64,
    pub uniqueness_window_ms: i64,
}

impl Catalog {
    pub fn new(checks: &Checks) -> Catalog {
        let datasets: Vec<SimDataset> = checks
            .datasets
            .iter()
            .map(|d| sim_dataset(checks, d))
            .collect();
        let mut authority = [None, None];
        for (i, d) in datasets.iter().enumerate() {
            for (b, binding) in d.bindings.iter().enumerate() {
                let slot = &mut authority[binding.kind.index()];
                if binding.authoritative && slot.is_none() {
                    *slot = Some((i, b));
                }
            }
        }
        let (male, female) = checks
            .datasets
            .iter()
            .flat_map(|d| &d.rules)
            .find_map(|r| match &r.logic {
                RuleLogic::IdGender { male, female, .. } => Some((male.clone(), female.clone())),
                _ => None,
            })
            // GB/T 2261.1, as the contract format defaults them.
            .unwrap_or_else(|| ("1".into(), "2".into()));
        Catalog {
            datasets,
            authority,
            male,
            female,
            time: LocalTime {
                tz: checks.time_zone,
            },
            future_tolerance_ms: checks.future_tolerance_ms,
            uniqueness_window_ms: checks.uniqueness_window_ms,
        }
    }

    pub(crate) fn gender_code(&self, male: bool) -> &str {
        if male { &self.male } else { &self.female }
    }
}

fn sim_dataset(checks: &Checks, d: &Dataset) -> SimDataset {
    let profile = profile::profile(&d.name);
    let bindings = bindings(checks, d, profile);
    let subject = bindings
        .iter()
        .position(|b| b.key_field == d.key_field)
        .or((!bindings.is_empty()).then_some(0));
    let fields: Vec<SimField> = (0..d.fields.len())
        .map(|i| sim_field(checks, d, i, &bindings, profile))
        .collect();
    let breaks = d
        .rules
        .iter()
        .filter_map(|r| {
            let id = d.checks[r.check].id.as_str();
            rule_break(&r.logic, &r.inputs, id, &fields, &bindings, profile)
        })
        .collect();
    SimDataset {
        department: d.department.clone(),
        topic: d.topic.clone(),
        share: profile.share,
        prefix: profile.prefix,
        max_age_ms: d.max_age_ms,
        key_field: d.key_field,
        names: d.fields.iter().map(|f| f.name.clone()).collect(),
        fields,
        bindings,
        subject,
        breaks,
    }
}

/// The members a record refers to: one per cross-source declaration (entity and key
/// field), then one per identifier field that no declaration names.
fn bindings(checks: &Checks, d: &Dataset, profile: &profile::Profile) -> Vec<Binding> {
    let kind_of = |field: usize| match d.fields[field].format {
        Some(Format::ResidentId) => Some(Kind::Person),
        Some(Format::Uscc) => Some(Kind::Company),
        _ => None,
    };
    let pool_of = |field: usize| {
        let name = d.fields[field].name.as_str();
        profile
            .pools
            .iter()
            .find(|p| p.0 == name)
            .map_or(Pool::Anyone, |p| p.1)
    };
    let mut out: Vec<Binding> = Vec::new();
    for x in &d.cross_source {
        let Some(kind) = kind_of(x.key_field) else {
            continue;
        };
        let name = &checks.entities[x.entity].attributes[x.attribute];
        let attr = attribute(kind, name);
        match out.iter_mut().find(|b| b.key_field == x.key_field) {
            Some(b) => b.attributes.extend(attr.map(|a| (x.field, a))),
            None => out.push(Binding {
                kind,
                key_field: x.key_field,
                attributes: attr.map(|a| (x.field, a)).into_iter().collect(),
                authoritative: x.authoritative,
                compared: !x.authoritative,
                pool: pool_of(x.key_field),
            }),
        }
    }
    for field in 0..d.fields.len() {
        if let Some(kind) = kind_of(field)
            && !out.iter().any(|b| b.key_field == field)
        {
            out.push(Binding {
                kind,
                key_field: field,
                attributes: Vec::new(),
                authoritative: false,
                compared: false,
                pool: pool_of(field),
            });
        }
    }
    out
}

fn sim_field(
    checks: &Checks,
    d: &Dataset,
    i: usize,
    bindings: &[Binding],
    profile: &profile::Profile,
) -> SimField {
    let f = &d.fields[i];
    let spec = &f.spec;
    let allowed = match (&spec.allowed, &spec.code_table) {
        (Some(values), _) => values.clone(),
        (None, Some(table)) => {
            let mut codes: Vec<String> = checks
                .reference
                .code_tables
                .get(table)
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
            // The table is a hash set: sort for deterministic draws.
            codes.sort();
            codes
        }
        (None, None) => Vec::new(),
    };
    let role = if i == d.record_id_field {
        Role::RecordId
    } else if i == d.updated_at_field {
        Role::UpdatedAt
    } else if let Some(b) = bindings.iter().position(|b| b.key_field == i) {
        Role::Key(b)
    } else if let Some((b, attr)) = bindings.iter().enumerate().find_map(|(b, binding)| {
        let a = binding.attributes.iter().find(|a| a.0 == i)?;
        Some((b, a.1))
    }) {
        Role::Attribute(b, attr)
    } else if let Some(p) = profile.values.iter().find(|v| v.0 == f.name) {
        Role::Plausible(p.1)
    } else {
        Role::Generic
    };
    let (min, min_exclusive) = match (spec.minimum, spec.exclusive_minimum) {
        (_, Some(m)) => (Some(m), true),
        (m, None) => (m, false),
    };
    let (max, max_exclusive) = match (spec.maximum, spec.exclusive_maximum) {
        (_, Some(m)) => (Some(m), true),
        (m, None) => (m, false),
    };
    let length = |v: Option<u64>| v.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    SimField {
        required: f.spec.required,
        kind: f.spec.kind,
        format: f.format,
        allowed,
        min_length: length(spec.min_length),
        max_length: length(spec.max_length),
        bounds: Bounds {
            min,
            min_exclusive,
            max,
            max_exclusive,
        },
        role,
    }
}

/// How to break a rule, if the simulator can; `inputs` are the rule's fields.
fn rule_break(
    logic: &RuleLogic,
    inputs: &[usize],
    id: &str,
    fields: &[SimField],
    bindings: &[Binding],
    profile: &profile::Profile,
) -> Option<RuleBreak> {
    // A value this dataset delivers as the authority must stay right.
    let delivered = |field: usize| matches!(fields[field].role, Role::Attribute(b, _) if bindings[b].authoritative);
    match logic {
        RuleLogic::IdGender { id, gender, .. } => Some(RuleBreak::IdGender {
            id: *id,
            gender: *gender,
            via_id: delivered(*gender),
        }),
        RuleLogic::IdBirthDate { id, date } => Some(RuleBreak::IdBirthDate {
            id: *id,
            date: *date,
            via_id: delivered(*date),
        }),
        RuleLogic::NotAfter { earlier, later } => {
            let movable = !delivered(earlier.0) && !matches!(fields[earlier.0].role, Role::Key(_));
            movable.then_some(RuleBreak::NotAfter {
                earlier: earlier.0,
                earlier_is_date: earlier.1 == TimeKind::Date,
                later: later.0,
            })
        }
        RuleLogic::Expression { .. } => {
            let how = profile.expression_breaks.iter().find(|e| e.0 == id)?.1;
            match how {
                ExpressionBreak::ManInstead => {
                    let binding = bindings
                        .iter()
                        .position(|b| b.kind == Kind::Person && inputs.contains(&b.key_field))?;
                    Some(RuleBreak::ManInstead { binding })
                }
            }
        }
    }
}

//! Field rules compiled to JSON Schema validators, once, at load time.
//!
//! Each field gets its own small validator so a failure is attributed to the
//! field without parsing error paths, and so the engine can skip absent or
//! blank values (completeness failures are never also format failures).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use rustc_hash::FxHashSet;
use serde_json::{Map, Value, json};

use super::contract::{FieldSpec, FieldType};
use crate::formats::{self, DivisionTable, Format};

/// The reference data formats and code tables check against.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormatContext {
    pub(crate) divisions: Arc<DivisionTable>,
    pub(crate) code_tables: BTreeMap<String, Arc<FxHashSet<String>>>,
}

/// The JSON Schema format name a code table is registered under.
fn code_table_format(name: &str) -> String {
    format!("code-table:{name}")
}

impl FormatContext {
    /// Validator options with every project format and code table registered.
    fn options(&self) -> jsonschema::ValidationOptions<'_> {
        let mut options = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true);
        for format in Format::ALL {
            options = self.with_format(options, format);
        }
        for (name, table) in &self.code_tables {
            let table = table.clone();
            options =
                options.with_format(code_table_format(name), move |s: &str| table.contains(s));
        }
        options
    }

    /// Registers a named format's validator. One closure per format rather
    /// than one matching on it: they run for every value.
    fn with_format<'a>(
        &self,
        options: jsonschema::ValidationOptions<'a>,
        format: Format,
    ) -> jsonschema::ValidationOptions<'a> {
        let name = format.name();
        let d = self.divisions.clone();
        match format {
            // The birth date's bound by "today" is checked by the validator,
            // which is given the day: a format closure has no arguments.
            Format::ResidentId => options.with_format(name, move |s: &str| {
                formats::resident_id::is_valid(s, &d, NaiveDate::MAX)
            }),
            Format::Uscc => {
                options.with_format(name, move |s: &str| formats::uscc::is_valid(s, &d))
            }
            Format::DivisionCode => {
                options.with_format(name, move |s: &str| formats::division_code::is_valid(s, &d))
            }
            Format::Mobile => options.with_format(name, formats::mobile::is_valid),
            Format::Date => options.with_format(name, formats::date::is_valid),
            Format::Month => options.with_format(name, formats::month::is_valid),
            Format::DateTime => options.with_format(name, formats::date_time::is_valid),
        }
    }
}

/// A field's rules as a JSON Schema (without `required`, which is completeness).
pub(crate) fn schema_for(spec: &FieldSpec) -> Value {
    let mut s = Map::new();
    let ty = match spec.kind {
        FieldType::String => "string",
        FieldType::Integer => "integer",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
    };
    s.insert("type".into(), json!(ty));
    // A code table is a format of its own, so a field may have both.
    let table = spec.code_table.as_deref().map(code_table_format);
    match (&spec.format, table) {
        (Some(f), Some(t)) => {
            s.insert("format".into(), json!(f));
            s.insert("allOf".into(), json!([{ "format": t }]));
        }
        (Some(f), None) => {
            s.insert("format".into(), json!(f));
        }
        (None, Some(t)) => {
            s.insert("format".into(), json!(t));
        }
        (None, None) => {}
    }
    if let Some(p) = &spec.pattern {
        s.insert("pattern".into(), json!(p));
    }
    if let Some(e) = &spec.allowed {
        s.insert("enum".into(), json!(e));
    }
    for (key, v) in [
        ("minLength", spec.min_length),
        ("maxLength", spec.max_length),
    ] {
        if let Some(v) = v {
            s.insert(key.into(), json!(v));
        }
    }
    for (key, v) in [
        ("minimum", spec.minimum),
        ("maximum", spec.maximum),
        ("exclusiveMinimum", spec.exclusive_minimum),
        ("exclusiveMaximum", spec.exclusive_maximum),
    ] {
        if let Some(v) = v {
            s.insert(key.into(), number(v));
        }
    }
    Value::Object(s)
}

/// Whole numbers are written as integers so schemas read naturally in errors.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// A field's compiled format check.
pub(crate) struct FieldValidator {
    validator: jsonschema::Validator,
    /// A `cn-resident-id` field: its birth date may not be after "today".
    born_by_today: bool,
}

impl std::fmt::Debug for FieldValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldValidator")
    }
}

impl FieldValidator {
    pub(crate) fn compile(spec: &FieldSpec, ctx: &FormatContext) -> Result<Self, String> {
        let schema = schema_for(spec);
        let validator = ctx.options().build(&schema).map_err(|e| e.to_string())?;
        Ok(Self {
            validator,
            born_by_today: spec.format.as_deref().and_then(Format::parse)
                == Some(Format::ResidentId),
        })
    }

    /// The fast path: most values are valid. `today` bounds the dates that
    /// may not lie in the future (the message's day, never the wall clock's).
    pub(crate) fn is_valid(&self, value: &Value, today: NaiveDate) -> bool {
        self.validator.is_valid(value) && self.within_today(value, today)
    }

    fn within_today(&self, value: &Value, today: NaiveDate) -> bool {
        !self.born_by_today
            || value
                .as_str()
                .and_then(formats::resident_id::birth_date)
                .is_none_or(|born| born <= today)
    }

    /// Why a value is invalid, without the value: the reason goes into violation
    /// events and logs, which must never carry personal data.
    pub(crate) fn reason(&self, value: &Value, today: NaiveDate) -> String {
        match self.validator.iter_errors(value).next() {
            Some(e) => describe(e.kind()),
            None if !self.within_today(value, today) => {
                format!("not a valid {}", Format::ResidentId)
            }
            None => "valid".into(),
        }
    }
}

fn describe(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::Type { kind } => {
            let names: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect(),
            };
            format!("not of type {}", names.join(" or "))
        }
        ValidationErrorKind::Format { format } => match format.strip_prefix("code-table:") {
            Some(table) => format!("not in code table {table}"),
            None => format!("not a valid {format}"),
        },
        ValidationErrorKind::Pattern { pattern } => format!("does not match pattern {pattern}"),
        ValidationErrorKind::Enum { .. } => "not one of the allowed values".into(),
        ValidationErrorKind::MinLength { limit } => format!("shorter than {limit} characters"),
        ValidationErrorKind::MaxLength { limit } => format!("longer than {limit} characters"),
        ValidationErrorKind::Minimum { limit } => format!("less than {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("greater than {limit}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("not greater than {limit}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("not less than {limit}"),
        _ => "invalid value".into(),
    }
}

/// Absent, `null`, or a string of white space only: the completeness rule.
pub(crate) fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        // Whitespace only: the first other character settles it.
        Some(Value::String(s)) => s.chars().all(char::is_whitespace),
        Some(_) => false,
    }
}

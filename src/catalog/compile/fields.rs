//! A dataset's fields: the exchange's common fields, then the contract's own.

use std::path::Path;

use super::{Contract, is_plain_id};
use crate::catalog::Field;
use crate::catalog::contract::{FieldSpec, FieldType};
use crate::catalog::field::{FieldValidator, FormatContext};
use crate::catalog::load::REFERENCE_DIR;
use crate::formats::Format;
use crate::model::Dimension;

/// A field's spec, and the file declaring it: a common field's problems are
/// reported in exchange.yaml.
struct Declared<'a> {
    name: &'a str,
    spec: &'a FieldSpec,
    path: &'a Path,
    location: String,
}

impl<'a> Contract<'a> {
    /// The compiled fields, common ones first, each group in name order; a
    /// field with a problem is left out, with no checks.
    pub(super) fn fields(&mut self) -> Vec<Field> {
        let declared = self.declared_fields();
        declared.iter().filter_map(|w| self.field(w)).collect()
    }

    fn declared_fields(&mut self) -> Vec<Declared<'a>> {
        let (file, exchange, exchange_path) =
            (self.file, self.shared.exchange, self.shared.exchange_path);
        let mut declared: Vec<Declared> = exchange
            .common_fields
            .iter()
            .map(|(name, spec)| Declared {
                name,
                spec,
                path: exchange_path,
                location: format!("common_fields.{name}"),
            })
            .collect();
        for (name, spec) in &file.fields {
            if exchange.common_fields.contains_key(name) {
                self.problems.push(
                    self.path,
                    format!("fields.{name}"),
                    "is a common field of the exchange (exchange.yaml); do not repeat it",
                );
                continue;
            }
            declared.push(Declared {
                name,
                spec,
                path: self.path,
                location: format!("fields.{name}"),
            });
        }
        declared
    }

    /// One field and its checks (`<field>.required`, `<field>.format`).
    fn field(&mut self, w: &Declared) -> Option<Field> {
        let mut problems = spec_problems(w.name, w.spec, self.shared.formats);
        let validator = if problems.is_empty() {
            FieldValidator::compile(w.spec, self.shared.formats)
                .map_err(|e| problems.push((String::new(), format!("invalid rule: {e}"))))
                .ok()
        } else {
            None
        };
        for (suffix, message) in problems {
            self.problems
                .push(w.path, format!("{}{suffix}", w.location), message);
        }
        let validator = validator?;
        let name = w.name;
        let required_check = w.spec.required.then(|| {
            self.checks.add(
                format!("{name}.required"),
                Dimension::Completeness,
                Some(name),
            )
        });
        let format_check = self
            .checks
            .add(format!("{name}.format"), Dimension::Format, Some(name));
        Some(Field {
            name: name.to_string(),
            // Known: an unknown name is a problem above.
            format: w.spec.format.as_deref().and_then(Format::parse),
            validator,
            spec: w.spec.clone(),
            required_check,
            format_check,
        })
    }
}

/// What is wrong with a field's spec, as (location suffix, message): its
/// name, an unknown format or code table, rules its type cannot have.
fn spec_problems(name: &str, spec: &FieldSpec, ctx: &FormatContext) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if !is_plain_id(name) {
        problems.push((
            String::new(),
            "field names are lowercase letters, digits and `_`".to_string(),
        ));
    }
    if let Some(f) = &spec.format
        && Format::parse(f).is_none()
    {
        let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        problems.push((
            ".format".into(),
            format!("unknown format `{f}` (known: {})", known.join(", ")),
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
    problems
}

//! A dataset's within-record rules: built-in kinds and CEL expressions.

use std::collections::BTreeSet;

use super::{Contract, is_plain_id, position};
use crate::catalog::contract::RuleSpec;
use crate::catalog::rule::{RuleLogic, TimeKind};
use crate::catalog::{Field, Rule};
use crate::formats::Format;
use crate::model::Dimension;

impl Contract<'_> {
    /// The compiled rules, one consistency check each; a rule with a problem
    /// is left out.
    pub(super) fn rules(&mut self, fields: &[Field]) -> Vec<Rule> {
        let mut ids = BTreeSet::new();
        let mut rules = Vec::new();
        let file = self.file;
        for (n, spec) in file.rules.iter().enumerate() {
            let location = format!("rules[{n}]");
            let id = spec.id();
            if !is_plain_id(id) {
                self.problems.push(
                    self.path,
                    format!("{location}.id"),
                    "rule ids are lowercase letters, digits and `_`",
                );
            } else if !ids.insert(id) {
                self.problems.push(
                    self.path,
                    format!("{location}.id"),
                    format!("duplicate rule id `{id}`"),
                );
            }
            let Some(logic) = self.logic(spec, fields, &location) else {
                continue;
            };
            let inputs = logic.inputs();
            // A violation points at the rule's first input.
            let field = fields[inputs[0]].name.as_str();
            let check = self
                .checks
                .add(id.to_string(), Dimension::Consistency, Some(field));
            rules.push(Rule {
                check,
                logic,
                inputs,
            });
        }
        rules
    }

    /// What a rule does, once the fields it names exist with the formats it reads.
    fn logic(&mut self, spec: &RuleSpec, fields: &[Field], location: &str) -> Option<RuleLogic> {
        let mut need = |key: &str, name: &str, formats: &[Format]| {
            self.need(fields, location, key, name, formats)
        };
        match spec {
            RuleSpec::IdBirthDate {
                id_field,
                date_field,
                ..
            } => {
                let id = need("id_field", id_field, &[Format::ResidentId]);
                let date = need("date_field", date_field, &[Format::Date]);
                Some(RuleLogic::IdBirthDate {
                    id: id?,
                    date: date?,
                })
            }
            RuleSpec::IdGender {
                id_field,
                gender_field,
                male,
                female,
                ..
            } => {
                let id = need("id_field", id_field, &[Format::ResidentId]);
                let gender = need("gender_field", gender_field, &[]);
                Some(RuleLogic::IdGender {
                    id: id?,
                    gender: gender?,
                    male: male.clone(),
                    female: female.clone(),
                })
            }
            RuleSpec::NotAfter { earlier, later, .. } => {
                let kinds = [Format::Date, Format::DateTime];
                let a = need("earlier", earlier, &kinds);
                let b = need("later", later, &kinds);
                let kind = |i: usize| match fields[i].format {
                    Some(Format::Date) => TimeKind::Date,
                    _ => TimeKind::DateTime,
                };
                let (a, b) = (a?, b?);
                Some(RuleLogic::NotAfter {
                    earlier: (a, kind(a)),
                    later: (b, kind(b)),
                })
            }
            RuleSpec::Expression { expression, .. } => {
                let env = self.shared.cel?;
                RuleLogic::expression(env, expression, |name| position(fields, name))
                    .map_err(|e| {
                        self.problems
                            .push(self.path, format!("{location}.expression"), e)
                    })
                    .ok()
            }
        }
    }

    /// The index of a field a rule names, if it exists and has one of `formats`
    /// (any format when `formats` is empty).
    fn need(
        &mut self,
        fields: &[Field],
        location: &str,
        key: &str,
        name: &str,
        formats: &[Format],
    ) -> Option<usize> {
        let Some(i) = position(fields, name) else {
            self.problems.push(
                self.path,
                format!("{location}.{key}"),
                format!("names field `{name}`, which does not exist"),
            );
            return None;
        };
        if !formats.is_empty() && !fields[i].format.is_some_and(|f| formats.contains(&f)) {
            let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
            self.problems.push(
                self.path,
                format!("{location}.{key}"),
                format!("field `{name}` must have format {}", names.join(" or ")),
            );
            return None;
        }
        Some(i)
    }
}

//! A dataset's cross-source declarations: the fields that carry an attribute
//! of an entity the exchange declares.

use super::{Contract, position};
use crate::catalog::contract::CrossSourceSpec;
use crate::catalog::{CrossSource, Field};
use crate::model::Dimension;

impl Contract<'_> {
    /// One entry per declared attribute; a declaration naming an unknown
    /// entity or key field is left out whole, an unknown attribute alone.
    pub(super) fn cross_source(&mut self, fields: &[Field]) -> Vec<CrossSource> {
        let mut out = Vec::new();
        let file = self.file;
        for (n, x) in file.cross_source.iter().enumerate() {
            let location = format!("cross_source[{n}]");
            let Some(entity) = self.shared.entities.iter().position(|e| e.name == x.entity) else {
                self.problems.push(
                    self.path,
                    format!("{location}.entity"),
                    format!(
                        "unknown entity `{}` (declare it in exchange.yaml)",
                        x.entity
                    ),
                );
                continue;
            };
            let Some(key_field) = position(fields, &x.key_field) else {
                self.problems.push(
                    self.path,
                    format!("{location}.key_field"),
                    format!("names field `{}`, which does not exist", x.key_field),
                );
                continue;
            };
            self.attributes(x, &location, entity, key_field, fields, &mut out);
        }
        out
    }

    /// The attributes of one declaration; the entity's authority delivers
    /// its values, every other dataset is compared with them (a check).
    fn attributes(
        &mut self,
        x: &CrossSourceSpec,
        location: &str,
        entity: usize,
        key_field: usize,
        fields: &[Field],
        out: &mut Vec<CrossSource>,
    ) {
        let shared = self.shared;
        let declared = &shared.entities[entity];
        let authoritative = declared.authoritative == self.index;
        for (attribute, field_name) in &x.attributes {
            let Some(a) = declared.attributes.iter().position(|e| e == attribute) else {
                self.problems.push(
                    self.path,
                    format!("{location}.attributes.{attribute}"),
                    format!("entity `{}` has no attribute `{attribute}`", x.entity),
                );
                continue;
            };
            let Some(field) = position(fields, field_name) else {
                self.problems.push(
                    self.path,
                    format!("{location}.attributes.{attribute}"),
                    format!("names field `{field_name}`, which does not exist"),
                );
                continue;
            };
            let check = (!authoritative).then(|| {
                self.checks.add(
                    format!("{field_name}.cross_source"),
                    Dimension::Consistency,
                    Some(field_name),
                )
            });
            out.push(CrossSource {
                entity,
                key_field,
                attribute: a,
                field,
                authoritative,
                check,
            });
        }
    }
}

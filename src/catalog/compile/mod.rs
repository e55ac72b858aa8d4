//! One contract compiled into a [`Dataset`]: its name and place, its fields,
//! rules and cross-source declarations, and the list of checks they make.
//!
//! Every problem is collected, none stops the compilation early, so a steward
//! sees them all in one run; any problem leaves the dataset out.

mod checks;
mod cross_source;
mod fields;
mod rules;

use std::path::Path;
use std::sync::Arc;

use super::contract::{ContractFile, ExchangeFile};
use super::error::Collector;
use super::field::FormatContext;
use super::{Dataset, Entity, Field};
use crate::formats::Format;
use crate::model::Dimension;
use checks::CheckList;

/// What every contract is compiled against.
pub(crate) struct Shared<'a> {
    pub(crate) exchange: &'a ExchangeFile,
    pub(crate) exchange_path: &'a Path,
    pub(crate) entities: &'a [Entity],
    pub(crate) formats: &'a FormatContext,
    /// `None` when CEL could not be set up (an error already): expressions are skipped.
    pub(crate) cel: Option<&'a Arc<cel::Env>>,
}

/// One contract being compiled.
struct Contract<'a> {
    index: usize,
    path: &'a Path,
    file: &'a ContractFile,
    shared: &'a Shared<'a>,
    /// Problems of this contract; merged into the load's errors at the end.
    problems: Collector,
    checks: CheckList,
}

/// The common fields freshness and uniqueness read.
struct Keys {
    record_id: usize,
    updated_at: usize,
    /// The field the messages are keyed by.
    key: usize,
}

/// Compiles the contract at `path`, the `index`th; `None` when it has a
/// problem, which is then in `errors`.
pub(crate) fn dataset(
    shared: &Shared,
    index: usize,
    path: &Path,
    file: &ContractFile,
    errors: &mut Collector,
) -> Option<Dataset> {
    let mut c = Contract {
        index,
        path,
        file,
        shared,
        problems: Collector::default(),
        checks: CheckList::default(),
    };
    c.identity();
    // A check's `CheckId` is its place in the list, in this order: parse, the
    // fields', the rules', the cross-source ones, freshness, uniqueness.
    let parse_check = c
        .checks
        .add("message.parse".into(), Dimension::Format, None);
    let fields = c.fields();
    let keys = c.keys(&fields);
    let rules = c.rules(&fields);
    let cross_source = c.cross_source(&fields);
    let updated = shared.exchange.updated_at_field.as_str();
    let freshness_check = c.checks.add(
        format!("{updated}.freshness"),
        Dimension::Freshness,
        Some(updated),
    );
    let record = shared.exchange.record_id_field.as_str();
    let unique_check = c.checks.add(
        format!("{record}.unique"),
        Dimension::Uniqueness,
        Some(record),
    );
    c.checks.check(path, &mut c.problems);
    if !c.problems.is_empty() {
        errors.absorb(c.problems);
        return None;
    }
    let keys = keys?;
    let checks = c.checks.into_vec();
    Some(Dataset {
        index,
        department: file.department.clone(),
        name: file.dataset.clone(),
        title: file.title.clone(),
        topic: file.topic.clone(),
        max_age_ms: i64::from(file.max_age_hours) * 3_600_000,
        max_silence_secs: u64::from(file.max_silence_minutes) * 60,
        by_name: fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str().into(), i))
            .collect(),
        fields,
        record_id_field: keys.record_id,
        key_field: keys.key,
        updated_at_field: keys.updated_at,
        rules,
        cross_source,
        check_dimensions: checks.iter().map(|c| c.dimension).collect(),
        checks,
        parse_check,
        freshness_check,
        unique_check,
    })
}

impl Contract<'_> {
    /// The contract's names and settings; the file's place names it, so a
    /// contract is found where its name says.
    fn identity(&mut self) {
        let (path, c) = (self.path, self.file);
        for (what, value) in [("department", &c.department), ("dataset", &c.dataset)] {
            if !is_plain_id(value) {
                self.problems
                    .push(path, what, "must be lowercase letters, digits and `_`");
            }
        }
        let folder = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str());
        if folder != Some(c.department.as_str()) {
            self.problems.push(
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
            self.problems.push(
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
            self.problems.push(path, "topic", "must not be empty");
        }
        if c.max_age_hours == 0 {
            self.problems
                .push(path, "max_age_hours", "must be at least 1");
        }
    }

    /// The record id and updated-at fields (common fields of the exchange);
    /// `None` when one is missing. The contract's key field must exist too.
    fn keys(&mut self, fields: &[Field]) -> Option<Keys> {
        let (path, exchange) = (self.path, self.shared.exchange);
        let record_id = position(fields, &exchange.record_id_field);
        if record_id.is_none() {
            self.problems.push(
                path,
                "-",
                format!(
                    "the record id field `{}` is not a common field",
                    exchange.record_id_field
                ),
            );
        }
        let updated_at = position(fields, &exchange.updated_at_field);
        match updated_at {
            None => self.problems.push(
                path,
                "-",
                format!(
                    "the updated-at field `{}` is not a common field",
                    exchange.updated_at_field
                ),
            ),
            // Freshness reads it as an instant.
            Some(i) if fields[i].format != Some(Format::DateTime) => self.problems.push(
                path,
                "-",
                format!(
                    "the updated-at field `{}` must have format {}",
                    exchange.updated_at_field,
                    Format::DateTime
                ),
            ),
            Some(_) => {}
        }
        let key = position(fields, &self.file.key_field);
        if key.is_none() {
            self.problems.push(
                path,
                "key_field",
                format!(
                    "names field `{}`, which does not exist",
                    self.file.key_field
                ),
            );
        }
        Some(Keys {
            record_id: record_id?,
            updated_at: updated_at?,
            key: key?,
        })
    }
}

/// The index of the field named `name`.
fn position(fields: &[Field], name: &str) -> Option<usize> {
    fields.iter().position(|f| f.name == name)
}

/// Check ids are metric label values: keep them plain.
fn is_plain_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

//! A dataset's check list: one entry per counter, in the order outcomes
//! count them.

use std::collections::BTreeSet;
use std::path::Path;

use crate::catalog::error::Collector;
use crate::catalog::{CheckDef, CheckId, MAX_CHECKS};
use crate::model::Dimension;

#[derive(Debug, Default)]
pub(crate) struct CheckList(Vec<CheckDef>);

impl CheckList {
    /// Appends a check; its id is its index.
    pub(crate) fn add(&mut self, id: String, dimension: Dimension, field: Option<&str>) -> CheckId {
        self.0.push(CheckDef {
            id,
            dimension,
            field: field.map(String::from),
        });
        self.0.len() - 1
    }

    /// The list as a whole: it fits the outcomes' set, and no id is used twice
    /// (two valid rules of one id, or a field declared twice in cross_source).
    pub(crate) fn check(&self, path: &Path, problems: &mut Collector) {
        if self.0.len() > MAX_CHECKS {
            problems.push(
                path,
                "-",
                format!(
                    "{} checks; a dataset has at most {MAX_CHECKS}",
                    self.0.len()
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for check in &self.0 {
            if !seen.insert(check.id.as_str()) {
                problems.push(
                    path,
                    "rules",
                    format!("check id `{}` is used twice", check.id),
                );
            }
        }
    }

    pub(crate) fn into_vec(self) -> Vec<CheckDef> {
        self.0
    }
}

//! What both backends do the same way before writing: which violations of a
//! checkpoint are worth inserting at all.

use std::collections::HashMap;

use crate::model::Violation;

/// The violations to insert, oldest first, and the departments they belong
/// to (sorted), to prune afterwards. Rows that pruning to `kept` per
/// department would delete at once are left out: a burst of failures must
/// not cost a write per failure.
pub(crate) fn violations_to_write(
    violations: &[Violation],
    kept: usize,
) -> (Vec<&Violation>, Vec<&str>) {
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    for v in violations {
        *remaining.entry(v.department.as_str()).or_default() += 1;
    }
    let mut written = Vec::new();
    for v in violations {
        let left = remaining
            .get_mut(v.department.as_str())
            .expect("counted above");
        let skip = *left > kept;
        *left -= 1;
        if !skip {
            written.push(v);
        }
    }
    let mut departments: Vec<&str> = remaining.into_keys().collect();
    departments.sort_unstable();
    (written, departments)
}

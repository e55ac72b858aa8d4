//! The count columns both backends store a day's counts in, in order.

use crate::model::Dimension;

/// Column names of the count columns of `day_counts`, in SELECT order
/// (each backend's DDL spells them out; its tests check both agree).
pub(crate) fn count_columns() -> Vec<String> {
    let mut cols = vec!["records".to_owned(), "malformed".to_owned()];
    for dim in Dimension::ALL {
        cols.push(format!("{dim}_passed"));
        cols.push(format!("{dim}_failed"));
    }
    cols
}

/// Number of count columns: records, malformed, 5 × (passed, failed).
pub(crate) const COUNT_COLUMNS: usize = 2 + 2 * Dimension::ALL.len();

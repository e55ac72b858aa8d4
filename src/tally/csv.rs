//! The scores as CSV, for spreadsheets.

use super::scores::{Scores, pass_rate};
use crate::model::Dimension;

/// Header of the CSV export.
pub(crate) const CSV_HEADER: [&str; 8] = [
    "period_from",
    "period_to",
    "department",
    "dataset",
    "dimension",
    "passed",
    "failed",
    "pass_rate",
];

/// The CSV export: one row per department, dataset and dimension, with a
/// UTF-8 byte order mark so spreadsheet programs read Chinese text correctly.
/// `pass_rate` is empty when the dimension had no outcome.
pub(crate) fn scores_csv(scores: &Scores) -> Result<Vec<u8>, csv::Error> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(CSV_HEADER)?;
        let (from, to) = (scores.period.from.to_string(), scores.period.to.to_string());
        for (dep, d) in &scores.departments {
            for (ds, r) in &d.report.datasets {
                for dim in Dimension::ALL {
                    let c = r.dimensions.get(&dim).copied().unwrap_or_default();
                    let rate = pass_rate(c).map(|r| format!("{r:.4}")).unwrap_or_default();
                    w.write_record([
                        from.as_str(),
                        to.as_str(),
                        dep,
                        ds,
                        dim.as_str(),
                        &c.passed.to_string(),
                        &c.failed.to_string(),
                        &rate,
                    ])?;
                }
            }
        }
        w.flush()?;
    }
    Ok(out)
}

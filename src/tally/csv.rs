//! The scores as CSV, for spreadsheets.

use super::scores::{Scores, pass_rate};
use crate::model::Dimension;

/// Header of the CSV export.
pub(crate) const CSV_HEADER: [&str; 12] = [
    "period_from",
    "period_to",
    "department",
    "dataset",
    "dimension",
    "passed",
    "failed",
    "pass_rate",
    "dataset_score",
    "dataset_grade",
    "department_score",
    "department_grade",
];

/// The CSV export: one row per department, dataset and dimension, with a
/// UTF-8 byte order mark so spreadsheet programs read Chinese text correctly.
/// `pass_rate` is empty when the dimension had no outcome; the dataset's and
/// the department's score and grade repeat on each of their rows (empty
/// without a score), so a spreadsheet filters and sorts on them directly.
pub(crate) fn scores_csv(scores: &Scores) -> Result<Vec<u8>, csv::Error> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(CSV_HEADER)?;
        let (from, to) = (scores.period.from.to_string(), scores.period.to.to_string());
        let text = |x: Option<f64>| x.map(|s| format!("{s:.2}")).unwrap_or_default();
        for (dep, d) in &scores.departments {
            let dep_score = text(d.report.score);
            let dep_grade = d.report.grade.as_deref().unwrap_or_default();
            for (ds, r) in &d.report.datasets {
                let ds_score = text(r.score);
                let ds_grade = r.grade.as_deref().unwrap_or_default();
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
                        &ds_score,
                        ds_grade,
                        &dep_score,
                        dep_grade,
                    ])?;
                }
            }
        }
        w.flush()?;
    }
    Ok(out)
}

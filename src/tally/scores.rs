//! The scores of a period: each department's report, what to fix first
//! (worst checks, worst datasets) and the ranking. The one builder that the
//! API, the scorecard, `dqmon scores` and `dqmon eval` use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counts::DatasetCounts;
use super::report::{DatasetReport, DepartmentReport, dimension_map};
use super::score::score;
use crate::catalog::{Checks, Grade};
use crate::model::period::PeriodBounds;
use crate::model::{Counts, Dimension};

/// The counts of one dataset of one department, as the builder takes them.
#[derive(Debug, Clone, Copy)]
pub struct DatasetRow<'a> {
    pub department: &'a str,
    pub dataset: &'a str,
    pub counts: &'a DatasetCounts,
}

/// A department's report as `dqmon eval` prints it, plus what to fix first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentScores {
    /// The department's display name (its id when the exchange gives none).
    pub name: String,
    #[serde(flatten)]
    pub report: DepartmentReport,
    /// At most [`WORST_CHECKS`] checks with failures, most failures first.
    pub worst_checks: Vec<WorstCheck>,
    /// Datasets with a score, lowest first.
    pub worst_datasets: Vec<WorstDataset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstCheck {
    pub dataset: String,
    pub check: String,
    /// `null` for a check that the current contracts no longer define.
    pub dimension: Option<Dimension>,
    pub failed: u64,
    pub passed: u64,
    /// failed / (passed + failed), four decimals.
    pub fail_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstDataset {
    pub dataset: String,
    pub score: f64,
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankEntry {
    /// Competition ranking (equal scores share a rank: 1, 1, 3); `null` for
    /// departments without a score.
    pub rank: Option<usize>,
    pub department: String,
    /// The department's display name.
    pub name: String,
    pub score: Option<f64>,
    pub grade: Option<String>,
}

/// The answer of `/api/v1/scores`: the eval report's shape for the period.
///
/// Unlike `dqmon eval`, there is no `unrouted`: the store keeps counts of
/// contracted datasets only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub period: PeriodBounds,
    /// Records of the departments shown, malformed ones included.
    pub messages: u64,
    pub malformed: u64,
    pub departments: BTreeMap<String, DepartmentScores>,
    /// Best first; ties by department name; departments without a score last.
    pub ranking: Vec<RankEntry>,
    /// The grade bands the grades come from, best first.
    pub grades: Vec<Grade>,
}

impl Scores {
    /// What [`build_scores`] gives for `department` alone, taken from the
    /// scores of every department (a department's view of a sealed report):
    /// its own entry, its own totals, a ranking of itself only.
    pub fn only(&self, department: &str) -> Scores {
        let departments: BTreeMap<String, DepartmentScores> = self
            .departments
            .get_key_value(department)
            .map(|(k, v)| (k.clone(), v.clone()))
            .into_iter()
            .collect();
        Scores {
            period: self.period,
            messages: departments.values().map(|d| d.report.records).sum(),
            malformed: departments.values().map(|d| d.report.malformed).sum(),
            ranking: ranking(&departments),
            departments,
            grades: self.grades.clone(),
        }
    }
}

/// How many checks `worst_checks` lists.
pub const WORST_CHECKS: usize = 5;

/// Builds the scores of `department` (all of the contracts when `None`) from
/// the counts of a period.
///
/// Every contracted dataset of a shown department appears, with zeros when
/// silent; counts of a dataset or check that the contracts no longer define
/// still count (history stays truthful after a contract change).
pub fn build_scores(
    checks: &Checks,
    period: PeriodBounds,
    department: Option<&str>,
    rows: &[DatasetRow<'_>],
) -> Scores {
    let shown: Vec<&str> = match department {
        Some(d) => vec![d],
        None => checks.departments.iter().map(String::as_str).collect(),
    };
    let mut departments = BTreeMap::new();
    for dep in shown {
        departments.insert(dep.to_owned(), department_scores(checks, dep, rows));
    }
    let ranking = ranking(&departments);
    Scores {
        period,
        messages: departments.values().map(|d| d.report.records).sum(),
        malformed: departments.values().map(|d| d.report.malformed).sum(),
        departments,
        ranking,
        grades: checks.grades.bands().to_vec(),
    }
}

/// The counts of each dataset of `dep`: the contracts' datasets first (zeros),
/// then the given counts added on top.
fn dataset_counts<'a>(
    checks: &'a Checks,
    dep: &str,
    rows: &[DatasetRow<'a>],
) -> BTreeMap<&'a str, DatasetCounts> {
    let mut datasets: BTreeMap<&str, DatasetCounts> = checks
        .datasets
        .iter()
        .filter(|d| d.department == dep)
        .map(|ds| (ds.name.as_str(), DatasetCounts::for_dataset(ds)))
        .collect();
    for row in rows.iter().filter(|r| r.department == dep) {
        datasets.entry(row.dataset).or_default().merge(row.counts);
    }
    datasets
}

fn department_scores(checks: &Checks, dep: &str, rows: &[DatasetRow<'_>]) -> DepartmentScores {
    let dimension_of: BTreeMap<(&str, &str), Dimension> = checks
        .datasets
        .iter()
        .filter(|d| d.department == dep)
        .flat_map(|ds| {
            ds.checks
                .iter()
                .map(|c| ((ds.name.as_str(), c.id.as_str()), c.dimension))
        })
        .collect();
    let weights = &checks.weights;
    let mut total = DatasetCounts::default();
    let mut datasets = BTreeMap::new();
    let mut worst_checks = Vec::new();
    let mut worst_datasets = Vec::new();
    for (name, t) in &dataset_counts(checks, dep, rows) {
        total.merge_totals(t);
        let ds_score = score(&t.dimensions, weights);
        if let Some(s) = ds_score {
            worst_datasets.push(WorstDataset {
                dataset: (*name).to_owned(),
                score: s,
                records: t.records,
            });
        }
        for (id, c) in t.checks.iter().filter(|(_, c)| c.failed > 0) {
            worst_checks.push(WorstCheck {
                dataset: (*name).to_owned(),
                check: id.clone(),
                dimension: dimension_of.get(&(*name, id.as_str())).copied(),
                failed: c.failed,
                passed: c.passed,
                fail_rate: round4(c.failed as f64 / c.total() as f64),
            });
        }
        datasets.insert(
            (*name).to_owned(),
            DatasetReport::new(t, ds_score, grade_of(checks, ds_score)),
        );
    }
    worst_checks.sort_by(|a, b| {
        b.failed
            .cmp(&a.failed)
            .then(b.fail_rate.total_cmp(&a.fail_rate))
            .then_with(|| (&a.dataset, &a.check).cmp(&(&b.dataset, &b.check)))
    });
    worst_checks.truncate(WORST_CHECKS);
    worst_datasets.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then_with(|| a.dataset.cmp(&b.dataset))
    });
    let dep_score = score(&total.dimensions, weights);
    DepartmentScores {
        name: checks.department_name(dep).to_owned(),
        report: DepartmentReport {
            records: total.records,
            malformed: total.malformed,
            score: dep_score,
            grade: grade_of(checks, dep_score),
            dimensions: dimension_map(&total.dimensions),
            datasets,
        },
        worst_checks,
        worst_datasets,
    }
}

fn ranking(departments: &BTreeMap<String, DepartmentScores>) -> Vec<RankEntry> {
    let mut entries: Vec<RankEntry> = departments
        .iter()
        .map(|(d, s)| RankEntry {
            rank: None,
            department: d.clone(),
            name: s.name.clone(),
            score: s.report.score,
            grade: s.report.grade.clone(),
        })
        .collect();
    // BTreeMap order is by name, and the sort is stable: ties stay by name.
    entries.sort_by(|a, b| match (a.score, b.score) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let mut previous: Option<(f64, usize)> = None;
    for (i, e) in entries.iter_mut().enumerate() {
        if let Some(s) = e.score {
            let rank = match previous {
                Some((p, r)) if p == s => r,
                _ => i + 1,
            };
            e.rank = Some(rank);
            previous = Some((s, rank));
        }
    }
    entries
}

/// The band of a score, by id.
fn grade_of(checks: &Checks, score: Option<f64>) -> Option<String> {
    score.map(|s| checks.grades.of(s).grade.clone())
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A pass rate with four decimals, or `None` without outcomes.
pub fn pass_rate(c: Counts) -> Option<f64> {
    c.pass_rate().map(round4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_shares_ranks_on_ties_and_puts_unscored_last() {
        let dep = |score| DepartmentScores {
            name: String::new(),
            report: DepartmentReport {
                records: 0,
                malformed: 0,
                score,
                grade: None,
                dimensions: BTreeMap::new(),
                datasets: BTreeMap::new(),
            },
            worst_checks: vec![],
            worst_datasets: vec![],
        };
        let deps = BTreeMap::from([
            ("a".to_string(), dep(None)),
            ("b".to_string(), dep(Some(90.0))),
            ("c".to_string(), dep(Some(95.0))),
            ("d".to_string(), dep(Some(90.0))),
        ]);
        let r: Vec<_> = ranking(&deps)
            .into_iter()
            .map(|e| (e.rank, e.department))
            .collect();
        assert_eq!(
            r,
            vec![
                (Some(1), "c".into()),
                (Some(2), "b".into()),
                (Some(2), "d".into()),
                (None, "a".into())
            ]
        );
    }

    #[test]
    fn grades_follow_the_bands_at_their_edges() {
        let g = crate::catalog::Grades::default();
        for (score, grade) in [
            (100.0, "A"),
            (90.0, "A"),
            (89.99, "B"),
            (80.0, "B"),
            (60.0, "D"),
            (59.99, "E"),
            (0.0, "E"),
        ] {
            assert_eq!(g.of(score).grade, grade, "{score}");
        }
    }
}

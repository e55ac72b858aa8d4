//! `scoring.yaml`: the dimensions' weights in a score, the pass rates under
//! which a dimension alerts, and the grade bands of scores.

use std::path::Path;

use super::contract::ScoringFile;
use super::error::Collector;
use super::{Grade, Grades, Weights};
use crate::model::Dimension;

/// Pass rates under which a dimension alerts when scoring.yaml names none.
pub(crate) const DEFAULT_THRESHOLDS: [f64; 5] = [0.95; 5];

/// The weights, the alert thresholds and the grade bands of a scoring file.
pub(crate) fn compile(
    s: &ScoringFile,
    path: &Path,
    errors: &mut Collector,
) -> (Weights, [f64; 5], Grades) {
    (
        weights(s, path, errors),
        thresholds(s, path, errors),
        grades(s, path, errors),
    )
}

/// Bands best first, lowest scores strictly falling, the last at 0.
fn grades(s: &ScoringFile, path: &Path, errors: &mut Collector) -> Grades {
    let Some(specs) = &s.grades else {
        return Grades::default();
    };
    let mut bands = Vec::new();
    for (i, g) in specs.iter().enumerate() {
        let at = format!("grades[{i}]");
        if g.grade.trim().is_empty() || g.name.trim().is_empty() {
            errors.push(path, &at, "a band needs a grade and a name");
        }
        if bands.iter().any(|b: &Grade| b.grade == g.grade) {
            errors.push(path, &at, format!("grade {:?} is listed twice", g.grade));
        }
        if !(0.0..=100.0).contains(&g.min_score) {
            errors.push(path, &at, "min_score is a score from 0 to 100");
        } else if let Some(prev) = bands.last()
            && g.min_score >= prev.min_score
        {
            errors.push(
                path,
                &at,
                "bands go best first: each min_score below the one before",
            );
        }
        bands.push(Grade {
            grade: g.grade.clone(),
            name: g.name.clone(),
            min_score: g.min_score,
        });
    }
    match bands.last() {
        None => errors.push(path, "grades", "at least one band"),
        Some(last) if last.min_score != 0.0 => errors.push(
            path,
            "grades",
            "the last band starts at 0, so that every score has a grade",
        ),
        Some(_) => {}
    }
    if bands.is_empty() {
        return Grades::default();
    }
    Grades(bands)
}

/// Each dimension's weight; a dimension left out is an error, not a zero.
fn weights(s: &ScoringFile, path: &Path, errors: &mut Collector) -> Weights {
    let mut w = [0.0; 5];
    for (name, &value) in &s.weights {
        match Dimension::parse(name) {
            Some(d) if value.is_finite() && value >= 0.0 => w[d as usize] = value,
            Some(_) => errors.push(path, format!("weights.{name}"), "a weight is a number >= 0"),
            None => errors.push(
                path,
                format!("weights.{name}"),
                "unknown dimension (completeness, format, consistency, freshness, uniqueness)",
            ),
        }
    }
    for d in Dimension::ALL {
        if !s.weights.contains_key(d.as_str()) {
            errors.push(path, "weights", format!("missing weight for `{d}`"));
        }
    }
    if w.iter().sum::<f64>() <= 0.0 {
        errors.push(path, "weights", "the weights add up to 0");
    }
    Weights(w)
}

/// Thresholds are optional: a dimension not named keeps the default.
fn thresholds(s: &ScoringFile, path: &Path, errors: &mut Collector) -> [f64; 5] {
    let mut t = DEFAULT_THRESHOLDS;
    for (name, &value) in &s.alert_thresholds {
        match Dimension::parse(name) {
            Some(d) if (0.0..=1.0).contains(&value) => t[d as usize] = value,
            Some(_) => errors.push(
                path,
                format!("alert_thresholds.{name}"),
                "a threshold is a pass rate from 0 to 1",
            ),
            None => errors.push(
                path,
                format!("alert_thresholds.{name}"),
                "unknown dimension",
            ),
        }
    }
    t
}

#[cfg(test)]
mod grade_tests {
    use super::*;

    fn problems(yaml: &str) -> String {
        let s: ScoringFile = serde_yaml_ng::from_str(yaml).unwrap();
        let mut errors = Collector::default();
        grades(&s, Path::new("scoring.yaml"), &mut errors);
        format!("{errors:?}")
    }

    #[test]
    fn bands_are_checked() {
        let base =
            "weights: {completeness: 1, format: 1, consistency: 1, freshness: 1, uniqueness: 1}\n";
        assert_eq!(
            problems(base),
            format!("{:?}", Collector::default()),
            "absent: the default five"
        );
        let text = problems(&format!(
            "{base}grades:\n  - {{grade: A, name: a, min_score: 80}}\n  - {{grade: A, name: b, min_score: 90}}\n  - {{grade: C, name: '', min_score: 101}}\n"
        ));
        for needle in [
            "listed twice",
            "best first",
            "a grade and a name",
            "from 0 to 100",
            "starts at 0",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
}

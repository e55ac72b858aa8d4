//! `scoring.yaml`: the dimensions' weights in a score, and the pass rates
//! under which a dimension alerts.

use std::path::Path;

use super::Weights;
use super::contract::ScoringFile;
use super::error::Collector;
use crate::model::Dimension;

/// Pass rates under which a dimension alerts when scoring.yaml names none.
pub(crate) const DEFAULT_THRESHOLDS: [f64; 5] = [0.95; 5];

/// The weights and the alert thresholds of a scoring file.
pub(crate) fn compile(s: &ScoringFile, path: &Path, errors: &mut Collector) -> (Weights, [f64; 5]) {
    (weights(s, path, errors), thresholds(s, path, errors))
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

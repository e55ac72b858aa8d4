//! The catalog's score: the weighted mean of the dimensions' pass rates over
//! the dimensions that had at least one outcome, times 100.

use crate::catalog::Weights;
use crate::model::Counts;

/// `counts` indexed by `Dimension as usize`. `None` when no dimension with a
/// weight has an outcome (nothing to score).
pub fn score(counts: &[Counts; 5], weights: &Weights) -> Option<f64> {
    let mut sum = 0.0;
    let mut total_weight = 0.0;
    for (c, w) in counts.iter().zip(weights.0) {
        if let Some(rate) = c.pass_rate()
            && w > 0.0
        {
            sum += w * rate;
            total_weight += w;
        }
    }
    (total_weight > 0.0).then(|| round2(100.0 * sum / total_weight))
}

/// Scores are published with two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pf: [[u64; 2]; 5]) -> [Counts; 5] {
        pf.map(|[passed, failed]| Counts { passed, failed })
    }

    #[test]
    fn renormalizes_over_present_dimensions() {
        let w = Weights::default();
        // Only completeness (all pass) and format (half pass): (0.25*1 + 0.25*0.5)/0.5.
        let c = counts([[10, 0], [5, 5], [0, 0], [0, 0], [0, 0]]);
        assert_eq!(score(&c, &w), Some(75.0));
    }

    #[test]
    fn all_dimensions_weighted() {
        let w = Weights::default();
        let c = counts([[9, 1], [8, 2], [10, 0], [5, 5], [1, 0]]);
        // 0.25*0.9 + 0.25*0.8 + 0.2*1 + 0.2*0.5 + 0.1*1 = 0.825
        assert_eq!(score(&c, &w), Some(82.5));
    }

    #[test]
    fn nothing_to_score() {
        assert_eq!(score(&[Counts::ZERO; 5], &Weights::default()), None);
    }
}

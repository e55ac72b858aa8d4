//! How much of what the simulator sends, and how defective.

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// Probability in `[0,1]` that a record of this department carries a defect; keys are
    /// department names as the contracts spell them (public_security, civil_affairs...).
    /// A department that is not listed publishes no defects; the first entry of a name wins.
    pub defect_rates: Vec<(String, f64)>,
    /// Size of the simulated population of persons and of companies (at least 2 persons,
    /// one of each gender, and 1 company are always made).
    pub persons: usize,
    pub companies: usize,
}

impl SimConfig {
    /// Different per department so that the departments' scores differ visibly.
    pub(crate) fn default_rates() -> Vec<(String, f64)> {
        [
            ("public_security", 0.02),
            ("civil_affairs", 0.08),
            ("hrss", 0.06),
            ("market_regulation", 0.03),
            ("tax", 0.05),
            ("health", 0.10),
        ]
        .into_iter()
        .map(|(d, r)| (d.to_string(), r))
        .collect()
    }

    /// The defect rate of a department, clamped to `[0,1]`.
    pub(super) fn rate(&self, department: &str) -> f64 {
        let r = self
            .defect_rates
            .iter()
            .find(|(d, _)| d == department)
            .map_or(0.0, |(_, r)| *r);
        if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            defect_rates: Self::default_rates(),
            persons: 5000,
            companies: 1000,
        }
    }
}

//! Counting outcomes, and everything built from counts: the report, the
//! catalog's score, what to fix first, the ranking, the CSV export, the
//! sealed reports of closed periods (`seal`). One
//! builder ([`build_scores`]) serves the API, the scorecard, `dqmon scores`
//! and `dqmon eval`; `trend` the scores of the weeks or months of a year.

pub mod counts;
pub mod csv;
pub mod report;
pub mod score;
pub mod scores;
pub mod seal;
pub mod stream;
pub mod trend;

pub use counts::{DatasetCounts, Tally};
pub(crate) use csv::scores_csv;
pub use report::{DatasetReport, DepartmentReport};
pub use score::{round2, score};
pub use scores::{
    DatasetRow, DepartmentScores, RankEntry, Scores, WORST_CHECKS, WorstCheck, WorstDataset,
    build_scores, pass_rate,
};
pub use seal::{Chain, DecidedDispute, SealedLink, SealedReport, Verified};
pub use stream::Report;
pub use trend::{Step, Trend, TrendPoint, TrendScore};

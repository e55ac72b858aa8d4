//! `dqmon scores`: the scorecard's ranking for a period, read from the score
//! store, for an officer with shell access. Also prints the API's JSON or CSV,
//! built by the same code as the API, so all three always agree: the sealed
//! version of a sealed period (`--chain` prints its chain for `dqmon
//! verify-report`), the live scores of any other.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::model::Dimension;
use crate::model::period::{PeriodBounds, from_query};
use crate::store::assessment::{self, SealMark};
use crate::store::open::AnyStore;
use crate::tally::{Scores, pass_rate, scores_csv};
use crate::web::api::{ScoresAnswer, rfc3339};

/// What `dqmon scores` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A ranking table for reading.
    Table,
    /// The answer of `GET /api/v1/scores`.
    Json,
    /// The answer of `GET /api/v1/scores.csv`.
    Csv,
}

#[derive(clap::Args)]
pub(crate) struct ScoresOptions {
    /// The checks folder (weights and datasets).
    #[arg(long = "checks", value_name = "DIR", default_value = "checks")]
    checks_dir: PathBuf,
    #[command(flatten)]
    store: super::StoreOptions,
    /// 2026-06-15, 2026-W24, 2026-06, 2026-Q2, 2026 or 2026-04-01..2026-06-30.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    period: Option<String>,
    /// First day (YYYY-MM-DD), with --to.
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Last day (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Only this department.
    #[arg(long)]
    department: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Print the period's sealed chain (every version, canonical JSON) instead.
    #[arg(long, conflicts_with_all = ["format", "department"])]
    chain: bool,
    /// Worst checks listed per department in the table.
    #[arg(long, default_value_t = 3)]
    worst: usize,
}

/// Prints the scores of a period to standard output.
pub(crate) fn run(opts: &ScoresOptions) -> anyhow::Result<()> {
    let checks = crate::catalog::load(&opts.checks_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(d) = &opts.department
        && !checks.departments.contains(d)
    {
        anyhow::bail!("unknown department {d:?}");
    }
    if opts.period.is_none() && opts.from.is_none() {
        anyhow::bail!("give --period (e.g. 2026-Q3) or --from and --to");
    }
    let (from, to) = from_query(
        opts.from.as_deref(),
        opts.to.as_deref(),
        opts.period.as_deref(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let location = opts.store.location();
    if AnyStore::is_missing_file(&location) {
        anyhow::bail!("{location}: no such score store");
    }
    // Read-only: this command migrates, prunes and writes nothing, so it is
    // safe beside a running service.
    let store = AnyStore::open_read_only(&location)
        .with_context(|| format!("{location}: opening the score store"))?;
    let period = PeriodBounds { from, to };
    use std::io::Write as _;
    if opts.chain {
        let Some(chain) = assessment::chain(&store, period)? else {
            anyhow::bail!("{from}..{to} is not sealed");
        };
        std::io::stdout().write_all(&chain.to_file())?;
        return Ok(());
    }
    let served = assessment::served_scores(
        &store,
        &store,
        &store,
        &checks,
        period,
        opts.department.as_deref(),
    )?;
    let out = match opts.format {
        Format::Table => {
            let mut t = seal_line(served.seal.as_ref());
            t.push_str(&table(&served.scores, opts.worst));
            t.into_bytes()
        }
        Format::Json => {
            let mut v = serde_json::to_vec_pretty(&ScoresAnswer::new(served))?;
            v.push(b'\n');
            v
        }
        Format::Csv => scores_csv(&served.scores)?,
    };
    std::io::stdout().write_all(&out)?;
    Ok(())
}

/// Whether the table is of a sealed version (and which), or live.
fn seal_line(seal: Option<&SealMark>) -> String {
    match seal {
        Some(m) => format!(
            "Sealed: version {}{}, sha256 {}, by {} at {}\n",
            m.version,
            if m.amends.is_some() {
                " (amendment)"
            } else {
                ""
            },
            m.sha256,
            m.actor,
            rfc3339(m.at_ms)
        ),
        None => "Not sealed: live scores (late messages still change them)\n".to_owned(),
    }
}

/// The ranking, one row per department: rank, score, records and each
/// dimension's pass rate; then each department's worst checks.
pub(crate) fn table(scores: &Scores, worst: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Scores {} .. {} ({} records, {} malformed)\n",
        scores.period.from, scores.period.to, scores.messages, scores.malformed
    );
    let _ = write!(
        t,
        "{:>4}  {:<22} {:>7} {:>5} {:>9}",
        "rank", "department", "score", "grade", "records"
    );
    for d in Dimension::ALL {
        let _ = write!(t, " {:>12}", d.as_str());
    }
    t.push('\n');
    for entry in &scores.ranking {
        let d = &scores.departments[&entry.department];
        let rank = entry.rank.map_or("-".into(), |r| r.to_string());
        let score = entry.score.map_or("-".into(), |s| format!("{s:.2}"));
        let grade = entry.grade.as_deref().unwrap_or("-");
        let _ = write!(
            t,
            "{rank:>4}  {:<22} {score:>7} {grade:>5} {:>9}",
            entry.department, d.report.records
        );
        for dim in Dimension::ALL {
            let rate = d
                .report
                .dimensions
                .get(&dim)
                .copied()
                .and_then(pass_rate)
                .map_or("-".into(), |r| format!("{:.2}%", r * 100.0));
            let _ = write!(t, " {rate:>12}");
        }
        t.push('\n');
    }
    let bands: Vec<String> = scores
        .grades
        .iter()
        .map(|g| format!("{} {} >= {}", g.grade, g.name, g.min_score))
        .collect();
    let _ = writeln!(t, "\ngrades: {}", bands.join(", "));
    if worst > 0 {
        for (department, d) in &scores.departments {
            if d.worst_checks.is_empty() {
                continue;
            }
            let _ = writeln!(t, "\n{department}: checks with most failures");
            for c in d.worst_checks.iter().take(worst) {
                let _ = writeln!(
                    t,
                    "  {:<28} {:<34} failed {:>7} of {:>8}",
                    c.dataset,
                    c.check,
                    c.failed,
                    c.failed + c.passed
                );
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::NaiveDate;

    use super::*;
    use crate::store::DayCounts;
    use crate::tally::build_scores;

    #[test]
    fn the_table_ranks_departments_with_their_pass_rates() {
        let checks =
            crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        let ds = &checks.datasets[0];
        let mut c = DayCounts::new(day, &ds.department, &ds.name);
        c.counts.records = 10;
        c.counts.dimensions =
            [[9, 1], [10, 0], [10, 0], [10, 0], [10, 0]].map(crate::model::Counts::from);
        c.counts.checks = vec![("name.required".into(), [9, 1].into())];
        let period = PeriodBounds { from: day, to: day };
        let scores = build_scores(&checks, period, None, &[c.row()]);
        let text = table(&scores, 3);
        let first = text
            .lines()
            .find(|l| l.trim_start().starts_with("1 "))
            .expect("a ranked row");
        assert!(first.contains(&ds.department), "{text}");
        assert!(first.contains("90.00%"), "{text}");
        assert!(first.contains("100.00%"), "{text}");
        // 0.25*0.9 + 0.75*1 = 97.50: grade A of the default bands.
        assert!(first.contains("97.50     A"), "{text}");
        assert!(
            text.contains("grades: A 优秀 >= 90, B 良好 >= 80"),
            "{text}"
        );
        assert!(text.contains("name.required"), "{text}");
        // Departments without records are listed, unranked.
        assert_eq!(
            text.lines()
                .filter(|l| l.trim_start().starts_with("- "))
                .count(),
            checks.departments.len() - 1,
            "{text}"
        );
    }
}

//! Sealed reports (封存): the scores of a closed period frozen as canonical
//! JSON (RFC 8785, so any tool can recompute the bytes) with their SHA-256,
//! and the chain of amendments that anyone can check without dqmon's store.
//!
//! A report holds only what the messages and the contracts decide (the
//! scores and the contracts' content hash), never when or by whom it was
//! sealed: the same messages sealed again give the same bytes and the same
//! hash, whatever instance computed them and whenever. Who and when go to
//! the audit log.
//!
//! Version 1 is the seal; version n + 1 (an amendment, made when late
//! records or later decisions changed the live scores) names the SHA-256 of
//! version n in `amends`. The chain file is every version, oldest first,
//! each beside its hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Scores;
use crate::model::period::PeriodBounds;

/// `format` of a sealed report.
pub const REPORT_FORMAT: &str = "dqmon-sealed-report/1";
/// `format` of a chain file.
pub const CHAIN_FORMAT: &str = "dqmon-sealed-chain/1";

/// One version of a period's sealed report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedReport {
    pub format: String,
    /// 1 for the seal, then 2, 3... for amendments.
    pub version: u32,
    /// SHA-256 (hex) of the version this one amends; `None` for version 1.
    pub amends: Option<String>,
    /// Hex SHA-256 of the checks folder the scores were judged by.
    pub contracts_sha256: String,
    pub scores: Scores,
    /// The disputes decided by the time of sealing that contest records of
    /// the period, by id (absent when none, so reports without disputes
    /// hash as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<DecidedDispute>,
}

/// A decided dispute as a sealed report names it: what was contested and
/// the decision, not who decided or when (those are in the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecidedDispute {
    pub id: i64,
    pub department: String,
    pub dataset: String,
    pub check: String,
    /// `record <topic>/<partition>/<offset>` or `check <from>..<to>`.
    pub contested: String,
    /// `upheld` or `rejected`.
    pub decision: String,
    /// `<department>.<dataset>` the conflict was charged to, when the
    /// authority admitted its value was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged_to: Option<String>,
}

/// A version beside its hash: what the store keeps and the chain lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedLink {
    /// Hex SHA-256 of `report`'s canonical bytes.
    pub sha256: String,
    pub report: SealedReport,
}

/// Every version of one period's report, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    pub format: String,
    pub versions: Vec<SealedLink>,
}

/// What [`verify`] found in a valid chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub period: PeriodBounds,
    pub versions: usize,
    /// The newest version's hash: the one that counts.
    pub head: String,
}

impl SealedReport {
    /// The next version of a period's chain: the seal when `previous` is
    /// `None`, else an amendment of it.
    pub fn new(scores: Scores, contracts_sha256: &str, previous: Option<&SealedLink>) -> Self {
        SealedReport {
            format: REPORT_FORMAT.to_owned(),
            version: previous.map_or(1, |p| p.report.version + 1),
            amends: previous.map(|p| p.sha256.clone()),
            contracts_sha256: contracts_sha256.to_owned(),
            scores,
            disputes: Vec::new(),
        }
    }

    /// The same report naming the disputes decided (sorted by id).
    pub fn with_disputes(mut self, mut disputes: Vec<DecidedDispute>) -> Self {
        disputes.sort_by_key(|d| d.id);
        self.disputes = disputes;
        self
    }

    /// The canonical bytes (RFC 8785).
    pub fn canonical(&self) -> Vec<u8> {
        canonical(self)
    }

    /// The report with its hash.
    pub fn link(self) -> SealedLink {
        SealedLink {
            sha256: sha256_hex(&self.canonical()),
            report: self,
        }
    }

    /// Whether `self` says what `other` says (the same contracts and scores),
    /// whatever their places in a chain: an amendment that changes nothing is
    /// refused.
    pub fn same_content(&self, other: &SealedReport) -> bool {
        self.contracts_sha256 == other.contracts_sha256
            && self.scores == other.scores
            && self.disputes == other.disputes
    }
}

impl SealedLink {
    /// Parses a stored report and checks it against its stored hash: a
    /// store altered behind dqmon's back is not served.
    pub fn parse(sha256: &str, canonical_report: &[u8]) -> Result<Self, String> {
        if sha256_hex(canonical_report) != sha256 {
            return Err("a sealed report does not match its hash".into());
        }
        let report: SealedReport = serde_json::from_slice(canonical_report)
            .map_err(|e| format!("a sealed report does not parse: {e}"))?;
        Ok(SealedLink {
            sha256: sha256.to_owned(),
            report,
        })
    }
}

impl Chain {
    pub fn new(versions: Vec<SealedLink>) -> Self {
        Chain {
            format: CHAIN_FORMAT.to_owned(),
            versions,
        }
    }

    /// The file: canonical JSON and a newline.
    pub fn to_file(&self) -> Vec<u8> {
        let mut bytes = canonical(self);
        bytes.push(b'\n');
        bytes
    }
}

/// Checks a chain file: canonical form, every version's hash over its own
/// bytes, versions 1, 2, 3... each amending the one before, one period.
/// Every problem found is listed.
pub fn verify(file: &[u8]) -> Result<Verified, Vec<String>> {
    let body = file.strip_suffix(b"\n").unwrap_or(file);
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| vec![format!("not JSON: {e}")])?;
    let mut problems = Vec::new();
    if canonical(&value) != body {
        problems.push("not in canonical form (RFC 8785): the file was re-encoded or edited".into());
    }
    // Each hash is checked over the report as the file holds it, so a field
    // added to a report breaks its hash, not only the typed parse below.
    let raw_reports: Vec<Vec<u8>> = value
        .get("versions")
        .and_then(|v| v.as_array())
        .map(|vs| vs.iter().map(|v| canonical(&v["report"])).collect())
        .unwrap_or_default();
    let chain: Chain = match serde_json::from_value(value) {
        Ok(chain) => chain,
        Err(e) => {
            problems.push(format!("not a sealed chain: {e}"));
            return Err(problems);
        }
    };
    if chain.format != CHAIN_FORMAT {
        problems.push(format!(
            "format is {:?}, not {CHAIN_FORMAT:?}",
            chain.format
        ));
    }
    let Some(first) = chain.versions.first() else {
        problems.push("the chain holds no version".into());
        return Err(problems);
    };
    let period = first.report.scores.period;
    let mut previous: Option<&SealedLink> = None;
    for (i, (link, raw)) in chain.versions.iter().zip(&raw_reports).enumerate() {
        let n = i + 1;
        let report = &link.report;
        if report.format != REPORT_FORMAT {
            problems.push(format!("version {n}: format is {:?}", report.format));
        }
        if report.version as usize != n {
            problems.push(format!(
                "version {n}: says it is version {}",
                report.version
            ));
        }
        if sha256_hex(raw) != link.sha256 {
            problems.push(format!(
                "version {n}: its SHA-256 does not match its content"
            ));
        }
        if report.amends.as_ref() != previous.map(|p| &p.sha256) {
            problems.push(match previous {
                None => format!("version {n}: the first version amends nothing"),
                Some(_) => format!("version {n}: does not amend version {}", n - 1),
            });
        }
        if report.scores.period != period {
            problems.push(format!("version {n}: another period than version 1"));
        }
        previous = Some(link);
    }
    if problems.is_empty() {
        Ok(Verified {
            period,
            versions: chain.versions.len(),
            head: previous.map(|p| p.sha256.clone()).unwrap_or_default(),
        })
    } else {
        Err(problems)
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn canonical<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising dqmon's own types (strings, integers, finite floats) cannot
    // fail; a NaN would be refused by RFC 8785, and scores are never NaN.
    serde_json_canonicalizer::to_vec(value).expect("a report serialises to canonical JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Checks;
    use crate::tally::{DatasetCounts, DatasetRow, build_scores};
    use chrono::NaiveDate;

    fn checks() -> Checks {
        crate::catalog::load(std::path::Path::new("checks")).unwrap()
    }

    /// Counts with awkward fractions in every dataset (a pass rate of 2/3
    /// has no short decimal form).
    fn counts(checks: &Checks, extra: u64) -> Vec<DatasetCounts> {
        checks
            .datasets
            .iter()
            .enumerate()
            .map(|(i, ds)| {
                let mut c = DatasetCounts::for_dataset(ds);
                c.records = 3 + i as u64 + extra;
                for (d, dim) in c.dimensions.iter_mut().enumerate() {
                    for k in 0..3 + d as u64 + extra {
                        dim.record(k % 3 != 0);
                    }
                }
                c
            })
            .collect()
    }

    fn period() -> PeriodBounds {
        let day = |d| NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
        PeriodBounds::clamped(day(1), day(30))
    }

    fn scores_of(checks: &Checks, department: Option<&str>, extra: u64) -> Scores {
        let counts = counts(checks, extra);
        let rows: Vec<DatasetRow> = checks
            .datasets
            .iter()
            .zip(&counts)
            .map(|(ds, c)| DatasetRow {
                department: &ds.department,
                dataset: &ds.name,
                counts: c,
            })
            .collect();
        build_scores(checks, period(), department, &rows)
    }

    fn scores(checks: &Checks, extra: u64) -> Scores {
        scores_of(checks, None, extra)
    }

    fn chain(checks: &Checks) -> Chain {
        let v1 = SealedReport::new(scores(checks, 0), &checks.contracts_sha256, None).link();
        let v2 = SealedReport::new(scores(checks, 1), &checks.contracts_sha256, Some(&v1)).link();
        Chain::new(vec![v1, v2])
    }

    #[test]
    fn a_report_hashes_alike_when_recomputed_and_read_back() {
        let checks = checks();
        let a = SealedReport::new(scores(&checks, 0), &checks.contracts_sha256, None).link();
        let b = SealedReport::new(scores(&checks, 0), &checks.contracts_sha256, None).link();
        assert_eq!(a.sha256, b.sha256);
        let back = SealedLink::parse(&a.sha256, &a.report.canonical()).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.report.canonical(), a.report.canonical());
        let other = SealedReport::new(scores(&checks, 1), &checks.contracts_sha256, None).link();
        assert_ne!(other.sha256, a.sha256);
        assert!(SealedLink::parse(&other.sha256, &a.report.canonical()).is_err());
    }

    #[test]
    fn a_valid_chain_verifies_and_names_its_head() {
        let checks = checks();
        let chain = chain(&checks);
        let verified = verify(&chain.to_file()).unwrap();
        assert_eq!(verified.versions, 2);
        assert_eq!(verified.head, chain.versions[1].sha256);
        assert_eq!(verified.period, chain.versions[0].report.scores.period);
        assert_eq!(
            chain.versions[1].report.amends.as_deref(),
            Some(chain.versions[0].sha256.as_str())
        );
    }

    #[test]
    fn every_changed_byte_is_rejected() {
        // One department's scores keep the file (and the test) small; every
        // byte of it is tried.
        let checks = checks();
        let dep = checks.departments[0].as_str();
        let v1 = SealedReport::new(scores_of(&checks, Some(dep), 0), "ab", None).link();
        let v2 = SealedReport::new(scores_of(&checks, Some(dep), 1), "ab", Some(&v1)).link();
        let file = Chain::new(vec![v1, v2]).to_file();
        assert!(verify(&file).is_ok());
        assert!(file.len() > 500, "{} bytes", file.len());
        for i in 0..file.len() {
            // The low bit changes every byte to another (a digit to another
            // digit or a letter, a quote to an exclamation mark...).
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert!(
                verify(&bad).is_err(),
                "byte {i} went unnoticed: {:?}",
                String::from_utf8_lossy(&bad[i.saturating_sub(20)..(i + 20).min(bad.len())])
            );
        }
    }

    #[test]
    fn a_broken_link_or_order_is_named() {
        let checks = checks();
        let mut swapped = chain(&checks);
        swapped.versions.swap(0, 1);
        let problems = verify(&swapped.to_file()).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("says it is version")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("amends")),
            "{problems:?}"
        );
        // A re-encoded (pretty-printed) chain is not the sealed bytes.
        let pretty = serde_json::to_vec_pretty(&chain(&checks)).unwrap();
        let problems = verify(&pretty).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("canonical")),
            "{problems:?}"
        );
        // A department's own dimension counts are in the hash.
        let mut edited = chain(&checks);
        let dep = edited.versions[0]
            .report
            .scores
            .departments
            .values_mut()
            .next()
            .unwrap();
        dep.report.records += 1;
        let problems = verify(&edited.to_file()).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("SHA-256")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_department_view_of_all_scores_is_its_own_scores() {
        let checks = checks();
        let all = scores(&checks, 2);
        for dep in &checks.departments {
            let own = scores_of(&checks, Some(dep), 2);
            assert_eq!(all.only(dep), own, "{dep}");
            assert_eq!(own.ranking.len(), 1);
        }
        assert_eq!(all.only("no-such-department").departments.len(), 0);
    }
}

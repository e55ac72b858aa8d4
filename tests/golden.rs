//! The golden test: a hand-built fixture of the reference exchange
//! (tests/golden/input.jsonl, every catalog rule passing and failing), its
//! hand-written expected violations, and the expected report, compared exactly.
//!
//! After a deliberate change of semantics, regenerate the report with
//! `DQMON_UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use dqmon::cli::eval::evaluate_lines;
use dqmon::engine::Engine;
use dqmon::model::Violation;
use dqmon::tally::Report;

const INPUT: &str = "tests/golden/input.jsonl";
const EXPECTED_VIOLATIONS: &str = "tests/golden/expected_violations.jsonl";
const EXPECTED_REPORT: &str = "tests/golden/expected_report.json";

fn run(secret: &[u8]) -> (Report, Vec<Violation>) {
    let checks = Arc::new(dqmon::catalog::load(Path::new("checks")).expect("shipped checks load"));
    let engine = Engine::new(checks.clone(), secret);
    let file = std::fs::File::open(INPUT).unwrap();
    let mut violations = Vec::new();
    let tally = evaluate_lines(&engine, BufReader::new(file), INPUT, |v| {
        violations.push(v.clone());
        Ok(())
    })
    .unwrap();
    (Report::new(&checks, &tally), violations)
}

type Key = (String, i32, i64, String, String);

fn key_of(v: &serde_json::Value) -> Key {
    (
        v["topic"].as_str().unwrap().to_string(),
        v["partition"].as_i64().unwrap() as i32,
        v["offset"].as_i64().unwrap(),
        v["check"].as_str().unwrap().to_string(),
        v["dimension"].as_str().unwrap().to_string(),
    )
}

#[test]
fn violations_are_exactly_the_hand_written_ones() {
    let (_, violations) = run(b"golden");
    let got: Vec<Key> = violations
        .iter()
        .map(|v| key_of(&serde_json::to_value(v).unwrap()))
        .collect();
    let expected: Vec<Key> = std::fs::read_to_string(EXPECTED_VIOLATIONS)
        .unwrap()
        .lines()
        .map(|l| key_of(&serde_json::from_str(l).unwrap()))
        .collect();
    let got_set: BTreeSet<&Key> = got.iter().collect();
    let expected_set: BTreeSet<&Key> = expected.iter().collect();
    assert_eq!(
        got.len(),
        got_set.len(),
        "a check reported twice for one message"
    );
    let missing: Vec<_> = expected_set.difference(&got_set).collect();
    let extra: Vec<_> = got_set.difference(&expected_set).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    assert_eq!(expected.len(), 465);
}

#[test]
fn report_matches_the_checked_in_one() {
    let (report, _) = run(b"golden");
    let text = serde_json::to_string_pretty(&report).unwrap() + "\n";
    if std::env::var_os("DQMON_UPDATE_GOLDEN").is_some() {
        std::fs::write(EXPECTED_REPORT, &text).unwrap();
    }
    let expected: Report =
        serde_json::from_str(&std::fs::read_to_string(EXPECTED_REPORT).unwrap()).unwrap();
    assert_eq!(report, expected);
    // The hand-written expectations agree with the report's totals.
    let expected = std::fs::read_to_string(EXPECTED_VIOLATIONS).unwrap();
    let parse_failures = expected
        .lines()
        .filter(|l| l.contains("\"message.parse\""))
        .count();
    assert_eq!(report.malformed, parse_failures as u64);
    let messages = std::fs::read_to_string(INPUT).unwrap().lines().count();
    assert_eq!(report.messages, messages as u64);
    // Records add up across departments, and each department's dimension counts
    // never exceed its records.
    let records: u64 = report.departments.values().map(|d| d.records).sum();
    assert_eq!(records, report.messages - report.unrouted);
    for d in report.departments.values() {
        for c in d.dimensions.values() {
            assert!(c.passed + c.failed <= d.records);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_hashing_secret() {
    assert_eq!(run(b"one secret").0, run(b"another secret").0);
}

#[test]
fn the_cli_gives_the_same_report_and_violations() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let violations_path = dir.path().join("violations.jsonl");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_dqmon"))
        .args(["eval", "--checks", "checks", "--input", INPUT, "--output"])
        .arg(&report_path)
        .arg("--violations")
        .arg(&violations_path)
        .status()
        .unwrap();
    assert!(status.success());
    let (report, violations) = run(b"cli");
    let cli_report: Report =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(cli_report, report);
    let cli_violations: Vec<Violation> = std::fs::read_to_string(&violations_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cli_violations, violations);
}

/// Personal values of the fixture (ID numbers, names, phones, addresses) never
/// appear in a violation event.
#[test]
fn violations_carry_no_personal_data() {
    const PERSONAL: &[&str] = &[
        "id_number",
        "name",
        "phone",
        "address",
        "legal_rep_id_number",
        "legal_rep_name",
        "mother_id_number",
        "mother_name",
        "newborn_name",
    ];
    let mut values = BTreeSet::new();
    for line in std::fs::read_to_string(INPUT).unwrap().lines() {
        let envelope: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(obj) = envelope["value"].as_object() {
            for field in PERSONAL {
                if let Some(s) = obj.get(*field).and_then(|v| v.as_str())
                    && s.trim().chars().count() >= 2
                {
                    values.insert(s.trim().to_string());
                }
            }
        }
    }
    assert!(
        values.len() > 100,
        "the fixture has personal values to look for"
    );
    let (_, violations) = run(b"pii");
    for v in &violations {
        let text = serde_json::to_string(v).unwrap();
        for value in &values {
            assert!(
                !text.contains(value.as_str()),
                "personal value leaked into {text}"
            );
        }
    }
}

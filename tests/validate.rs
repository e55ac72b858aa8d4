//! `dqmon validate`: the shipped contracts load; a broken folder reports every
//! problem, each as `path: where: what`, in one run.

use std::path::Path;
use std::process::Command;

fn dqmon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dqmon"))
}

#[test]
fn shipped_contracts_validate() {
    let out = dqmon()
        .args(["validate", "--checks", "checks"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("6 contracts, 6 departments, 2 entities"),
        "{stdout}"
    );

    let checks = dqmon::catalog::load(Path::new("checks")).unwrap();
    let names: Vec<String> = checks.datasets.iter().map(|d| d.qualified_name()).collect();
    assert_eq!(
        names,
        [
            "civil_affairs.subsistence_allowance",
            "health.birth_certificate",
            "hrss.social_insurance",
            "market_regulation.business_registration",
            "public_security.household_registration",
            "tax.taxpayer_registration",
        ]
    );
}

#[test]
fn broken_contracts_report_every_problem_at_once() {
    let out = dqmon()
        .args(["validate", "--checks", "tests/broken-checks"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dir = "tests/broken-checks";
    let expected = [
        (
            "alpha/people.yaml",
            "fields.birth.format",
            "unknown format `birthday`",
        ),
        (
            "alpha/people.yaml",
            "fields.kind.code_table",
            "unknown code table `kinds`",
        ),
        (
            "alpha/people.yaml",
            "fields.size.max_length",
            "applies to string fields only",
        ),
        (
            "alpha/people.yaml",
            "rules[0].date_field",
            "names field `birth_day`, which does not exist",
        ),
        (
            "alpha/people.yaml",
            "rules[1].expression",
            "unknown field(s): nickname",
        ),
        (
            "alpha/people.yaml",
            "rules[2].expression",
            "invalid CEL expression",
        ),
        (
            "alpha/typo.yaml",
            "line 7 column 25",
            "unknown field `requird`",
        ),
        (
            "beta/orders.yaml",
            "cross_source[0].entity",
            "unknown entity `customer`",
        ),
        (
            "beta/orders.yaml",
            "cross_source[1].attributes.nickname",
            "has no attribute `nickname`",
        ),
        (
            "beta/orders.yaml",
            "department",
            "does not match the folder `beta`",
        ),
        ("beta/orders.yaml", "fields.record_id", "is a common field"),
        (
            "beta/orders.yaml",
            "key_field",
            "names field `order_no`, which does not exist",
        ),
        ("beta/orders.yaml", "max_age_hours", "must be at least 1"),
        ("beta/orders.yaml", "topic", "is also claimed by"),
        (
            "exchange.yaml",
            "entities.company.authoritative",
            "`nobody.companies` does not exist",
        ),
        ("exchange.yaml", "time_zone", "unknown time zone"),
        ("exchange.yaml", "departments.alpha.name", "empty"),
        (
            "exchange.yaml",
            "departments.beta",
            "no contract belongs to this department",
        ),
        ("reference/gender.csv", "line 3", "duplicate code `1`"),
        ("scoring.yaml", "weights", "missing weight for `uniqueness`"),
        ("scoring.yaml", "weights.timeliness", "unknown dimension"),
    ];
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with(dir)).collect();
    for (file, location, what) in expected {
        let prefix = format!("{dir}/{file}: {location}: ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(what)),
            "missing `{prefix}...{what}` in:\n{stderr}"
        );
    }
    assert_eq!(
        lines.len(),
        expected.len(),
        "unexpected problems:\n{stderr}"
    );
    assert!(stderr.contains(&format!("{} problem(s) found", expected.len())));
}

#[test]
fn a_missing_folder_is_an_error_not_a_panic() {
    let err = dqmon::catalog::load(Path::new("no/such/folder")).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(err.to_string().contains("not a directory"));
}

/// `dqmon run` validates the contracts exactly like `dqmon validate` and
/// refuses to start on a broken folder, before touching Kafka.
#[test]
fn the_service_refuses_to_start_on_broken_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dqmon.toml");
    std::fs::write(
        &config,
        "checks_dir = \"tests/broken-checks\"\n[kafka]\nbootstrap_servers = \"127.0.0.1:1\"\n[http]\nlisten_address = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = dqmon()
        .args(["run", "--config"])
        .arg(&config)
        .env("DQMON_HASHING__SECRET", "a secret of sixteen+")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "tests/broken-checks/alpha/people.yaml: fields.birth.format: unknown format `birthday`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("refusing to start: 21 problem(s)"),
        "{stderr}"
    );
}

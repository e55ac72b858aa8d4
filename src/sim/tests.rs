use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::*;
use crate::catalog::contract::{FieldSpec, FieldType};
use crate::formats::{resident_id, uscc};

/// 2025-06-01T00:00:00+08:00.
const START: i64 = 1_748_707_200_000;

fn checks() -> Checks {
    crate::catalog::load(Path::new("checks")).expect("the checks folder loads")
}

fn config(rates: &[(&str, f64)]) -> SimConfig {
    SimConfig {
        defect_rates: rates.iter().map(|(d, r)| (d.to_string(), *r)).collect(),
        ..SimConfig::default()
    }
}

fn show(msg: &SimMessage) -> String {
    format!("{} {}", msg.topic, String::from_utf8_lossy(&msg.payload))
}

fn dataset_of(checks: &Checks, msg: &SimMessage) -> usize {
    checks
        .datasets
        .iter()
        .position(|d| d.topic == msg.topic)
        .expect("known topic")
}

// Check characters recomputed here rather than through `formats`, so that a broken
// generator and a broken `formats` cannot agree with each other.
fn resident_check_ok(id: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    b[17] == b"10X98765432"[(sum % 11) as usize]
}

fn uscc_check_ok(code: &str) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let pos = |c: u8| ALPHABET.iter().position(|&a| a == c);
    let b = code.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (&c, w) in b[..17].iter().zip(W) {
        match pos(c) {
            Some(p) => sum += p * w,
            None => return false,
        }
    }
    pos(b[17]) == Some((31 - sum % 31) % 31)
}

fn mobile_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

fn norm(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap(),
            0x3000 => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Test label of a defect: its dimension, with malformed messages told apart from
/// field-level format failures.
fn label(k: DefectKind) -> &'static str {
    if k == DefectKind::Malformed {
        "malformed"
    } else {
        k.dimension().as_str()
    }
}

fn first_column(text: &str) -> HashSet<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// An independent reading of the catalog's dimension semantics, enough to tell which
/// dimensions a message fails. It reads the contracts' raw field specs and the
/// reference CSV files itself and knows the rules and cross-source pairs by heart;
/// it uses neither the compiled validators nor `formats` nor the simulator's catalog.
struct Checker<'a> {
    checks: &'a Checks,
    codes: HashSet<String>,
    tables: HashMap<String, HashSet<String>>,
    names: HashMap<String, String>,
    genders: HashMap<String, String>,
    entities: HashMap<String, String>,
    seen: Vec<HashMap<String, i64>>,
    cross_checked: usize,
}

impl<'a> Checker<'a> {
    fn new(checks: &'a Checks) -> Self {
        // The edited copies of the contracts keep the shipped reference tables.
        let reference = Path::new("checks/reference");
        let read = |name: &str| std::fs::read_to_string(reference.join(format!("{name}.csv")));
        let mut tables = HashMap::new();
        for f in checks.datasets.iter().flat_map(|d| &d.fields) {
            if let Some(t) = &f.spec.code_table {
                tables.insert(t.clone(), first_column(&read(t).unwrap()));
            }
        }
        Checker {
            checks,
            codes: first_column(&read("gb2260-divisions").unwrap()),
            tables,
            names: HashMap::new(),
            genders: HashMap::new(),
            entities: HashMap::new(),
            seen: vec![HashMap::new(); checks.datasets.len()],
            cross_checked: 0,
        }
    }

    fn today(&self, ms: i64) -> NaiveDate {
        DateTime::from_timestamp_millis(ms)
            .unwrap()
            .with_timezone(&self.checks.time_zone)
            .date_naive()
    }

    fn resident_id(&self, s: &str, today: NaiveDate) -> bool {
        resident_check_ok(s)
            && NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
                .is_ok_and(|d| d >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() && d <= today)
            && self.codes.contains(&format!("{}0000", &s[..2]))
    }

    fn format_ok(&self, format: &str, s: &str, today: NaiveDate) -> bool {
        let b = s.as_bytes();
        match format {
            "cn-resident-id" => self.resident_id(s, today),
            "cn-uscc" => uscc_check_ok(s) && self.codes.contains(&s[2..8]),
            "cn-division-code" => self.codes.contains(s),
            "cn-mobile" => mobile_ok(s),
            "month" => {
                b.len() == 7 && NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").is_ok()
            }
            "date" => b.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            "date-time" => DateTime::parse_from_rfc3339(s).is_ok(),
            other => panic!("the oracle does not know format {other}"),
        }
    }

    fn pattern_ok(pattern: &str, s: &str) -> bool {
        let b = s.as_bytes();
        match pattern {
            "^[A-Z][0-9]{9}$" => {
                b.len() == 10 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
            }
            other => panic!("the oracle does not know pattern {other}"),
        }
    }

    fn in_range(spec: &FieldSpec, x: f64) -> bool {
        spec.minimum.is_none_or(|m| x >= m)
            && spec.maximum.is_none_or(|m| x <= m)
            && spec.exclusive_minimum.is_none_or(|m| x > m)
            && spec.exclusive_maximum.is_none_or(|m| x < m)
    }

    fn valid(&self, spec: &FieldSpec, v: &Value, today: NaiveDate) -> bool {
        match spec.kind {
            FieldType::Integer => v.as_i64().is_some_and(|n| Self::in_range(spec, n as f64)),
            FieldType::Number => v.as_f64().is_some_and(|x| Self::in_range(spec, x)),
            FieldType::Boolean => v.is_boolean(),
            FieldType::String => {
                let Some(s) = v.as_str() else { return false };
                let n = s.chars().count() as u64;
                spec.min_length.is_none_or(|m| n >= m)
                    && spec.max_length.is_none_or(|m| n <= m)
                    && spec
                        .allowed
                        .as_ref()
                        .is_none_or(|a| a.iter().any(|x| x == s))
                    && (spec.code_table.as_ref()).is_none_or(|t| self.tables[t].contains(s))
                    && (spec.pattern.as_ref()).is_none_or(|p| Self::pattern_ok(p, s))
                    && (spec.format.as_ref()).is_none_or(|f| self.format_ok(f, s, today))
            }
        }
    }

    fn check(&mut self, msg: &SimMessage) -> BTreeSet<&'static str> {
        let ds = dataset_of(self.checks, msg);
        let d = &self.checks.datasets[ds];
        let mut out = BTreeSet::new();
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&msg.payload) else {
            out.insert("malformed");
            return out;
        };
        let today = self.today(msg.timestamp_ms);
        let mut good: HashSet<&str> = HashSet::new();
        for f in &d.fields {
            match obj.get(&f.name) {
                None | Some(Value::Null) => {
                    if f.spec.required {
                        out.insert("completeness");
                    }
                }
                Some(Value::String(s)) if s.trim().is_empty() => {
                    assert!(f.spec.required, "blank optional field {}", f.name);
                    out.insert("completeness");
                }
                Some(v) => {
                    if self.valid(&f.spec, v, today) {
                        good.insert(&f.name);
                    } else {
                        out.insert("format");
                    }
                }
            }
        }
        let get = |n: &str| valid_str(&obj, &good, n);
        let updated = get("updated_at").map(|u| DateTime::parse_from_rfc3339(u).unwrap());
        let mut broken = rules_broken(&obj, &good, updated);

        broken |= self.cross_source_broken(&d.name, &obj, &good);
        if broken {
            out.insert("consistency");
        }
        self.deliver(&d.name, &obj, &good);

        if let Some(u) = updated {
            let age = msg.timestamp_ms - u.timestamp_millis();
            if age > d.max_age_ms || age < -self.checks.future_tolerance_ms {
                out.insert("freshness");
            }
        }
        if let Some(rid) = get("record_id") {
            let seen = &mut self.seen[ds];
            let window = self.checks.uniqueness_window_ms;
            if seen
                .get(rid)
                .is_some_and(|&t| msg.timestamp_ms - t <= window)
            {
                out.insert("uniqueness");
            }
            seen.insert(rid.to_string(), msg.timestamp_ms);
        }
        out
    }

    /// Cross-source comparisons against the latest authoritative values.
    fn cross_source_broken(
        &mut self,
        dataset: &str,
        obj: &Map<String, Value>,
        good: &HashSet<&str>,
    ) -> bool {
        let get = |n: &str| valid_str(obj, good, n);
        let mut broken = false;
        let mut compare = |known: Option<&String>, value: Option<&str>| {
            if let (Some(k), Some(v)) = (known, value) {
                self.cross_checked += 1;
                broken |= norm(k) != norm(v);
            }
        };
        let person_refs: &[(&str, &str)] = match dataset {
            "subsistence_allowance" | "social_insurance" => &[("id_number", "name")],
            "business_registration" => &[("legal_rep_id_number", "legal_rep_name")],
            "birth_certificate" => &[("mother_id_number", "mother_name")],
            _ => &[],
        };
        for (key, attr) in person_refs {
            if let Some(k) = get(key) {
                compare(self.names.get(k), get(attr));
                if dataset == "subsistence_allowance" {
                    compare(self.genders.get(k), get("gender"));
                }
            }
        }
        if dataset == "taxpayer_registration"
            && let Some(k) = get("uscc")
        {
            compare(self.entities.get(k), get("taxpayer_name"));
        }
        broken
    }

    /// The values an authoritative record delivers.
    fn deliver(&mut self, dataset: &str, obj: &Map<String, Value>, good: &HashSet<&str>) {
        let get = |n: &str| valid_str(obj, good, n);
        if dataset == "household_registration"
            && let Some(id) = get("id_number")
        {
            if let Some(n) = get("name") {
                self.names.insert(id.to_string(), n.to_string());
            }
            if let Some(g) = get("gender") {
                self.genders.insert(id.to_string(), g.to_string());
            }
        }
        if dataset == "business_registration"
            && let (Some(k), Some(n)) = (get("uscc"), get("entity_name"))
        {
            self.entities.insert(k.to_string(), n.to_string());
        }
    }
}

/// A field's string value, if it passed its format checks.
fn valid_str<'v>(obj: &'v Map<String, Value>, good: &HashSet<&str>, n: &str) -> Option<&'v str> {
    obj.get(n)
        .and_then(Value::as_str)
        .filter(|_| good.contains(n))
}

/// Within-record rules, only when their inputs are valid.
fn rules_broken(
    obj: &Map<String, Value>,
    good: &HashSet<&str>,
    updated: Option<DateTime<chrono::FixedOffset>>,
) -> bool {
    let get = |n: &str| valid_str(obj, good, n);
    let parity_broken = |id: &str, g: &str| {
        let odd = (id.as_bytes()[16] - b'0') % 2 == 1;
        (g == "1" && !odd) || (g == "2" && odd)
    };
    let mut broken = false;
    if let (Some(id), Some(g)) = (get("id_number"), get("gender")) {
        broken |= parity_broken(id, g);
    }
    if let (Some(id), Some(bd)) = (get("id_number"), get("birth_date")) {
        broken |= bd.replace('-', "") != id[6..14];
    }
    if let (Some(est), Some(u)) = (get("establishment_date"), updated) {
        broken |= NaiveDate::parse_from_str(est, "%Y-%m-%d").unwrap() > u.date_naive();
    }
    if let (Some(b), Some(u)) = (get("birth_datetime"), updated) {
        broken |= DateTime::parse_from_rfc3339(b).unwrap() > u;
    }
    if let Some(m) = get("mother_id_number") {
        broken |= (m.as_bytes()[16] - b'0') % 2 == 1;
    }
    broken
}

fn with_truth(sim: &mut Simulator, count: i64, step: i64) -> Vec<(SimMessage, Option<DefectKind>)> {
    (0..count)
        .map(|i| {
            let m = sim.next_at(START + i * step);
            (m, sim.last_defect())
        })
        .collect()
}

/// Runs the oracle over `count` messages: every defect found exactly, every clean
/// record clean. Returns the defects per kind.
fn oracle_agrees(checks: &Checks, count: i64, step: i64) -> BTreeMap<DefectKind, usize> {
    let mut sim = Simulator::new(SimConfig::default(), checks);
    let mut checker = Checker::new(checks);
    let mut per_kind: BTreeMap<DefectKind, usize> = BTreeMap::new();
    let mut cross_not_seen = 0;
    let mut variants = 0;
    for (m, defect) in with_truth(&mut sim, count, step) {
        let found = checker.check(&m);
        let Some(k) = defect else {
            assert!(
                found.is_empty(),
                "clean record fails {found:?}: {}",
                show(&m)
            );
            let text = String::from_utf8_lossy(&m.payload);
            if text.contains(" \"") || text.contains("\u{3000}\"") || text.contains("\" ") {
                variants += 1;
            }
            continue;
        };
        *per_kind.entry(k).or_default() += 1;
        if k == DefectKind::CrossSource && found.is_empty() {
            // No authoritative value delivered yet for that entity.
            cross_not_seen += 1;
            continue;
        }
        assert_eq!(found, BTreeSet::from([label(k)]), "{k:?}: {}", show(&m));
    }
    assert!(
        cross_not_seen * 10 <= per_kind[&DefectKind::CrossSource],
        "{cross_not_seen} cross-source defects without an authoritative value"
    );
    assert!(
        checker.cross_checked as i64 > count * 2 / 5,
        "{}",
        checker.cross_checked
    );
    assert!(variants > 0, "no NFKC/trim variant names");
    println!("defects per kind in {count} messages: {per_kind:?}; variants {variants}");
    per_kind
}

#[test]
fn same_seed_same_messages() {
    let checks = checks();
    let a = Simulator::new(SimConfig::default(), &checks).batch(5000, START, 250);
    let b = Simulator::new(SimConfig::default(), &checks).batch(5000, START, 250);
    assert_eq!(a, b);
    let other = SimConfig {
        seed: 7,
        ..SimConfig::default()
    };
    let c = Simulator::new(other, &checks).batch(5000, START, 250);
    assert_ne!(a, c);
    assert!(
        a.iter()
            .enumerate()
            .all(|(i, m)| m.timestamp_ms == START + 250 * i as i64)
    );
}

#[test]
fn all_topics_occur_in_the_profile_mix() {
    let checks = checks();
    let sim = Simulator::new(SimConfig::default(), &checks);
    assert_eq!(sim.topics(), checks.topics());
    assert_eq!(sim.topics().len(), 6);
    let msgs = Simulator::new(SimConfig::default(), &checks).batch(20_000, START, 1000);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &msgs {
        *counts.entry(m.topic.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 6, "{counts:?}");
    let total: u32 = checks
        .datasets
        .iter()
        .map(|d| profile::profile(&d.name).share)
        .sum();
    for d in &checks.datasets {
        let share = counts[d.topic.as_str()] as f64 / msgs.len() as f64;
        let want = f64::from(profile::profile(&d.name).share) / f64::from(total);
        println!("{} {share:.4}", d.name);
        assert!((share - want).abs() < 0.02, "{} {share}", d.name);
    }
}

#[test]
fn the_profile_table_names_only_what_the_contracts_have() {
    let checks = checks();
    for p in profile::PROFILES {
        let d = checks
            .datasets
            .iter()
            .find(|d| d.name == p.dataset)
            .unwrap_or_else(|| panic!("no contract for profile {}", p.dataset));
        let names = p
            .values
            .iter()
            .map(|v| v.0)
            .chain(p.pools.iter().map(|v| v.0));
        for name in names {
            assert!(
                d.by_name.contains_key(name),
                "{}: no field {name}",
                p.dataset
            );
        }
        for (id, _) in p.expression_breaks {
            assert!(
                d.rules.iter().any(|r| d.checks[r.check].id == *id),
                "{}: no rule {id}",
                p.dataset
            );
        }
    }
    for d in &checks.datasets {
        assert_ne!(
            profile::profile(&d.name).dataset,
            "",
            "no profile for {}",
            d.name
        );
    }
}

#[test]
fn clean_payloads_are_objects_with_required_fields() {
    let checks = checks();
    let mut sim = Simulator::new(SimConfig::default(), &checks);
    for (m, defect) in with_truth(&mut sim, 20_000, 1000) {
        let d = &checks.datasets[dataset_of(&checks, &m)];
        let parsed = serde_json::from_slice::<Value>(&m.payload);
        if defect == Some(DefectKind::Malformed) {
            assert!(!matches!(parsed, Ok(Value::Object(_))), "{}", show(&m));
            continue;
        }
        let Ok(Value::Object(obj)) = parsed else {
            panic!("not an object: {}", show(&m))
        };
        let missing = (d.fields.iter())
            .filter(|f| f.spec.required && !obj.contains_key(&f.name))
            .count();
        let allowed = usize::from(defect == Some(DefectKind::MissingField));
        assert_eq!(missing, allowed, "{defect:?} {}", show(&m));
        // The key is the entity key whenever the record carries a usable one.
        let key_field = obj.get(&d.fields[d.key_field].name).and_then(Value::as_str);
        if let Some(k) = key_field.filter(|k| !k.trim().is_empty()) {
            assert_eq!(m.key.as_deref(), Some(k));
        }
    }
}

#[test]
fn defects_are_exactly_what_an_independent_checker_finds() {
    let per_kind = oracle_agrees(&checks(), 50_000, 1500);
    for k in DefectKind::ALL {
        assert!(
            per_kind.contains_key(&k),
            "{k:?} never injected: {per_kind:?}"
        );
    }
}

/// A copy of the checks folder with `edit(relative path, text)` applied to each file.
fn edited_checks(edit: impl Fn(&str, String) -> String) -> (tempfile::TempDir, Checks) {
    fn copy(from: &Path, to: &Path, rel: &str, edit: &dyn Fn(&str, String) -> String) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let name = e.file_name().into_string().unwrap();
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.path().is_dir() {
                copy(&e.path(), &to.join(&name), &rel, edit);
            } else {
                let text = std::fs::read_to_string(e.path()).unwrap();
                std::fs::write(to.join(&name), edit(&rel, text)).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(Path::new("checks"), dir.path(), "", &edit);
    let checks = crate::catalog::load(dir.path()).expect("the edited checks load");
    (dir, checks)
}

#[test]
fn the_simulator_follows_edited_contracts() {
    let (_dir, checks) = edited_checks(|path, text| match path {
        "exchange.yaml" => text.replace("time_zone: Asia/Shanghai", "time_zone: Europe/Berlin"),
        "civil_affairs/subsistence_allowance.yaml" => text
            .replace(
                "enum: [active, suspended, terminated]",
                "enum: [open, closed]",
            )
            .replace("minimum: 1, maximum: 20", "minimum: 2, maximum: 3"),
        "market_regulation/business_registration.yaml" => {
            text.replace("max_age_hours: 24", "max_age_hours: 2")
        }
        _ => text,
    });
    assert_eq!(checks.time_zone, chrono_tz::Europe::Berlin);
    let per_kind = oracle_agrees(&checks, 20_000, 1500);
    assert!(per_kind.contains_key(&DefectKind::Stale), "{per_kind:?}");
    let mut sim = Simulator::new(SimConfig::default(), &checks);
    let (mut statuses, mut sizes) = (BTreeSet::new(), BTreeSet::new());
    for (m, defect) in with_truth(&mut sim, 5000, 1000) {
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&m.payload) else {
            continue;
        };
        let updated = obj.get("updated_at").and_then(Value::as_str).unwrap_or("");
        if defect.is_none() {
            assert!(
                updated.ends_with("+01:00") || updated.ends_with("+02:00"),
                "{updated}"
            );
        }
        if defect.is_none() && m.topic.ends_with("subsistence_allowance") {
            statuses.insert(obj["status"].as_str().unwrap().to_string());
            sizes.insert(obj["household_size"].as_i64().unwrap());
        }
    }
    assert_eq!(statuses, BTreeSet::from(["closed".into(), "open".into()]));
    assert_eq!(sizes, BTreeSet::from([2, 3]));
}

#[test]
fn defect_share_per_department_follows_the_configured_rate() {
    let checks = checks();
    let mut sim = Simulator::new(SimConfig::default(), &checks);
    let n_ds = checks.datasets.len();
    let (mut records, mut defects) = (vec![0usize; n_ds], vec![0usize; n_ds]);
    for (m, defect) in with_truth(&mut sim, 20_000, 1000) {
        let ds = dataset_of(&checks, &m);
        records[ds] += 1;
        defects[ds] += usize::from(defect.is_some());
    }
    let rates = SimConfig::default_rates();
    let mut observed = Vec::new();
    for (ds, d) in checks.datasets.iter().enumerate() {
        let rate = rates.iter().find(|r| r.0 == d.department).unwrap().1;
        let n = records[ds] as f64;
        let share = defects[ds] as f64 / n;
        let band = 4.0 * (rate * (1.0 - rate) / n).sqrt() + 0.002;
        assert!(
            (share - rate).abs() <= band,
            "{} {share} vs {rate}",
            d.department
        );
        observed.push((d.department.as_str(), share));
    }
    let share = |d: &str| observed.iter().find(|o| o.0 == d).unwrap().1;
    assert!(share("public_security") < share("tax"));
    assert!(share("tax") < share("health"));
    let distinct: BTreeSet<u64> = rates.iter().map(|r| r.1.to_bits()).collect();
    assert_eq!(distinct.len(), 6, "default rates differ per department");
}

#[test]
fn zero_and_full_rates() {
    let checks = checks();
    let mut sim = Simulator::new(config(&[]), &checks);
    let mut checker = Checker::new(&checks);
    for (m, defect) in with_truth(&mut sim, 10_000, 1000) {
        assert_eq!(defect, None);
        let found = checker.check(&m);
        assert!(found.is_empty(), "{found:?} {}", show(&m));
    }
    let all: Vec<(&str, f64)> = checks
        .departments
        .iter()
        .map(|d| (d.as_str(), 1.0))
        .collect();
    let mut sim = Simulator::new(config(&all), &checks);
    assert!(
        with_truth(&mut sim, 5_000, 1000)
            .iter()
            .all(|(_, d)| d.is_some())
    );
}

#[test]
fn population_ids_pass_their_check_characters() {
    let checks = checks();
    let sim = Simulator::new(SimConfig::default(), &checks);
    let pop = &sim.population;
    assert_eq!(pop.persons.len(), 5000);
    assert_eq!(pop.companies.len(), 1000);
    assert!(resident_check_ok("11010519491231002X"), "published example");
    assert!(uscc_check_ok("91350100M000100Y43"), "published example");
    let checker = Checker::new(&checks);
    let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    for p in &pop.persons {
        assert!(checker.resident_id(&p.id, today), "{}", p.id);
        assert_eq!(resident_id::check_char(&p.id[..17]), p.id.chars().last());
        let odd = (p.id.as_bytes()[16] - b'0') % 2 == 1;
        assert_eq!(odd, p.male);
        assert_eq!(&p.id[6..14], p.birth.format("%Y%m%d").to_string());
        assert!(p.phone.as_deref().is_none_or(mobile_ok));
    }
    for c in &pop.companies {
        assert!(uscc_check_ok(&c.uscc), "{}", c.uscc);
        assert_eq!(uscc::check_char(&c.uscc[..17]), c.uscc.chars().last());
        assert!(c.uscc.starts_with("91") && checker.codes.contains(&c.uscc[2..8]));
        assert!(c.name.chars().count() <= 100);
    }
    let distinct: HashSet<&str> = pop.persons.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(distinct.len(), pop.persons.len());
}

#[test]
fn tiny_population_still_works() {
    let cfg = SimConfig {
        persons: 0,
        companies: 0,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(cfg, &checks());
    let msgs = sim.batch(2000, START, 1000);
    assert_eq!(msgs.len(), 2000);
    let topics: BTreeSet<&str> = msgs.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(topics.len(), 6);
}

#[test]
fn any_clock_value_is_accepted() {
    let checks = checks();
    let all: Vec<(&str, f64)> = checks
        .departments
        .iter()
        .map(|d| (d.as_str(), 0.5))
        .collect();
    let mut sim = Simulator::new(config(&all), &checks);
    for ts in [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        START,
        i64::MAX - 1,
        i64::MAX,
    ] {
        for _ in 0..500 {
            assert_eq!(sim.next_at(ts).timestamp_ms, ts);
        }
    }
    assert_eq!(sim.batch(100, i64::MAX - 10, 1).len(), 100);
}

#[test]
fn generation_speed() {
    let mut sim = Simulator::new(SimConfig::default(), &checks());
    let t = Instant::now();
    let msgs = sim.batch(100_000, START, 10);
    let elapsed = t.elapsed();
    let bytes: usize = msgs.iter().map(|m| m.payload.len()).sum();
    println!("100,000 messages ({bytes} bytes) in {elapsed:?}");
    assert_eq!(msgs.len(), 100_000);
    assert!(msgs.iter().all(|m| !m.payload.is_empty()));
}

//! Reference data under `checks/reference/`: code tables (`<name>.csv`, a
//! `code` column first) and the division table the `cn-*` formats check
//! against. Vendored in the project so operators update them with the standard.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::error::Collector;
use super::field::FormatContext;
use crate::formats::DivisionTable;

/// Loads every table in `dir`; `divisions` names the file of the division table.
pub(crate) fn load(dir: &Path, divisions: &str, errors: &mut Collector) -> FormatContext {
    let mut ctx = FormatContext::default();
    let mut paths: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect(),
        Err(e) => {
            errors.push(dir, "-", format!("cannot list reference tables: {e}"));
            return ctx;
        }
    };
    paths.sort();
    let mut found_divisions = false;
    let mut tables = BTreeMap::new();
    for path in paths {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(String::from) else {
            continue;
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(&path, "-", format!("cannot read: {e}"));
                continue;
            }
        };
        if name == divisions {
            found_divisions = true;
            match DivisionTable::from_csv(&text) {
                Ok(t) => ctx.divisions = Arc::new(t),
                Err(e) => errors.push(&path, "-", e),
            }
        }
        match code_table(&text) {
            Ok(codes) => {
                tables.insert(name, Arc::new(codes));
            }
            Err((line, message)) => errors.push(&path, format!("line {line}"), message),
        }
    }
    if !found_divisions {
        errors.push(
            &dir.join(format!("{divisions}.csv")),
            "-",
            "the division table is missing",
        );
    }
    ctx.code_tables = tables;
    ctx
}

/// The codes of a CSV table whose header's first column is `code`.
fn code_table(text: &str) -> Result<FxHashSet<String>, (usize, String)> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header))
            if header.trim_start_matches('\u{feff}').split(',').next() == Some("code") => {}
        _ => {
            return Err((
                1,
                "the first line must be a header starting with `code`".into(),
            ));
        }
    }
    // Fx: codes are public, short and looked up per record; no need for a DoS-resistant hash.
    let mut codes = FxHashSet::default();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let code = line.split(',').next().unwrap_or("").trim();
        if code.is_empty() {
            return Err((i + 1, "empty code".into()));
        }
        if !codes.insert(code.to_string()) {
            return Err((i + 1, format!("duplicate code `{code}`")));
        }
    }
    if codes.is_empty() {
        return Err((1, "the table has no codes".into()));
    }
    Ok(codes)
}

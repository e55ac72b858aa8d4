//! `dqmon verify-report FILE`: checks a sealed chain (from `GET
//! /api/v1/seals/chain` or `dqmon scores --chain`) without any store: its
//! canonical form, every version's SHA-256, and that each amends the one
//! before. Exit 0 with the head's hash; 1 with every problem found.

use std::path::Path;

use anyhow::Context as _;

use crate::tally::seal::verify;

pub(crate) fn run(file: &Path) -> anyhow::Result<()> {
    let bytes = if file == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?
    };
    match verify(&bytes) {
        Ok(v) => {
            println!(
                "{}: ok: {}..{}, {} version(s), newest sha256 {}",
                file.display(),
                v.period.from,
                v.period.to,
                v.versions,
                v.head
            );
            Ok(())
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{}: {p}", file.display());
            }
            anyhow::bail!(
                "{}: not a valid sealed chain ({} problem(s))",
                file.display(),
                problems.len()
            )
        }
    }
}

//! Errors found while loading the contracts: each names the file, the place in
//! it and what is wrong, and loading collects all of them before failing so a
//! steward fixes a broken folder in one pass.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one contract file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// The file, as given on the command line joined with its name in the folder.
    pub(crate) path: PathBuf,
    /// Where in the file: a dotted path such as `fields.name.format`, or `-` for the whole file.
    pub(crate) location: String,
    /// What is wrong, for a human.
    pub(crate) message: String,
}

impl ContractError {
    pub(crate) fn new(
        path: &Path,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.to_path_buf(),
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path.display(),
            self.location,
            self.message
        )
    }
}

/// Every problem found in a checks folder; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContractErrors(pub Vec<ContractError>);

impl fmt::Display for ContractErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors while loading continues past each one.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    errors: Vec<ContractError>,
}

impl Collector {
    pub(crate) fn push(
        &mut self,
        path: &Path,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.errors
            .push(ContractError::new(path, location, message));
    }

    /// Takes over another collector's errors.
    pub(crate) fn absorb(&mut self, other: Collector) {
        self.errors.extend(other.errors);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn finish<T>(mut self, value: T) -> Result<T, ContractErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            self.errors.sort_by(|a, b| {
                (&a.path, &a.location, &a.message).cmp(&(&b.path, &b.location, &b.message))
            });
            self.errors.dedup();
            Err(ContractErrors(self.errors))
        }
    }
}

//! Whether a store of some schema version may be opened: the one rule both
//! backends follow, so a reading command never migrates and `dqmon store
//! migrate` is the only way up.

use super::StoreError;

/// Whether a database of schema `version` may be opened by a dqmon that
/// writes `supported`; `may_migrate` for `dqmon store migrate` (and for a
/// writer creating the schema of an empty database, version 0).
pub(crate) fn check_version(
    version: i64,
    supported: i64,
    may_migrate: bool,
) -> Result<(), StoreError> {
    match version {
        v if v > supported => Err(StoreError::UnsupportedSchema {
            found: v,
            supported,
        }),
        v if v == supported => Ok(()),
        // A new database gets the schema; an older one only on request.
        0 => Ok(()),
        _ if may_migrate => Ok(()),
        v => Err(StoreError::NeedsMigration {
            found: v,
            supported,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_schema_is_migrated_only_on_request() {
        // As a dqmon of schema 3 would judge: a new database gets the schema,
        // the current one opens as it is, an older one waits for `dqmon store
        // migrate`, a newer one is refused even then.
        assert!(check_version(0, 3, false).is_ok());
        assert!(check_version(3, 3, false).is_ok());
        for older in [1, 2] {
            assert!(matches!(
                check_version(older, 3, false),
                Err(StoreError::NeedsMigration { found, supported: 3 }) if found == older
            ));
            assert!(check_version(older, 3, true).is_ok());
        }
        assert!(matches!(
            check_version(4, 3, true),
            Err(StoreError::UnsupportedSchema { .. })
        ));
        let message = StoreError::NeedsMigration {
            found: 1,
            supported: 2,
        }
        .to_string();
        assert!(message.contains("dqmon store migrate"), "{message}");
    }
}

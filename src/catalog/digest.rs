//! The contracts' content hash: which data dictionary a sealed report was
//! judged by. SHA-256 over every file of the checks folder (dotfiles and
//! dot-folders left out: editors' and version control's), in the order of
//! their relative paths, each as its path and its bytes, both
//! length-prefixed so no two folders hash alike by moving bytes between a
//! name and a content.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::Collector;

/// Hex SHA-256 of the folder's files; an unreadable file is reported.
pub(crate) fn contracts_sha256(dir: &Path, errors: &mut Collector) -> String {
    let mut files = Vec::new();
    collect(dir, dir, &mut files, errors);
    files.sort();
    let mut hash = Sha256::new();
    for relative in files {
        let path = dir.join(&relative);
        match std::fs::read(&path) {
            Ok(bytes) => {
                // '/' on every system, so one folder hashes alike everywhere.
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                hash.update((name.len() as u64).to_be_bytes());
                hash.update(name.as_bytes());
                hash.update((bytes.len() as u64).to_be_bytes());
                hash.update(&bytes);
            }
            Err(e) => errors.push(&path, "-", format!("cannot read: {e}")),
        }
    }
    hex::encode(hash.finalize())
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Collector) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return errors.push(dir, "-", format!("cannot list: {e}")),
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files, errors);
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_path_buf());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(dir: &Path) -> String {
        let mut errors = Collector::default();
        let d = contracts_sha256(dir, &mut errors);
        assert!(errors.is_empty());
        d
    }

    #[test]
    fn the_hash_follows_content_and_names_not_dotfiles() {
        let dir = std::env::temp_dir().join(format!("dqmon-digest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("reference")).unwrap();
        std::fs::write(dir.join("a.yaml"), "x: 1\n").unwrap();
        std::fs::write(dir.join("reference/t.csv"), "k,v\n").unwrap();
        let first = digest(&dir);
        assert_eq!(first.len(), 64);
        assert_eq!(digest(&dir), first);
        std::fs::write(dir.join(".a.yaml.swp"), "junk").unwrap();
        assert_eq!(digest(&dir), first, "dotfiles are not contracts");
        std::fs::write(dir.join("a.yaml"), "x: 2\n").unwrap();
        let changed = digest(&dir);
        assert_ne!(changed, first);
        // The same bytes under another name are another folder.
        std::fs::rename(dir.join("a.yaml"), dir.join("b.yaml")).unwrap();
        assert_ne!(digest(&dir), changed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

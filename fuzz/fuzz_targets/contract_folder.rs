//! Any text as one contract of an otherwise valid checks folder through the
//! loader: the folder loads or every problem is reported, never a panic.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

/// A private copy of `checks/`, whose tax contract each input replaces.
static FOLDER: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("dqmon-fuzz-checks-{}", std::process::id()));
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../checks"), &dir);
    dir
});

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let contract = FOLDER.join("tax/taxpayer_registration.yaml");
    std::fs::write(&contract, data).unwrap();
    if let Err(errors) = dqmon::catalog::load(&FOLDER) {
        // Every problem names where it is.
        assert!(!errors.0.is_empty());
        let _ = errors.to_string();
    }
});

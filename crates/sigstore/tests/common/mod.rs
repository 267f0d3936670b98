//! Locating the shared corpus: `$CAIRN_CORPUS`, else `<workspace>/../shared/corpus`.
//! Missing corpus: a test fails under `CI=true` and is reported as skipped otherwise.

use std::path::PathBuf;

#[allow(dead_code)] // not every test binary uses it
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("CAIRN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "test corpus not found at {} (set CAIRN_CORPUS)",
            dir.display()
        );
    }
    eprintln!("skipping: test corpus not found at {}", dir.display());
    None
}

#[allow(dead_code)] // not every test binary uses it
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

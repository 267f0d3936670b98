//! Locates `../shared/corpus` (or `$CAIRN_CORPUS`) for tests.
//!
//! A test that needs the corpus must fail, not skip, when it is missing under CI: a green
//! run that silently checked nothing would be a lie.

use std::path::PathBuf;

/// The corpus directory. Panics (failing the test) when it cannot be found.
pub fn corpus() -> PathBuf {
    if let Some(p) = std::env::var_os("CAIRN_CORPUS") {
        let p = PathBuf::from(p);
        assert!(
            p.is_dir(),
            "CAIRN_CORPUS={} is not a directory",
            p.display()
        );
        return p;
    }
    // crates/<name> -> workspace root -> ../shared/corpus
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = root.join("../shared/corpus");
    assert!(
        p.is_dir(),
        "test corpus not found at {} (set CAIRN_CORPUS); tests that need it fail rather than skip",
        p.display()
    );
    p.canonicalize().unwrap_or(p)
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

#[cfg(feature = "nitro")]
pub mod nitro;

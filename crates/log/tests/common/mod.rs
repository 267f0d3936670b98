//! Shared by the integration tests: where the shared corpus lives.
#![allow(dead_code)]

use std::path::PathBuf;

/// `$CAIRN_CORPUS`, else `<workspace>/../shared/corpus`. Under `CI=true` a missing corpus
/// is a failure; elsewhere too, since every caller needs the data to assert anything.
pub fn corpus() -> PathBuf {
    let dir = match std::env::var_os("CAIRN_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    assert!(
        dir.is_dir(),
        "test corpus not found at {} (set CAIRN_CORPUS); CI={}",
        dir.display(),
        std::env::var("CI").unwrap_or_default()
    );
    dir
}

#[cfg(all(feature = "server", feature = "client"))]
pub mod server;

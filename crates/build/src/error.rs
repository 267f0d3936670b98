//! Typed errors of the build and of the consumer-side input checks.

use std::path::PathBuf;

use thiserror::Error;

/// Why a build was refused or failed. A build that ends in any of these is never signed.
#[derive(Debug, Error)]
pub enum BuildError {
    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("source {path}: {reason}")]
    Source { path: PathBuf, reason: String },
    #[error("source {path} is dirty: {detail}; commit or stash the changes first")]
    DirtySource { path: PathBuf, detail: String },
    #[error("toolchain {path}: {reason}")]
    Toolchain { path: PathBuf, reason: String },
    #[error(transparent)]
    Dependency(#[from] DependencyError),
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("build command failed: {0}")]
    CommandFailed(String),
    #[error("build exceeded its wall-clock limit of {limit_secs} s and was killed")]
    Timeout { limit_secs: u64 },
    #[error("output {path}: {reason}")]
    Output { path: String, reason: String },
    #[error("no output matched {pattern:?} under {dir}")]
    MissingOutput { pattern: String, dir: PathBuf },
    #[error("{what} changed during the build: {path}: expected {expected}, found {found}")]
    InputChanged {
        what: &'static str,
        path: String,
        expected: String,
        found: String,
    },
    #[error("signing: {0}")]
    Signing(String),
    #[error("attester: {0}")]
    Attester(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BuildError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// A pinned dependency that does not match its lockfile, or a lockfile cairn cannot use.
#[derive(Debug, Error, PartialEq)]
pub enum DependencyError {
    #[error("{lockfile}: package {package}: digest mismatch: expected {expected}, found {found} ({file})")]
    Mismatch {
        lockfile: String,
        package: String,
        expected: String,
        found: String,
        file: String,
    },
    #[error("{lockfile}: package {package}: {reason}")]
    Unpinned {
        lockfile: String,
        package: String,
        reason: String,
    },
    #[error("{lockfile}: package {package}: no artifact found in {store}")]
    Missing {
        lockfile: String,
        package: String,
        store: String,
    },
    #[error("{lockfile}: {reason}")]
    Malformed { lockfile: String, reason: String },
}

//! Dependencies pinned by digest, checked offline before the build starts, and again
//! after it (from the supervisor's side) before anything is signed.
//!
//! Each checker reads a lockfile from the source tree and the artifacts from a store the
//! sandbox will see read-only, and returns one [`ResolvedDep`] per package. A mismatch is
//! a [`DependencyError`] naming the package, the expected and the found digest.

pub mod cargo;
pub mod gosum;
pub mod npm;
pub mod pip;

use std::path::Path;

use cairn_formats::{DigestSet, ResourceDescriptor};

use crate::error::DependencyError;
use crate::hash;

/// Largest lockfile cairn reads.
pub const MAX_LOCKFILE: u64 = 32 * 1024 * 1024;

/// One pinned dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedDep {
    /// Package URL, e.g. `pkg:cargo/itoa@1.0.11`.
    pub purl: String,
    /// Lowercase hex digests (`sha256`, `sha512`, `gitCommit`, …).
    pub digest: DigestSet,
    /// The ecosystem's native pin when it is not plain hex (SRI, Go `h1:`).
    pub native: Option<String>,
    /// Where the checked artifact lives, relative to its store, when there is one.
    pub artifact: Option<String>,
}

impl ResolvedDep {
    pub fn descriptor(&self) -> ResourceDescriptor {
        let mut ann = std::collections::BTreeMap::new();
        ann.insert("kind".to_string(), serde_json::Value::from("package"));
        if let Some(n) = &self.native {
            ann.insert(
                "nativeDigest".to_string(),
                serde_json::Value::from(n.clone()),
            );
        }
        ResourceDescriptor {
            uri: Some(self.purl.clone()),
            digest: self.digest.clone(),
            annotations: Some(ann),
            ..Default::default()
        }
    }
}

/// A lockfile found in the source tree, with its digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Lockfile {
    /// Path relative to the source root.
    pub path: String,
    pub sha256: String,
}

/// Lockfile names cairn knows, relative to the source root.
pub const LOCKFILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "requirements.txt",
    "uv.lock",
    "go.sum",
];

/// The known lockfiles present in `source`, hashed.
pub fn find_lockfiles(source: &Path) -> Result<Vec<Lockfile>, DependencyError> {
    let mut out = Vec::new();
    for name in LOCKFILES {
        let p = source.join(name);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_file() => {
                let bytes = read_limited(&p, name)?;
                out.push(Lockfile {
                    path: name.to_string(),
                    sha256: hash::sha256_hex(&bytes),
                });
            }
            Ok(_) => {
                return Err(DependencyError::Malformed {
                    lockfile: name.to_string(),
                    reason: "is not a regular file".into(),
                });
            }
            Err(_) => {}
        }
    }
    Ok(out)
}

pub(crate) fn read_limited(path: &Path, name: &str) -> Result<Vec<u8>, DependencyError> {
    let malformed = |reason: String| DependencyError::Malformed {
        lockfile: name.to_string(),
        reason,
    };
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| malformed(format!("cannot read: {e}")))?;
    if meta.len() > MAX_LOCKFILE {
        return Err(malformed(format!(
            "{} bytes exceeds the {MAX_LOCKFILE}-byte limit",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| malformed(format!("cannot read: {e}")))
}

pub(crate) fn read_text(path: &Path, name: &str) -> Result<String, DependencyError> {
    String::from_utf8(read_limited(path, name)?).map_err(|_| DependencyError::Malformed {
        lockfile: name.to_string(),
        reason: "not UTF-8".into(),
    })
}

/// Percent-encodes a purl name segment (RFC 3986 unreserved characters stay).
pub(crate) fn purl_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

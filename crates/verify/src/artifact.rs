//! The artifact being verified: a file (hashed lazily, only with the algorithms the
//! subjects name) or a digest given on the command line as `sha256:<hex>`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_formats::digest::parse_prefixed_digest;
use cairn_formats::DigestAlgorithm;

use crate::error::VerifyError;

#[derive(Debug)]
pub struct ArtifactInput {
    source: Source,
    cache: RefCell<BTreeMap<DigestAlgorithm, Vec<u8>>>,
}

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Digest,
}

impl ArtifactInput {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        ArtifactInput {
            source: Source::File(path.into()),
            cache: RefCell::new(BTreeMap::new()),
        }
    }

    pub fn digest(alg: DigestAlgorithm, bytes: Vec<u8>) -> Self {
        let mut m = BTreeMap::new();
        m.insert(alg, bytes);
        ArtifactInput {
            source: Source::Digest,
            cache: RefCell::new(m),
        }
    }

    /// Interprets a command-line argument the way the Sigstore conformance protocol does:
    /// `sha256:<64 hex>` (or sha384/sha512) is a digest only when no file of that name
    /// exists; anything else is a path.
    pub fn from_arg(arg: &str) -> Self {
        if !Path::new(arg).exists() {
            if let Some((alg, bytes)) = parse_prefixed_digest(arg) {
                return ArtifactInput::digest(alg, bytes);
            }
        }
        ArtifactInput::file(arg)
    }

    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::File(p) => Some(p),
            Source::Digest => None,
        }
    }

    pub fn display_name(&self) -> String {
        match &self.source {
            Source::File(p) => p.display().to_string(),
            Source::Digest => {
                let c = self.cache.borrow();
                c.iter()
                    .next()
                    .map(|(a, d)| format!("{a}:{}", hex::encode(d)))
                    .unwrap_or_default()
            }
        }
    }

    /// Fails early when the file cannot be read, so that input errors are told apart from
    /// verification failures.
    pub fn check_readable(&self) -> Result<(), VerifyError> {
        if let Source::File(p) = &self.source {
            let meta = std::fs::metadata(p).map_err(|e| VerifyError::Io {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?;
            if !meta.is_file() {
                return Err(VerifyError::Io {
                    path: p.display().to_string(),
                    reason: "not a regular file".into(),
                });
            }
        }
        Ok(())
    }

    /// Digests with the given algorithms, computing the missing ones in one pass over the
    /// file. For a digest argument, only the algorithm given is known.
    pub fn digests(
        &self,
        algs: &[DigestAlgorithm],
    ) -> Result<BTreeMap<DigestAlgorithm, Vec<u8>>, VerifyError> {
        let missing: Vec<DigestAlgorithm> = algs
            .iter()
            .copied()
            .filter(|a| !self.cache.borrow().contains_key(a))
            .collect();
        if let (Source::File(p), false) = (&self.source, missing.is_empty()) {
            let f = std::fs::File::open(p).map_err(|e| VerifyError::Io {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?;
            let computed =
                cairn_sign::digest::digest_reader(f, &missing).map_err(|e| VerifyError::Io {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
            self.cache.borrow_mut().extend(computed);
        }
        let c = self.cache.borrow();
        Ok(algs
            .iter()
            .filter_map(|a| c.get(a).map(|d| (*a, d.clone())))
            .collect())
    }

    /// All digests known so far, as an in-toto DigestSet-like map, for the report.
    pub fn known_digests(&self) -> BTreeMap<String, String> {
        self.cache
            .borrow()
            .iter()
            .map(|(a, d)| (a.name().to_string(), hex::encode(d)))
            .collect()
    }
}

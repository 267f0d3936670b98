//! The Sigstore conformance `verify-bundle` flow: one bundle, one artifact (path or
//! `sha256:<hex>`), an exact identity and issuer or a managed key, and the public-good
//! (or staging, or `--trusted-root`) root. Shared by `cairn conformance` and the tests.

use std::path::{Path, PathBuf};

use crate::error::{PolicyError, SigstoreError};
use crate::model::VerifiedBundle;
use crate::policy::{require_all, IdentityPolicy};
use crate::trust::{TrustRoots, TrustSource};
use crate::verify::{verify_bundle, ArtifactInput, PublicKeyInput};

/// Artifacts above this size are refused by the in-memory conformance flow.
pub const MAX_ARTIFACT_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone)]
pub enum Material {
    Identity { identity: String, issuer: String },
    Key(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub staging: bool,
    pub bundle: PathBuf,
    pub material: Material,
    pub trusted_root: Option<PathBuf>,
    /// `FILE_OR_DIGEST` exactly as given.
    pub artifact: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("reading {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(transparent)]
    Verify(#[from] SigstoreError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// The artifact argument: a digest only with the `sha256:` prefix, 64 hex digits, and no
/// file of that name (the protocol's rule); otherwise a path.
pub enum ArtifactArg {
    Digest([u8; 32]),
    Path(PathBuf),
}

pub fn parse_artifact_arg(arg: &str) -> ArtifactArg {
    if let Some(hex_part) = arg.strip_prefix("sha256:") {
        if hex_part.len() == 64 && !Path::new(arg).exists() {
            let mut out = [0u8; 32];
            if hex::decode_to_slice(hex_part, &mut out).is_ok() {
                return ArtifactArg::Digest(out);
            }
        }
    }
    ArtifactArg::Path(PathBuf::from(arg))
}

pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ConformanceError> {
    let err = |reason: String| ConformanceError::Read {
        path: path.display().to_string(),
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > limit {
        return Err(err(format!("{len} bytes, over the {limit}-byte limit")));
    }
    std::fs::read(path).map_err(|e| err(e.to_string()))
}

pub fn verify(req: &Request) -> Result<VerifiedBundle, ConformanceError> {
    let source = match &req.trusted_root {
        Some(p) => TrustSource::File(p.clone()),
        None => TrustSource::Embedded {
            staging: req.staging,
            updated_dir: None,
        },
    };
    let roots = TrustRoots::new(source);
    let bundle = read_limited(&req.bundle, crate::verify::MAX_BUNDLE_BYTES)?;
    let bytes;
    let digest;
    let artifact = match parse_artifact_arg(&req.artifact) {
        ArtifactArg::Digest(d) => {
            digest = d;
            ArtifactInput::Digest(cairn_formats::DigestAlgorithm::Sha256, &digest)
        }
        ArtifactArg::Path(p) => {
            bytes = read_limited(&p, MAX_ARTIFACT_BYTES)?;
            ArtifactInput::Bytes(&bytes)
        }
    };
    match &req.material {
        Material::Key(path) => {
            let pem = String::from_utf8(read_limited(path, 1 << 20)?).map_err(|e| {
                ConformanceError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
            })?;
            let key = PublicKeyInput {
                origin: path.display().to_string(),
                pem,
            };
            Ok(verify_bundle(&roots, &bundle, artifact, Some(&key))?)
        }
        Material::Identity { identity, issuer } => {
            let verified = verify_bundle(&roots, &bundle, artifact, None)?;
            let policy = IdentityPolicy::from_flags(Some(identity), None, Some(issuer), None)?;
            let signer = verified.certificate().ok_or_else(|| {
                PolicyError::Provenance(
                    "an identity was given but the bundle has no certificate".into(),
                )
            })?;
            require_all(&policy.evaluate(signer))?;
            Ok(verified)
        }
    }
}

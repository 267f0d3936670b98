//! Consumer policy helpers for cairn provenance: allowed buildType, allowed toolchain
//! digests, and the toolchain manifest attachment against its digest.

use cairn_formats::provenance::ProvenanceV1;
use serde_json::Value;

use crate::hash;
use crate::provenance::{kind_of, KIND_TOOLCHAIN_MANIFEST};

/// A policy the provenance does not meet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("buildType {found:?} is not allowed (allowed: {allowed})")]
    BuildType { found: String, allowed: String },
    #[error("toolchain digest {found} is not allowed (allowed: {allowed})")]
    Toolchain { found: String, allowed: String },
    #[error("toolchain manifest: {0}")]
    Manifest(String),
}

/// Fails unless the buildType is one of `allowed`.
pub fn check_build_type(p: &ProvenanceV1, allowed: &[String]) -> Result<(), PolicyViolation> {
    let found = &p.build_definition.build_type;
    if allowed.iter().any(|a| a == found) {
        return Ok(());
    }
    Err(PolicyViolation::BuildType {
        found: found.clone(),
        allowed: allowed.join(", "),
    })
}

/// The toolchain manifest digest (`sha256:<hex>`) the provenance records. The
/// internalParameters value and the resolvedDependencies entry must agree.
pub fn toolchain_digest(p: &ProvenanceV1) -> Result<String, PolicyViolation> {
    let internal = p
        .build_definition
        .internal_parameters
        .as_ref()
        .and_then(|i| i.get("toolchainManifestDigest"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            PolicyViolation::Manifest(
                "internalParameters.toolchainManifestDigest is missing".into(),
            )
        })?;
    let dep = p
        .build_definition
        .resolved_dependencies
        .iter()
        .find(|d| kind_of(d) == Some(KIND_TOOLCHAIN_MANIFEST))
        .and_then(|d| d.digest.get("sha256"))
        .ok_or_else(|| {
            PolicyViolation::Manifest("no toolchain-manifest resolved dependency".into())
        })?;
    if internal != format!("sha256:{dep}") {
        return Err(PolicyViolation::Manifest(format!(
            "internalParameters says {internal}, resolvedDependencies says sha256:{dep}"
        )));
    }
    Ok(internal.to_string())
}

/// Fails unless the toolchain digest is one of `allowed` (`sha256:<hex>`, case-insensitive).
pub fn check_toolchain(p: &ProvenanceV1, allowed: &[String]) -> Result<(), PolicyViolation> {
    let found = toolchain_digest(p)?;
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&found)) {
        return Ok(());
    }
    Err(PolicyViolation::Toolchain {
        found,
        allowed: allowed.join(", "),
    })
}

/// Checks a bundle attachment of kind `toolchain-manifest` against the provenance: the
/// SHA-256 of its `content` (the manifest text, see `toolchain::Manifest::to_text`) must
/// be the digest.
pub fn check_manifest_attachment(
    attachment: &Value,
    p: &ProvenanceV1,
) -> Result<(), PolicyViolation> {
    let want = toolchain_digest(p)?;
    if attachment.get("kind").and_then(Value::as_str) != Some("toolchain-manifest") {
        return Err(PolicyViolation::Manifest(
            "attachment is not of kind toolchain-manifest".into(),
        ));
    }
    let m = attachment
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| PolicyViolation::Manifest("attachment has no string `content`".into()))?;
    if !m.starts_with(crate::toolchain::MANIFEST_HEADER) {
        return Err(PolicyViolation::Manifest(format!(
            "content does not start with {:?}",
            crate::toolchain::MANIFEST_HEADER
        )));
    }
    let found = format!("sha256:{}", hash::sha256_hex(m.as_bytes()));
    if found != want {
        return Err(PolicyViolation::Manifest(format!(
            "attachment digest {found} does not match the provenance's {want}"
        )));
    }
    Ok(())
}

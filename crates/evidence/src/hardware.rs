//! Bundle-level rules for hardware evidence:
//!
//! - a provenance that *claims* hardware evidence (`internalParameters.hardwareEvidence`,
//!   a list of evidence kinds the build attached) must carry each claimed kind;
//! - a verifier may *require* kinds (`--require-hardware tpm`);
//! - every evidence entry present must verify, and unknown kinds fail closed.

use cairn_formats::{Attestation, Statement};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::EvidenceError;
use crate::quote::{verify_tpm_evidence, TpmTrust, VerifiedTpmEvidence, TPM_QUOTE_KIND};

/// Where a build records which hardware evidence kinds it attached.
pub const HARDWARE_CLAIM_FIELD: &str = "hardwareEvidence";

#[cfg(feature = "snp")]
const KNOWN_REQUIREMENTS: &str = "tpm, snp";
#[cfg(not(feature = "snp"))]
const KNOWN_REQUIREMENTS: &str = "tpm";

/// The evidence kinds this build of the verifier can check.
#[cfg(feature = "snp")]
pub const SUPPORTED_KINDS: &[&str] = &[TPM_QUOTE_KIND, crate::tee::snp::SNP_KIND];
#[cfg(not(feature = "snp"))]
pub const SUPPORTED_KINDS: &[&str] = &[TPM_QUOTE_KIND];

/// Maps a `--require-hardware` name to an evidence kind.
pub fn kind_for_requirement(name: &str) -> Result<&'static str, EvidenceError> {
    match name {
        "tpm" | "tpm2" | TPM_QUOTE_KIND => Ok(TPM_QUOTE_KIND),
        #[cfg(feature = "snp")]
        "snp" | crate::tee::snp::SNP_KIND => Ok(crate::tee::snp::SNP_KIND),
        other => Err(EvidenceError::Policy(format!(
            "unknown hardware requirement {other:?} (known: {})",
            KNOWN_REQUIREMENTS
        ))),
    }
}

/// The evidence kinds the provenance says the build attached.
pub fn claimed_kinds(statement: &Statement) -> Result<Vec<String>, EvidenceError> {
    match statement.predicate.pointer(&format!(
        "/buildDefinition/internalParameters/{HARDWARE_CLAIM_FIELD}"
    )) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    EvidenceError::Provenance(format!(
                        "internalParameters.{HARDWARE_CLAIM_FIELD} holds a non-string"
                    ))
                })
            })
            .collect(),
        Some(_) => Err(EvidenceError::Provenance(format!(
            "internalParameters.{HARDWARE_CLAIM_FIELD} is not an array"
        ))),
    }
}

/// One verified piece of hardware evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum VerifiedHardware {
    #[serde(rename = "tpm2-quote")]
    Tpm(VerifiedTpmEvidence),
    #[cfg(feature = "snp")]
    #[serde(rename = "sev-snp")]
    SevSnp(crate::tee::snp::VerifiedSnp),
}

impl VerifiedHardware {
    pub fn kind(&self) -> &'static str {
        match self {
            VerifiedHardware::Tpm(_) => TPM_QUOTE_KIND,
            #[cfg(feature = "snp")]
            VerifiedHardware::SevSnp(_) => crate::tee::snp::SNP_KIND,
        }
    }
}

/// Applies the rules above to one attestation of a bundle. `required` holds evidence
/// kinds (see [`kind_for_requirement`]).
pub fn verify_attestation_hardware(
    attestation: &Attestation,
    statement: &Statement,
    required: &[&str],
    trust: &TpmTrust,
    now: OffsetDateTime,
) -> Result<Vec<VerifiedHardware>, EvidenceError> {
    let claimed = claimed_kinds(statement)?;
    let present: Vec<&str> = attestation
        .evidence
        .iter()
        .filter_map(|e| e.get("kind").and_then(Value::as_str))
        .collect();
    for kind in &claimed {
        if !present.contains(&kind.as_str()) {
            return Err(EvidenceError::Hardware(format!(
                "the provenance claims `{kind}` evidence (internalParameters.{HARDWARE_CLAIM_FIELD}), but the bundle carries none: evidence was stripped"
            )));
        }
    }
    for kind in required {
        if !present.contains(kind) {
            return Err(EvidenceError::Hardware(format!(
                "policy requires `{kind}` evidence, but the bundle carries none"
            )));
        }
    }
    let mut out = Vec::new();
    for (i, entry) in attestation.evidence.iter().enumerate() {
        match entry.get("kind").and_then(Value::as_str) {
            Some(TPM_QUOTE_KIND) => {
                let v = verify_tpm_evidence(entry, &attestation.envelope, statement, trust, now)
                    .map_err(|e| {
                        EvidenceError::Hardware(format!("evidence[{i}] ({TPM_QUOTE_KIND}): {e}"))
                    })?;
                out.push(VerifiedHardware::Tpm(v));
            }
            #[cfg(feature = "snp")]
            Some(crate::tee::snp::SNP_KIND) => {
                let v = crate::tee::snp::verify_snp_evidence(entry, &attestation.envelope, now)
                    .map_err(|e| {
                        EvidenceError::Hardware(format!(
                            "evidence[{i}] ({}): {e}",
                            crate::tee::snp::SNP_KIND
                        ))
                    })?;
                out.push(VerifiedHardware::SevSnp(v));
            }
            other => {
                return Err(EvidenceError::Hardware(format!(
                    "evidence[{i}]: unknown kind {:?}",
                    other.unwrap_or("(none)")
                )));
            }
        }
    }
    Ok(out)
}

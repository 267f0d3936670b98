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

/// The evidence kinds this build of the verifier can check, with the short names
/// `--require-hardware` and `--tee-measurement` accept for them.
pub const SUPPORTED: &[(&str, &[&str])] = &[
    (TPM_QUOTE_KIND, &["tpm", "tpm2"]),
    #[cfg(feature = "snp")]
    (crate::tee::snp::SNP_KIND, &["snp"]),
    #[cfg(feature = "tdx")]
    (crate::tee::tdx::TDX_KIND, &["tdx"]),
    #[cfg(feature = "nitro")]
    (crate::tee::nitro::NITRO_KIND, &["nitro"]),
];

/// The evidence kinds this build of the verifier can check (the first column of
/// [`SUPPORTED`]).
pub fn supported_kinds() -> &'static [&'static str] {
    static KINDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| SUPPORTED.iter().map(|(kind, _)| *kind).collect())
}

/// Maps a `--require-hardware` name (short name or evidence kind) to an evidence kind.
pub fn kind_for_requirement(name: &str) -> Result<&'static str, EvidenceError> {
    SUPPORTED
        .iter()
        .find(|(kind, short)| *kind == name || short.contains(&name))
        .map(|(kind, _)| *kind)
        .ok_or_else(|| {
            EvidenceError::Policy(format!(
                "unknown hardware requirement {name:?} (known: {})",
                SUPPORTED
                    .iter()
                    .map(|(k, s)| format!("{} ({k})", s[0]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
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
    #[cfg(feature = "tdx")]
    #[serde(rename = "tdx-quote")]
    Tdx(crate::tee::tdx::VerifiedTdx),
    #[cfg(feature = "nitro")]
    #[serde(rename = "nitro-attestation")]
    Nitro(crate::tee::nitro::VerifiedNitro),
}

impl VerifiedHardware {
    /// One line for people: what verified, and the identity it verified to.
    pub fn summary(&self) -> String {
        match self {
            VerifiedHardware::Tpm(t) => format!(
                "{} quote from host {:?} (AK {}, EK root {}, PCR 23 {}){}",
                self.kind(),
                t.host_id,
                t.ak_name,
                t.manufacturer_root,
                t.pcr23,
                t.certified_key
                    .as_ref()
                    .map(|k| format!("; envelope signed by TPM-resident key {}", k.key_id))
                    .unwrap_or_default()
            ),
            #[cfg(feature = "snp")]
            VerifiedHardware::SevSnp(r) => format!(
                "{} report from an AMD {} part, MEASUREMENT {}",
                self.kind(),
                r.product,
                r.measurement
            ),
            #[cfg(feature = "tdx")]
            VerifiedHardware::Tdx(t) => format!(
                "{} from a TD with MRTD {} (TCB {})",
                self.kind(),
                t.mr_td,
                t.tcb_status
            ),
            #[cfg(feature = "nitro")]
            VerifiedHardware::Nitro(n) => format!(
                "{} from enclave {:?}, PCR0 {}",
                self.kind(),
                n.module_id,
                n.pcrs.get(&0).map(String::as_str).unwrap_or("")
            ),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            VerifiedHardware::Tpm(_) => TPM_QUOTE_KIND,
            #[cfg(feature = "snp")]
            VerifiedHardware::SevSnp(_) => crate::tee::snp::SNP_KIND,
            #[cfg(feature = "tdx")]
            VerifiedHardware::Tdx(_) => crate::tee::tdx::TDX_KIND,
            #[cfg(feature = "nitro")]
            VerifiedHardware::Nitro(_) => crate::tee::nitro::NITRO_KIND,
        }
    }
}

/// Applies the rules above to one attestation of a bundle. `required` holds evidence
/// kinds (see [`kind_for_requirement`]).
pub fn verify_attestation_hardware(
    attestation: &Attestation,
    statement: &Statement,
    required: &[&str],
    trust: &HardwareTrust,
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
        let kind = entry
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("(none)");
        let env = &attestation.envelope;
        let verified = match kind {
            TPM_QUOTE_KIND => verify_tpm_evidence(entry, env, statement, &trust.tpm, now)
                .map(VerifiedHardware::Tpm),
            #[cfg(feature = "snp")]
            crate::tee::snp::SNP_KIND => {
                crate::tee::snp::verify_snp_evidence(entry, env, &trust.tee, now)
                    .map(VerifiedHardware::SevSnp)
            }
            #[cfg(feature = "tdx")]
            crate::tee::tdx::TDX_KIND => {
                crate::tee::tdx::verify_tdx_evidence(entry, env, &trust.tee, now)
                    .map(VerifiedHardware::Tdx)
            }
            #[cfg(feature = "nitro")]
            crate::tee::nitro::NITRO_KIND => {
                crate::tee::nitro::verify_nitro_evidence(entry, env, &trust.tee, now)
                    .map(VerifiedHardware::Nitro)
            }
            other => {
                return Err(EvidenceError::Hardware(format!(
                    "evidence[{i}]: unknown kind {other:?} (this verifier checks: {})",
                    supported_kinds().join(", ")
                )));
            }
        }
        .map_err(|e| EvidenceError::Hardware(format!("evidence[{i}] ({kind}): {e}")))?;
        out.push(verified);
    }
    Ok(out)
}

/// Everything the consumer trusts for hardware evidence.
#[derive(Debug, Clone, Default)]
pub struct HardwareTrust {
    pub tpm: TpmTrust,
    pub tee: crate::tee::TeePolicy,
}

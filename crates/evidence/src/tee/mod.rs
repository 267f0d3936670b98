//! TEE attestation reports, verification side. Each binds a build the same way as a TPM
//! quote: the report's 64 bytes of user data are SHA-256 of the envelope's DSSE PAE
//! followed by 32 zero bytes ([`report_data_for`]).
//!
//! | kind                | platform          | crate / code                         | launch measurement |
//! |---------------------|-------------------|--------------------------------------|--------------------|
//! | `sev-snp`           | AMD SEV-SNP       | `sev` (pure-Rust `crypto_nossl`)     | `MEASUREMENT`      |
//! | `tdx-quote`         | Intel TDX         | `dcap-qvl` (ring backend, no network) | `MRTD`            |
//! | `nitro-attestation` | AWS Nitro Enclaves| [`nitro`] (coset + x509-parser + aws-lc-rs) | `PCR0`      |
//!
//! Producing these reports needs the hardware; the producers live in `cairn-tee` behind
//! cargo features and are untested without it. The verifiers here are tested against
//! real vendor-signed samples at a pinned time, and (Nitro) a synthetic chain.

#[cfg(feature = "nitro")]
pub mod nitro;
#[cfg(feature = "snp")]
pub mod snp;
#[cfg(feature = "tdx")]
pub mod tdx;

use std::collections::BTreeMap;

use crate::error::EvidenceError;

/// Length of the user-data field every supported TEE signs (SNP `REPORT_DATA`, TDX
/// `REPORTDATA`, and cairn's fixed size for Nitro `user_data`).
pub const REPORT_DATA_LEN: usize = 64;

/// The report data that binds a TEE report to one envelope: SHA-256(PAE) ‖ 32 zero bytes.
pub fn report_data_for(envelope_pae_sha256: &[u8; 32]) -> [u8; REPORT_DATA_LEN] {
    let mut out = [0u8; REPORT_DATA_LEN];
    out[..32].copy_from_slice(envelope_pae_sha256);
    out
}

/// Checks 64 bytes of report data against `envelope`: SHA-256(PAE) followed by 32 zero
/// bytes.
pub fn check_report_data(
    kind: &'static str,
    report_data: &[u8],
    envelope: &cairn_formats::Envelope,
) -> Result<(), EvidenceError> {
    let expected = report_data_for(&crate::tpm::structures::sha256(&[&envelope.pae()]));
    if report_data != expected.as_slice() {
        return Err(EvidenceError::ReportDataMismatch {
            kind,
            expected: hex::encode(expected),
            found: hex::encode(report_data),
        });
    }
    Ok(())
}

/// What the consumer trusts and requires of TEE evidence, beyond the vendor roots built
/// into each verifier.
#[derive(Debug, Clone, Default)]
pub struct TeePolicy {
    /// Accepted launch measurements per evidence kind (SNP `MEASUREMENT`, TDX `MRTD`,
    /// Nitro `PCR0`). A kind with an entry here must match one of its values; a kind
    /// without one is reported, not judged.
    pub launch_measurements: BTreeMap<&'static str, Vec<Vec<u8>>>,
    /// TDX TCB statuses accepted besides `UpToDate` (e.g. `SWHardeningNeeded`).
    pub tdx_extra_tcb_statuses: Vec<String>,
    /// TDX platform properties from the PCK certificate that are refused unless named
    /// here: `dynamic-platform` (packages can be added to the platform), `cached-keys`
    /// (platform keys are cached by Intel's registration service), `smt` (hyper-threading
    /// on: sibling threads share caches).
    pub tdx_allowed_platform_flags: Vec<String>,
    /// Trust anchors for Nitro documents, as SHA-256 of the root certificate's DER.
    /// Empty means AWS Nitro Enclaves Root-G1 only.
    pub nitro_roots: Vec<[u8; 32]>,
}

impl TeePolicy {
    /// Parses `--tee-measurement KIND:HEX` (KIND = snp, tdx, nitro or an evidence kind).
    pub fn add_launch_measurement(&mut self, spec: &str) -> Result<(), EvidenceError> {
        let (kind, value) = spec.split_once(':').ok_or_else(|| {
            EvidenceError::Policy(format!(
                "--tee-measurement {spec:?}: expected KIND:HEX (e.g. tdx:<96 hex digits>)"
            ))
        })?;
        let kind = crate::hardware::kind_for_requirement(kind)?;
        if kind == crate::quote::TPM_QUOTE_KIND {
            return Err(EvidenceError::Policy(
                "--tee-measurement is for TEE kinds; use --golden-pcrs for a TPM".into(),
            ));
        }
        let bytes = hex::decode(value)
            .ok()
            .filter(|b| b.len() == 48)
            .ok_or_else(|| {
                EvidenceError::Policy(format!(
                    "--tee-measurement {spec:?}: the value must be 96 hex digits (48 bytes)"
                ))
            })?;
        self.launch_measurements
            .entry(kind)
            .or_default()
            .push(bytes);
        Ok(())
    }

    /// Checks the policy's names (TDX statuses and platform flags) without evidence, so a
    /// typo is a usage error before anything is verified.
    pub fn validate(&self) -> Result<(), EvidenceError> {
        #[cfg(feature = "tdx")]
        tdx::quote_policy(self, 0)?;
        #[cfg(not(feature = "tdx"))]
        if !self.tdx_extra_tcb_statuses.is_empty() || !self.tdx_allowed_platform_flags.is_empty() {
            return Err(EvidenceError::Policy(
                "this verifier was built without TDX support (cargo feature `tdx`)".into(),
            ));
        }
        Ok(())
    }

    /// Trusts every certificate in a PEM file as a Nitro root (by SHA-256 of its DER).
    pub fn add_nitro_roots_pem(&mut self, pem: &[u8]) -> Result<usize, EvidenceError> {
        let items =
            ::pem::parse_many(pem).map_err(|e| EvidenceError::Policy(format!("not PEM: {e}")))?;
        let certs: Vec<_> = items.iter().filter(|p| p.tag() == "CERTIFICATE").collect();
        if certs.is_empty() {
            return Err(EvidenceError::Policy(
                "no PEM certificate in the file".into(),
            ));
        }
        self.nitro_roots.extend(
            certs
                .iter()
                .map(|c| crate::tpm::structures::sha256(&[c.contents()])),
        );
        Ok(certs.len())
    }

    /// Checks a launch measurement against the policy for `kind`, if there is one.
    pub fn check_launch_measurement(
        &self,
        kind: &'static str,
        field: &'static str,
        found: &[u8],
    ) -> Result<(), EvidenceError> {
        match self.launch_measurements.get(kind) {
            Some(allowed) if !allowed.iter().any(|a| a.as_slice() == found) => {
                Err(EvidenceError::TeeReport {
                    kind,
                    reason: format!(
                        "{field} {} is not an accepted launch measurement ({})",
                        hex::encode(found),
                        allowed
                            .iter()
                            .map(hex::encode)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_formats::Envelope;

    fn envelope() -> Envelope {
        Envelope {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: b"{\"a\":1}".to_vec(),
            signatures: vec![],
        }
    }

    #[test]
    fn report_data_binds_exactly_one_envelope() {
        let env = envelope();
        let digest = crate::tpm::structures::sha256(&[&env.pae()]);
        let rd = report_data_for(&digest);
        check_report_data("sev-snp", &rd, &env).unwrap();
        // Any other envelope, a flipped bit, a non-zero tail or a short field all fail.
        let mut other = env.clone();
        other.payload.push(b' ');
        assert!(matches!(
            check_report_data("sev-snp", &rd, &other),
            Err(EvidenceError::ReportDataMismatch { .. })
        ));
        for i in [0, 31, 32, 63] {
            let mut bad = rd;
            bad[i] ^= 1;
            assert!(
                check_report_data("tdx-quote", &bad, &env).is_err(),
                "byte {i}"
            );
        }
        assert!(check_report_data("tdx-quote", &rd[..32], &env).is_err());
    }

    #[test]
    fn launch_measurement_policy() {
        let mut p = TeePolicy::default();
        let m = "ab".repeat(48);
        // No entry for a kind: reported, not judged.
        p.check_launch_measurement("sev-snp", "MEASUREMENT", &[0; 48])
            .unwrap();
        p.add_launch_measurement(&format!("snp:{m}")).unwrap();
        p.check_launch_measurement("sev-snp", "MEASUREMENT", &[0xab; 48])
            .unwrap();
        let e = p
            .check_launch_measurement("sev-snp", "MEASUREMENT", &[0; 48])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MEASUREMENT 0000") && e.contains("not an accepted"),
            "{e}"
        );
        for bad in ["snp", "snp:zz", "snp:abcd", "tpm:00", "sgx:00"] {
            assert!(p.add_launch_measurement(bad).is_err(), "{bad}");
        }
    }
}

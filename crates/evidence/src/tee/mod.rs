//! TEE attestation reports, verification side only. Each binds a build the same way as a
//! TPM quote: the report's user data carries SHA-256 of the envelope's DSSE PAE.
//!
//! Producing these reports needs the hardware (an SEV-SNP guest, a TDX TD, a Nitro
//! enclave); cairn has no producer code for them yet, and nothing here is tested against
//! live hardware, only against vendor-signed samples at a pinned time.

#[cfg(feature = "snp")]
pub mod snp;

use crate::error::EvidenceError;

/// Checks 64 bytes of report data: SHA-256(PAE) followed by 32 zero bytes.
pub fn check_report_data(
    kind: &'static str,
    report_data: &[u8],
    envelope: &cairn_formats::Envelope,
) -> Result<(), EvidenceError> {
    let mut expected = crate::tpm::structures::sha256(&[&envelope.pae()]).to_vec();
    expected.resize(64, 0);
    if report_data != expected.as_slice() {
        return Err(EvidenceError::ReportDataMismatch {
            kind,
            expected: hex::encode(&expected),
            found: hex::encode(report_data),
        });
    }
    Ok(())
}

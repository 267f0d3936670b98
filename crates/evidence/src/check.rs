//! The hardware-evidence step of `cairn verify` (a `cairn_verify::AttestationCheck`):
//! add [`HardwareEvidenceCheck`] to the pipeline's checks whenever verifying, so that
//! claimed evidence that was stripped, and evidence that fails, both fail verification.

use cairn_formats::Attestation;
use cairn_verify::report::EvidenceInfo;
use cairn_verify::{AttestationCheck, CheckContext, Report, VerifyError};
use time::OffsetDateTime;

use crate::hardware::{claimed_kinds, verify_attestation_hardware, HardwareTrust};

pub const CHECK_NAME: &str = "hardware-evidence";

pub struct HardwareEvidenceCheck {
    pub trust: HardwareTrust,
    /// Evidence kinds that must be present (`--require-hardware tpm` → `tpm2-quote`).
    pub required: Vec<&'static str>,
    pub now: OffsetDateTime,
}

impl AttestationCheck for HardwareEvidenceCheck {
    fn name(&self) -> &'static str {
        CHECK_NAME
    }

    fn evidence_kinds(&self) -> &'static [&'static str] {
        crate::hardware::supported_kinds()
    }

    fn check(&self, ctx: &CheckContext<'_>, report: &mut Report) -> Result<(), VerifyError> {
        // A bare envelope has nowhere to carry evidence: judge it as an empty attestation.
        let bare;
        let attestation = match ctx.attestation {
            Some(a) => a,
            None => {
                bare = Attestation::new(ctx.envelope.clone());
                &bare
            }
        };
        let claimed = claimed_kinds(ctx.statement)
            .map_err(|e| VerifyError::evidence(CHECK_NAME, e.to_string()))?;
        if attestation.evidence.is_empty() && claimed.is_empty() && self.required.is_empty() {
            // Nothing claimed, carried or required: like the other optional checks, this
            // adds no entry to the report.
            return Ok(());
        }
        let verified = verify_attestation_hardware(
            attestation,
            ctx.statement,
            &self.required,
            &self.trust,
            self.now,
        )
        .map_err(|e| VerifyError::evidence(CHECK_NAME, e.to_string()))?;
        let mut summary = Vec::new();
        for v in &verified {
            let detail = serde_json::to_value(v).unwrap_or_default();
            summary.push(v.summary());
            report.hardware_evidence.push(EvidenceInfo {
                kind: v.kind().to_string(),
                verified: true,
                detail,
            });
        }
        report.pass(CHECK_NAME, summary.join("; "));
        Ok(())
    }
}

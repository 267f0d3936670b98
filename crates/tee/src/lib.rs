//! TEE attesters for `cairn build`: when the build host is itself a confidential VM or
//! enclave, the supervisor asks the TEE for a report whose 64 bytes of user data are
//! SHA-256 of the signed envelope's DSSE PAE followed by 32 zero bytes
//! ([`cairn_evidence::tee::report_data_for`]), and attaches it to the bundle as evidence.
//!
//! A TEE has no resettable register like a TPM's PCR 23: the report binds the whole
//! provenance (which states every measured digest) through its user data, and the
//! platform's launch measurement (SNP `MEASUREMENT`, TDX `MRTD`, Nitro `PCR0`) says what
//! ran. So [`TeeAttester`] records the measurements only to refuse an incomplete build.
//!
//! Report sources ([`ReportSource`]):
//! - [`tsm::ConfigfsTsm`] (feature `hw-tsm`): SEV-SNP and TDX through Linux configfs-tsm;
//! - [`nsm::Nsm`] (feature `hw-nitro`): AWS Nitro Enclaves through `/dev/nsm`.
//!
//! **Neither has been run on hardware**: our machines have no SEV-SNP, TDX or Nitro. The
//! evidence they assemble is the format `cairn-evidence` verifies against vendor-signed
//! samples, and [`TeeAttester`] is tested end to end with a synthetic Nitro source.

pub mod evidence;
#[cfg(feature = "hw-nitro")]
pub mod nsm;
pub mod snp_certs;
#[cfg(feature = "hw-tsm")]
pub mod tsm;

use cairn_build::{AttesterError, BuildAttester, MeasurementKind};
use cairn_evidence::tee::report_data_for;

#[derive(Debug, thiserror::Error)]
pub enum TeeError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Report(String),
}

/// Something that turns 64 bytes of report data into one bundle evidence entry.
pub trait ReportSource {
    /// The evidence `kind` the entries have (`sev-snp`, `tdx-quote`, `nitro-attestation`).
    fn kind(&self) -> &'static str;
    /// A fresh report over `report_data`, as a bundle evidence entry.
    fn evidence(&mut self, report_data: &[u8; 64]) -> Result<serde_json::Value, TeeError>;
}

/// The build supervisor's hook for a TEE: see the crate docs.
pub struct TeeAttester<S> {
    source: S,
    begun: bool,
    measured: Vec<MeasurementKind>,
}

impl<S: ReportSource> TeeAttester<S> {
    pub fn new(source: S) -> Self {
        TeeAttester {
            source,
            begun: false,
            measured: Vec::new(),
        }
    }
}

/// Every measurement the supervisor makes, in order.
const EXPECTED: [MeasurementKind; 5] = [
    MeasurementKind::BuilderBinary,
    MeasurementKind::SandboxPolicy,
    MeasurementKind::Toolchain,
    MeasurementKind::ResolvedDependencies,
    MeasurementKind::Outputs,
];

impl<S: ReportSource> BuildAttester for TeeAttester<S> {
    fn evidence_kind(&self) -> &'static str {
        self.source.kind()
    }

    fn begin(&mut self) -> Result<(), AttesterError> {
        self.begun = true;
        self.measured.clear();
        Ok(())
    }

    fn measure(&mut self, kind: MeasurementKind, _digest: [u8; 32]) -> Result<(), AttesterError> {
        // The digests are in the signed provenance; the report binds that.
        if !self.begun {
            return Err(format!("measurement {kind} before begin").into());
        }
        self.measured.push(kind);
        Ok(())
    }

    fn finish(
        &mut self,
        envelope_pae_sha256: [u8; 32],
    ) -> Result<serde_json::Value, AttesterError> {
        if self.measured != EXPECTED {
            return Err(format!(
                "refusing to attest an incomplete build: measured {:?}, expected {:?}",
                self.measured, EXPECTED
            )
            .into());
        }
        let entry = self
            .source
            .evidence(&report_data_for(&envelope_pae_sha256))?;
        self.begun = false;
        Ok(entry)
    }
}

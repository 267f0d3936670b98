//! Why evidence was rejected. Every variant names the structure, field, PCR, event or
//! certificate that failed, so a failed build can be diagnosed from the message alone.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EvidenceError {
    #[error("{what}: field `{field}`: {reason}")]
    TpmStructure {
        what: &'static str,
        field: &'static str,
        reason: String,
    },
    #[error("{what}: field `{field}`: {reason}")]
    Malformed {
        what: &'static str,
        field: String,
        reason: String,
    },
    #[error("{what}: unsupported {field} 0x{value:04x}")]
    UnsupportedAlgorithm {
        what: &'static str,
        field: &'static str,
        value: u16,
    },
    #[error("EK certificate chain: {0}")]
    EkChain(String),
    #[error("EK certificate: {0}")]
    EkCertificate(String),
    #[error("EK public key reported by the TPM does not match the EK certificate's key")]
    EkKeyMismatch,
    #[error("AK binding record: {0}")]
    AkBinding(String),
    #[error("AK attributes 0x{found:08x} are not a restricted signing key: {reason}")]
    AkAttributes { found: u32, reason: String },
    #[error("quote signer {found} is not the enrolled AK {expected}")]
    AkMismatch { expected: String, found: String },
    #[error("quote signature does not verify with the enrolled AK: {0}")]
    QuoteSignature(String),
    #[error("TPMS_ATTEST magic is 0x{0:08x}, not TPM_GENERATED (0xff544347)")]
    NotTpmGenerated(u32),
    #[error("TPMS_ATTEST type is 0x{found:04x}, expected 0x{expected:04x} ({name})")]
    WrongAttestType {
        found: u16,
        expected: u16,
        name: &'static str,
    },
    #[error("quote extraData {found} is not SHA-256 of this envelope's DSSE PAE ({expected}): the quote belongs to another build")]
    ExtraDataMismatch { expected: String, found: String },
    #[error("quote pcrDigest {found} does not match the digest of the reported PCR values ({computed}); PCR values were altered")]
    PcrDigestMismatch { computed: String, found: String },
    #[error("PCR selection: {0}")]
    PcrSelection(String),
    #[error("build event log: event {recnum}: {reason}")]
    EventLog { recnum: usize, reason: String },
    #[error("PCR {pcr}: event log replays to {replayed}, but the quoted value is {quoted}")]
    PcrReplay {
        pcr: u32,
        replayed: String,
        quoted: String,
    },
    #[error(
        "build event {recnum} ({kind}): measured {found}, but the provenance gives {expected}"
    )]
    MeasurementMismatch {
        recnum: usize,
        kind: String,
        expected: String,
        found: String,
    },
    #[error("build event log: no `{0}` measurement")]
    MeasurementMissing(String),
    #[error("PCR {pcr}: value {found} is not the golden value {expected}")]
    GoldenPcr {
        pcr: u32,
        expected: String,
        found: String,
    },
    #[error(
        "quote clockInfo.safe is 0: the TPM clock may have gone backwards since the last shutdown"
    )]
    ClockNotSafe,
    #[error("provenance: {0}")]
    Provenance(String),
    #[error("certified signing key: {0}")]
    CertifiedKey(String),
    #[error("hardware evidence: {0}")]
    Hardware(String),
    #[error("credential: {0}")]
    Credential(String),
    #[error("policy: {0}")]
    Policy(String),
    #[error("{kind} report: {reason}")]
    TeeReport { kind: &'static str, reason: String },
    #[error("{kind} report data {found} is not SHA-256 of this envelope's DSSE PAE followed by zeros ({expected}): the report belongs to another build")]
    ReportDataMismatch {
        kind: &'static str,
        expected: String,
        found: String,
    },
}

impl EvidenceError {
    pub(crate) fn malformed(
        what: &'static str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        EvidenceError::Malformed {
            what,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

use cairn_formats::FormatError;
use cairn_sign::DsseError;
use thiserror::Error;

/// Why verification did not succeed. [`VerifyError::exit_code`] maps each kind to the
/// documented exit code: 1 when verification ran and failed, 2 when the input or the
/// request was unusable.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum VerifyError {
    #[error("malformed input: {0}")]
    Malformed(#[from] FormatError),
    #[error("no signature from a trusted key: {0}")]
    NoTrustedSignature(DsseError),
    #[error("subject mismatch: the artifact's {algorithm} digest {found} matches no subject of the attestation (subjects: {subjects})")]
    SubjectMismatch {
        algorithm: String,
        found: String,
        subjects: String,
    },
    #[error("policy violation: {field}: expected {expected}, found {found}")]
    PolicyViolation {
        field: String,
        expected: String,
        found: String,
    },
    #[error("{check}: {reason}")]
    Evidence { check: String, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl VerifyError {
    /// Stable machine-readable kind, used in the JSON report.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed_input",
            VerifyError::NoTrustedSignature(_) => "no_trusted_signature",
            VerifyError::SubjectMismatch { .. } => "subject_mismatch",
            VerifyError::PolicyViolation { .. } => "policy_violation",
            VerifyError::Evidence { .. } => "evidence_failed",
            VerifyError::Usage(_) => "usage",
            VerifyError::Io { .. } => "io",
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            VerifyError::Malformed(_) | VerifyError::Usage(_) | VerifyError::Io { .. } => 2,
            _ => 1,
        }
    }

    pub fn policy(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        VerifyError::PolicyViolation {
            field: field.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn evidence(check: impl Into<String>, reason: impl Into<String>) -> Self {
        VerifyError::Evidence {
            check: check.into(),
            reason: reason.into(),
        }
    }

    /// Ranks failures so that, when several attestations fail, the one that got furthest
    /// through the pipeline is the one reported.
    pub(crate) fn progress(&self) -> u8 {
        match self {
            VerifyError::Usage(_) | VerifyError::Io { .. } => 0,
            VerifyError::Malformed(_) => 1,
            VerifyError::NoTrustedSignature(_) => 2,
            VerifyError::SubjectMismatch { .. } => 3,
            VerifyError::PolicyViolation { .. } => 4,
            VerifyError::Evidence { .. } => 5,
        }
    }
}

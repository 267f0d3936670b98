use cairn_evidence::EvidenceError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TpmError {
    #[error("TPM: {op}: {source}")]
    Tss {
        op: &'static str,
        #[source]
        source: tss_esapi::Error,
    },
    #[error("TCTI {tcti:?}: {reason}")]
    Tcti { tcti: String, reason: String },
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("host file: {0}")]
    HostFile(String),
    #[error("enrollment: {0}")]
    Enrollment(String),
    #[error("attester: {0}")]
    Attester(String),
}

/// Adds the TPM operation's name to a tss-esapi error.
pub(crate) trait TssContext<T> {
    fn op(self, op: &'static str) -> Result<T, TpmError>;
}

impl<T> TssContext<T> for Result<T, tss_esapi::Error> {
    fn op(self, op: &'static str) -> Result<T, TpmError> {
        self.map_err(|source| TpmError::Tss { op, source })
    }
}

//! Typed errors. Verification errors name the check that failed; policy errors name the
//! policy, what was expected and what the verified bundle actually carries.

use thiserror::Error;

/// The verification step a failure belongs to, for messages and the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Bundle structure, media type, encoding.
    Bundle,
    /// Trusted root material.
    TrustRoot,
    /// Fulcio chain, validity window, EKU.
    Certificate,
    /// Signed certificate timestamp.
    Sct,
    /// Rekor inclusion proof, checkpoint, SET, entry consistency.
    TransparencyLog,
    /// RFC 3161 timestamps / no trusted signing time.
    Timestamp,
    /// Signature over the artifact or DSSE PAE.
    Signature,
    /// Artifact digest vs. message digest / in-toto subject.
    ArtifactBinding,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::Bundle => "bundle",
            Check::TrustRoot => "trusted_root",
            Check::Certificate => "certificate_chain",
            Check::Sct => "sct",
            Check::TransparencyLog => "tlog",
            Check::Timestamp => "timestamp",
            Check::Signature => "signature",
            Check::ArtifactBinding => "artifact_binding",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a Sigstore bundle did not verify (before any policy is applied).
#[derive(Debug, Error)]
pub enum SigstoreError {
    /// The bundle could not be decoded.
    #[error("Sigstore bundle is malformed: {0}")]
    MalformedBundle(String),
    /// The bundle exceeds the size limit.
    #[error("Sigstore bundle is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    /// The trusted root could not be loaded.
    #[error("trusted root {source_name}: {reason}")]
    TrustRoot { source_name: String, reason: String },
    /// The `--key` file could not be used.
    #[error("public key {path}: {reason}")]
    Key { path: String, reason: String },
    /// The artifact could not be read or named.
    #[error("artifact {what}: {reason}")]
    Artifact { what: String, reason: String },
    /// Key material and bundle do not go together.
    #[error("{0}")]
    KeyMismatch(String),
    /// A cryptographic or structural check failed.
    #[error("{check} check failed: {source}")]
    Verification {
        check: Check,
        #[source]
        source: sigstore_verify::Error,
    },
    /// The DSSE payload verified but is not a statement cairn can evaluate.
    #[error("DSSE payload: {0}")]
    Statement(#[from] cairn_formats::FormatError),
    /// A subject digest algorithm the backend cannot bind.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl SigstoreError {
    /// True when the input itself is unusable (usage error, exit 2) rather than a failed
    /// verification (exit 1).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            SigstoreError::TrustRoot { .. }
                | SigstoreError::Key { .. }
                | SigstoreError::Artifact { .. }
                | SigstoreError::TooLarge { .. }
        )
    }
}

/// Why a verified bundle does not satisfy the requested policy.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    #[error("a keyless bundle needs an identity policy (--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp], or --owner/--repo, or --source-uri); the certificate names identity {identity:?} issued by {issuer:?}")]
    NoIdentityPolicy { identity: String, issuer: String },
    #[error("invalid regular expression for {flag}: {reason}")]
    BadRegex { flag: &'static str, reason: String },
    #[error("{flag}: {reason}")]
    BadValue { flag: &'static str, reason: String },
    #[error("{what} mismatch: expected {expected}, found {found:?}")]
    Mismatch {
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("{what}: the verified bundle carries no {what} (needed by {flag})")]
    Missing {
        what: &'static str,
        flag: &'static str,
    },
    #[error("untrusted builder: expected {reason}, found {found:?}")]
    UntrustedBuilder { found: String, reason: String },
    #[error("{0}")]
    Provenance(String),
}

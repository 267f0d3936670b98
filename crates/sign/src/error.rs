use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{what}: not PEM: {reason}")]
    NotPem { what: &'static str, reason: String },
    #[error("{what}: expected a PEM block labelled {expected:?}, found {found:?}")]
    WrongPemLabel {
        what: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("{what}: unsupported key algorithm {found} (supported: ed25519, ecdsa-p256, ecdsa-p384, ml-dsa-65)")]
    UnsupportedAlgorithm { what: &'static str, found: String },
    #[error("{what}: malformed key: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("unknown algorithm name {0:?} (use ed25519, ecdsa-p256, ecdsa-p384 or ml-dsa-65)")]
    UnknownAlgorithmName(String),
    #[error("signing failed")]
    SigningFailed,
    #[error("signature does not verify")]
    BadSignature,
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} already exists (refusing to overwrite a key)")]
    Exists { path: String },
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DsseError {
    #[error("envelope has no signatures")]
    NoSignatures,
    #[error("no trusted keys were given")]
    NoTrustedKeys,
    #[error("threshold must be at least 1")]
    ZeroThreshold,
    #[error("payload type {found:?} is not supported (supported: {supported})")]
    UnsupportedPayloadType { found: String, supported: String },
    #[error("{valid} of the required {threshold} distinct trusted keys signed this envelope ({signatures} signature(s) checked against {keys} trusted key(s))")]
    ThresholdNotMet {
        valid: usize,
        threshold: usize,
        signatures: usize,
        keys: usize,
    },
    #[error("every trusted key must sign, but these did not: {missing:?}")]
    MissingRequiredKeys { missing: Vec<String> },
}

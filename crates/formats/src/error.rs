use thiserror::Error;

/// Why a document was rejected. Every variant names the document (`what`) and, where
/// one applies, the JSON path of the offending field.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error("{what}: input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("{what}: invalid UTF-8 at byte {offset}")]
    InvalidUtf8 { what: &'static str, offset: usize },
    #[error("{what}: duplicate JSON key at {path}")]
    DuplicateKey { what: &'static str, path: String },
    #[error("{what}: trailing data after the JSON value at line {line}, column {column}")]
    TrailingData {
        what: &'static str,
        line: usize,
        column: usize,
    },
    #[error("{what}: field `{path}`: {reason}")]
    Malformed {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("{what}: field `{field}` is not valid base64 (standard or URL-safe)")]
    InvalidBase64 { what: &'static str, field: String },
    #[error(
        "statement: unknown `_type` {found:?} (expected https://in-toto.io/Statement/v1 or v0.1)"
    )]
    UnknownStatementType { found: String },
    #[error("envelope: unsupported `payloadType` {found:?} (expected {expected})")]
    UnsupportedPayloadType { found: String, expected: String },
    #[error("{what}: field `{field}`: invalid digest: {reason}")]
    InvalidDigest {
        what: &'static str,
        field: String,
        reason: String,
    },
    #[error("{what}: unsupported `{field}` {found:?}")]
    UnsupportedVersion {
        what: &'static str,
        field: &'static str,
        found: String,
    },
}

impl FormatError {
    pub(crate) fn malformed(
        what: &'static str,
        path: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        FormatError::Malformed {
            what,
            path: path.into(),
            reason: reason.into(),
        }
    }
}

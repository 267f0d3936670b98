//! Strict, size-limited parsers and writers for the attestation formats cairn reads and
//! writes: DSSE envelopes, in-toto Statements (v1, read v0.1), SLSA Provenance (v1, read
//! v0.2) and the cairn bundle.
//!
//! Every parser here fails closed: duplicate JSON keys, trailing data, invalid UTF-8,
//! unknown statement types and oversized input are rejected with a [`FormatError`] that
//! names the document and the field.

pub mod b64;
pub mod bundle;
pub mod digest;
pub mod dsse;
pub mod error;
pub mod json;
pub mod provenance;
pub mod sigstore_export;
pub mod statement;

pub use bundle::{Attestation, Bundle, BundleInput};
pub use digest::{DigestAlgorithm, DigestSet};
pub use dsse::{Envelope, Signature};
pub use error::FormatError;
pub use json::Limits;
pub use statement::{ResourceDescriptor, Statement, StatementVersion};

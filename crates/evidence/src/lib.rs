//! Pure-Rust verification of hardware evidence bound to cairn provenance.
//!
//! No system libraries: a consumer verifies a TPM quote with `cargo` alone. The entry
//! point is [`verify_tpm_evidence`] for one evidence entry, and
//! [`hardware::verify_attestation_hardware`] for the bundle-level rules (claimed or
//! required hardware evidence must be present and valid).
//!
//! The enrollment side's software half ([`credential::make_credential`],
//! [`binding::AkBindingRecord::sign`]) lives here too, because it needs no TPM.

pub mod binding;
pub mod certified;
pub mod check;
pub mod credential;
pub mod ekcert;
mod entry;
pub mod error;
pub mod eventlog;
pub mod hardware;
pub mod measure;
pub mod quote;
pub mod tee;
pub mod tpm;

pub use error::EvidenceError;
pub use measure::{BuildMeasurements, MeasurementKind};
pub use quote::{
    verify_tpm_evidence, TpmQuoteEvidence, TpmTrust, VerifiedTpmEvidence, TPM_QUOTE_KIND,
};

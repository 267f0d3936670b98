//! Offline verification of Sigstore bundles (v0.1–v0.3, message signatures and DSSE,
//! Fulcio or managed keys, Rekor v1/v2, RFC 3161) through the `sigstore-verify` crate,
//! returned as cairn's own result model, plus the policies users know from cosign,
//! `gh attestation verify` and `slsa-verifier verify-artifact`.
//!
//! Nothing in this crate touches the network except [`tuf`] (feature `tuf`), which
//! `cairn trust-root update` calls on purpose.

pub mod conformance;
pub mod digest;
pub mod error;
pub mod model;
pub mod pep740;
pub mod policy;
pub mod slsa;
pub mod trust;
#[cfg(feature = "tuf")]
pub mod tuf;
pub mod verify;

pub use error::{Check, PolicyError, SigstoreError};
pub use model::{Signer, VerifiedBundle, VerifiedContent};
pub use policy::{Decision, GitHubPolicy, IdentityPolicy};
pub use slsa::SlsaOptions;
pub use trust::{Instance, TrustRoots, TrustSource};
pub use verify::{verify_bundle, ArtifactInput, PublicKeyInput};

//! cairn's crypto core: key generation and loading, signing and verification for Ed25519,
//! ECDSA P-256/P-384 (SHA-256/SHA-384, ASN.1 DER signatures as DSSE and Sigstore use) and
//! ML-DSA-65 (FIPS 204, pure mode), DSSE envelope signing with threshold verification over
//! distinct keys, and fast SHA-2 hashing. aws-lc-rs is the only crypto backend.

pub mod digest;
pub mod dsse;
pub mod error;
pub mod keys;

pub use error::{DsseError, KeyError};
pub use keys::{Algorithm, PrivateKey, PublicKey};

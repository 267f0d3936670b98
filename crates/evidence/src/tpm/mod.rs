//! TPM 2.0 wire structures and the checks on them.

pub mod sigcheck;
pub mod structures;
pub(crate) mod wire;

pub use sigcheck::verify_signature;
pub use structures::{
    attr, Attest, Attested, ClockInfo, HashAlg, PcrSelection, Public, PublicKey, Signature,
};

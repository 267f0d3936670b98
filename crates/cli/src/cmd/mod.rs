pub mod attest;
pub mod key;
pub mod verify;
pub mod verify_sigstore;

//! Artifact digests: cairn computes whichever algorithm an in-toto subject names.

use aws_lc_rs::digest;
use cairn_formats::DigestAlgorithm;

pub fn compute(alg: DigestAlgorithm, bytes: &[u8]) -> Vec<u8> {
    let algorithm = match alg {
        DigestAlgorithm::Sha256 => &digest::SHA256,
        DigestAlgorithm::Sha384 => &digest::SHA384,
        DigestAlgorithm::Sha512 => &digest::SHA512,
    };
    digest::digest(algorithm, bytes).as_ref().to_vec()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

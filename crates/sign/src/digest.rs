//! SHA-2 hashing through aws-lc-rs, which uses the CPU's SHA extensions when present.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use aws_lc_rs::digest::{self, Context};
use cairn_formats::DigestAlgorithm;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

fn algorithm(alg: DigestAlgorithm) -> &'static digest::Algorithm {
    match alg {
        DigestAlgorithm::Sha256 => &digest::SHA256,
        DigestAlgorithm::Sha384 => &digest::SHA384,
        DigestAlgorithm::Sha512 => &digest::SHA512,
    }
}

pub fn digest_bytes(alg: DigestAlgorithm, data: &[u8]) -> Vec<u8> {
    digest::digest(algorithm(alg), data).as_ref().to_vec()
}

/// Hashes a reader with each requested algorithm in one pass.
pub fn digest_reader<R: Read>(
    mut r: R,
    algs: &[DigestAlgorithm],
) -> io::Result<Vec<(DigestAlgorithm, Vec<u8>)>> {
    // 1 MiB reads: large enough that syscalls vanish next to hashing.
    let mut buf = vec![0u8; 1 << 20];
    let mut ctxs: Vec<(DigestAlgorithm, Context)> = algs
        .iter()
        .map(|a| (*a, Context::new(algorithm(*a))))
        .collect();
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for (_, c) in ctxs.iter_mut() {
            c.update(&buf[..n]);
        }
    }
    Ok(ctxs
        .into_iter()
        .map(|(a, c)| (a, c.finish().as_ref().to_vec()))
        .collect())
}

pub fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    let f = File::open(path)?;
    let d = digest_reader(f, &[DigestAlgorithm::Sha256])?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&d[0].1);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let d = digest_reader(
            &b"abc"[..],
            &[DigestAlgorithm::Sha512, DigestAlgorithm::Sha384],
        )
        .unwrap();
        assert_eq!(hex::encode(&d[0].1)[..16], *"ddaf35a193617aba");
        assert_eq!(hex::encode(&d[1].1)[..16], *"cb00753f45a35e8b");
    }
}

/// Constant-time equality for digests and MACs (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

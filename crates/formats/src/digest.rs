//! in-toto DigestSets: algorithm name to lowercase hex digest.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FormatError;

/// Digest algorithms whose values cairn validates and can compute or compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }
    pub fn len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(DigestAlgorithm::Sha256),
            "sha384" => Some(DigestAlgorithm::Sha384),
            "sha512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
    /// Strongest first: the order in which a verifier prefers to match subjects.
    pub const PREFERENCE: [DigestAlgorithm; 3] = [
        DigestAlgorithm::Sha512,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha256,
    ];
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Expected hex length of the digest algorithms the in-toto spec lists, for validation.
fn expected_hex_len(alg: &str) -> Option<&'static [usize]> {
    Some(match alg {
        "sha256" | "sha512_256" | "sha3_256" => &[64],
        "sha224" | "sha512_224" | "sha3_224" => &[56],
        "sha384" | "sha3_384" => &[96],
        "sha512" | "sha3_512" => &[128],
        "md5" => &[32],
        "sha1" => &[40],
        // git object ids: SHA-1 (40) or SHA-256 (64) repositories
        "gitCommit" | "gitTree" | "gitBlob" | "gitTag" => &[40, 64],
        "dirHash" => &[64],
        _ => return None,
    })
}

/// A set of digests of one resource. Keys are algorithm names; values are lowercase hex
/// for every algorithm the in-toto spec defines (checked on parse).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DigestSet(pub BTreeMap<String, String>);

impl DigestSet {
    pub fn new() -> Self {
        DigestSet(BTreeMap::new())
    }

    pub fn with(mut self, alg: &str, hex_value: impl Into<String>) -> Self {
        self.0.insert(alg.to_string(), hex_value.into());
        self
    }

    pub fn sha256(hex_value: impl Into<String>) -> Self {
        DigestSet::new().with("sha256", hex_value)
    }

    pub fn get(&self, alg: &str) -> Option<&str> {
        self.0.get(alg).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decoded bytes of a hash digest, if present and well formed.
    pub fn bytes(&self, alg: DigestAlgorithm) -> Option<Vec<u8>> {
        let h = self.0.get(alg.name())?;
        let b = hex::decode(h).ok()?;
        (b.len() == alg.len()).then_some(b)
    }

    /// Checks the hex form of every algorithm the in-toto spec defines. Values of
    /// algorithms cairn does not know are kept but never used for matching.
    pub fn validate(&self, what: &'static str, field: &str) -> Result<(), FormatError> {
        for (alg, value) in &self.0 {
            if alg.is_empty() {
                return Err(FormatError::InvalidDigest {
                    what,
                    field: field.to_string(),
                    reason: "empty algorithm name".into(),
                });
            }
            if let Some(lens) = expected_hex_len(alg) {
                let ok_chars = value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !ok_chars || !lens.contains(&value.len()) {
                    return Err(FormatError::InvalidDigest {
                        what,
                        field: format!("{field}.{alg}"),
                        reason: format!(
                            "expected {} lowercase hex characters, found {:?}",
                            lens.iter()
                                .map(|l| l.to_string())
                                .collect::<Vec<_>>()
                                .join(" or "),
                            truncate(value, 80)
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Parses `sha256:<64 hex>` (or sha384/sha512) as used on the command line in place of a
/// file. Returns `None` when the text does not have that exact shape.
pub fn parse_prefixed_digest(s: &str) -> Option<(DigestAlgorithm, Vec<u8>)> {
    let (alg, hex_value) = s.split_once(':')?;
    let alg = DigestAlgorithm::from_name(alg)?;
    if hex_value.len() != alg.len() * 2 || !hex_value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((alg, hex::decode(hex_value.to_ascii_lowercase()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_known_algorithms() {
        let ok = DigestSet::sha256("a".repeat(64))
            .with("gitCommit", "b".repeat(40))
            .with("custom", "XYZ");
        ok.validate("t", "subject[0].digest").unwrap();
        let upper = DigestSet::sha256("A".repeat(64));
        let e = upper.validate("t", "subject[0].digest").unwrap_err();
        assert!(
            matches!(e, FormatError::InvalidDigest { ref field, .. } if field == "subject[0].digest.sha256")
        );
        assert!(DigestSet::sha256("a".repeat(63))
            .validate("t", "d")
            .is_err());
        assert!(DigestSet::new()
            .with("md5", "0".repeat(32))
            .validate("t", "d")
            .is_ok());
        assert!(DigestSet::new()
            .with("sha1", "0".repeat(32))
            .validate("t", "d")
            .is_err());
    }

    #[test]
    fn prefixed_digest_shape() {
        let h = "ab".repeat(32);
        assert_eq!(
            parse_prefixed_digest(&format!("sha256:{h}"))
                .unwrap()
                .1
                .len(),
            32
        );
        assert!(parse_prefixed_digest(&format!("sha256:{h}0")).is_none());
        assert!(parse_prefixed_digest(&format!("md5:{h}")).is_none());
        assert!(parse_prefixed_digest("sha256:zz").is_none());
        assert_eq!(
            parse_prefixed_digest(&format!("sha512:{}", "cd".repeat(64)))
                .unwrap()
                .0,
            DigestAlgorithm::Sha512
        );
    }
}

//! Checks a TPMT_SIGNATURE over raw bytes with a TPMT_PUBLIC signing key.

use p256::ecdsa::signature::hazmat::PrehashVerifier;

use super::structures::{
    HashAlg, Public, PublicKey, Signature, ALG_ECDSA, ECC_NIST_P256, ECC_NIST_P384,
};
use crate::error::EvidenceError;

fn sig_err(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::QuoteSignature(reason.into())
}

/// Left-pads a big-endian integer to `len` bytes (leading zeros dropped first, as TPMs
/// and DER may carry them); `None` if it is longer.
pub(crate) fn left_pad(v: &[u8], len: usize) -> Option<Vec<u8>> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    let trimmed = &v[first..];
    if trimmed.len() > len {
        return None;
    }
    let mut out = vec![0u8; len - trimmed.len()];
    out.extend_from_slice(trimmed);
    Some(out)
}

/// [`left_pad`] for an ECDSA coordinate or scalar, with an error naming it.
fn pad_field(v: &[u8], len: usize, field: &str) -> Result<Vec<u8>, EvidenceError> {
    left_pad(v, len).ok_or_else(|| {
        sig_err(format!(
            "ECDSA {field} is {} bytes, longer than the curve's {len}",
            v.iter().skip_while(|b| **b == 0).count()
        ))
    })
}

/// Verifies `sig` over `message` with `key`. The signature's hash must be the one the
/// key's (restricted) scheme fixes, so a signer cannot choose a weaker one.
pub fn verify_signature(
    key: &Public,
    message: &[u8],
    sig: &Signature,
) -> Result<(), EvidenceError> {
    match (&key.key, sig) {
        (
            PublicKey::Ecc {
                curve,
                x,
                y,
                scheme,
                scheme_hash,
                ..
            },
            Signature::Ecdsa { hash, r, s },
        ) => {
            if *scheme != ALG_ECDSA {
                return Err(sig_err(format!("AK scheme 0x{scheme:04x} is not ECDSA")));
            }
            if Some(*hash) != *scheme_hash {
                return Err(sig_err(format!(
                    "signature hash 0x{hash:04x} differs from the AK's scheme hash {}",
                    scheme_hash
                        .map(|h| format!("0x{h:04x}"))
                        .unwrap_or_else(|| "(none)".into())
                )));
            }
            let alg = HashAlg::from_tpm(*hash).ok_or(EvidenceError::UnsupportedAlgorithm {
                what: "TPMT_SIGNATURE",
                field: "signature.ecdsa.hash",
                value: *hash,
            })?;
            let digest = alg.hash(&[message]);
            match *curve {
                ECC_NIST_P256 => {
                    let (x, y, r, s) = (
                        pad_field(x, 32, "x")?,
                        pad_field(y, 32, "y")?,
                        pad_field(r, 32, "r")?,
                        pad_field(s, 32, "s")?,
                    );
                    let point = p256::EncodedPoint::from_affine_coordinates(
                        x.as_slice().into(),
                        y.as_slice().into(),
                        false,
                    );
                    let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                        .map_err(|_| sig_err("AK point is not on P-256"))?;
                    let sig = p256::ecdsa::Signature::from_scalars(
                        *p256::FieldBytes::from_slice(&r),
                        *p256::FieldBytes::from_slice(&s),
                    )
                    .map_err(|_| sig_err("ECDSA r or s out of range"))?;
                    vk.verify_prehash(&digest, &sig)
                        .map_err(|_| sig_err("ECDSA P-256 signature is invalid"))
                }
                ECC_NIST_P384 => {
                    let (x, y, r, s) = (
                        pad_field(x, 48, "x")?,
                        pad_field(y, 48, "y")?,
                        pad_field(r, 48, "r")?,
                        pad_field(s, 48, "s")?,
                    );
                    let point = p384::EncodedPoint::from_affine_coordinates(
                        x.as_slice().into(),
                        y.as_slice().into(),
                        false,
                    );
                    let vk = p384::ecdsa::VerifyingKey::from_encoded_point(&point)
                        .map_err(|_| sig_err("AK point is not on P-384"))?;
                    let sig = p384::ecdsa::Signature::from_scalars(
                        *p384::FieldBytes::from_slice(&r),
                        *p384::FieldBytes::from_slice(&s),
                    )
                    .map_err(|_| sig_err("ECDSA r or s out of range"))?;
                    vk.verify_prehash(&digest, &sig)
                        .map_err(|_| sig_err("ECDSA P-384 signature is invalid"))
                }
                other => Err(EvidenceError::UnsupportedAlgorithm {
                    what: "TPMT_PUBLIC",
                    field: "parameters.curveID",
                    value: other,
                }),
            }
        }
        (PublicKey::Rsa { .. }, _) => Err(sig_err(
            "RSA attestation keys are not supported; enroll an ECDSA P-256 AK",
        )),
        (PublicKey::Ecc { .. }, Signature::Rsa { scheme, .. }) => Err(sig_err(format!(
            "signature scheme 0x{scheme:04x} does not fit an ECC key"
        ))),
    }
}

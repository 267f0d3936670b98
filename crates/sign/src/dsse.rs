//! DSSE signing and verification with a threshold of distinct trusted keys.
//!
//! Signatures are always checked over the PAE of the decoded payload. A `keyid` is only a
//! hint: signatures whose hint matches no trusted key are still tried against every key,
//! as the DSSE protocol allows keyless hints. One key counts once, however many of its
//! signatures the envelope carries.

use cairn_formats::dsse::{Envelope, Signature};

use crate::error::{DsseError, KeyError};
use crate::keys::{PrivateKey, PublicKey};

/// More signatures than any honest envelope carries; the bound keeps verification cost
/// linear in what a verifier is willing to spend.
pub const MAX_SIGNATURES: usize = 64;

/// Signs `payload` with every key, in order. Each signature carries its key id.
pub fn sign_envelope(
    payload_type: &str,
    payload: &[u8],
    keys: &[&PrivateKey],
) -> Result<Envelope, KeyError> {
    let pae = cairn_formats::dsse::pae(payload_type, payload);
    let mut signatures = Vec::with_capacity(keys.len());
    for k in keys {
        signatures.push(Signature {
            keyid: Some(k.key_id().to_string()),
            sig: k.sign(&pae)?,
            cert: None,
        });
    }
    Ok(Envelope {
        payload_type: payload_type.to_string(),
        payload: payload.to_vec(),
        signatures,
    })
}

/// How many and which trusted keys must have signed.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Distinct trusted keys required (at least 1).
    pub threshold: usize,
    /// Every trusted key must have signed (hybrid classical + ML-DSA envelopes).
    pub require_all: bool,
    /// When set, the payload type must be one of these.
    pub payload_types: Option<&'a [&'a str]>,
}

impl Default for VerifyOptions<'_> {
    fn default() -> Self {
        VerifyOptions {
            threshold: 1,
            require_all: false,
            payload_types: None,
        }
    }
}

/// Verifies with a threshold; returns the key ids of the distinct trusted keys that signed.
pub fn verify_envelope(
    env: &Envelope,
    keys: &[PublicKey],
    threshold: usize,
) -> Result<Vec<String>, DsseError> {
    verify_envelope_with(
        env,
        keys,
        &VerifyOptions {
            threshold,
            ..Default::default()
        },
    )
}

pub fn verify_envelope_with(
    env: &Envelope,
    keys: &[PublicKey],
    opts: &VerifyOptions,
) -> Result<Vec<String>, DsseError> {
    if opts.threshold == 0 {
        return Err(DsseError::ZeroThreshold);
    }
    if keys.is_empty() {
        return Err(DsseError::NoTrustedKeys);
    }
    if let Some(types) = opts.payload_types {
        if !types.contains(&env.payload_type.as_str()) {
            return Err(DsseError::UnsupportedPayloadType {
                found: env.payload_type.clone(),
                supported: types.join(", "),
            });
        }
    }
    if env.signatures.is_empty() {
        return Err(DsseError::NoSignatures);
    }
    let considered = &env.signatures[..env.signatures.len().min(MAX_SIGNATURES)];
    let pae = env.pae();

    // Distinct keys: the same SPKI given twice still counts once.
    let mut distinct: Vec<&PublicKey> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.iter().any(|d| d.spki_der() == k.spki_der()) {
            distinct.push(k);
        }
    }

    let mut signed: Vec<String> = Vec::new();
    for key in &distinct {
        // Try signatures whose hint names this key first, then the rest.
        let hinted = considered
            .iter()
            .filter(|s| s.keyid.as_deref() == Some(key.key_id()));
        let others = considered
            .iter()
            .filter(|s| s.keyid.as_deref() != Some(key.key_id()));
        if hinted
            .chain(others)
            .any(|s| key.verify(&pae, &s.sig).is_ok())
        {
            signed.push(key.key_id().to_string());
        }
    }

    if opts.require_all && signed.len() < distinct.len() {
        let missing = distinct
            .iter()
            .filter(|k| !signed.iter().any(|s| s == k.key_id()))
            .map(|k| format!("{} ({})", k.key_id(), k.algorithm()))
            .collect();
        return Err(DsseError::MissingRequiredKeys { missing });
    }
    if signed.len() < opts.threshold {
        return Err(DsseError::ThresholdNotMet {
            valid: signed.len(),
            threshold: opts.threshold,
            signatures: considered.len(),
            keys: distinct.len(),
        });
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    const T: &str = "application/vnd.in-toto+json";

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in Algorithm::ALL {
            let k = PrivateKey::generate(alg).unwrap();
            let env = sign_envelope(T, b"{}", &[&k]).unwrap();
            assert_eq!(
                verify_envelope(&env, &[k.public_key().clone()], 1).unwrap(),
                vec![k.key_id().to_string()],
                "{alg}"
            );
            let mut bad = env.clone();
            bad.payload = b"{ }".to_vec();
            assert!(
                matches!(
                    verify_envelope(&bad, &[k.public_key().clone()], 1),
                    Err(DsseError::ThresholdNotMet { valid: 0, .. })
                ),
                "{alg}"
            );
        }
    }

    #[test]
    fn threshold_counts_distinct_keys() {
        let a = PrivateKey::generate(Algorithm::Ed25519).unwrap();
        let b = PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
        let both = [a.public_key().clone(), b.public_key().clone()];
        let env = sign_envelope(T, b"x", &[&a, &b]).unwrap();
        assert_eq!(verify_envelope(&env, &both, 2).unwrap().len(), 2);
        // the same key twice is one key
        let twice = sign_envelope(T, b"x", &[&a, &a]).unwrap();
        assert!(matches!(
            verify_envelope(&twice, &both, 2),
            Err(DsseError::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            })
        ));
        let dup_keys = [a.public_key().clone(), a.public_key().clone()];
        assert!(matches!(
            verify_envelope(&twice, &dup_keys, 2),
            Err(DsseError::ThresholdNotMet {
                valid: 1,
                keys: 1,
                ..
            })
        ));
    }

    #[test]
    fn require_all_names_the_missing_key() {
        let classical = PrivateKey::generate(Algorithm::Ed25519).unwrap();
        let pq = PrivateKey::generate(Algorithm::MlDsa65).unwrap();
        let keys = [classical.public_key().clone(), pq.public_key().clone()];
        let hybrid = sign_envelope(T, b"x", &[&classical, &pq]).unwrap();
        let opts = VerifyOptions {
            threshold: 1,
            require_all: true,
            payload_types: None,
        };
        assert_eq!(
            verify_envelope_with(&hybrid, &keys, &opts).unwrap().len(),
            2
        );
        let only_classical = sign_envelope(T, b"x", &[&classical]).unwrap();
        match verify_envelope_with(&only_classical, &keys, &opts) {
            Err(DsseError::MissingRequiredKeys { missing }) => {
                assert!(missing[0].starts_with(pq.key_id()) && missing[0].ends_with("(ml-dsa-65)"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_degenerate_inputs() {
        let a = PrivateKey::generate(Algorithm::Ed25519).unwrap();
        let env = sign_envelope(T, b"x", &[&a]).unwrap();
        let keys = [a.public_key().clone()];
        assert_eq!(
            verify_envelope(&env, &keys, 0),
            Err(DsseError::ZeroThreshold)
        );
        assert_eq!(verify_envelope(&env, &[], 1), Err(DsseError::NoTrustedKeys));
        let mut none = env.clone();
        none.signatures.clear();
        assert_eq!(
            verify_envelope(&none, &keys, 1),
            Err(DsseError::NoSignatures)
        );
        let opts = VerifyOptions {
            threshold: 1,
            require_all: false,
            payload_types: Some(&["other"]),
        };
        assert!(matches!(
            verify_envelope_with(&env, &keys, &opts),
            Err(DsseError::UnsupportedPayloadType { .. })
        ));
    }
}

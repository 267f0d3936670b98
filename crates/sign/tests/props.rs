//! Property tests of signing: for every algorithm, an envelope signed over arbitrary
//! payloads and payload types verifies (also after a JSON round trip in either base64
//! alphabet), and flipping any single bit of the signature, the payload or the payload
//! type makes it fail. One key per algorithm, made once; few cases (ML-DSA is slow in
//! debug builds). `PROPTEST_CASES` overrides the count.

use std::sync::OnceLock;

use cairn_formats::dsse::Envelope;
use cairn_formats::json::Limits;
use cairn_sign::dsse::{sign_envelope, verify_envelope};
use cairn_sign::{Algorithm, DsseError, PrivateKey, PublicKey};
use proptest::prelude::*;

fn keys() -> &'static [(PrivateKey, PrivateKey)] {
    // (signer, another key of the same algorithm)
    static KEYS: OnceLock<Vec<(PrivateKey, PrivateKey)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|a| {
                (
                    PrivateKey::generate(*a).unwrap(),
                    PrivateKey::generate(*a).unwrap(),
                )
            })
            .collect()
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(24),
        ..ProptestConfig::default()
    }
}

fn rejected(env: &Envelope, key: &PublicKey) -> bool {
    matches!(
        verify_envelope(env, std::slice::from_ref(key), 1),
        Err(DsseError::ThresholdNotMet { valid: 0, .. })
    )
}

fn flip(bytes: &mut [u8], bit: usize) {
    let i = bit % (bytes.len() * 8);
    bytes[i / 8] ^= 1 << (i % 8);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sign_verify_and_single_bit_flips(
        alg in 0usize..4,
        payload_type in "[ -~]{1,40}|.{1,10}",
        payload in prop::collection::vec(any::<u8>(), 0..512),
        sig_bit in any::<usize>(),
        payload_bit in any::<usize>(),
        type_bit in any::<usize>(),
    ) {
        let (key, other) = &keys()[alg];
        let public = key.public_key();
        let env = sign_envelope(&payload_type, &payload, &[key]).unwrap();
        prop_assert_eq!(verify_envelope(&env, std::slice::from_ref(public), 1).unwrap(), vec![key.key_id().to_string()]);

        // Through JSON, standard and URL-safe base64: the signature still covers the
        // decoded bytes.
        let json = env.to_json();
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let to_url = |s: &serde_json::Value| serde_json::Value::from(s.as_str().unwrap().replace('+', "-").replace('/', "_").trim_end_matches('=').to_string());
        v["payload"] = to_url(&v["payload"]);
        v["signatures"][0]["sig"] = to_url(&v["signatures"][0]["sig"]);
        let url = v.to_string();
        for text in [&json, &url] {
            let parsed = Envelope::parse(text.as_bytes(), &Limits::default()).unwrap();
            prop_assert!(verify_envelope(&parsed, std::slice::from_ref(public), 1).is_ok());
        }

        // Another key of the same algorithm does not verify it.
        prop_assert!(rejected(&env, other.public_key()), "{}: verified under another key", key.algorithm());

        let mut bad = env.clone();
        flip(&mut bad.signatures[0].sig, sig_bit);
        prop_assert!(rejected(&bad, public), "{}: signature bit {} flipped still verifies", key.algorithm(), sig_bit);

        if !payload.is_empty() {
            let mut bad = env.clone();
            flip(&mut bad.payload, payload_bit);
            prop_assert!(rejected(&bad, public), "{}: payload bit flipped still verifies", key.algorithm());
        }

        // A flipped bit may leave the type invalid UTF-8; PAE works on bytes, so compare
        // through a lossless path: only flips that stay UTF-8 are an envelope at all.
        let mut t = payload_type.clone().into_bytes();
        flip(&mut t, type_bit);
        if let Ok(t) = String::from_utf8(t) {
            let mut bad = env.clone();
            bad.payload_type = t;
            prop_assert!(rejected(&bad, public), "{}: payloadType bit flipped still verifies", key.algorithm());
        }

        // Truncated and extended signatures are rejected too.
        let mut short = env.clone();
        short.signatures[0].sig.pop();
        prop_assert!(rejected(&short, public));
        let mut long = env.clone();
        long.signatures[0].sig.push(0);
        prop_assert!(rejected(&long, public));
    }

    /// Public keys survive PEM, and the key id is the SHA-256 of the SPKI DER.
    #[test]
    fn public_key_pem_and_key_id(alg in 0usize..4) {
        let (key, _) = &keys()[alg];
        let p = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        prop_assert_eq!(&p, key.public_key());
        prop_assert_eq!(p.key_id(), hex::encode(cairn_sign::digest::sha256(p.spki_der())));
        prop_assert_eq!(p.algorithm(), Algorithm::ALL[alg]);
    }
}

/// Every bit of one signature per algorithm, exhaustively: no flip verifies.
#[test]
fn every_single_bit_flip_of_a_signature_is_rejected() {
    for (key, _) in keys() {
        let env =
            sign_envelope("application/vnd.in-toto+json", b"{\"_type\":\"x\"}", &[key]).unwrap();
        let public = key.public_key();
        let bits = env.signatures[0].sig.len() * 8;
        let mut tried = 0;
        for bit in 0..bits {
            let mut bad = env.clone();
            flip(&mut bad.signatures[0].sig, bit);
            assert!(
                rejected(&bad, public),
                "{}: bit {bit} of the signature flipped still verifies",
                key.algorithm()
            );
            tried += 1;
        }
        eprintln!(
            "{}: {tried} single-bit signature flips, all rejected",
            key.algorithm()
        );
    }
}

//! The DSSE protocol vectors in ../shared/corpus/dsse/vectors.json: PAE bytes, both base64
//! alphabets, thresholds and payload-type swaps, each with its expected verdict.

use cairn_formats::{Envelope, Limits};
use cairn_sign::dsse::{verify_envelope_with, VerifyOptions};
use cairn_sign::PublicKey;
use serde_json::Value;

/// SPKI DER for a raw Ed25519 public key (RFC 8410).
fn ed25519_spki(raw: &[u8]) -> Vec<u8> {
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(raw);
    der
}

#[test]
fn every_dsse_vector_gives_its_expected_result() {
    let path = cairn_testutil::corpus().join("dsse/vectors.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let keys = doc["keys"].as_object().unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(
        vectors.len() >= 9,
        "expected the 9 published vectors, found {}",
        vectors.len()
    );
    let (mut accepted, mut rejected) = (0, 0);
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let trusted: Vec<PublicKey> = v["trustedKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let raw =
                    hex::decode(keys[k.as_str().unwrap()]["public"].as_str().unwrap()).unwrap();
                PublicKey::from_spki_der(&ed25519_spki(&raw)).unwrap()
            })
            .collect();
        let types: Vec<&str> = v["supportedPayloadTypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let threshold = v["threshold"].as_u64().unwrap() as usize;
        let raw_env = serde_json::to_vec(&v["envelope"]).unwrap();
        let outcome = Envelope::parse(&raw_env, &Limits::default())
            .map_err(|e| e.to_string())
            .and_then(|env| {
                // `pae` is what the signatures cover; for accepted vectors it must be
                // exactly what we compute from the envelope as presented.
                if let (Some(pae), Some("accept")) = (v["pae"].as_str(), v["expect"].as_str()) {
                    assert_eq!(hex::encode(env.pae()), pae, "{id}: PAE bytes");
                }
                let opts = VerifyOptions {
                    threshold,
                    require_all: false,
                    payload_types: Some(&types),
                };
                verify_envelope_with(&env, &trusted, &opts).map_err(|e| e.to_string())
            });
        match (v["expect"].as_str().unwrap(), &outcome) {
            ("accept", Ok(_)) => accepted += 1,
            ("reject", Err(_)) => rejected += 1,
            (want, got) => panic!("vector {id}: expected {want}, got {got:?}"),
        }
    }
    println!("dsse vectors: {accepted} accepted, {rejected} rejected, all as expected");
}

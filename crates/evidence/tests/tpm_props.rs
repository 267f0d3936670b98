//! Property tests for the TPM side of the verifier (stable-Rust counterpart of the
//! `tpm_evidence` fuzz target): the TPM structure parsers never panic on arbitrary bytes,
//! and no mutation of the real swtpm fixture (`testdata/tpm/`) verifies: not of the
//! TPMS_ATTEST, the signature, the AK binding, the PCR values or the event log.

use base64::Engine as _;
use cairn_evidence::tpm::{Attest, Public, Signature};
use cairn_evidence::{verify_tpm_evidence, TpmTrust};
use cairn_formats::{Envelope, Limits, Statement};
use proptest::prelude::*;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tpm");

struct Fixture {
    evidence: Value,
    envelope: Envelope,
    statement: Statement,
    trust: TpmTrust,
}

fn fixture() -> Fixture {
    let read = |n: &str| std::fs::read(format!("{DIR}/{n}")).unwrap();
    let envelope = Envelope::parse(&read("envelope.json"), &Limits::default()).unwrap();
    let statement = Statement::from_envelope(&envelope, &Limits::default()).unwrap();
    let trust = TpmTrust::from_files(
        &[format!("{DIR}/manufacturer-root.pem").into()],
        &[format!("{DIR}/enrollment.pub").into()],
        None,
        &[],
    )
    .unwrap();
    Fixture {
        evidence: serde_json::from_slice(&read("evidence.json")).unwrap(),
        envelope,
        statement,
        trust,
    }
}

fn verifies(f: &Fixture, ev: &Value) -> bool {
    verify_tpm_evidence(
        ev,
        &f.envelope,
        &f.statement,
        &f.trust,
        time::OffsetDateTime::now_utc(),
    )
    .is_ok()
}

/// `v` without any `keyid` member, at any depth.
fn without_keyids(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "keyid")
                .map(|(k, v)| (k.clone(), without_keyids(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_keyids).collect()),
        other => other.clone(),
    }
}

fn b64(b: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(b))
}

fn b64d(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn structure_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = Attest::parse(&bytes);
        let _ = Public::parse(&bytes);
        let _ = Public::parse_tpm2b(&bytes);
        let _ = Signature::parse(&bytes);
    }

    #[test]
    fn mutated_binary_fields_never_verify(
        field in prop_oneof![Just("attest"), Just("signature")],
        edits in proptest::collection::vec((any::<usize>(), 1u8..), 1..4),
    ) {
        let f = fixture();
        let mut bytes = b64d(&f.evidence[field]);
        for (pos, x) in &edits {
            let i = pos % bytes.len();
            bytes[i] ^= x;
        }
        let mut ev = f.evidence.clone();
        ev[field] = b64(&bytes);
        prop_assert!(!verifies(&f, &ev));
    }

    #[test]
    fn mutated_json_text_never_verifies(pos in any::<usize>(), replacement in any::<char>()) {
        // Any one character of the entry's JSON text replaced: either it no longer parses
        // or a signed value changed. (Replacing a character with itself is skipped.)
        let f = fixture();
        let text = serde_json::to_string(&f.evidence).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let i = pos % chars.len();
        prop_assume!(chars[i] != replacement);
        let mut changed = chars.clone();
        changed[i] = replacement;
        let changed: String = changed.into_iter().collect();
        if let Ok(ev) = serde_json::from_str::<Value>(&changed) {
            // Whitespace and key order do not matter in JSON: compare the values. A DSSE
            // signature's `keyid` is an unauthenticated hint (DSSE spec): the AK binding is
            // verified against the trusted enrollment keys whatever it says.
            prop_assume!(without_keyids(&ev) != without_keyids(&f.evidence));
            prop_assert!(!verifies(&f, &ev), "accepted a change at char {i}: {}", &changed[i.saturating_sub(20)..(i + 20).min(changed.len())]);
        }
    }
}

#[test]
fn the_unmodified_fixture_verifies() {
    // The properties above are only meaningful if the fixture itself verifies.
    let f = fixture();
    assert!(verifies(&f, &f.evidence));
}

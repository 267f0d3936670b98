//! AWS Nitro Enclaves: the real attestation document shipped with `nitro_attest`
//! (testdata/nitro/NOTICE.md) against AWS's Root-G1 at a pinned time, cross-checked with
//! `nitro_attest` itself; and documents made here on a synthetic chain (rcgen, P-384),
//! which are the only way to exercise a document that binds a cairn envelope.
#![cfg(feature = "nitro")]

use std::collections::BTreeMap;

use base64::Engine as _;
use cairn_evidence::tee::nitro::{
    verify_nitro_document, verify_nitro_evidence, AWS_NITRO_ROOT_G1_SHA256, NITRO_KIND,
};
use cairn_evidence::tee::{report_data_for, TeePolicy};
use cairn_evidence::EvidenceError;
use cairn_formats::Envelope;
use cairn_testutil::nitro::{SyntheticNitro, PCR0};
use serde_json::json;
use sha2::Digest as _;
use time::macros::datetime;
use time::OffsetDateTime;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/nitro");
/// The sample's own timestamp: every certificate of its chain is valid then.
const SAMPLE_NOW: i64 = 1_736_179_625;

fn sample() -> Vec<u8> {
    std::fs::read(format!("{DIR}/attestation.cose")).unwrap()
}

fn sample_now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(SAMPLE_NOW).unwrap()
}

fn is_nitro_error(e: &EvidenceError) -> bool {
    matches!(
        e,
        EvidenceError::TeeReport {
            kind: "nitro-attestation",
            ..
        }
    )
}

#[test]
fn the_real_sample_verifies_and_agrees_with_nitro_attest() {
    let ours = verify_nitro_document(&sample(), &[], sample_now()).unwrap();
    assert_eq!(ours.module_id, "i-0bee92034f3d60691-enc01943c5eaab3ad6a");
    assert!(ours.root.contains("aws.nitro-enclaves"), "{}", ours.root);
    assert_eq!(ours.timestamp, "2025-01-06T16:07:05Z");
    assert_eq!(ours.user_data, None);
    // The second oracle: AWS's document verified by nitro_attest gives the same facts.
    let theirs = nitro_attest::UnparsedAttestationDoc::from(sample().as_slice())
        .parse_and_verify(sample_now())
        .unwrap();
    assert_eq!(theirs.module_id, ours.module_id);
    let their_pcrs: BTreeMap<u16, String> = theirs
        .pcrs
        .iter()
        .map(|(i, d)| (*i, hex::encode(&d.value)))
        .collect();
    assert_eq!(their_pcrs, ours.pcrs);
    assert_eq!(ours.pcrs.len(), 5);
}

#[test]
fn pinned_root_fingerprint_is_aws_root_g1() {
    let pem = std::fs::read(format!("{DIR}/aws-nitro-enclaves-root-g1.pem")).unwrap();
    let der = pem::parse(pem).unwrap().into_contents();
    assert_eq!(
        sha2::Sha256::digest(&der).as_slice(),
        AWS_NITRO_ROOT_G1_SHA256
    );
}

#[test]
fn every_flipped_byte_of_the_real_document_fails() {
    let doc = sample();
    for i in 0..doc.len() {
        let mut bad = doc.clone();
        bad[i] ^= 0x01;
        let e = verify_nitro_document(&bad, &[], sample_now())
            .expect_err(&format!("flipped byte {i} was accepted"));
        assert!(is_nitro_error(&e), "byte {i}: {e}");
    }
    let mut longer = doc.clone();
    longer.push(0);
    assert!(verify_nitro_document(&longer, &[], sample_now()).is_err());
    assert!(verify_nitro_document(&doc[..doc.len() - 1], &[], sample_now()).is_err());
    assert!(verify_nitro_document(&[], &[], sample_now()).is_err());
}

#[test]
fn the_real_document_expires() {
    let e = verify_nitro_document(&sample(), &[], datetime!(2026-12-04 00:00:00 UTC)).unwrap_err();
    assert!(e.to_string().contains("is not valid at 2026-12-04"), "{e}");
    let e = verify_nitro_document(&sample(), &[], datetime!(2024-01-01 00:00:00 UTC)).unwrap_err();
    assert!(e.to_string().contains("is not valid at 2024-01-01"), "{e}");
}

#[test]
fn the_real_document_binds_no_build() {
    let ev = json!({"kind": NITRO_KIND, "document": b64(&sample())});
    let e =
        verify_nitro_evidence(&ev, &envelope(), &TeePolicy::default(), sample_now()).unwrap_err();
    assert!(e.to_string().contains("has no user_data"), "{e}");
}

#[test]
fn oversized_document_is_refused_before_parsing() {
    let e = verify_nitro_document(&vec![0u8; 32 * 1024 + 1], &[], sample_now()).unwrap_err();
    assert!(e.to_string().contains("byte limit"), "{e}");
}

// ---- A synthetic chain (cairn-testutil): root → intermediate → signing certificate. ----

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn envelope() -> Envelope {
    Envelope {
        payload_type: "application/vnd.in-toto+json".into(),
        payload: br#"{"_type":"https://in-toto.io/Statement/v1"}"#.to_vec(),
        signatures: vec![],
    }
}

fn envelope_report_data(env: &Envelope) -> Vec<u8> {
    report_data_for(&sha2::Sha256::digest(env.pae()).into()).to_vec()
}

fn chain() -> SyntheticNitro {
    SyntheticNitro::new()
}

fn document(c: &SyntheticNitro, user_data: Option<Vec<u8>>, pcr0: [u8; 48]) -> Vec<u8> {
    c.document(user_data, pcr0)
}

fn trusting(c: &SyntheticNitro) -> TeePolicy {
    TeePolicy {
        nitro_roots: vec![c.root_sha256()],
        ..Default::default()
    }
}

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

fn entry(doc: &[u8]) -> serde_json::Value {
    json!({"kind": NITRO_KIND, "document": b64(doc)})
}

#[test]
fn a_document_binding_the_envelope_verifies() {
    let c = chain();
    let env = envelope();
    let doc = document(&c, Some(envelope_report_data(&env)), PCR0);
    let v = verify_nitro_evidence(&entry(&doc), &env, &trusting(&c), NOW).unwrap();
    assert_eq!(v.module_id, "i-test-enc0001");
    assert_eq!(v.pcrs.get(&0).unwrap(), &hex::encode(PCR0));
    // All-zero PCR2 is not reported as a measurement.
    assert!(!v.pcrs.contains_key(&2));
    assert_eq!(v.timestamp, "2025-10-09T08:53:20Z");
}

#[test]
fn the_synthetic_root_is_not_trusted_by_default() {
    let c = chain();
    let env = envelope();
    let doc = document(&c, Some(envelope_report_data(&env)), PCR0);
    let e = verify_nitro_evidence(&entry(&doc), &env, &TeePolicy::default(), NOW).unwrap_err();
    assert!(e.to_string().contains("is not a trusted root"), "{e}");
}

#[test]
fn another_build_or_a_wrong_launch_measurement_fails() {
    let c = chain();
    let env = envelope();
    let mut other = env.clone();
    other.payload.push(b' ');
    let doc = document(&c, Some(envelope_report_data(&other)), PCR0);
    let e = verify_nitro_evidence(&entry(&doc), &env, &trusting(&c), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            EvidenceError::ReportDataMismatch {
                kind: "nitro-attestation",
                ..
            }
        ),
        "{e}"
    );

    let doc = document(&c, Some(envelope_report_data(&env)), PCR0);
    let mut p = trusting(&c);
    p.add_launch_measurement(&format!("nitro:{}", "33".repeat(48)))
        .unwrap();
    let e = verify_nitro_evidence(&entry(&doc), &env, &p, NOW).unwrap_err();
    assert!(e.to_string().contains("PCR0 1111"), "{e}");
    p.add_launch_measurement(&format!("nitro:{}", hex::encode(PCR0)))
        .unwrap();
    verify_nitro_evidence(&entry(&doc), &env, &p, NOW).unwrap();
}

#[test]
fn a_debug_mode_enclave_is_refused() {
    let c = chain();
    let env = envelope();
    let doc = document(&c, Some(envelope_report_data(&env)), [0; 48]);
    let e = verify_nitro_evidence(&entry(&doc), &env, &trusting(&c), NOW).unwrap_err();
    assert!(e.to_string().contains("debug mode"), "{e}");
}

#[test]
fn chain_faults_are_named() {
    let env = envelope();
    let rd = Some(envelope_report_data(&env));
    // An intermediate that is not a CA.
    let c = SyntheticNitro::with_intermediate_ca(false);
    let e = verify_nitro_document(
        &document(&c, rd.clone(), PCR0),
        &trusting(&c).nitro_roots,
        NOW,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("cabundle[1]") && e.to_string().contains("not a CA"),
        "{e}"
    );
    // A signing certificate from another chain under the same names.
    let c = chain();
    let other = chain();
    let mut mixed = chain();
    mixed.root = c.root.clone();
    mixed.intermediate = c.intermediate.clone();
    mixed.leaf = other.leaf.clone();
    mixed.leaf_key = other.leaf_key.clone();
    let e = verify_nitro_document(
        &document(&mixed, rd.clone(), PCR0),
        &trusting(&c).nitro_roots,
        NOW,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("the signing certificate: signature does not verify"),
        "{e}"
    );
    // Signed by a key other than the signing certificate's.
    let mut wrong_key = chain();
    wrong_key.leaf_key = other.leaf_key;
    let e = verify_nitro_document(
        &document(&wrong_key, rd.clone(), PCR0),
        &trusting(&wrong_key).nitro_roots,
        NOW,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("COSE signature does not verify"),
        "{e}"
    );
    // Outside the synthetic chain's validity.
    let e = verify_nitro_document(
        &document(&c, rd, PCR0),
        &trusting(&c).nitro_roots,
        datetime!(2040-01-01 00:00:00 UTC),
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not valid at 2040-01-01"), "{e}");
}

#[test]
fn a_payload_that_is_not_an_attestation_document_is_refused() {
    let c = chain();
    for payload in [b"not cbor".to_vec(), vec![0xa0], Vec::new()] {
        let e =
            verify_nitro_document(&c.sign(payload), &trusting(&c).nitro_roots, NOW).unwrap_err();
        assert!(is_nitro_error(&e), "{e}");
    }
}

#[test]
fn malformed_entries_name_the_field() {
    let env = envelope();
    let p = TeePolicy::default();
    let cases = [
        (
            json!({"kind": NITRO_KIND, "document": "%%"}),
            "field `document`: not base64",
        ),
        (json!({"kind": NITRO_KIND}), "missing field `document`"),
        (
            json!({"kind": NITRO_KIND, "document": "", "x": 1}),
            "unknown field `x`",
        ),
        (json!({"kind": "sev-snp", "document": ""}), "field `kind`"),
    ];
    for (v, want) in cases {
        let e = verify_nitro_evidence(&v, &env, &p, NOW).unwrap_err();
        assert!(e.to_string().contains(want), "{v}: {e}");
    }
}

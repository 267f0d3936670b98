//! The pure-Rust verifier on a real swtpm quote stored in `testdata/tpm/` (written by
//! `cargo run -p cairn-tpm --example tpm_evidence -- --write-fixture crates/evidence/testdata/tpm`).
//! No TPM and no libtss2 needed here: this is what a consumer's machine runs.

use base64::Engine as _;
use cairn_evidence::binding::{
    check_ak_attributes, verify_binding, AkBindingRecord, AK_BINDING_PAYLOAD_TYPE,
};
use cairn_evidence::quote::parse_golden_pcrs;
use cairn_evidence::tpm::{attr, Attest, Attested, Public, PublicKey, Signature};
use cairn_evidence::{verify_tpm_evidence, EvidenceError, TpmTrust};
use cairn_formats::{Envelope, Limits, Statement};
use cairn_sign::{Algorithm, PrivateKey, PublicKey as SignKey};
use serde_json::Value;
use sha2::Digest as _;
use time::OffsetDateTime;

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
    let trust = TpmTrust {
        manufacturer_roots: cairn_evidence::ekcert::certs_from_pem(&read("manufacturer-root.pem"))
            .unwrap(),
        enrollment_keys: vec![SignKey::from_pem(
            std::str::from_utf8(&read("enrollment.pub")).unwrap(),
        )
        .unwrap()],
        ..Default::default()
    };
    Fixture {
        evidence: serde_json::from_slice(&read("evidence.json")).unwrap(),
        envelope,
        statement,
        trust,
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn verify(f: &Fixture, ev: &Value) -> Result<cairn_evidence::VerifiedTpmEvidence, EvidenceError> {
    verify_tpm_evidence(ev, &f.envelope, &f.statement, &f.trust, now())
}

fn b64d(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

fn b64e(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn binding_record(f: &Fixture) -> AkBindingRecord {
    let env = Envelope::parse(
        f.evidence["akBinding"].to_string().as_bytes(),
        &Limits::default(),
    )
    .unwrap();
    serde_json::from_slice(&env.payload).unwrap()
}

/// Re-signs `record` with a fresh authority that `f.trust` then trusts.
fn resign(f: &mut Fixture, record: &AkBindingRecord) -> Value {
    let k = PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
    f.trust.enrollment_keys = vec![k.public_key().clone()];
    let mut ev = f.evidence.clone();
    ev["akBinding"] = serde_json::to_value(record.sign(&k).unwrap().to_wire()).unwrap();
    ev
}

#[test]
fn the_stored_quote_verifies() {
    let f = fixture();
    let v = verify(&f, &f.evidence).unwrap();
    assert_eq!(v.host_id, "bench-host");
    assert_eq!(v.quoted_pcrs, vec![0, 1, 2, 3, 4, 5, 6, 7, 23]);
    assert_eq!(v.ek_certificate_issuer, "CN=swtpm-localca");
    assert_eq!(
        v.pcr23,
        f.evidence["pcrs"]["sha256"]["23"].as_str().unwrap()
    );
}

#[test]
fn tpm_structures_parse_exactly() {
    let f = fixture();
    let attest = b64d(&f.evidence["attest"]);
    let a = Attest::parse(&attest).unwrap();
    assert_eq!(a.magic, 0xff54_4347);
    assert_eq!(a.attest_type, 0x8018);
    assert_eq!(
        a.extra_data,
        sha2::Sha256::digest(f.envelope.pae()).to_vec()
    );
    let Attested::Quote {
        pcr_select,
        pcr_digest,
    } = &a.attested
    else {
        panic!("not a quote")
    };
    assert_eq!(pcr_select.len(), 1);
    assert_eq!(pcr_select[0].hash, 0x000b);
    assert_eq!(pcr_select[0].pcrs, vec![0, 1, 2, 3, 4, 5, 6, 7, 23]);
    assert_eq!(pcr_digest.len(), 32);
    assert!(a.clock_info.safe);

    // Truncation names the field; trailing bytes are refused.
    let e = Attest::parse(&attest[..attest.len() - 1]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("TPMS_ATTEST: field `attested.quote.pcrDigest`: needs 32 bytes"),
        "{e}"
    );
    let e = Attest::parse(&attest[..3]).unwrap_err();
    assert!(
        e.to_string().starts_with("TPMS_ATTEST: field `magic`"),
        "{e}"
    );
    let mut long = attest.clone();
    long.push(0);
    assert!(Attest::parse(&long)
        .unwrap_err()
        .to_string()
        .contains("1 trailing bytes"));
    // An unknown attestation type is named.
    let mut t = attest.clone();
    t[4..6].copy_from_slice(&0x8014u16.to_be_bytes());
    assert!(matches!(
        Attest::parse(&t).unwrap_err(),
        EvidenceError::WrongAttestType { found: 0x8014, .. }
    ));
    // A TPMI_YES_NO that is neither 0 nor 1.
    let safe_at = 4 + 2 + 2 + 34 + 2 + 32 + 8 + 4 + 4;
    let mut t = attest.clone();
    t[safe_at] = 7;
    assert!(Attest::parse(&t)
        .unwrap_err()
        .to_string()
        .contains("TPMI_YES_NO must be 0 or 1, found 7"));

    let sig = b64d(&f.evidence["signature"]);
    assert!(matches!(
        Signature::parse(&sig).unwrap(),
        Signature::Ecdsa { hash: 0x000b, .. }
    ));
    let mut s = sig.clone();
    s[0..2].copy_from_slice(&0x0005u16.to_be_bytes());
    assert!(matches!(
        Signature::parse(&s).unwrap_err(),
        EvidenceError::UnsupportedAlgorithm {
            field: "sigAlg",
            value: 5,
            ..
        }
    ));

    let record = binding_record(&f);
    let ak = Public::parse(
        &base64::engine::general_purpose::STANDARD
            .decode(&record.ak_public)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ak.attributes, 0x0005_0072);
    assert!(matches!(
        ak.key,
        PublicKey::Ecc {
            curve: 0x0003,
            scheme: 0x0018,
            scheme_hash: Some(0x000b),
            ..
        }
    ));
    assert_eq!(hex::encode(ak.name().unwrap()), record.ak_name);
    check_ak_attributes(&ak).unwrap();
    let mut tpm2b = (ak.raw.len() as u16).to_be_bytes().to_vec();
    tpm2b.extend_from_slice(&ak.raw);
    assert_eq!(Public::parse_tpm2b(&tpm2b).unwrap(), ak);
    let ek = Public::parse(
        &base64::engine::general_purpose::STANDARD
            .decode(&record.ek_public)
            .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        ek.key,
        PublicKey::Rsa {
            exponent: 65537,
            ..
        }
    ));
}

#[test]
fn ak_attributes_must_be_restricted_signing() {
    let f = fixture();
    let record = binding_record(&f);
    let ak = Public::parse(
        &base64::engine::general_purpose::STANDARD
            .decode(&record.ak_public)
            .unwrap(),
    )
    .unwrap();
    for (bit, name) in [
        (attr::RESTRICTED, "restricted"),
        (attr::SIGN, "sign"),
        (attr::FIXED_TPM, "fixedTPM"),
    ] {
        let mut weak = ak.clone();
        weak.attributes &= !bit;
        let e = check_ak_attributes(&weak).unwrap_err();
        assert!(e.to_string().contains(&format!("missing {name}")), "{e}");
    }
    let mut dec = ak.clone();
    dec.attributes |= attr::DECRYPT;
    assert!(check_ak_attributes(&dec)
        .unwrap_err()
        .to_string()
        .contains("decrypt is set"));

    // The same through a (re-signed) binding: a non-restricted AK is refused even when
    // the authority signed it.
    let mut f = fixture();
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(&record.ak_public)
        .unwrap();
    raw[4..8].copy_from_slice(&(0x0005_0072u32 & !attr::RESTRICTED).to_be_bytes());
    let mut r = record.clone();
    r.ak_public = b64e(&raw);
    let ev = resign(&mut f, &r);
    let e = verify(&f, &ev).unwrap_err();
    assert!(
        matches!(
            e,
            EvidenceError::AkAttributes {
                found: 0x0004_0072,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn binding_record_fields_are_checked() {
    let base = fixture();
    let record = binding_record(&base);

    let mut f = fixture();
    let mut r = record.clone();
    r.ak_name = format!("000b{}", "00".repeat(32));
    let e = {
        let ev = resign(&mut f, &r);
        verify(&f, &ev)
    }
    .unwrap_err();
    assert!(
        e.to_string().contains("`akName` 000b0000")
            && e.to_string().contains("is not the name of `akPublic`"),
        "{e}"
    );

    let mut f = fixture();
    let mut r = record.clone();
    r.type_ = "https://example.com/other".into();
    let e = {
        let ev = resign(&mut f, &r);
        verify(&f, &ev)
    }
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("`_type` \"https://example.com/other\""),
        "{e}"
    );

    let mut f = fixture();
    let mut r = record.clone();
    r.activation = "trust-on-first-use".into();
    let e = {
        let ev = resign(&mut f, &r);
        verify(&f, &ev)
    }
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("`activation` \"trust-on-first-use\""),
        "{e}"
    );

    // An EK public that is not the certificate's key.
    let mut f = fixture();
    let mut r = record.clone();
    let mut ek = base64::engine::general_purpose::STANDARD
        .decode(&r.ek_public)
        .unwrap();
    let last = ek.len() - 1;
    ek[last] ^= 1;
    r.ek_public = b64e(&ek);
    assert_eq!(
        {
            let ev = resign(&mut f, &r);
            verify(&f, &ev)
        }
        .unwrap_err(),
        EvidenceError::EkKeyMismatch
    );

    // A chain without the intermediate cannot reach the root.
    let mut f = fixture();
    let mut r = record.clone();
    r.ek_cert_chain.truncate(1);
    let e = {
        let ev = resign(&mut f, &r);
        verify(&f, &ev)
    }
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("neither a trusted TPM manufacturer root nor in the chain"),
        "{e}"
    );

    // Garbage certificate and base64.
    let mut f = fixture();
    let mut r = record.clone();
    r.ek_cert_chain[0] = b64e(b"not a certificate");
    let e = {
        let ev = resign(&mut f, &r);
        verify(&f, &ev)
    }
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("EK certificate: not a DER X.509 certificate"),
        "{e}"
    );
    let mut f = fixture();
    let mut r = record.clone();
    r.ak_public = "%%%".into();
    assert_eq!(
        {
            let ev = resign(&mut f, &r);
            verify(&f, &ev)
        }
        .unwrap_err(),
        EvidenceError::AkBinding("`akPublic` is not base64".into())
    );

    // A binding signed under another payload type is refused.
    let f = fixture();
    let k = PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
    let env = cairn_sign::dsse::sign_envelope(
        "application/json",
        &serde_json::to_vec(&record).unwrap(),
        &[&k],
    )
    .unwrap();
    let e = verify_binding(
        &env,
        &[k.public_key().clone()],
        &f.trust.manufacturer_roots,
        now(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains(AK_BINDING_PAYLOAD_TYPE) || e.to_string().contains("payload type"),
        "{e}"
    );

    // An unknown field in the record fails closed.
    let mut v = serde_json::to_value(&record).unwrap();
    v["extra"] = Value::Bool(true);
    let env = cairn_sign::dsse::sign_envelope(
        AK_BINDING_PAYLOAD_TYPE,
        &serde_json::to_vec(&v).unwrap(),
        &[&k],
    )
    .unwrap();
    let e = verify_binding(
        &env,
        &[k.public_key().clone()],
        &f.trust.manufacturer_roots,
        now(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `extra`"), "{e}");
}

#[test]
fn ek_certificate_validity_period_is_enforced() {
    let f = fixture();
    // The swtpm EK certificate was issued during the fixture run: before that it is not valid.
    let past = OffsetDateTime::UNIX_EPOCH;
    let e =
        verify_tpm_evidence(&f.evidence, &f.envelope, &f.statement, &f.trust, past).unwrap_err();
    assert!(
        matches!(e, EvidenceError::EkChain(ref s) if s.contains("is not valid at 1970-01-01")),
        "{e}"
    );
}

#[test]
fn malformed_evidence_entries_name_the_field() {
    let f = fixture();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("attest");
            }),
            "missing field `attest`",
        ),
        (
            Box::new(|v| v["surprise"] = Value::Bool(true)),
            "unknown field `surprise`",
        ),
        (
            Box::new(|v| v["kind"] = Value::String("tpm2-certify".into())),
            "\"tpm2-certify\" is not \"tpm2-quote\"",
        ),
        (
            Box::new(|v| v["attest"] = Value::String("@@".into())),
            "field `attest`: not base64",
        ),
        (
            Box::new(|v| v["signature"] = Value::String(b64e(&[0, 0x18]))),
            "TPMT_SIGNATURE: field `signature.ecdsa.hash`",
        ),
        (
            Box::new(|v| v["pcrs"]["sha1"] = serde_json::json!({})),
            "bank \"sha1\" is not supported",
        ),
        (
            Box::new(|v| v["pcrs"]["sha256"]["24"] = Value::String("00".repeat(32))),
            "\"24\" is not a PCR index 0-23",
        ),
        (
            Box::new(|v| v["pcrs"]["sha256"]["07"] = Value::String("00".repeat(32))),
            "\"07\" is not a PCR index 0-23",
        ),
        (
            Box::new(|v| v["pcrs"]["sha256"]["7"] = Value::String("00".repeat(31))),
            "PCR 7: value is not 32 bytes of hex",
        ),
        (
            Box::new(|v| v["eventLog"][0]["recnum"] = Value::String("0".into())),
            "eventLog[0].recnum",
        ),
    ];
    for (mutate, needle) in cases {
        let mut ev = f.evidence.clone();
        mutate(&mut ev);
        let e = verify(&f, &ev).unwrap_err();
        assert!(e.to_string().contains(needle), "expected {needle:?} in {e}");
    }
}

#[test]
fn envelope_and_provenance_binding() {
    let f = fixture();
    // The same statement bytes under another payload type: a different PAE, so the quote
    // belongs to another envelope.
    let mut env = f.envelope.clone();
    env.payload_type = "application/json".into();
    let e = verify_tpm_evidence(&f.evidence, &env, &f.statement, &f.trust, now()).unwrap_err();
    assert!(matches!(e, EvidenceError::ExtraDataMismatch { .. }), "{e}");
    // A statement that disagrees with the measured outputs (the envelope is unchanged, so
    // only the event check can catch it).
    let mut st = f.statement.clone();
    st.subject[0].digest = cairn_formats::DigestSet::sha256("ab".repeat(32));
    let e = verify_tpm_evidence(&f.evidence, &f.envelope, &st, &f.trust, now()).unwrap_err();
    assert!(
        matches!(e, EvidenceError::MeasurementMismatch { ref kind, .. } if kind == "outputs"),
        "{e}"
    );
    // Allowed builder digests are enforced when given.
    let mut trust = f.trust.clone();
    trust.allowed_builder_binaries = vec![[0x11; 32]];
    let e = verify_tpm_evidence(&f.evidence, &f.envelope, &f.statement, &trust, now()).unwrap_err();
    assert!(
        e.to_string()
            .contains("is not among the allowed builder digests"),
        "{e}"
    );
    trust.allowed_builder_binaries.push([0xee; 32]);
    verify_tpm_evidence(&f.evidence, &f.envelope, &f.statement, &trust, now()).unwrap();
}

#[test]
fn golden_pcr_policy_files() {
    let g = parse_golden_pcrs(
        format!(
            r#"{{"pcrs":{{"sha256":{{"0":"{}","7":"{}"}}}}}}"#,
            "00".repeat(32),
            "11".repeat(32)
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[&7], [0x11; 32]);
    for (doc, needle) in [
        (
            r#"{"pcrs":{"sha384":{}}}"#.to_string(),
            "bank \"sha384\" is not supported",
        ),
        (
            format!(r#"{{"pcrs":{{"sha256":{{"x":"{}"}}}}}}"#, "00".repeat(32)),
            "\"x\" is not a PCR index",
        ),
        (
            r#"{"pcrs":{"sha256":{"1":"zz"}}}"#.to_string(),
            "PCR 1: value is not 32 bytes of hex",
        ),
        (r#"{"pcr":{}}"#.to_string(), "unknown field `pcr`"),
        (r#"{"pcrs":{},"pcrs":{}}"#.to_string(), "duplicate JSON key"),
    ] {
        let e = parse_golden_pcrs(doc.as_bytes()).unwrap_err();
        assert!(e.to_string().contains(needle), "{needle:?} not in {e}");
    }
}

#[test]
fn trust_from_files_reports_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not pem").unwrap();
    let e = TpmTrust::from_files(std::slice::from_ref(&bad), &[], None, &[]).unwrap_err();
    assert!(e.to_string().contains("bad.pem"), "{e}");
    let e = TpmTrust::from_files(&[], &[bad], None, &[]).unwrap_err();
    assert!(e.to_string().contains("--enrollment-key"), "{e}");
    let e = TpmTrust::from_files(&[], &[], None, &["sha256:abc".into()]).unwrap_err();
    assert!(
        e.to_string().contains("builder digest \"sha256:abc\""),
        "{e}"
    );
    let t = TpmTrust::from_files(
        &[format!("{DIR}/manufacturer-root.pem").into()],
        &[format!("{DIR}/enrollment.pub").into()],
        None,
        &[format!("sha256:{}", "ee".repeat(32))],
    )
    .unwrap();
    assert_eq!(t.manufacturer_roots.len(), 1);
    assert_eq!(t.allowed_builder_binaries, vec![[0xee; 32]]);
}

/// Properties (stable-Rust counterpart of the `tpm_evidence` fuzz target): the TPM
/// structure parsers never panic on arbitrary bytes, and no mutation of the fixture
/// verifies: not of the TPMS_ATTEST, the signature, the AK binding, the PCR values or the
/// event log.
mod props {
    use super::*;
    use proptest::prelude::*;

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
            ev[field] = Value::String(b64e(&bytes));
            prop_assert!(verify(&f, &ev).is_err());
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
                prop_assert!(verify(&f, &ev).is_err(), "accepted a change at char {i}: {}", &changed[i.saturating_sub(20)..(i + 20).min(changed.len())]);
            }
        }
    }
}

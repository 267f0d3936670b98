//! End to end on a real TPM protocol stack (swtpm): enroll → measure → quote → verify,
//! cross-checks with tpm2-tools, and one test per attack the verifier must stop.

mod support;

use base64::Engine as _;
use cairn_evidence::eventlog::replay;
use cairn_evidence::hardware::{verify_attestation_hardware, HardwareTrust};
use cairn_evidence::measure::{BuildMeasurements, MeasurementKind};
use cairn_evidence::{verify_tpm_evidence, EvidenceError, TpmTrust};
use cairn_formats::{Attestation, Envelope, Statement};
use cairn_tpm::{enroll, EnrollOptions, HostFile, PcrSpec, TpmBuildAttester, TpmError};
use serde_json::Value;
use support::*;
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

struct Host {
    tpm: Swtpm,
    host: HostFile,
    trust: TpmTrust,
}

/// Starts a swtpm on `state` and enrolls it with a fresh authority that trusts `m`.
fn enrolled(m: &Manufacturer, state: &std::path::Path, verifier_roots: Vec<Vec<u8>>) -> Host {
    let tpm = Swtpm::start(state);
    let authority = key();
    let host = enroll(&EnrollOptions {
        tcti: &tpm.tcti(),
        ek_ca: m.ca_certs(),
        authority: &authority,
        host_id: "build-host-1".into(),
        now: now(),
    })
    .expect("enrollment succeeds");
    let trust = TpmTrust {
        manufacturer_roots: verifier_roots,
        enrollment_keys: vec![authority.public_key().clone()],
        golden_pcrs: Default::default(),
        allowed_builder_binaries: Vec::new(),
    };
    Host { tpm, host, trust }
}

fn default_host() -> Host {
    let m = manufacturer();
    enrolled(m, &m.state, vec![m.root_der()])
}

fn pae_sha256(env: &Envelope) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(env.pae()).into()
}

/// A build on `host`: measure what the statement says, quote over its envelope.
fn attested_build(host: &Host, output: &str) -> (Envelope, Statement, Value) {
    let (mut env, st) = signed_provenance(&key(), output);
    let m = BuildMeasurements::from_statement(&st).unwrap();
    let mut att = TpmBuildAttester::open(&host.tpm.tcti(), &host.host, PcrSpec::default()).unwrap();
    att.begin().unwrap();
    att.measure_all(&m).unwrap();
    // As the supervisor does: the TPM-resident key signs too, then the quote and the
    // certification cover the envelope.
    if let Some((keyid, sig)) = att.sign_envelope(&env.pae()).unwrap() {
        env.signatures.push(cairn_formats::dsse::Signature {
            keyid: Some(keyid),
            sig,
            cert: None,
        });
    }
    let ev = att.finish(&pae_sha256(&env)).unwrap();
    (env, st, ev)
}

fn verify(
    ev: &Value,
    env: &Envelope,
    st: &Statement,
    trust: &TpmTrust,
) -> Result<cairn_evidence::VerifiedTpmEvidence, EvidenceError> {
    verify_tpm_evidence(ev, env, st, trust, now())
}

fn b64d(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

fn b64e(b: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(b))
}

#[test]
fn end_to_end_enroll_measure_quote_verify() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"aa".repeat(32));
    let v = verify(&ev, &env, &st, &host.trust).expect("evidence verifies");
    assert_eq!(v.host_id, "build-host-1");
    assert_eq!(v.quoted_pcrs, vec![0, 1, 2, 3, 4, 5, 6, 7, 23]);
    assert_eq!(v.ek_certificate_issuer, "CN=swtpm-localca");
    assert_eq!(v.manufacturer_root, "CN=swtpm-localca-rootca");
    let m = BuildMeasurements::from_statement(&st).unwrap();
    let expected23 = replay(&MeasurementKind::ALL.map(|k| *m.get(k).unwrap()));
    assert_eq!(v.builder_binary, "ee".repeat(32));
    assert!(v.builder_binary_in_provenance);
    assert_eq!(v.pcr23, hex::encode(expected23));
    assert_eq!(ev["eventLog"].as_array().unwrap().len(), 5);

    // The same evidence inside a bundle attestation passes the bundle-level rules, with
    // and without `--require-hardware tpm`.
    let mut a = Attestation::new(env.clone());
    a.evidence.push(ev.clone());
    let out =
        verify_attestation_hardware(&a, &st, &["tpm2-quote"], &hw(&host.trust), now()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind(), "tpm2-quote");

    // The host file round-trips through JSON and quotes again after reloading.
    let reloaded = HostFile::parse(host.host.to_json().as_bytes()).unwrap();
    let mut att = TpmBuildAttester::open(&host.tpm.tcti(), &reloaded, PcrSpec::default()).unwrap();
    att.begin().unwrap();
    att.measure_all(&m).unwrap();
    let ev2 = att.finish(&pae_sha256(&env)).unwrap();
    drop(att);
    verify(&ev2, &env, &st, &host.trust).unwrap();

    // Enrollment left the EK at its TCG persistent handle, which builds reuse.
    let dir = tempfile::tempdir().unwrap();
    let out = tpm2(
        &host.tpm,
        &["tpm2_getcap", "handles-persistent"],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0x81010001"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn golden_pcrs_are_enforced() {
    let mut host = default_host();
    let (env, st, ev) = attested_build(&host, &"ab".repeat(32));
    let pcr0: [u8; 32] = hex::decode(ev["pcrs"]["sha256"]["0"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    host.trust.golden_pcrs.insert(0, pcr0);
    let v = verify(&ev, &env, &st, &host.trust).unwrap();
    assert_eq!(v.golden_pcrs_checked, vec![0]);
    host.trust.golden_pcrs.insert(7, [0x77; 32]);
    let e = verify(&ev, &env, &st, &host.trust).unwrap_err();
    assert!(matches!(e, EvidenceError::GoldenPcr { pcr: 7, .. }), "{e}");
    assert!(e.to_string().starts_with("PCR 7: value "), "{e}");
    host.trust.golden_pcrs.remove(&7);
    host.trust.golden_pcrs.insert(12, [0; 32]);
    let e = verify(&ev, &env, &st, &host.trust).unwrap_err();
    assert!(
        e.to_string()
            .contains("golden value given for PCR 12, but the quote does not cover it"),
        "{e}"
    );
}

#[test]
fn enrollment_rejects_ek_certificate_from_another_ca() {
    let other = Manufacturer::new();
    let tpm = Swtpm::start(&other.state);
    let e = enroll(&EnrollOptions {
        tcti: &tpm.tcti(),
        ek_ca: manufacturer().ca_certs(),
        authority: &key(),
        host_id: "h".into(),
        now: now(),
    })
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, TpmError::Evidence(EvidenceError::EkChain(_))),
        "{msg}"
    );
    // The other CA's issuer has the same name as ours ("CN=swtpm-localca"); only the
    // signature tells them apart.
    assert!(msg.contains("was issued by CN=swtpm-localca, but no trusted TPM manufacturer root or chain certificate of that name verifies its signature"), "{msg}");
}

#[test]
fn verifier_rejects_ek_certificate_from_another_ca() {
    // A host manufactured by an independent CA, enrolled by an authority that trusted that
    // CA; the verifier trusts only the real manufacturer's root.
    let other = Manufacturer::new();
    let host = enrolled(&other, &other.state, vec![manufacturer().root_der()]);
    let (env, st, ev) = attested_build(&host, &"ac".repeat(32));
    let e = verify(&ev, &env, &st, &host.trust).unwrap_err();
    assert!(matches!(e, EvidenceError::EkChain(_)), "{e}");
    assert!(
        e.to_string().contains("intermediate CN=swtpm-localca (subject CN=swtpm-localca) was issued by CN=swtpm-localca-rootca, but no trusted TPM manufacturer root"),
        "{e}"
    );
}

#[test]
fn rejects_ak_from_a_second_swtpm() {
    let m = manufacturer();
    let a = default_host();
    let b = enrolled(m, &m.another_tpm_state(), vec![m.root_der()]);
    let (env, st, mut ev) = attested_build(&b, &"ad".repeat(32));
    // B's quote presented with A's AK binding.
    ev["akBinding"] = serde_json::to_value(&a.host.ak_binding).unwrap();
    let e = verify(&ev, &env, &st, &b.trust).unwrap_err();
    // B's authority did not sign A's binding ...
    assert!(
        matches!(e, EvidenceError::AkBinding(ref s) if s.contains("not signed by a trusted enrollment key")),
        "{e}"
    );
    // ... and with both authorities trusted, the quote still fails against A's AK.
    let mut trust = b.trust.clone();
    trust
        .enrollment_keys
        .extend(a.trust.enrollment_keys.clone());
    let e = verify(&ev, &env, &st, &trust).unwrap_err();
    assert_eq!(
        e,
        EvidenceError::QuoteSignature("ECDSA P-256 signature is invalid".into()),
        "{e}"
    );
    assert!(e
        .to_string()
        .starts_with("quote signature does not verify with the enrolled AK"));

    // And B's TPM cannot load A's AK blob at all.
    let err = TpmBuildAttester::open(&b.tpm.tcti(), &a.host, PcrSpec::default())
        .err()
        .expect("foreign AK must not load");
    assert!(
        err.to_string().contains("cannot load the enrolled AK"),
        "{err}"
    );
}

#[test]
fn rejects_quote_from_another_build() {
    let host = default_host();
    let (_, _, ev_other) = attested_build(&host, &"ae".repeat(32));
    let (env, st, _) = attested_build(&host, &"af".repeat(32));
    let e = verify(&ev_other, &env, &st, &host.trust).unwrap_err();
    assert!(matches!(e, EvidenceError::ExtraDataMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("the quote belongs to another build"),
        "{e}"
    );
}

#[test]
fn rejects_a_flipped_bit_anywhere_in_tpms_attest() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"b0".repeat(32));
    let attest = b64d(&ev["attest"]);
    for i in 0..attest.len() {
        let mut bad = attest.clone();
        bad[i] ^= 0x01;
        let mut ev2 = ev.clone();
        ev2["attest"] = b64e(&bad);
        let e = verify(&ev2, &env, &st, &host.trust).unwrap_err();
        assert!(
            matches!(e, EvidenceError::QuoteSignature(_)),
            "byte {i}: {e}"
        );
    }
    // A flipped signature bit fails the same check.
    let mut sig = b64d(&ev["signature"]);
    let last = sig.len() - 1;
    sig[last] ^= 0x80;
    let mut ev2 = ev.clone();
    ev2["signature"] = b64e(&sig);
    assert!(matches!(
        verify(&ev2, &env, &st, &host.trust).unwrap_err(),
        EvidenceError::QuoteSignature(_)
    ));
}

#[test]
fn rejects_an_altered_pcr_value() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"b1".repeat(32));
    for pcr in ["0", "7", "23"] {
        let mut ev2 = ev.clone();
        ev2["pcrs"]["sha256"][pcr] = Value::String("00".repeat(31) + "01");
        let e = verify(&ev2, &env, &st, &host.trust).unwrap_err();
        assert!(
            matches!(e, EvidenceError::PcrDigestMismatch { .. }),
            "PCR {pcr}: {e}"
        );
        assert!(e.to_string().contains("PCR values were altered"), "{e}");
    }
    let mut ev2 = ev.clone();
    ev2["pcrs"]["sha256"].as_object_mut().unwrap().remove("5");
    assert_eq!(
        verify(&ev2, &env, &st, &host.trust).unwrap_err(),
        EvidenceError::PcrSelection("PCR 5 is quoted but its value is not reported".into())
    );
    let mut ev2 = ev.clone();
    ev2["pcrs"]["sha256"]["9"] = Value::String("00".repeat(32));
    assert_eq!(
        verify(&ev2, &env, &st, &host.trust).unwrap_err(),
        EvidenceError::PcrSelection("PCR 9 is reported but not covered by the quote".into())
    );
}

#[test]
fn rejects_an_edited_event_log_entry() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"b2".repeat(32));
    // Edit the toolchain event's digest: it no longer matches the provenance.
    let mut ev2 = ev.clone();
    ev2["eventLog"][2]["digests"]["sha256"] = Value::String("ef".repeat(32));
    let e = verify(&ev2, &env, &st, &host.trust).unwrap_err();
    assert!(
        matches!(e, EvidenceError::MeasurementMismatch { recnum: 2, ref kind, .. } if kind == "toolchain"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("build event 2 (toolchain): measured efef"),
        "{e}"
    );
    // Relabel two events: each digest now disagrees with the kind it claims.
    let mut ev2 = ev.clone();
    ev2["eventLog"][0]["content_type"] = Value::String("sandbox-policy".into());
    ev2["eventLog"][1]["content_type"] = Value::String("builder-binary".into());
    let e = verify(&ev2, &env, &st, &host.trust).unwrap_err();
    assert!(
        matches!(e, EvidenceError::MeasurementMismatch { recnum: 0, ref kind, .. } if kind == "sandbox-policy"),
        "{e}"
    );
    // Drop an event.
    let mut ev2 = ev.clone();
    ev2["eventLog"].as_array_mut().unwrap().pop();
    assert_eq!(
        verify(&ev2, &env, &st, &host.trust).unwrap_err(),
        EvidenceError::MeasurementMissing("outputs".into())
    );
    // An unknown field in an event fails closed with its path.
    let mut ev2 = ev.clone();
    ev2["eventLog"][2]["extra"] = Value::Bool(true);
    let e = verify(&ev2, &env, &st, &host.trust).unwrap_err();
    assert!(
        e.to_string().contains("eventLog[2]") && e.to_string().contains("unknown field `extra`"),
        "{e}"
    );
}

#[test]
fn rejects_pcr_reset_between_measurement_and_quote() {
    let host = default_host();
    let (env, st) = signed_provenance(&key(), &"b3".repeat(32));
    let m = BuildMeasurements::from_statement(&st).unwrap();
    let mut att = TpmBuildAttester::open(&host.tpm.tcti(), &host.host, PcrSpec::default()).unwrap();
    att.begin().unwrap();
    att.measure_all(&m).unwrap();
    // Someone with TPM access resets PCR 23 and replays only part of the log.
    att.tpm()
        .execute_with_nullauth_session(|c| c.pcr_reset(tss_esapi::handles::PcrHandle::Pcr23))
        .unwrap();
    let ev = att.finish(&pae_sha256(&env)).unwrap();
    drop(att);
    let e = verify(&ev, &env, &st, &host.trust).unwrap_err();
    assert!(
        matches!(e, EvidenceError::PcrReplay { pcr: 23, ref quoted, .. } if quoted == &"00".repeat(32)),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("PCR 23: event log replays to "),
        "{e}"
    );
}

#[test]
fn rejects_evidence_stripped_from_a_bundle() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"b4".repeat(32));
    let stripped = Attestation::new(env.clone());
    // The provenance claims a TPM quote: stripping it fails even without a requirement.
    let e = verify_attestation_hardware(&stripped, &st, &[], &hw(&host.trust), now()).unwrap_err();
    assert!(
        e.to_string().contains("claims `tpm2-quote` evidence")
            && e.to_string().contains("evidence was stripped"),
        "{e}"
    );

    // A provenance without the claim: `--require-hardware tpm` still insists.
    let (env2, st2) = {
        let mut doc: Value = serde_json::from_slice(&env.payload).unwrap();
        doc["predicate"]["buildDefinition"]["internalParameters"]
            .as_object_mut()
            .unwrap()
            .remove("hardwareEvidence");
        let payload = doc.to_string().into_bytes();
        let k = key();
        let env = cairn_sign::dsse::sign_envelope(&env.payload_type, &payload, &[&k]).unwrap();
        (
            env,
            Statement::parse(&payload, &Default::default()).unwrap(),
        )
    };
    let bare = Attestation::new(env2.clone());
    assert!(
        verify_attestation_hardware(&bare, &st2, &[], &hw(&host.trust), now())
            .unwrap()
            .is_empty()
    );
    let e = verify_attestation_hardware(&bare, &st2, &["tpm2-quote"], &hw(&host.trust), now())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("policy requires `tpm2-quote` evidence, but the bundle carries none"),
        "{e}"
    );

    // Evidence of an unknown kind fails closed; invalid evidence fails with its index.
    let mut a = Attestation::new(env.clone());
    a.evidence.push(ev.clone());
    a.evidence.push(serde_json::json!({"kind": "mystery"}));
    let e = verify_attestation_hardware(&a, &st, &[], &hw(&host.trust), now()).unwrap_err();
    assert!(
        e.to_string()
            .contains("evidence[1]: unknown kind \"mystery\""),
        "{e}"
    );
    let mut a = Attestation::new(env2);
    a.evidence.push(ev);
    let e = verify_attestation_hardware(&a, &st2, &[], &hw(&host.trust), now()).unwrap_err();
    assert!(
        e.to_string().contains("evidence[0] (tpm2-quote)")
            && e.to_string().contains("another build"),
        "{e}"
    );
}

#[test]
fn rejects_untrusted_enrollment_key_and_missing_roots() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"b5".repeat(32));
    let mut trust = host.trust.clone();
    trust.enrollment_keys = vec![key().public_key().clone()];
    let e = verify(&ev, &env, &st, &trust).unwrap_err();
    assert!(
        e.to_string()
            .contains("AK binding record: not signed by a trusted enrollment key"),
        "{e}"
    );
    trust.enrollment_keys.clear();
    let e = verify(&ev, &env, &st, &trust).unwrap_err();
    assert!(
        e.to_string()
            .contains("no trusted enrollment keys configured"),
        "{e}"
    );
    let mut trust = host.trust.clone();
    trust.manufacturer_roots.clear();
    let e = verify(&ev, &env, &st, &trust).unwrap_err();
    assert!(
        e.to_string()
            .contains("no trusted TPM manufacturer roots configured"),
        "{e}"
    );
}

/// Writes what tpm2-tools needs to load the enrolled AK: TPM2B_PUBLIC and TPM2B_PRIVATE.
fn write_ak_blobs(host: &HostFile, dir: &std::path::Path) {
    for (name, field) in [("ak.pub", &host.ak_public), ("ak.priv", &host.ak_private)] {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(field)
            .unwrap();
        let mut b = (raw.len() as u16).to_be_bytes().to_vec();
        b.extend_from_slice(&raw);
        write(&dir.join(name), &b);
    }
}

fn ok(out: std::process::Output, what: &str) -> std::process::Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn cairn_quote_passes_tpm2_checkquote() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"c0".repeat(32));
    verify(&ev, &env, &st, &host.trust).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("quote.msg"), &b64d(&ev["attest"]));
    write(&d.join("quote.sig"), &b64d(&ev["signature"]));
    write_ak_blobs(&host.host, d);
    // The PCRs are unchanged since the quote, so tpm2_pcrread gives the serialized values.
    ok(
        tpm2(
            &host.tpm,
            &[
                "tpm2_pcrread",
                "sha256:0,1,2,3,4,5,6,7,23",
                "-F",
                "serialized",
                "-o",
                "quote.pcrs",
            ],
            d,
        ),
        "tpm2_pcrread",
    );
    let qd = hex::encode(pae_sha256(&env));
    ok(
        tpm2(
            &host.tpm,
            &[
                "tpm2_checkquote",
                "-u",
                "ak.pub",
                "-m",
                "quote.msg",
                "-s",
                "quote.sig",
                "-f",
                "quote.pcrs",
                "-g",
                "sha256",
                "-q",
                &qd,
            ],
            d,
        ),
        "tpm2_checkquote",
    );
    // The same check with another build's digest fails.
    let out = tpm2(
        &host.tpm,
        &[
            "tpm2_checkquote",
            "-u",
            "ak.pub",
            "-m",
            "quote.msg",
            "-s",
            "quote.sig",
            "-f",
            "quote.pcrs",
            "-g",
            "sha256",
            "-q",
            &"00".repeat(32),
        ],
        d,
    );
    assert!(!out.status.success());
}

#[test]
fn tpm2_quote_passes_cairn_verifier() {
    let host = default_host();
    let (env, st) = signed_provenance(&key(), &"c1".repeat(32));
    let m = BuildMeasurements::from_statement(&st).unwrap();
    // cairn measures; the TPM connection closes before tpm2-tools takes over (swtpm
    // serves one client at a time).
    let events = {
        let mut att =
            TpmBuildAttester::open(&host.tpm.tcti(), &host.host, PcrSpec::default()).unwrap();
        att.begin().unwrap();
        att.measure_all(&m).unwrap();
        att.events().to_vec()
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_ak_blobs(&host.host, d);
    let t = |args: &[&str]| ok(tpm2(&host.tpm, args, d), args[0]);
    // No resource manager: flush transient objects between tool calls.
    t(&["tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"]);
    t(&["tpm2_flushcontext", "-t"]);
    t(&["tpm2_startauthsession", "--policy-session", "-S", "s.ctx"]);
    t(&["tpm2_policysecret", "-S", "s.ctx", "-c", "e"]);
    t(&[
        "tpm2_load",
        "-C",
        "ek.ctx",
        "-P",
        "session:s.ctx",
        "-u",
        "ak.pub",
        "-r",
        "ak.priv",
        "-c",
        "ak.ctx",
    ]);
    t(&["tpm2_flushcontext", "s.ctx"]);
    t(&["tpm2_flushcontext", "-t"]);
    let qd = hex::encode(pae_sha256(&env));
    t(&[
        "tpm2_quote",
        "-c",
        "ak.ctx",
        "-l",
        "sha256:0,1,2,3,4,5,6,7,23",
        "-q",
        &qd,
        "-m",
        "quote.msg",
        "-s",
        "quote.sig",
        "-g",
        "sha256",
    ]);
    t(&[
        "tpm2_pcrread",
        "sha256:0,1,2,3,4,5,6,7,23",
        "-o",
        "values.bin",
    ]);
    t(&["tpm2_flushcontext", "-t"]);
    let values = std::fs::read(d.join("values.bin")).unwrap();
    assert_eq!(values.len(), 9 * 32);
    let pcrs: serde_json::Map<String, Value> = [0, 1, 2, 3, 4, 5, 6, 7, 23]
        .iter()
        .zip(values.chunks(32))
        .map(|(p, v)| (p.to_string(), Value::String(hex::encode(v))))
        .collect();
    let ev = serde_json::json!({
        "kind": "tpm2-quote",
        "akBinding": host.host.ak_binding,
        "attest": b64e(&std::fs::read(d.join("quote.msg")).unwrap()),
        "signature": b64e(&std::fs::read(d.join("quote.sig")).unwrap()),
        "pcrs": {"sha256": pcrs},
        "eventLog": events,
    });
    let v = verify(&ev, &env, &st, &host.trust).expect("a tpm2_quote quote verifies in cairn");
    assert_eq!(v.quoted_pcrs, vec![0, 1, 2, 3, 4, 5, 6, 7, 23]);
}

fn hw(tpm: &TpmTrust) -> HardwareTrust {
    HardwareTrust {
        tpm: tpm.clone(),
        ..Default::default()
    }
}

#[test]
fn certified_signing_key_signs_the_envelope() {
    let host = default_host();
    let (env, st, ev) = attested_build(&host, &"ab".repeat(32));
    assert_eq!(env.signatures.len(), 2, "builder key and TPM key");
    let v = verify(&ev, &env, &st, &host.trust).expect("evidence verifies");
    let ck = v
        .certified_key
        .expect("the evidence carries a certified key");
    // The key id is the host's published signing key, and a consumer who knows nothing of
    // TPMs verifies the envelope with it as an ordinary ECDSA P-256 key.
    let pem = host
        .host
        .signing_key_pem()
        .unwrap()
        .expect("host has a signing key");
    let pk = cairn_sign::PublicKey::from_pem(&pem).unwrap();
    assert_eq!(ck.key_id, pk.key_id());
    cairn_sign::dsse::verify_envelope(&env, std::slice::from_ref(&pk), 1).unwrap();

    // The TPM's signature stripped from the envelope.
    let mut stripped = env.clone();
    stripped.signatures.truncate(1);
    let e = verify(&ev, &stripped, &st, &host.trust).unwrap_err();
    assert!(
        e.to_string()
            .contains("no signature of the envelope verifies with the TPM-resident key"),
        "{e}"
    );

    // Any flipped bit of the certification fails (the AK's signature, or a field).
    let info = b64d(&ev["certifiedKey"]["certifyInfo"]);
    for i in 0..info.len() {
        let mut bad = info.clone();
        bad[i] ^= 0x01;
        let mut bad_ev = ev.clone();
        bad_ev["certifiedKey"]["certifyInfo"] = b64e(&bad);
        let e = verify(&bad_ev, &env, &st, &host.trust).unwrap_err();
        assert!(matches!(e, EvidenceError::CertifiedKey(_)), "byte {i}: {e}");
    }

    // Another key reported in place of the certified one (here: the AK's public area).
    let mut swapped = ev.clone();
    swapped["certifiedKey"]["public"] = Value::String(host.host.ak_public.clone());
    let e = verify(&swapped, &env, &st, &host.trust).unwrap_err();
    assert!(
        e.to_string()
            .contains("is not the name of the reported key"),
        "{e}"
    );

    // A certification made for another build, replayed beside this build's quote.
    let (_, _, other_ev) = attested_build(&host, &"cd".repeat(32));
    let mut replayed = ev.clone();
    replayed["certifiedKey"] = other_ev["certifiedKey"].clone();
    let e = verify(&replayed, &env, &st, &host.trust).unwrap_err();
    assert!(
        e.to_string().contains("it was made for another build"),
        "{e}"
    );

    // Malformed member: named.
    let mut malformed = ev.clone();
    malformed["certifiedKey"]["signature"] = Value::String("%%".into());
    let e = verify(&malformed, &env, &st, &host.trust).unwrap_err();
    assert!(e.to_string().contains("certifiedKey.signature"), "{e}");
}

//! Tamper matrix: flip every byte of the payload, the signature, the payloadType and the
//! artifact of a signed provenance, one at a time; every mutation must fail verification.

use cairn_formats::bundle::{Attestation, Bundle, BundleInput};
use cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE;
use cairn_formats::{DigestSet, Limits, ResourceDescriptor, Statement};
use cairn_sign::{Algorithm, PrivateKey};
use cairn_verify::{verify_dsse_input, ArtifactInput, Policy};
use serde_json::json;

fn provenance() -> serde_json::Value {
    json!({
        "buildDefinition": {
            "buildType": "https://cairn.dev/build/v1",
            "externalParameters": {"source": {"uri": "git+https://example.com/app@refs/heads/main", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}, "command": ["make"]},
            "resolvedDependencies": [{"uri": "pkg:cargo/serde@1.0.0", "digest": {"sha256": "a".repeat(64)}}]
        },
        "runDetails": {"builder": {"id": "https://cairn.dev/builder", "version": {"cairn": "0.1.0"}}, "metadata": {"invocationId": "1", "finishedOn": "2026-11-01T00:00:00Z"}}
    })
}

struct Outcome {
    tried: usize,
    rejected: usize,
}

fn verifies(bundle: &Bundle, artifact: &std::path::Path, key: &PrivateKey) -> bool {
    let input = BundleInput::Cairn(bundle.clone());
    let policy = Policy {
        builder_id: Some("https://cairn.dev/builder".into()),
        ..Default::default()
    };
    let report = verify_dsse_input(
        &input,
        &ArtifactInput::file(artifact),
        &[key.public_key().clone()],
        &policy,
        &[],
        &Limits::default(),
    );
    report.verified
}

#[test]
fn every_single_byte_mutation_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let artifact_bytes: Vec<u8> = (0..96u8).map(|i| i.wrapping_mul(37)).collect();
    let artifact = dir.path().join("app");
    std::fs::write(&artifact, &artifact_bytes).unwrap();
    let digest = cairn_sign::digest::sha256_hex(&artifact_bytes);
    let statement = Statement::new(
        vec![ResourceDescriptor::named("app", DigestSet::sha256(digest))],
        "https://slsa.dev/provenance/v1",
        provenance(),
    );

    let mut total = Outcome {
        tried: 0,
        rejected: 0,
    };
    for alg in Algorithm::ALL {
        let key = PrivateKey::generate(alg).unwrap();
        let env = cairn_sign::dsse::sign_envelope(
            IN_TOTO_PAYLOAD_TYPE,
            statement.to_json().as_bytes(),
            &[&key],
        )
        .unwrap();
        let good = Bundle::new(vec![Attestation::new(env.clone())]);
        assert!(
            verifies(&good, &artifact, &key),
            "{alg}: the untouched bundle must verify"
        );

        let mut out = Outcome {
            tried: 0,
            rejected: 0,
        };
        let mut record = |ok: bool, what: &str, i: usize| {
            out.tried += 1;
            if !ok {
                out.rejected += 1;
            } else {
                panic!("{alg}: flipping {what} byte {i} still verified");
            }
        };
        for i in 0..env.payload.len() {
            let mut e = env.clone();
            e.payload[i] ^= 0x01;
            record(
                verifies(&Bundle::new(vec![Attestation::new(e)]), &artifact, &key),
                "payload",
                i,
            );
        }
        for i in 0..env.signatures[0].sig.len() {
            let mut e = env.clone();
            e.signatures[0].sig[i] ^= 0x01;
            record(
                verifies(&Bundle::new(vec![Attestation::new(e)]), &artifact, &key),
                "signature",
                i,
            );
        }
        for i in 0..env.payload_type.len() {
            let mut e = env.clone();
            let mut t = e.payload_type.into_bytes();
            t[i] ^= 0x01;
            e.payload_type = String::from_utf8(t).unwrap();
            record(
                verifies(&Bundle::new(vec![Attestation::new(e)]), &artifact, &key),
                "payloadType",
                i,
            );
        }
        for i in 0..artifact_bytes.len() {
            let mut a = artifact_bytes.clone();
            a[i] ^= 0x01;
            let p = dir.path().join(format!("app-{alg}-{i}"));
            std::fs::write(&p, &a).unwrap();
            record(verifies(&good, &p, &key), "artifact", i);
        }
        println!(
            "tamper matrix {alg}: {} mutations tried, {} rejected",
            out.tried, out.rejected
        );
        total.tried += out.tried;
        total.rejected += out.rejected;
    }
    println!(
        "tamper matrix total: {} mutations tried, {} rejected",
        total.tried, total.rejected
    );
    assert_eq!(total.tried, total.rejected);
    assert!(
        total.tried > 4000,
        "the matrix covered {} mutations",
        total.tried
    );
}

#[test]
fn removing_or_replacing_the_signature_is_rejected_with_the_right_kind() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("a");
    std::fs::write(&artifact, b"x").unwrap();
    let st = Statement::new(
        vec![ResourceDescriptor::named(
            "a",
            DigestSet::sha256(cairn_sign::digest::sha256_hex(b"x")),
        )],
        "https://example.com/p",
        json!({}),
    );
    let key = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let other = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let mut env =
        cairn_sign::dsse::sign_envelope(IN_TOTO_PAYLOAD_TYPE, st.to_json().as_bytes(), &[&other])
            .unwrap();
    let run = |env: &cairn_formats::Envelope| {
        verify_dsse_input(
            &BundleInput::Envelope(env.clone()),
            &ArtifactInput::file(&artifact),
            &[key.public_key().clone()],
            &Policy::default(),
            &[],
            &Limits::default(),
        )
    };
    let r = run(&env);
    assert_eq!(r.error.unwrap().kind, "no_trusted_signature");
    env.signatures.clear();
    let r = run(&env);
    let e = r.error.unwrap();
    assert_eq!(e.kind, "no_trusted_signature");
    assert!(e.message.contains("no signatures"), "{}", e.message);
}

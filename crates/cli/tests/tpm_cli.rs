//! `cairn tpm enroll`, then `cairn verify` / `cairn tpm verify-evidence` with the TPM
//! flags, against a real swtpm (see crates/tpm/tests/support).
#![cfg(feature = "tpm")]

mod common;
#[path = "../../tpm/tests/support/mod.rs"]
mod support;

use common::{cairn_in as cairn, text};

use cairn_formats::{Attestation, Bundle};
use cairn_sign::PrivateKey;
use support::*;

#[test]
fn enroll_then_verify_through_the_cli() {
    let m = manufacturer();
    let tpm = Swtpm::start(&m.state);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = m.root_pem.to_str().unwrap();
    let issuer = m.issuer_pem.to_str().unwrap();
    assert!(
        cairn(&["key", "generate", "-a", "ecdsa-p256", "-o", "auth"], d)
            .status
            .success()
    );
    assert!(cairn(&["key", "generate", "-o", "builder"], d)
        .status
        .success());

    let out = cairn(
        &[
            "tpm",
            "enroll",
            "--tcti",
            &tpm.tcti(),
            "--ek-ca",
            root,
            "--ek-ca",
            issuer,
            "--authority",
            "auth.key",
            "--out",
            "host.json",
            "--host-id",
            "ci-1",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("enrolled host \"ci-1\""));

    // A TPM from another manufacturer is refused at enrollment (exit 1).
    let other = Manufacturer::new();
    let tpm2 = Swtpm::start(&other.state);
    let out = cairn(
        &[
            "tpm",
            "enroll",
            "--tcti",
            &tpm2.tcti(),
            "--ek-ca",
            root,
            "--ek-ca",
            issuer,
            "--authority",
            "auth.key",
            "--out",
            "other.json",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no trusted TPM manufacturer root or chain certificate of that name verifies its signature"), "{}", text(&out));

    // A build's evidence, made through the library as `cairn build --tpm` does.
    let builder = PrivateKey::from_pem_file(&d.join("builder.key")).unwrap();
    let (mut env, st) = signed_provenance(&builder, &"aa".repeat(32));
    let host = cairn_tpm::HostFile::read(&d.join("host.json")).unwrap();
    let mut att =
        cairn_tpm::TpmBuildAttester::open(&tpm.tcti(), &host, cairn_tpm::PcrSpec::default())
            .unwrap();
    att.begin().unwrap();
    att.measure_all(&cairn_evidence::BuildMeasurements::from_statement(&st).unwrap())
        .unwrap();
    // As `cairn build --tpm`: the host's TPM-resident key signs the envelope too.
    let (keyid, sig) = att
        .sign_envelope(&env.pae())
        .unwrap()
        .expect("enrolled with a signing key");
    env.signatures.push(cairn_formats::dsse::Signature {
        keyid: Some(keyid),
        sig,
        cert: None,
    });
    let pae = cairn_sign::digest::sha256(&env.pae());
    let ev = att.finish(&pae).unwrap();
    drop(att);
    let mut a = Attestation::new(env.clone());
    a.evidence.push(ev);
    std::fs::write(d.join("b.json"), Bundle::new(vec![a]).to_json()).unwrap();
    std::fs::write(
        d.join("stripped.json"),
        Bundle::new(vec![Attestation::new(env)]).to_json(),
    )
    .unwrap();

    let artifact = format!("sha256:{}", "aa".repeat(32));
    let tpm_flags = [
        "--tpm-ca",
        root,
        "--enrollment-key",
        "auth.pub",
        "--require-hardware",
        "tpm",
    ];
    let verify = |bundle: &str, extra: &[&str]| {
        let mut args = vec![
            "verify",
            artifact.as_str(),
            "--bundle",
            bundle,
            "--key",
            "builder.pub",
        ];
        args.extend_from_slice(extra);
        cairn(&args, d)
    };
    let out = verify("b.json", &tpm_flags);
    assert!(out.status.success(), "{}", text(&out));
    let out = verify("b.json", &[&tpm_flags[..], &["--format", "json"]].concat());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["hardwareEvidence"][0]["kind"], "tpm2-quote");
    assert_eq!(report["hardwareEvidence"][0]["detail"]["hostId"], "ci-1");
    // Enrollment wrote the TPM-resident signing key's public half; it alone satisfies
    // the signature check, and the evidence says the TPM certified it for this build.
    assert!(d.join("host.signing.pub").exists());
    let mut args = vec![
        "verify",
        artifact.as_str(),
        "--bundle",
        "b.json",
        "--key",
        "host.signing.pub",
        "--format",
        "json",
    ];
    args.extend_from_slice(&tpm_flags);
    let out = cairn(&args, d);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tpm_key = cairn_sign::PublicKey::from_pem_file(&d.join("host.signing.pub")).unwrap();
    assert_eq!(
        report["hardwareEvidence"][0]["detail"]["certifiedKey"]["keyId"],
        tpm_key.key_id()
    );

    // Stripped evidence fails, with and without --require-hardware (the provenance claims it).
    let out = verify("stripped.json", &tpm_flags);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("evidence was stripped"),
        "{}",
        text(&out)
    );
    let out = verify("stripped.json", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Evidence the verifier has no trust anchors for fails closed.
    let out = verify("b.json", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no trusted enrollment keys configured"),
        "{}",
        text(&out)
    );
    // A root that is not the manufacturer's.
    let other_root = other.root_pem.to_str().unwrap();
    let out = verify(
        "b.json",
        &["--tpm-ca", other_root, "--enrollment-key", "auth.pub"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("EK certificate chain"),
        "{}",
        text(&out)
    );
    // An unknown requirement is a usage error.
    let out = verify("b.json", &["--require-hardware", "quantum"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown hardware requirement \"quantum\""),
        "{}",
        text(&out)
    );

    let out = cairn(
        &[
            "tpm",
            "verify-evidence",
            "--bundle",
            "b.json",
            "--tpm-ca",
            root,
            "--enrollment-key",
            "auth.pub",
            "--json",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["evidence"][0]["hostId"], "ci-1");
    let out = cairn(
        &[
            "tpm",
            "verify-evidence",
            "--bundle",
            "stripped.json",
            "--tpm-ca",
            root,
            "--enrollment-key",
            "auth.pub",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

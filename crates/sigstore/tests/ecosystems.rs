//! Real npm, PyPI (wheel bundle and PEP 740) and GitHub attestations verify offline with
//! an identity or source policy, and are rejected after a one-byte change to the artifact
//! or to the bundle.

mod common;

use cairn_formats::DigestAlgorithm;
use cairn_sigstore::policy::require_all;
use cairn_sigstore::verify::{verify_bundle, ArtifactInput};
use cairn_sigstore::{
    pep740, Check, GitHubPolicy, IdentityPolicy, SigstoreError, TrustRoots, TrustSource,
    VerifiedBundle,
};

fn roots() -> TrustRoots {
    TrustRoots::new(TrustSource::Embedded {
        staging: false,
        updated_dir: None,
    })
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(common::testdata(name)).unwrap()
}

fn verify(bundle: &[u8], artifact: &[u8]) -> Result<VerifiedBundle, SigstoreError> {
    verify_bundle(&roots(), bundle, ArtifactInput::Bytes(artifact), None)
}

fn flip_byte(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x01;
    bytes
}

/// Changes one base64 character inside the JSON string value of `key` (the first one).
fn tamper_b64_field(bundle: &[u8], key: &str) -> Vec<u8> {
    let text = String::from_utf8(bundle.to_vec()).unwrap();
    let needle = format!("\"{key}\"");
    let start = text.find(&needle).unwrap() + needle.len();
    let open = start + text[start..].find('"').unwrap() + 1;
    let at = open + 20;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    bytes
}

fn check_of(e: &SigstoreError) -> Option<Check> {
    match e {
        SigstoreError::Verification { check, .. } => Some(*check),
        _ => None,
    }
}

#[test]
fn npm_provenance_verifies_with_sha512_subject_and_repo_policy() {
    let bundle = read("sigstore.js@2.0.0-provenance.sigstore.json");
    let tgz = read("sigstore-2.0.0.tgz");
    let v = verify(&bundle, &tgz).unwrap();
    // npm provenance names a sha512 subject: cairn computed sha512, without a flag.
    assert_eq!(v.artifact().algorithm, DigestAlgorithm::Sha512);
    assert_eq!(v.artifact().subject_index, Some(0));
    assert!(v.checks.tlog && v.checks.sct && v.checks.certificate_chain);
    assert_eq!(v.tlog_entries[0].kind, "intoto");
    let cert = v.certificate().unwrap();
    assert_eq!(
        cert.identity,
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(
        cert.claims.source_repository_uri.as_deref(),
        Some("https://github.com/sigstore/sigstore-js")
    );

    let repo = GitHubPolicy {
        repo: Some("sigstore/sigstore-js".into()),
        ..Default::default()
    };
    require_all(&repo.evaluate(cert)).unwrap();
    let workflow = GitHubPolicy {
        owner: Some("sigstore".into()),
        signer_workflow: Some("sigstore/sigstore-js/.github/workflows/release.yml".into()),
        ..Default::default()
    };
    require_all(&workflow.evaluate(cert)).unwrap();
    let other = GitHubPolicy {
        owner: Some("npm".into()),
        ..Default::default()
    };
    let e = require_all(&other.evaluate(cert)).unwrap_err().to_string();
    assert!(
        e.contains("expected https://github.com/npm, found \"https://github.com/sigstore\""),
        "{e}"
    );
    let wrong_workflow = GitHubPolicy {
        repo: Some("sigstore/sigstore-js".into()),
        signer_workflow: Some("sigstore/sigstore-js/.github/workflows/ci.yml".into()),
        ..Default::default()
    };
    assert!(require_all(&wrong_workflow.evaluate(cert)).is_err());

    let e = verify(&bundle, &flip_byte(tgz.clone(), 1000)).unwrap_err();
    assert_eq!(check_of(&e), Some(Check::ArtifactBinding), "{e}");
    let e = verify(&tamper_b64_field(&bundle, "sig"), &tgz).unwrap_err();
    assert!(
        matches!(
            check_of(&e),
            Some(Check::Signature | Check::TransparencyLog)
        ),
        "{e}"
    );
}

#[test]
fn pypi_wheel_bundle_verifies_with_cosign_identity_policy() {
    let bundle = read("bundle_v3_github.whl.sigstore");
    let whl = read("rfc8785-0.1.2-py3-none-any.whl");
    let v = verify(&bundle, &whl).unwrap();
    let cert = v.certificate().unwrap();
    let identity =
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";
    let ok = IdentityPolicy::from_flags(
        Some(identity),
        None,
        Some("https://token.actions.githubusercontent.com"),
        None,
    )
    .unwrap();
    require_all(&ok.evaluate(cert)).unwrap();
    let re = IdentityPolicy::from_flags(
        None,
        Some(r"https://github\.com/trailofbits/.*"),
        None,
        Some(r"https://token\.actions\..*"),
    )
    .unwrap();
    require_all(&re.evaluate(cert)).unwrap();
    // Regexps must match the whole identity.
    let partial = IdentityPolicy::from_flags(None, Some("trailofbits"), None, None).unwrap();
    assert!(require_all(&partial.evaluate(cert)).is_err());
    let wrong = IdentityPolicy::from_flags(Some("https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.1"), None, None, None).unwrap();
    let e = require_all(&wrong.evaluate(cert)).unwrap_err().to_string();
    assert!(e.contains(&format!("found {identity:?}")), "{e}");

    let e = verify(&bundle, &flip_byte(whl.clone(), 4000)).unwrap_err();
    assert_eq!(check_of(&e), Some(Check::ArtifactBinding), "{e}");
    let e = verify(&tamper_b64_field(&bundle, "signature"), &whl).unwrap_err();
    assert!(check_of(&e).is_some(), "{e}");
}

#[test]
fn pep740_attestation_and_provenance_objects_verify_as_bundles() {
    let sdist = read("pypi_attestations-0.0.19.tar.gz");
    let identity = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19";
    for file in [
        "pypi_attestations-0.0.19.tar.gz.publish.attestation",
        "pypi_attestations-0.0.19.tar.gz.provenance",
    ] {
        let doc = read(file);
        let bundles = pep740::to_sigstore_bundles(&doc)
            .unwrap()
            .expect("recognised as PEP 740");
        assert_eq!(bundles.len(), 1, "{file}");
        let v = verify(&bundles[0], &sdist).unwrap();
        assert_eq!(
            v.statement().unwrap().predicate_type,
            "https://docs.pypi.org/attestations/publish/v1"
        );
        let cert = v.certificate().unwrap();
        let policy = IdentityPolicy::from_flags(
            Some(identity),
            None,
            Some("https://token.actions.githubusercontent.com"),
            None,
        )
        .unwrap();
        require_all(&policy.evaluate(cert)).unwrap();
        let repo = GitHubPolicy {
            repo: Some("trailofbits/pypi-attestations".into()),
            ..Default::default()
        };
        require_all(&repo.evaluate(cert)).unwrap();

        let e = verify(&bundles[0], &flip_byte(sdist.clone(), 100)).unwrap_err();
        assert_eq!(check_of(&e), Some(Check::ArtifactBinding), "{e}");
        let tampered = pep740::to_sigstore_bundles(&tamper_b64_field(&doc, "signature"))
            .unwrap()
            .unwrap();
        let e = verify(&tampered[0], &sdist).unwrap_err();
        assert!(check_of(&e).is_some(), "{e}");
    }
    // Other JSON is not PEP 740; a PEP 740 object missing its envelope is an error.
    assert!(
        pep740::to_sigstore_bundles(&read("bundle_v3_github.whl.sigstore"))
            .unwrap()
            .is_none()
    );
    let broken = br#"{"version":1,"verification_material":{"certificate":"AA==","transparency_entries":[]},"envelope":{}}"#;
    let e = pep740::to_sigstore_bundles(broken).unwrap_err().to_string();
    assert!(e.contains("/envelope/statement"), "{e}");
}

#[test]
fn github_instance_bundle_uses_the_embedded_github_root() {
    let bundle = read("github-private-attestation.sigstore.json");
    let digest =
        hex::decode("76f1fe8593bf227cca2c089e3c16dc95014a8d3e89c5dd220530469ca043c428").unwrap();
    let v = verify_bundle(
        &roots(),
        &bundle,
        ArtifactInput::Digest(DigestAlgorithm::Sha256, &digest),
        None,
    )
    .unwrap();
    assert_eq!(v.trust_root, "embedded:github");
    assert!(v.checks.certificate_chain);
    assert!(!v.checks.tlog && v.checks.tlog_skip_reason.is_some());
    assert!(v.checks.rfc3161_timestamps >= 1 && !v.verified_times.is_empty());
    assert_eq!(v.artifact().subject_index, Some(1));
    let cert = v.certificate().unwrap();
    // GitHub signs release attestations itself: the SAN names GitHub, no OIDC issuer.
    assert_eq!(cert.identity, "https://dotcom.releases.github.com");
    assert_eq!(cert.issuer, None);
    let policy =
        IdentityPolicy::from_flags(Some("https://dotcom.releases.github.com"), None, None, None)
            .unwrap();
    require_all(&policy.evaluate(cert)).unwrap();
    let issuer = IdentityPolicy::from_flags(
        None,
        None,
        Some("https://token.actions.githubusercontent.com"),
        None,
    )
    .unwrap();
    let e = require_all(&issuer.evaluate(cert)).unwrap_err().to_string();
    assert!(e.contains("found \"(none)\""), "{e}");

    let mut other = digest.clone();
    other[31] ^= 1;
    let e = verify_bundle(
        &roots(),
        &bundle,
        ArtifactInput::Digest(DigestAlgorithm::Sha256, &other),
        None,
    )
    .unwrap_err();
    assert_eq!(check_of(&e), Some(Check::ArtifactBinding), "{e}");
    let e = verify_bundle(
        &roots(),
        &tamper_b64_field(&bundle, "sig"),
        ArtifactInput::Digest(DigestAlgorithm::Sha256, &digest),
        None,
    )
    .unwrap_err();
    assert!(check_of(&e).is_some(), "{e}");
    // With --trusted-root naming the public-good root (which has a transparency log), the
    // log-less GitHub bundle is refused: the log is mandatory wherever the root has one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("public-good.json");
    std::fs::write(
        &path,
        sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT,
    )
    .unwrap();
    let public = TrustRoots::new(TrustSource::File(path));
    let e = verify_bundle(
        &public,
        &bundle,
        ArtifactInput::Digest(DigestAlgorithm::Sha256, &digest),
        None,
    )
    .unwrap_err();
    assert!(
        check_of(&e).is_some() && e.to_string().contains("inclusion proof"),
        "{e}"
    );
}

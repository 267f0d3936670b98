//! Every bad-input path fails closed with a typed error that names what was wrong.

mod common;

use cairn_formats::DigestAlgorithm;
use cairn_sigstore::conformance::{
    self, parse_artifact_arg, ArtifactArg, ConformanceError, Material, Request,
};
use cairn_sigstore::policy::require_identity_policy;
use cairn_sigstore::verify::{verify_bundle, ArtifactInput, PublicKeyInput, MAX_BUNDLE_BYTES};
use cairn_sigstore::{
    Check, GitHubPolicy, IdentityPolicy, PolicyError, SigstoreError, TrustRoots, TrustSource,
};

fn roots() -> TrustRoots {
    TrustRoots::new(TrustSource::Embedded {
        staging: false,
        updated_dir: None,
    })
}

#[test]
fn malformed_bundles_are_rejected_before_verification() {
    let a = b"artifact";
    for (bundle, want) in [
        (&b"not json"[..], "malformed"),
        (&b"\xff\xfe"[..], "not UTF-8"),
        (
            &br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","mediaType":"x"}"#[..],
            "duplicate",
        ),
        (
            &br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.9+json"}"#[..],
            "malformed",
        ),
    ] {
        let e = verify_bundle(&roots(), bundle, ArtifactInput::Bytes(a), None).unwrap_err();
        assert!(matches!(e, SigstoreError::MalformedBundle(_)), "{e}");
        assert!(
            e.to_string().to_lowercase().contains(&want.to_lowercase()),
            "{want}: {e}"
        );
    }
    let big = vec![b' '; MAX_BUNDLE_BYTES as usize + 1];
    let e = verify_bundle(&roots(), &big, ArtifactInput::Bytes(a), None).unwrap_err();
    assert!(
        matches!(e, SigstoreError::TooLarge { .. }) && e.is_input_error(),
        "{e}"
    );
}

#[test]
fn key_and_bundle_kinds_must_agree() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cases = corpus.join("sigstore-conformance/bundle-verify");
    let artifact = std::fs::read(cases.join("a.txt")).unwrap();
    let key = PublicKeyInput {
        origin: "key.pub".into(),
        pem: std::fs::read_to_string(cases.join("managed-key-happy-path/key.pub")).unwrap(),
    };
    let keyless = std::fs::read(cases.join("happy-path-v0.3/bundle.sigstore.json")).unwrap();
    let e = verify_bundle(
        &roots(),
        &keyless,
        ArtifactInput::Bytes(&artifact),
        Some(&key),
    )
    .unwrap_err();
    assert!(
        matches!(e, SigstoreError::KeyMismatch(ref m) if m.contains("--certificate-identity")),
        "{e}"
    );
    let managed = std::fs::read(cases.join("managed-key-happy-path/bundle.sigstore.json")).unwrap();
    let e = verify_bundle(&roots(), &managed, ArtifactInput::Bytes(&artifact), None).unwrap_err();
    assert!(
        matches!(e, SigstoreError::KeyMismatch(ref m) if m.contains("--key")),
        "{e}"
    );
    let v = verify_bundle(
        &roots(),
        &managed,
        ArtifactInput::Bytes(&artifact),
        Some(&key),
    )
    .unwrap();
    assert!(
        matches!(v.signer, cairn_sigstore::Signer::PublicKey { ref key_id } if key_id.len() == 64)
    );
    // A keyless bundle with no identity policy proves nothing about the signer.
    let v = verify_bundle(&roots(), &keyless, ArtifactInput::Bytes(&artifact), None).unwrap();
    let e = require_identity_policy(&v, false).unwrap_err();
    assert!(
        e.to_string().contains("extremely-dangerous-oidc-beacon"),
        "{e}"
    );
    assert!(require_identity_policy(&v, true).is_ok());

    let bad_key = PublicKeyInput {
        origin: "bad.pem".into(),
        pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
    };
    let e = verify_bundle(
        &roots(),
        &managed,
        ArtifactInput::Bytes(&artifact),
        Some(&bad_key),
    )
    .unwrap_err();
    assert!(
        matches!(e, SigstoreError::Key { ref path, .. } if path == "bad.pem") && e.is_input_error(),
        "{e}"
    );
}

#[test]
fn trusted_root_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let missing = TrustRoots::new(TrustSource::File(dir.path().join("nope.json")));
    let e = verify_bundle(&missing, b"{}", ArtifactInput::Bytes(b"a"), None).unwrap_err();
    // The bundle is parsed first; a valid one reaches the root.
    assert!(matches!(e, SigstoreError::MalformedBundle(_)), "{e}");
    let Some(corpus) = common::corpus() else {
        return;
    };
    let bundle = std::fs::read(
        corpus.join("sigstore-conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"),
    )
    .unwrap();
    let e = verify_bundle(&missing, &bundle, ArtifactInput::Bytes(b"a"), None).unwrap_err();
    assert!(
        matches!(e, SigstoreError::TrustRoot { ref source_name, .. } if source_name.ends_with("nope.json")),
        "{e}"
    );
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"mediaType\": 3}").unwrap();
    let e = verify_bundle(
        &TrustRoots::new(TrustSource::File(garbage)),
        &bundle,
        ArtifactInput::Bytes(b"a"),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(e, SigstoreError::TrustRoot { .. }) && e.is_input_error(),
        "{e}"
    );
}

#[test]
fn digest_arguments_follow_the_conformance_rule() {
    let hex64 = "a".repeat(64);
    assert!(
        matches!(parse_artifact_arg(&format!("sha256:{hex64}")), ArtifactArg::Digest(d) if d == [0xaa; 32])
    );
    assert!(matches!(
        parse_artifact_arg("sha256:abcd"),
        ArtifactArg::Path(_)
    ));
    assert!(matches!(
        parse_artifact_arg(&format!("sha256:{}", "g".repeat(64))),
        ArtifactArg::Path(_)
    ));
    assert!(matches!(parse_artifact_arg("a.txt"), ArtifactArg::Path(_)));
    // An existing file named like a digest is a file.
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join(format!("sha256:{hex64}"));
    std::fs::write(&name, b"x").unwrap();
    assert!(matches!(
        parse_artifact_arg(name.to_str().unwrap()),
        ArtifactArg::Path(_)
    ));
}

#[test]
fn a_digest_that_names_no_subject_is_a_binding_failure() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let case = corpus.join("sigstore-conformance/bundle-verify/happy-path-intoto-in-dsse-v3");
    let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();
    let e = verify_bundle(
        &roots(),
        &bundle,
        ArtifactInput::Digest(DigestAlgorithm::Sha256, &[7u8; 32]),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            SigstoreError::Verification {
                check: Check::ArtifactBinding,
                ..
            }
        ),
        "{e}"
    );
    let e = verify_bundle(
        &roots(),
        &bundle,
        ArtifactInput::Digest(DigestAlgorithm::Sha256, &[7u8; 5]),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, SigstoreError::Artifact { .. }), "{e}");
}

#[test]
fn conformance_flow_reports_unreadable_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let req = Request {
        staging: false,
        bundle: dir.path().join("missing.json"),
        material: Material::Identity {
            identity: "i".into(),
            issuer: "j".into(),
        },
        trusted_root: None,
        artifact: "a.txt".into(),
    };
    let e = conformance::verify(&req).unwrap_err();
    assert!(
        matches!(e, ConformanceError::Read { ref path, .. } if path.ends_with("missing.json")),
        "{e}"
    );
}

#[test]
fn policy_flags_are_validated() {
    let e = IdentityPolicy::from_flags(Some("a"), Some("b"), None, None).unwrap_err();
    assert!(matches!(
        e,
        PolicyError::BadValue {
            flag: "--certificate-identity",
            ..
        }
    ));
    let e = IdentityPolicy::from_flags(None, Some("(unclosed"), None, None).unwrap_err();
    assert!(matches!(
        e,
        PolicyError::BadRegex {
            flag: "--certificate-identity-regexp",
            ..
        }
    ));
    let e = IdentityPolicy::from_flags(None, None, Some("a"), Some("b")).unwrap_err();
    assert!(matches!(
        e,
        PolicyError::BadValue {
            flag: "--certificate-oidc-issuer",
            ..
        }
    ));
    for (owner, repo, flag) in [
        (None, Some("justone"), "--repo"),
        (Some("a"), Some("b/c"), "--owner"),
        (Some("a/b"), None, "--owner"),
    ] {
        let p = GitHubPolicy {
            owner: owner.map(String::from),
            repo: repo.map(String::from),
            ..Default::default()
        };
        assert!(
            matches!(p.validate(), Err(PolicyError::BadValue { flag: f, .. }) if f == flag),
            "{owner:?} {repo:?}"
        );
    }
}

#[test]
fn a_refreshed_root_is_preferred_and_a_corrupt_one_fails_closed() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let case = corpus.join("sigstore-conformance/bundle-verify/happy-path-v0.3");
    let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();
    let artifact = std::fs::read(corpus.join("sigstore-conformance/bundle-verify/a.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let updated =
        cairn_sigstore::trust::updated_root_path(dir.path(), cairn_sigstore::Instance::PublicGood);
    std::fs::copy(
        corpus.join("sigstore-trust-roots/public-good.trusted_root.json"),
        &updated,
    )
    .unwrap();
    let roots = TrustRoots::new(TrustSource::Embedded {
        staging: false,
        updated_dir: Some(dir.path().to_path_buf()),
    });
    let v = verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact), None).unwrap();
    assert_eq!(v.trust_root, format!("updated:{}", updated.display()));
    std::fs::write(&updated, b"{\"not\": \"a root\"}").unwrap();
    let roots = TrustRoots::new(TrustSource::Embedded {
        staging: false,
        updated_dir: Some(dir.path().to_path_buf()),
    });
    let e = verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact), None).unwrap_err();
    assert!(matches!(e, SigstoreError::TrustRoot { .. }), "{e}");
}

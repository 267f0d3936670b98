//! The 85 slsa-verifier regression cases (real slsa-github-generator v2.1.0 and GitHub
//! attest-build-provenance bundles): every bundle verifies offline against the embedded
//! public-good root, and the slsa-verifier policy accepts or rejects as slsa-verifier does.

mod common;

use cairn_sigstore::verify::{verify_bundle, ArtifactInput};
use cairn_sigstore::{slsa, PolicyError, SlsaOptions, TrustRoots, TrustSource};
use serde_json::Value;

#[test]
fn all_slsa_verifier_cases() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let base = corpus.join("slsa-verifier");
    let cases: Value =
        serde_json::from_slice(&std::fs::read(base.join("cases.json")).unwrap()).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 85);
    let roots = TrustRoots::new(TrustSource::Embedded {
        staging: false,
        updated_dir: None,
    });
    let mut wrong = Vec::new();
    for case in cases {
        let s = |k: &str| case.get(k).and_then(Value::as_str).map(str::to_string);
        let name = s("name").unwrap();
        let artifact = std::fs::read(base.join(s("artifact").unwrap())).unwrap();
        let bundle = std::fs::read(base.join(s("provenance").unwrap())).unwrap();
        // Every bundle in the corpus is genuine: the cryptographic part must pass.
        let verified = match verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact), None) {
            Ok(v) => v,
            Err(e) => {
                wrong.push(format!("{name}: bundle did not verify: {e}"));
                continue;
            }
        };
        assert!(
            verified.checks.tlog && verified.checks.certificate_chain && verified.checks.sct,
            "{name}"
        );
        let opts = SlsaOptions {
            source_uri: s("source_uri").unwrap(),
            builder_id: s("builder_id"),
            source_branch: s("branch"),
            source_tag: s("tag"),
            source_versioned_tag: s("versioned_tag"),
        };
        let outcome = slsa::evaluate(&verified, &opts);
        let want_accept = s("expect").as_deref() == Some("accept");
        match (&outcome, want_accept) {
            (Ok(decisions), true) => assert!(decisions.iter().all(|d| d.passed), "{name}"),
            (Err(PolicyError::BadValue { flag, .. }), false) => wrong.push(format!(
                "{name}: rejected for a bad {flag} value, not by policy"
            )),
            (Err(_), false) => {}
            (Ok(_), false) => wrong.push(format!("{name}: accepted, slsa-verifier rejects")),
            (Err(e), true) => wrong.push(format!("{name}: rejected: {e}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 85 cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Rejections name the check and print what the bundle carries, so the user knows what
/// to change.
#[test]
fn rejections_say_what_was_found() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let base = corpus.join("slsa-verifier");
    let roots = TrustRoots::new(TrustSource::Embedded {
        staging: false,
        updated_dir: None,
    });
    let load = |a: &str, p: &str| {
        let artifact = std::fs::read(base.join(a)).unwrap();
        let bundle = std::fs::read(base.join(p)).unwrap();
        verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact), None).unwrap()
    };
    let dispatch = load(
        "gha_generic/v2.1.0/binary-linux-amd64-workflow_dispatch",
        "gha_generic/v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl",
    );
    let opts = |f: &dyn Fn(&mut SlsaOptions)| {
        let mut o = SlsaOptions {
            source_uri: "github.com/slsa-framework/example-package".into(),
            ..Default::default()
        };
        f(&mut o);
        o
    };
    let e = slsa::evaluate(
        &dispatch,
        &opts(&|o| o.source_branch = Some("master".into())),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "source branch (--source-branch) mismatch: expected master, found \"main\""
    );
    let e = slsa::evaluate(
        &dispatch,
        &opts(&|o| o.source_uri = "github.com/laurentsimon/slsa-verifier-test-gen".into()),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("found \"https://github.com/slsa-framework/example-package\""),
        "{e}"
    );
    let e =
        slsa::evaluate(&dispatch, &opts(&|o| o.source_tag = Some("v1.2.3".into()))).unwrap_err();
    assert!(e.to_string().contains("found \"(none)\""), "{e}");
    let e = slsa::evaluate(&dispatch, &opts(&|o| o.builder_id = Some("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/not-trusted.yml".into()))).unwrap_err();
    assert!(
        e.to_string()
            .contains("generator_generic_slsa3.yml@refs/tags/v2.1.0"),
        "{e}"
    );
    let e = slsa::evaluate(
        &dispatch,
        &opts(&|o| o.source_versioned_tag = Some("1.2".into())),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            PolicyError::BadValue {
                flag: "--source-versioned-tag",
                ..
            }
        ),
        "{e}"
    );
    // A builder id pinned at another ref is refused; at the signing ref it is accepted.
    let at = |r: &str| {
        opts(&|o| {
            o.builder_id = Some(format!("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@{r}"))
        })
    };
    assert!(slsa::evaluate(&dispatch, &at("refs/tags/v2.1.0")).is_ok());
    assert!(slsa::evaluate(&dispatch, &at("refs/tags/v2.0.0")).is_err());

    // The wrong-signer bundle carries the genuine provenance, signed by another workflow.
    let wrong = load(
        "bcr/MODULE-wrong-signer.bazel",
        "bcr/MODULE-wrong-signer.bazel.intoto.jsonl",
    );
    let e = slsa::evaluate(
        &wrong,
        &SlsaOptions {
            source_uri: "github.com/aspect-build/rules_lint".into(),
            builder_id: Some(
                "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml"
                    .into(),
            ),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("loosebazooka/aa-test"), "{e}");
    let e = slsa::evaluate(
        &wrong,
        &SlsaOptions {
            source_uri: "github.com/aspect-build/rules_lint".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, PolicyError::UntrustedBuilder { .. }), "{e}");
}

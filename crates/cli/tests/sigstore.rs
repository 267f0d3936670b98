//! `cairn verify` on Sigstore, GitHub, npm and PyPI attestations, `cairn conformance` and
//! `cairn trust-root`, as a user runs them: exit codes, messages, JSON report fields.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sigstore/testdata")
        .join(name)
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("CAIRN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "corpus missing at {}",
        dir.display()
    );
    eprintln!("skipping: corpus not found at {}", dir.display());
    None
}

/// `cairn` with an empty trust directory, so a refreshed root on this machine cannot
/// change the outcome.
fn cairn(trust_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env("CAIRN_TRUST_DIR", trust_dir);
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("spawn cairn")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&o.stdout)))
}

#[test]
fn npm_provenance_with_gh_flags_and_json_report() {
    let t = tempfile::tempdir().unwrap();
    let o = run(cairn(t.path())
        .args(["verify"])
        .arg(testdata("sigstore-2.0.0.tgz"))
        .arg("--bundle")
        .arg(testdata("sigstore.js@2.0.0-provenance.sigstore.json"))
        .args(["--repo", "sigstore/sigstore-js", "--format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = json(&o);
    assert_eq!(r["verified"], true);
    assert_eq!(r["inputFormat"], "sigstore-bundle-v0.1");
    assert_eq!(
        r["artifact"]["digest"]["sha512"].as_str().unwrap().len(),
        128
    );
    assert_eq!(r["subject"]["name"], "pkg:npm/sigstore@2.0.0");
    assert_eq!(
        r["signers"][0]["identity"],
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(r["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(r["logEntries"][0]["inclusionVerified"], true);
    assert_eq!(r["timestamps"][0]["kind"], "tlog-integrated-time");
    let checks: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in [
        "certificate-chain",
        "sct",
        "tlog",
        "signature",
        "subject",
        "repo",
        "signer-workflow",
        "predicate-type",
    ] {
        assert!(checks.contains(&c), "missing check {c}: {checks:?}");
    }

    // Wrong owner: exit 1 and the owner found is printed.
    let o = run(cairn(t.path())
        .args(["verify"])
        .arg(testdata("sigstore-2.0.0.tgz"))
        .arg("--bundle")
        .arg(testdata("sigstore.js@2.0.0-provenance.sigstore.json"))
        .args(["--owner", "npm"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("found https://github.com/sigstore"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn keyless_bundle_without_identity_policy_is_refused_and_names_the_identity() {
    let t = tempfile::tempdir().unwrap();
    let o = run(cairn(t.path())
        .args(["verify"])
        .arg(testdata("rfc8785-0.1.2-py3-none-any.whl"))
        .arg("--bundle")
        .arg(testdata("bundle_v3_github.whl.sigstore")));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr)
            .contains("trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"),
        "{}",
        text(&o.stderr)
    );

    let ok = |extra: &[&str]| {
        run(cairn(t.path())
            .args(["verify"])
            .arg(testdata("rfc8785-0.1.2-py3-none-any.whl"))
            .arg("--bundle")
            .arg(testdata("bundle_v3_github.whl.sigstore"))
            .args(extra))
    };
    let o = ok(&[
        "--cert-identity",
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
        "--cert-oidc-issuer",
        "https://token.actions.githubusercontent.com",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = ok(&[
        "--certificate-identity-regexp",
        "https://github.com/trailofbits/.*",
        "--certificate-oidc-issuer",
        "https://token.actions.githubusercontent.com",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // A blob signature has no statement: --type cannot be satisfied.
    let o = ok(&[
        "--repo",
        "trailofbits/rfc8785.py",
        "--type",
        "https://slsa.dev/provenance/v1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = ok(&[
        "--certificate-identity-regexp",
        "(",
        "--certificate-oidc-issuer",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--certificate-identity-regexp"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn pep740_objects_verify_through_cairn_verify() {
    let t = tempfile::tempdir().unwrap();
    for doc in [
        "pypi_attestations-0.0.19.tar.gz.publish.attestation",
        "pypi_attestations-0.0.19.tar.gz.provenance",
    ] {
        let o = run(cairn(t.path())
            .args(["verify"])
            .arg(testdata("pypi_attestations-0.0.19.tar.gz"))
            .arg("--bundle")
            .arg(testdata(doc))
            .args([
                "--repo",
                "trailofbits/pypi-attestations",
                "--type",
                "https://docs.pypi.org/attestations/publish/v1",
                "--format",
                "json",
            ]));
        assert_eq!(o.status.code(), Some(0), "{doc}: {}", text(&o.stderr));
        let r = json(&o);
        assert_eq!(r["inputFormat"], "pep740-attestation");
        assert_eq!(
            r["artifact"]["digest"]["sha256"],
            "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"
        );
    }
    // gh's default predicate type (SLSA v1) applies to --repo: a publish attestation fails it.
    let o = run(cairn(t.path())
        .args(["verify"])
        .arg(testdata("pypi_attestations-0.0.19.tar.gz"))
        .arg("--bundle")
        .arg(testdata(
            "pypi_attestations-0.0.19.tar.gz.publish.attestation",
        ))
        .args(["--repo", "trailofbits/pypi-attestations"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("https://docs.pypi.org/attestations/publish/v1"),
        "{}",
        text(&o.stderr)
    );
    // One changed byte in the sdist.
    let mut sdist = std::fs::read(testdata("pypi_attestations-0.0.19.tar.gz")).unwrap();
    sdist[500] ^= 1;
    let changed = t.path().join("changed.tar.gz");
    std::fs::write(&changed, sdist).unwrap();
    let o = run(cairn(t.path())
        .args(["verify"])
        .arg(&changed)
        .arg("--bundle")
        .arg(testdata(
            "pypi_attestations-0.0.19.tar.gz.publish.attestation",
        ))
        .args([
            "--repo",
            "trailofbits/pypi-attestations",
            "--type",
            "https://docs.pypi.org/attestations/publish/v1",
        ]));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn github_instance_attestation_by_digest() {
    let t = tempfile::tempdir().unwrap();
    let o = run(cairn(t.path())
        .args([
            "verify",
            "sha256:76f1fe8593bf227cca2c089e3c16dc95014a8d3e89c5dd220530469ca043c428",
            "--bundle",
        ])
        .arg(testdata("github-private-attestation.sigstore.json"))
        .args([
            "--certificate-identity",
            "https://dotcom.releases.github.com",
            "--certificate-oidc-issuer-regexp",
            ".*",
            "--format",
            "json",
        ]));
    // GitHub's release-signing certificate carries no OIDC issuer, so even `.*` fails.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r = json(&o);
    assert_eq!(r["error"]["kind"], "policy_violation");
    let checks = r["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .any(|c| c["name"] == "trusted-root" && c["detail"] == "embedded:github"));
    assert!(checks
        .iter()
        .any(|c| c["name"] == "tlog" && c["status"] == "skipped"));
}

#[test]
fn conformance_protocol_exit_codes() {
    let Some(corpus) = corpus() else { return };
    let t = tempfile::tempdir().unwrap();
    let cases = corpus.join("sigstore-conformance/bundle-verify");
    let id = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let verify = |case: &str, identity: &str| {
        run(cairn(t.path())
            .args(["conformance", "verify-bundle", "--bundle"])
            .arg(cases.join(case).join("bundle.sigstore.json"))
            .args([
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                "https://token.actions.githubusercontent.com",
            ])
            .arg(cases.join("a.txt")))
    };
    assert_eq!(verify("happy-path-v0.3", id).status.code(), Some(0));
    assert_eq!(verify("signature-mismatch_fail", id).status.code(), Some(1));
    let o = verify("happy-path-v0.3", "https://example.com/other");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains(id),
        "the identity found is printed: {}",
        text(&o.stderr)
    );
    let o = run(cairn(t.path()).args([
        "conformance",
        "sign-bundle",
        "--identity-token",
        "x",
        "--bundle",
        "b",
        "f",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unsupported"));
}

#[test]
fn trust_root_update_without_network_fails_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("trust");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = run(cairn(t.path())
        .args([
            "trust-root",
            "update",
            "--instance",
            "public-good",
            "--mirror",
            &format!("http://127.0.0.1:{port}/"),
            "--dir",
        ])
        .arg(&dir));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("TUF refresh of sigstore-public-good"),
        "{}",
        text(&o.stderr)
    );
    assert!(!dir.exists());
    let o = run(cairn(t.path())
        .args(["trust-root", "show", "--dir"])
        .arg(&dir));
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains("sigstore-public-good   embedded"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn keyless_envelope_without_log_entry_is_not_verifiable_offline() {
    let Some(corpus) = corpus() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = corpus.join("slsa-verifier/gha_generic/v2.1.0");
    // The DSSE envelope and certificate of a genuine bundle, as a pre-bundle keyless
    // `.intoto.jsonl` line (no Rekor entry).
    let b: Value = serde_json::from_slice(
        &std::fs::read(dir.join("binary-linux-amd64-workflow_dispatch.intoto.jsonl")).unwrap(),
    )
    .unwrap();
    let der = b["verificationMaterial"]["certificate"]["rawBytes"]
        .as_str()
        .unwrap();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----\n");
    let mut env = b["dsseEnvelope"].clone();
    env["signatures"][0]["keyid"] = Value::String(String::new());
    env["signatures"][0]["cert"] = Value::String(pem);
    let path = t.path().join("old.intoto.jsonl");
    std::fs::write(&path, serde_json::to_vec(&env).unwrap()).unwrap();
    let o = run(cairn(t.path())
        .args(["verify"])
        .arg(dir.join("binary-linux-amd64-workflow_dispatch"))
        .arg("--bundle")
        .arg(&path)
        .args(["--source-uri", "github.com/slsa-framework/example-package"]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("online Rekor lookup"),
        "{}",
        text(&o.stderr)
    );
}

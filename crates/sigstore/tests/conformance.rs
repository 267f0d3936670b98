//! The 70 Sigstore conformance bundle-verify cases, each by path and by `sha256:` digest,
//! through the same library flow `cairn conformance verify-bundle` uses.

mod common;

use std::path::Path;

use cairn_sigstore::conformance::{verify, Material, Request};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn request(case: &Path, by_digest: bool) -> Request {
    let read = |name: &str| {
        std::fs::read_to_string(case.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let artifact_path = if case.join("artifact").exists() {
        case.join("artifact")
    } else {
        case.parent().unwrap().join("a.txt")
    };
    let artifact = if by_digest {
        let bytes = std::fs::read(&artifact_path).unwrap();
        format!(
            "sha256:{}",
            hex::encode(cairn_sigstore::digest::sha256(&bytes))
        )
    } else {
        artifact_path.display().to_string()
    };
    let material = if case.join("key.pub").exists() {
        Material::Key(case.join("key.pub"))
    } else {
        Material::Identity {
            identity: read("identity").unwrap_or_else(|| DEFAULT_IDENTITY.into()),
            issuer: read("issuer").unwrap_or_else(|| DEFAULT_ISSUER.into()),
        }
    };
    Request {
        staging: false,
        bundle: case.join("bundle.sigstore.json"),
        material,
        trusted_root: case
            .join("trusted_root.json")
            .exists()
            .then(|| case.join("trusted_root.json")),
        artifact,
    }
}

#[test]
fn all_conformance_cases_by_path_and_by_digest() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("sigstore-conformance/bundle-verify");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "expected 70 cases in {}", dir.display());
    let mut failures = Vec::new();
    for case in &cases {
        let want_fail = case
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("_fail");
        for by_digest in [false, true] {
            let outcome = verify(&request(case, by_digest));
            if outcome.is_ok() == want_fail {
                failures.push(format!(
                    "{} ({}): {}",
                    case.file_name().unwrap().to_string_lossy(),
                    if by_digest { "digest" } else { "path" },
                    match outcome {
                        Ok(_) => "accepted, should fail".to_string(),
                        Err(e) => format!("rejected: {e}"),
                    }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 140 runs wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

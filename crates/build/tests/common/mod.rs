//! Shared helpers for the real-build tests: temp git repos, a shared digest cache, and
//! bundle verification with cairn-sign directly.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_build::{BuildRequest, Quiet};
use cairn_formats::bundle::Bundle;
use cairn_formats::provenance::{Provenance, ProvenanceV1};
use cairn_formats::{Limits, Statement};
use cairn_sign::{Algorithm, PrivateKey};

/// A state dir shared by the tests, so the host toolchain is hashed once.
pub fn state_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cairn-build-state")
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A git repo with `files` committed (`name`, content, executable).
pub fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    git(d.path(), &["init", "-q", "-b", "main"]);
    git(
        d.path(),
        &[
            "remote",
            "add",
            "origin",
            "https://example.com/cairn/test.git",
        ],
    );
    for (p, c) in files {
        let full = d.path().join(p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, c).unwrap();
    }
    commit(d.path());
    d
}

pub fn commit(dir: &Path) {
    git(dir, &["add", "-A"]);
    git(
        dir,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "c",
            "--date=2026-01-01T00:00:00Z",
        ],
    );
}

pub fn key() -> PrivateKey {
    PrivateKey::generate(Algorithm::Ed25519).unwrap()
}

pub struct Env {
    pub work: tempfile::TempDir,
    pub req: BuildRequest,
}

/// A request for `src`, writing outputs and bundle under a fresh temp dir.
pub fn request(src: &Path, command: &[&str]) -> Env {
    let work = tempfile::tempdir().unwrap();
    let mut req = BuildRequest::new(src, work.path().join("out"), state_dir());
    req.command = command.iter().map(|s| s.to_string()).collect();
    // Test builds take seconds; a stuck one should fail with the build's own timeout
    // error long before CI's budget, not after the default hour.
    req.timeout_secs = Some(600);
    Env { work, req }
}

pub fn run(
    req: &BuildRequest,
    key: &PrivateKey,
) -> Result<cairn_build::BuildResult, cairn_build::BuildError> {
    cairn_build::build(req, key, None, &mut Quiet)
}

/// Verifies the bundle's signature with `key` and every subject against the output dir;
/// returns the provenance.
pub fn verify(bundle: &Path, key: &PrivateKey, out_dir: &Path) -> Result<ProvenanceV1, String> {
    let bytes = std::fs::read(bundle).map_err(|e| e.to_string())?;
    let b = Bundle::parse(&bytes, &Limits::default()).map_err(|e| e.to_string())?;
    let env = &b.attestations[0].envelope;
    cairn_sign::dsse::verify_envelope(env, &[key.public_key().clone()], 1)
        .map_err(|e| format!("signature: {e}"))?;
    let st = Statement::from_envelope(env, &Limits::default()).map_err(|e| e.to_string())?;
    for s in &st.subject {
        let name = s.name.as_deref().ok_or("subject without name")?;
        let (d, _) = cairn_build::hash::sha256_file(&out_dir.join(name))
            .map_err(|e| format!("{name}: {e}"))?;
        let want = s.digest.get("sha256").ok_or("no sha256")?;
        if hex::encode(d) != want {
            return Err(format!(
                "subject {name}: expected sha256:{want}, found sha256:{}",
                hex::encode(d)
            ));
        }
    }
    let manifest = b.attestations[0]
        .attachments
        .iter()
        .find(|a| a["kind"] == "toolchain-manifest")
        .ok_or("no manifest attachment")?;
    match Provenance::from_statement(&st).map_err(|e| e.to_string())? {
        Some(Provenance::V1(p)) => {
            cairn_build::policy::check_manifest_attachment(manifest, &p)
                .map_err(|e| e.to_string())?;
            Ok(*p)
        }
        _ => Err("not SLSA v1".into()),
    }
}

/// The build log's text.
pub fn log(req: &BuildRequest) -> String {
    std::fs::read_to_string(req.log_path()).unwrap_or_default()
}

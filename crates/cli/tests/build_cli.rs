//! `cairn build` end to end through the binary: the shipped example (examples/hello-c)
//! builds in the sandbox, verifies with `cairn verify`, and a tampered output fails.

use std::path::Path;
use std::process::Command;

fn cairn(args: &[&str], cwd: &Path, state: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .current_dir(cwd)
        .env("CAIRN_STATE_DIR", state)
        .output()
        .unwrap()
}

fn git(dir: &Path, args: &[&str]) {
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

/// examples/hello-c as a clean git checkout in a fresh temporary directory.
fn example_checkout() -> (tempfile::TempDir, std::path::PathBuf) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-c");
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("hello-c");
    std::fs::create_dir(&src).unwrap();
    for f in ["hello.c", "cairn.toml", ".gitignore"] {
        std::fs::copy(example.join(f), src.join(f)).unwrap();
    }
    git(&src, &["init", "-q", "-b", "main"]);
    git(&src, &["add", "-A"]);
    git(
        &src,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "hello",
        ],
    );
    (work, src)
}

#[test]
fn example_builds_verifies_and_a_tampered_output_fails() {
    let (work, src) = example_checkout();
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cairn-cli-build-state");
    let out = cairn(
        &["key", "generate", "--out", "builder"],
        work.path(),
        &state,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cairn(
        &[
            "build",
            "--source",
            "hello-c",
            "--output",
            "out",
            "--key",
            "builder.key",
        ],
        work.path(),
        &state,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("hello") && stdout.contains("bundle:"),
        "{stdout}"
    );
    let bundle = work.path().join("cairn.bundle.json");
    assert!(bundle.is_file());

    let out = cairn(
        &[
            "verify",
            "out/hello",
            "--bundle",
            "cairn.bundle.json",
            "--key",
            "builder.pub",
        ],
        work.path(),
        &state,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let bin = work.path().join("out/hello");
    let mut bytes = std::fs::read(&bin).unwrap();
    bytes[64] ^= 1;
    std::fs::write(&bin, bytes).unwrap();
    let out = cairn(
        &[
            "verify",
            "out/hello",
            "--bundle",
            "cairn.bundle.json",
            "--key",
            "builder.pub",
        ],
        work.path(),
        &state,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A failing build: exit 1, no new bundle.
    std::fs::remove_file(&bundle).unwrap();
    let out = cairn(
        &[
            "build",
            "--source",
            "hello-c",
            "--output",
            "out2",
            "--key",
            "builder.key",
            "--",
            "sh",
            "-c",
            "exit 3",
        ],
        work.path(),
        &state,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exit status 3"));
    assert!(!bundle.exists());

    // A dirty checkout: exit 2.
    std::fs::write(src.join("hello.c"), "int main(void){return 0;}\n").unwrap();
    let out = cairn(
        &[
            "build",
            "--source",
            "hello-c",
            "--output",
            "out3",
            "--key",
            "builder.key",
        ],
        work.path(),
        &state,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("dirty"));
}

#[test]
fn consumer_checks_source_toolchain_and_manifest() {
    let (work, src) = example_checkout();
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cairn-cli-build-state-2");
    assert!(cairn(
        &["key", "generate", "--out", "builder"],
        work.path(),
        &state
    )
    .status
    .success());
    let out = cairn(
        &[
            "build",
            "--source",
            "hello-c",
            "--output",
            "out",
            "--key",
            "builder.key",
        ],
        work.path(),
        &state,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = |extra: &[&str], bundle: &str| {
        let mut args = vec![
            "verify",
            "out/hello",
            "--bundle",
            bundle,
            "--key",
            "builder.pub",
        ];
        args.extend_from_slice(extra);
        cairn(&args, work.path(), &state)
    };

    // The consumer's own checkout matches; the report names the checks.
    let out = verify(
        &[
            "--source-dir",
            "hello-c",
            "--build-type",
            "https://cairn.dev/build/v1",
            "--format",
            "json",
        ],
        "cairn.bundle.json",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let passed: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "pass")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in [
        "signature",
        "subject",
        "build-type",
        "toolchain-manifest",
        "source-dir",
    ] {
        assert!(passed.contains(&want), "{want} not in {passed:?}");
    }
    let toolchain = r["statement"]["predicate"]["buildDefinition"]["internalParameters"]
        ["toolchainManifestDigest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        verify(&["--allow-toolchain", &toolchain], "cairn.bundle.json")
            .status
            .code(),
        Some(0)
    );
    let out = verify(
        &["--allow-toolchain", &format!("sha256:{}", "0".repeat(64))],
        "cairn.bundle.json",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("toolchainManifestDigest"));

    // An edited toolchain manifest in the bundle no longer matches the signed digest.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("cairn.bundle.json")).unwrap())
            .unwrap();
    let att = doc["attestations"][0]["attachments"]
        .as_array_mut()
        .unwrap();
    let m = att
        .iter_mut()
        .find(|a| a["kind"] == "toolchain-manifest")
        .expect("manifest attached");
    let content = m["content"]
        .as_str()
        .unwrap()
        .replacen("/usr/bin/gcc", "/usr/bin/gcd", 1);
    m["content"] = serde_json::Value::String(content);
    std::fs::write(
        work.path().join("edited.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    let out = verify(&[], "edited.json");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("toolchain manifest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A consumer checkout that differs is named.
    std::fs::write(src.join("hello.c"), "int main(void){return 1;}\n").unwrap();
    git(
        &src,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qam",
            "changed",
        ],
    );
    let out = verify(&["--source-dir", "hello-c"], "cairn.bundle.json");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hello.c"), "{err}");
}

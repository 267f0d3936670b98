//! Interop with an independent implementation: the Python in-toto package (3.1.0, with
//! securesystemslib) signs DSSE in-toto statements that `cairn verify` accepts, and
//! verifies the envelopes `cairn attest` signs. Needs `scripts/setup-python-interop.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// ML-DSA is left out on purpose: securesystemslib signs ML-DSA over a TUF-specific TAP 21
/// prehash (`"tuf" || 1 || SHA-512(PAE)`), not over the PAE as DSSE specifies, so the two
/// cannot verify each other's ML-DSA signatures.
const INTEROP_ALGORITHMS: [&str; 2] = ["ed25519", "ecdsa-p256"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let p = std::env::var_os("CAIRN_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-interop/bin/python"));
    assert!(
        p.exists(),
        "{} missing: run scripts/setup-python-interop.sh (the README's test command does)",
        p.display()
    );
    p
}

fn script() -> PathBuf {
    root().join("tests/interop/intoto_interop.py")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn")
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cairn() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
}

fn artifact(dir: &Path) -> PathBuf {
    let a = dir.join("artifact.bin");
    std::fs::write(&a, b"interop artifact \x00\x01\x02").unwrap();
    a
}

#[test]
fn python_in_toto_signs_cairn_verifies() {
    let py = python();
    for alg in INTEROP_ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let a = artifact(dir.path());
        let key = dir.path().join("py");
        let env = dir.path().join("py.intoto.json");
        let out = run(Command::new(&py)
            .arg(script())
            .args(["sign", alg])
            .arg(&key)
            .arg(&a)
            .arg(&env));
        ok(&out, &format!("python sign {alg}"));
        let pubkey = dir.path().join("py.pub");
        let out = run(cairn()
            .arg("verify")
            .arg(&a)
            .arg("--bundle")
            .arg(&env)
            .arg("--key")
            .arg(&pubkey)
            .args(["--builder-id", "https://in-toto.io/python"]));
        ok(&out, &format!("cairn verify of python {alg} envelope"));

        // The same envelope against a different artifact fails with exit 1.
        let other = dir.path().join("other");
        std::fs::write(&other, b"other").unwrap();
        let out = run(cairn()
            .arg("verify")
            .arg(&other)
            .arg("--bundle")
            .arg(&env)
            .arg("--key")
            .arg(&pubkey));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{alg}: wrong artifact must fail"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("subject mismatch"));
    }
}

#[test]
fn cairn_signs_python_in_toto_verifies() {
    let py = python();
    for alg in INTEROP_ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let a = artifact(dir.path());
        let base = dir.path().join("builder");
        ok(
            &run(cairn()
                .args(["key", "generate", "--algorithm", alg, "--out"])
                .arg(&base)),
            "keygen",
        );
        let pred = dir.path().join("pred.json");
        std::fs::write(&pred, br#"{"buildDefinition":{"buildType":"https://cairn.dev/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://cairn.dev/builder"}}}"#).unwrap();
        let bundle = dir.path().join("b.json");
        ok(
            &run(cairn()
                .arg("attest")
                .arg("--predicate")
                .arg(&pred)
                .args(["--type", "https://slsa.dev/provenance/v1", "--key"])
                .arg(base.with_extension("key"))
                .arg("-o")
                .arg(&bundle)
                .arg(&a)),
            "attest",
        );
        let out = run(Command::new(&py)
            .arg(script())
            .arg("verify")
            .arg(&bundle)
            .arg(base.with_extension("pub"))
            .arg(&a));
        ok(&out, &format!("python verify of cairn {alg} envelope"));

        // Python must reject a tampered payload too: proves the check is real there.
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
        let payload = doc["attestations"][0]["dsseEnvelope"]["payload"]
            .as_str()
            .unwrap()
            .to_string();
        let flipped = if payload.starts_with('e') {
            format!("f{}", &payload[1..])
        } else {
            format!("e{}", &payload[1..])
        };
        doc["attestations"][0]["dsseEnvelope"]["payload"] = serde_json::Value::String(flipped);
        std::fs::write(&bundle, serde_json::to_vec(&doc).unwrap()).unwrap();
        let out = run(Command::new(&py)
            .arg(script())
            .arg("verify")
            .arg(&bundle)
            .arg(base.with_extension("pub"))
            .arg(&a));
        assert!(
            !out.status.success(),
            "python accepted a tampered {alg} envelope"
        );
    }
}

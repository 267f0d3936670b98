//! `cairn key`, `cairn attest` and `cairn verify` as a user runs them: exit codes, error
//! messages, and that failed commands leave nothing half-written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cairn(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.current_dir(dir);
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("spawn cairn")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PRED: &str = r#"{"buildDefinition":{"buildType":"https://cairn.dev/build/v1","externalParameters":{"source":{"uri":"git+https://github.com/acme/app@refs/heads/main"}}},"runDetails":{"builder":{"id":"https://cairn.dev/builder"},"metadata":{"finishedOn":"2026-11-01T00:00:00Z"}}}"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app"), b"the artifact").unwrap();
        std::fs::write(dir.path().join("pred.json"), PRED).unwrap();
        Fixture { dir }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn cmd(&self) -> Command {
        cairn(self.dir.path())
    }
    fn keygen(&self, alg: &str, name: &str) {
        let o = run(self
            .cmd()
            .args(["key", "generate", "--algorithm", alg, "--out", name]));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    fn attest(&self, keys: &[&str], out: &str) -> Output {
        let mut c = self.cmd();
        c.args([
            "attest",
            "--predicate",
            "pred.json",
            "--type",
            "https://slsa.dev/provenance/v1",
            "-o",
            out,
        ]);
        for k in keys {
            c.args(["--key", &format!("{k}.key")]);
        }
        c.arg("app");
        run(&mut c)
    }
    fn verify(&self, bundle: &str, keys: &[&str], extra: &[&str]) -> Output {
        let mut c = self.cmd();
        c.args(["verify", "app", "--bundle", bundle]);
        for k in keys {
            c.args(["--key", &format!("{k}.pub")]);
        }
        c.args(extra);
        run(&mut c)
    }
}

#[test]
fn attest_then_verify_with_policy() {
    let f = Fixture::new();
    f.keygen("ecdsa-p256", "b");
    assert!(f.attest(&["b"], "app.bundle.json").status.success());
    let o = f.verify(
        "app.bundle.json",
        &["b"],
        &[
            "--builder-id",
            "https://cairn.dev/builder",
            "--source-uri",
            "github.com/acme/app",
            "--source-ref",
            "main",
            "--type",
            "https://slsa.dev/provenance/v1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Verified OK"));

    for (flag, value, field) in [
        (
            "--builder-id",
            "https://evil.example/builder",
            "runDetails.builder.id",
        ),
        ("--source-uri", "github.com/acme/other", "source.uri"),
        ("--source-ref", "release", "source.ref"),
        ("--type", "https://example.com/other", "predicateType"),
        (
            "--build-type",
            "https://example.com/bt",
            "buildDefinition.buildType",
        ),
    ] {
        let o = f.verify("app.bundle.json", &["b"], &[flag, value]);
        assert_eq!(o.status.code(), Some(1), "{flag}");
        let e = stderr(&o);
        assert!(
            e.contains("policy violation") && e.contains(field) && e.contains(value),
            "{flag}: {e}"
        );
    }
}

#[test]
fn max_age_uses_the_build_time() {
    let f = Fixture::new();
    f.keygen("ed25519", "b");
    assert!(f.attest(&["b"], "x.json").status.success());
    let ok = f.verify(
        "x.json",
        &["b"],
        &[
            "--max-age",
            "30d",
            "--verification-time",
            "2026-11-20T00:00:00Z",
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let old = f.verify(
        "x.json",
        &["b"],
        &[
            "--max-age",
            "7d",
            "--verification-time",
            "2026-11-20T00:00:00Z",
        ],
    );
    assert_eq!(old.status.code(), Some(1));
    assert!(
        stderr(&old).contains("runDetails.metadata.finishedOn"),
        "{}",
        stderr(&old)
    );
    let future = f.verify(
        "x.json",
        &["b"],
        &[
            "--max-age",
            "7d",
            "--verification-time",
            "2026-10-01T00:00:00Z",
        ],
    );
    assert_eq!(future.status.code(), Some(1));
}

#[test]
fn json_report_says_what_was_checked() {
    let f = Fixture::new();
    f.keygen("ed25519", "b");
    assert!(f.attest(&["b"], "x.json").status.success());
    let o = f.verify(
        "x.json",
        &["b"],
        &[
            "--format",
            "json",
            "--builder-id",
            "https://cairn.dev/builder",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["schema"], "https://cairn.dev/verify-output/v1");
    assert_eq!(r["verified"], true);
    assert_eq!(r["builder"]["id"], "https://cairn.dev/builder");
    assert_eq!(r["source"]["uri"], "https://github.com/acme/app");
    let checks = r["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names[..4],
        ["signature", "subject", "predicate-type", "builder-id"]
    );
    // Extensions report what they did not check: this bundle carries no log receipt.
    let log = checks
        .iter()
        .find(|c| c["name"] == "log-receipt")
        .expect("log-receipt check reported");
    assert_eq!(log["status"], "skipped");
    assert!(checks.iter().all(|c| c["status"] != "fail"));

    let o = f.verify(
        "x.json",
        &["b"],
        &["--format", "json", "--builder-id", "nope"],
    );
    assert_eq!(o.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["verified"], false);
    assert_eq!(r["error"]["kind"], "policy_violation");
    let failed = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "fail")
        .unwrap();
    assert_eq!(failed["expected"], "nope");
    assert_eq!(failed["found"], "https://cairn.dev/builder");
}

#[test]
fn hybrid_envelopes_and_thresholds() {
    let f = Fixture::new();
    f.keygen("ed25519", "ed");
    f.keygen("ml-dsa-65", "pq");
    f.keygen("ecdsa-p384", "p384");
    assert!(f.attest(&["ed", "pq"], "hybrid.json").status.success());
    assert!(f.attest(&["ed"], "classic.json").status.success());
    assert_eq!(
        f.verify("hybrid.json", &["ed", "pq"], &["--require-all-keys"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        f.verify("hybrid.json", &["ed", "pq"], &["--threshold", "2"])
            .status
            .code(),
        Some(0)
    );
    let o = f.verify("classic.json", &["ed", "pq"], &["--require-all-keys"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("ml-dsa-65"),
        "names the missing key: {}",
        stderr(&o)
    );
    let o = f.verify("classic.json", &["ed", "pq"], &["--threshold", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("1 of the required 2"), "{}", stderr(&o));
    // a key that did not sign is no trusted signature
    assert_eq!(
        f.verify("classic.json", &["p384"], &[]).status.code(),
        Some(1)
    );
}

#[test]
fn digest_in_place_of_a_file() {
    let f = Fixture::new();
    f.keygen("ed25519", "b");
    let digest = format!(
        "sha256:{}",
        hex::encode(cairn_sign::digest::sha256(b"the artifact"))
    );
    let o = run(f.cmd().args([
        "attest",
        "--predicate",
        "pred.json",
        "--type",
        "https://slsa.dev/provenance/v1",
        "--key",
        "b.key",
        "-o",
        "d.json",
        &digest,
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(f
        .cmd()
        .args(["verify", &digest, "--bundle", "d.json", "--key", "b.pub"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        f.verify("d.json", &["b"], &[]).status.code(),
        Some(0),
        "the file with that digest verifies too"
    );
    let wrong = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        run(f
            .cmd()
            .args(["verify", &wrong, "--bundle", "d.json", "--key", "b.pub"]))
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let f = Fixture::new();
    f.keygen("ed25519", "b");
    assert!(f.attest(&["b"], "ok.json").status.success());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("dup.json", br#"{"payload":"e30=","payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}"#.to_vec(), "duplicate JSON key at $.payload"),
        ("trail.json", [std::fs::read(f.p("ok.json")).unwrap(), b"{}".to_vec()].concat(), "trailing data"),
        ("utf8.json", b"{\"payload\":\"\xff\"}".to_vec(), "invalid UTF-8"),
        ("unknown.json", br#"{"mediaType":"application/vnd.cairn.bundle.v7+json","attestations":[]}"#.to_vec(), "unsupported `mediaType`"),
        ("notjson.json", b"hello".to_vec(), "bundle"),
        ("b64.json", br#"{"payload":"!!","payloadType":"application/vnd.in-toto+json","signatures":[]}"#.to_vec(), "`payload` is not valid base64"),
    ];
    for (name, bytes, needle) in cases {
        std::fs::write(f.p(name), bytes).unwrap();
        let o = f.verify(name, &["b"], &[]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{name}: expected {needle:?} in {}",
            stderr(&o)
        );
    }
    // size limit
    let o = f.verify("ok.json", &["b"], &["--max-bundle-size", "100"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("over the limit of 100 bytes"),
        "{}",
        stderr(&o)
    );
    // missing artifact, bundle, key; no key at all; clap usage errors
    assert_eq!(
        run(f
            .cmd()
            .args(["verify", "nope", "--bundle", "ok.json", "--key", "b.pub"]))
        .status
        .code(),
        Some(2)
    );
    assert_eq!(f.verify("missing.json", &["b"], &[]).status.code(), Some(2));
    assert_eq!(
        f.verify("ok.json", &["missing"], &[]).status.code(),
        Some(2)
    );
    assert_eq!(f.verify("ok.json", &[], &[]).status.code(), Some(2));
    assert_eq!(
        f.verify("ok.json", &["b"], &["--threshold", "0"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(f.cmd().args(["verify", "app"])).status.code(), Some(2));
    // a statement of unknown type inside a correctly signed envelope is malformed input
    let st = r#"{"_type":"https://in-toto.io/Statement/v9","subject":[],"predicateType":"x","predicate":{}}"#;
    let key = cairn_sign::PrivateKey::from_pem_file(&f.p("b.key")).unwrap();
    let env =
        cairn_sign::dsse::sign_envelope("application/vnd.in-toto+json", st.as_bytes(), &[&key])
            .unwrap();
    std::fs::write(f.p("v9.json"), env.to_json()).unwrap();
    let o = f.verify("v9.json", &["b"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown `_type`"), "{}", stderr(&o));
}

#[test]
fn failed_commands_leave_nothing_behind() {
    let f = Fixture::new();
    f.keygen("ed25519", "b");
    let before = std::fs::read(f.p("b.key")).unwrap();
    // keygen never overwrites
    let o = run(f.cmd().args(["key", "generate", "--out", "b"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(std::fs::read(f.p("b.key")).unwrap(), before);
    // attest with a bad predicate or a missing artifact writes no bundle
    std::fs::write(f.p("bad.json"), b"[1,2]").unwrap();
    let o = run(f.cmd().args([
        "attest",
        "--predicate",
        "bad.json",
        "--type",
        "t",
        "--key",
        "b.key",
        "-o",
        "out.json",
        "app",
    ]));
    assert_eq!(o.status.code(), Some(2));
    let o = run(f.cmd().args([
        "attest",
        "--predicate",
        "pred.json",
        "--type",
        "t",
        "--key",
        "b.key",
        "-o",
        "out.json",
        "missing",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing: no such file"));
    assert!(!f.p("out.json").exists());
    // key files are private
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(f.p("b.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn jsonl_and_bare_envelopes() {
    let f = Fixture::new();
    f.keygen("ed25519", "a");
    f.keygen("ed25519", "other");
    assert!(f.attest(&["a"], "a.json").status.success());
    assert!(f.attest(&["other"], "o.json").status.success());
    let env_of = |p: &str| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f.p(p)).unwrap()).unwrap();
        serde_json::to_string(&v["attestations"][0]["dsseEnvelope"]).unwrap()
    };
    std::fs::write(f.p("env.json"), env_of("a.json")).unwrap();
    assert_eq!(f.verify("env.json", &["a"], &[]).status.code(), Some(0));
    // JSON lines: the matching envelope may be anywhere in the file
    std::fs::write(
        f.p("x.intoto.jsonl"),
        format!("{}\n{}\n", env_of("o.json"), env_of("a.json")),
    )
    .unwrap();
    assert_eq!(
        f.verify("x.intoto.jsonl", &["a"], &[]).status.code(),
        Some(0)
    );
    std::fs::write(f.p("y.intoto.jsonl"), format!("{}\n", env_of("o.json"))).unwrap();
    assert_eq!(
        f.verify("y.intoto.jsonl", &["a"], &[]).status.code(),
        Some(1)
    );
}

#[test]
fn sigstore_export_carries_the_same_envelope() {
    let f = Fixture::new();
    f.keygen("ecdsa-p256", "b");
    let o = run(f.cmd().args([
        "attest",
        "--predicate",
        "pred.json",
        "--type",
        "https://slsa.dev/provenance/v1",
        "--key",
        "b.key",
        "-o",
        "c.json",
        "--sigstore-bundle",
        "s.json",
        "app",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.p("s.json")).unwrap()).unwrap();
    let c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.p("c.json")).unwrap()).unwrap();
    assert_eq!(
        s["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let key = cairn_sign::PublicKey::from_pem_file(&f.p("b.pub")).unwrap();
    assert_eq!(s["verificationMaterial"]["publicKey"]["hint"], key.key_id());
    assert_eq!(
        s["dsseEnvelope"]["payload"],
        c["attestations"][0]["dsseEnvelope"]["payload"]
    );
    assert_eq!(
        s["dsseEnvelope"]["signatures"][0]["sig"],
        c["attestations"][0]["dsseEnvelope"]["signatures"][0]["sig"]
    );
}

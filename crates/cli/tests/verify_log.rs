//! `cairn verify` with transparency-log receipts: a bundle submitted to a real `cairn log
//! serve` verifies offline with --log-key/--require-log, and each way of breaking the
//! receipt or the policy fails with exit 1 and says why.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{spawn_log_server, Served};

fn cairn(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run cairn")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn serve(dir: &Path, origin: &str, trust: &Path) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.current_dir(dir)
        .args([
            "log", "serve", "--dir", "logdir", "--key", "log.key", "--origin", origin,
        ])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "20ms",
            "--trust-key",
        ])
        .arg(trust);
    spawn_log_server(cmd)
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_path_buf();
    std::fs::write(d.join("app"), b"logged artifact").unwrap();
    std::fs::write(d.join("pred.json"), br#"{"buildDefinition":{"buildType":"https://cairn.dev/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://cairn.dev/builder"}}}"#).unwrap();
    ok(&cairn(&d, &["key", "generate", "--out", "builder"]));
    ok(&cairn(
        &d,
        &[
            "attest",
            "--predicate",
            "pred.json",
            "--type",
            "https://slsa.dev/provenance/v1",
            "--key",
            "builder.key",
            "-o",
            "app.bundle.json",
            "app",
        ],
    ));
    ok(&cairn(
        &d,
        &[
            "log",
            "keygen",
            "--origin",
            "test.example/log",
            "--out",
            "log.key",
        ],
    ));
    ok(&cairn(
        &d,
        &[
            "log",
            "keygen",
            "--origin",
            "other.example/log",
            "--out",
            "other.key",
        ],
    ));
    ok(&cairn(
        &d,
        &[
            "log",
            "keygen",
            "--witness",
            "--origin",
            "witness.example",
            "--out",
            "w.key",
        ],
    ));
    (tmp, d)
}

fn verify(d: &Path, bundle: &str, extra: &[&str]) -> Output {
    let mut args = vec!["verify", "app", "--bundle", bundle, "--key", "builder.pub"];
    args.extend_from_slice(extra);
    cairn(d, &args)
}

#[test]
fn receipts_verify_offline_and_every_break_is_caught() {
    let (_tmp, d) = setup();
    // Without a receipt, --require-log fails and a plain verify passes (receipt skipped).
    let o = verify(
        &d,
        "app.bundle.json",
        &["--log-key", "log.key.pub", "--require-log"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no transparency-log receipt"));

    let server = serve(&d, "test.example/log", &d.join("builder.pub"));
    ok(&cairn(
        &d,
        &[
            "log",
            "submit",
            "app.bundle.json",
            "--log",
            &server.1,
            "--log-key",
            "log.key.pub",
        ],
    ));
    drop(server); // verification is offline from here on

    let o = verify(
        &d,
        "app.bundle.json",
        &[
            "--log-key",
            "log.key.pub",
            "--require-log",
            "--format",
            "json",
        ],
    );
    ok(&o);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["logEntries"][0]["log"], "test.example/log");
    assert_eq!(r["logEntries"][0]["inclusionVerified"], true);
    assert!(r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "log-receipt" && c["status"] == "pass"));

    // Without --log-key the receipt is reported as not checked, and verification does not
    // claim it.
    let o = verify(&d, "app.bundle.json", &["--format", "json"]);
    ok(&o);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(r["logEntries"].as_array().unwrap().is_empty());

    // A key for another log: no receipt from a trusted log.
    let o = verify(
        &d,
        "app.bundle.json",
        &["--log-key", "other.key.pub", "--require-log"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("none of the 1 receipt(s) is from a log named by --log-key"));

    // A witness policy the checkpoint does not meet.
    let o = verify(
        &d,
        "app.bundle.json",
        &["--log-key", "log.key.pub", "--witness-key", "w.key.pub"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("witness"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Tampered receipts: the index, a proof hash, the checkpoint's root.
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("app.bundle.json")).unwrap()).unwrap();
    let receipt = &original["attestations"][0]["logReceipts"][0];
    let mut tampers: Vec<(&str, serde_json::Value)> = Vec::new();
    let mut r1 = receipt.clone();
    r1["index"] = serde_json::json!(r1["index"].as_u64().unwrap() + 1);
    tampers.push(("index", r1));
    let mut r2 = receipt.clone();
    let cp = r2["checkpoint"].as_str().unwrap().to_string();
    let mut lines: Vec<String> = cp.split('\n').map(str::to_string).collect();
    let root = lines[2].clone();
    lines[2] = format!(
        "{}{}",
        if root.starts_with('A') { "B" } else { "A" },
        &root[1..]
    );
    r2["checkpoint"] = serde_json::json!(lines.join("\n"));
    tampers.push(("checkpoint root", r2));
    let mut r3 = receipt.clone();
    r3["entry"] = serde_json::json!(base64_flip(r3["entry"].as_str().unwrap()));
    tampers.push(("entry", r3));
    for (what, bad) in tampers {
        let mut doc = original.clone();
        doc["attestations"][0]["logReceipts"][0] = bad;
        std::fs::write(d.join("bad.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
        let o = verify(&d, "bad.json", &["--log-key", "log.key.pub"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "tampered {what} must fail: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("receipt 0"),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // Bad flags are usage errors.
    assert_eq!(
        verify(&d, "app.bundle.json", &["--require-log"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        verify(&d, "app.bundle.json", &["--log-key", "not a key"])
            .status
            .code(),
        Some(2)
    );
}

fn base64_flip(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    b[5] = if b[5] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

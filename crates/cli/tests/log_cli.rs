//! `cairn log` through the real binary: keygen, serve, submit into a bundle, consistency,
//! monitor (with a rewritten tile), and the exit codes of each.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{spawn_log_server, Served};

use cairn_formats::bundle::{Attestation, Bundle};
use cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE;
use cairn_formats::json::Limits;
use cairn_log::note::Verifier;
use cairn_log::receipt::{verify_receipt, WitnessPolicy};

const ORIGIN: &str = "cli.example/log";

fn cairn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .output()
        .expect("run cairn")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn serve(dir: &Path, key: &Path, extra: &[&str]) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.args([
        "log",
        "serve",
        "--dir",
        dir.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ])
    .args([
        "--origin",
        ORIGIN,
        "--listen",
        "127.0.0.1:0",
        "--accept-unverified",
        "--interval",
        "20ms",
    ])
    .args(extra);
    spawn_log_server(cmd)
}

fn bundle(n: usize) -> Bundle {
    let key = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    Bundle::new(
        (0..n)
            .map(|i| {
                Attestation::new(
                    cairn_sign::dsse::sign_envelope(
                        IN_TOTO_PAYLOAD_TYPE,
                        format!("{{\"i\":{i}}}").as_bytes(),
                        &[&key],
                    )
                    .unwrap(),
                )
            })
            .collect(),
    )
}

#[test]
fn keygen_writes_a_0600_signer_key_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("log.key");
    let o = cairn(&[
        "log",
        "keygen",
        "--origin",
        ORIGIN,
        "--out",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let vkey = std::fs::read_to_string(tmp.path().join("log.key.pub")).unwrap();
    let v = Verifier::from_vkey(&vkey).unwrap();
    assert_eq!(v.name(), ORIGIN);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), vkey.trim());
    let skey = std::fs::read_to_string(&key).unwrap();
    assert!(skey.starts_with(&format!("PRIVATE+KEY+{ORIGIN}+")));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("PRIVATE"),
        "secret must not be printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = cairn(&[
        "log",
        "keygen",
        "--origin",
        ORIGIN,
        "--out",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code(&again), 2);
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        skey,
        "key file untouched"
    );
    assert_eq!(
        code(&cairn(&[
            "log",
            "keygen",
            "--origin",
            "bad name",
            "--out",
            tmp.path().join("x").to_str().unwrap()
        ])),
        2
    );
    // Witness and ML-DSA-44 keys carry their type byte.
    let w = tmp.path().join("w.key");
    assert_eq!(
        code(&cairn(&[
            "log",
            "keygen",
            "--witness",
            "--origin",
            "w.example",
            "--out",
            w.to_str().unwrap()
        ])),
        0
    );
    let wv = Verifier::from_vkey(&std::fs::read_to_string(tmp.path().join("w.key.pub")).unwrap())
        .unwrap();
    assert_eq!(wv.key_type(), cairn_log::note::TYPE_COSIGNATURE_V1);
    let pq = tmp.path().join("pq.key");
    assert_eq!(
        code(&cairn(&[
            "log",
            "keygen",
            "--mldsa",
            "--origin",
            ORIGIN,
            "--out",
            pq.to_str().unwrap()
        ])),
        0
    );
    let pv = Verifier::from_vkey(&std::fs::read_to_string(tmp.path().join("pq.key.pub")).unwrap())
        .unwrap();
    assert_eq!(pv.key_type(), cairn_log::note::TYPE_MLDSA44_SUBTREE);
}

#[test]
fn serve_submit_consistency_and_monitor_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("log.key");
    assert_eq!(
        code(&cairn(&[
            "log",
            "keygen",
            "--origin",
            ORIGIN,
            "--out",
            key.to_str().unwrap()
        ])),
        0
    );
    let vkey = tmp.path().join("log.key.pub");
    let vk = vkey.to_str().unwrap();
    let pq = tmp.path().join("pq.key");
    assert_eq!(
        code(&cairn(&[
            "log",
            "keygen",
            "--mldsa",
            "--origin",
            ORIGIN,
            "--out",
            pq.to_str().unwrap()
        ])),
        0
    );
    let pq_vkey =
        Verifier::from_vkey(&std::fs::read_to_string(tmp.path().join("pq.key.pub")).unwrap())
            .unwrap();
    let log_keys = vec![Verifier::from_vkey(&std::fs::read_to_string(&vkey).unwrap()).unwrap()];

    // Refuses to run without a trust policy.
    let o = cairn(&[
        "log",
        "serve",
        "--dir",
        tmp.path().join("d").to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--origin",
        ORIGIN,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code(&o), 2);

    let dir = tmp.path().join("log");
    let server = serve(&dir, &key, &["--pq-key", pq.to_str().unwrap()]);
    let url = server.1.clone();

    // Submit adds a verified receipt per attestation, rewriting the bundle.
    let path = tmp.path().join("b.json");
    std::fs::write(&path, bundle(2).to_json()).unwrap();
    let o = cairn(&[
        "log",
        "submit",
        path.to_str().unwrap(),
        "--log",
        &url,
        "--log-key",
        vk,
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let b = Bundle::parse(&std::fs::read(&path).unwrap(), &Limits::default()).unwrap();
    for a in &b.attestations {
        assert_eq!(a.log_receipts.len(), 1);
        verify_receipt(
            &a.log_receipts[0],
            &a.envelope,
            &log_keys,
            &WitnessPolicy::none(),
        )
        .unwrap();
        // The checkpoint also carries the log's ML-DSA-44 signature.
        let both = [log_keys[0].clone(), pq_vkey.clone()];
        let v = verify_receipt(
            &a.log_receipts[0],
            &a.envelope,
            &both,
            &WitnessPolicy::none(),
        )
        .unwrap();
        assert_eq!(v.post_quantum_log_keys, vec![ORIGIN.to_string()]);
    }
    let old_cp = tmp.path().join("old.cp");
    std::fs::write(
        &old_cp,
        cairn_log::client::LogClient::new(&url)
            .unwrap()
            .checkpoint()
            .unwrap(),
    )
    .unwrap();

    // An unreachable log leaves the bundle as it was.
    let before = std::fs::read(&path).unwrap();
    let o = cairn(&[
        "log",
        "submit",
        path.to_str().unwrap(),
        "--log",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let path2 = tmp.path().join("c.json");
    std::fs::write(&path2, bundle(3).to_json()).unwrap();
    assert_eq!(
        code(&cairn(&[
            "log",
            "submit",
            path2.to_str().unwrap(),
            "--log",
            &url
        ])),
        0
    );
    let new_cp = tmp.path().join("new.cp");
    std::fs::write(
        &new_cp,
        cairn_log::client::LogClient::new(&url)
            .unwrap()
            .checkpoint()
            .unwrap(),
    )
    .unwrap();

    // NEW extends OLD, proved from the log's tiles; the reverse order is refused.
    let o = cairn(&[
        "log",
        "consistency",
        old_cp.to_str().unwrap(),
        new_cp.to_str().unwrap(),
        "--log-key",
        vk,
        "--log",
        &url,
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let o = cairn(&[
        "log",
        "consistency",
        new_cp.to_str().unwrap(),
        old_cp.to_str().unwrap(),
        "--log-key",
        vk,
        "--log",
        &url,
    ]);
    assert_eq!(code(&o), 1);

    // A fork: same key, same origin, different history. Its checkpoint does not extend OLD.
    let fork_dir = tmp.path().join("fork");
    {
        let fork = serve(&fork_dir, &key, &[]);
        let p = tmp.path().join("f.json");
        std::fs::write(&p, bundle(6).to_json()).unwrap();
        assert_eq!(
            code(&cairn(&[
                "log",
                "submit",
                p.to_str().unwrap(),
                "--log",
                &fork.1
            ])),
            0
        );
        let fork_cp = tmp.path().join("fork.cp");
        std::fs::write(
            &fork_cp,
            cairn_log::client::LogClient::new(&fork.1)
                .unwrap()
                .checkpoint()
                .unwrap(),
        )
        .unwrap();
        let o = cairn(&[
            "log",
            "consistency",
            old_cp.to_str().unwrap(),
            fork_cp.to_str().unwrap(),
            "--log-key",
            vk,
            "--log",
            &fork.1,
        ]);
        assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
        // The monitor that followed the real log sees the fork as a split view.
        let state = tmp.path().join("split.json");
        assert_eq!(
            code(&cairn(&[
                "log",
                "monitor",
                &url,
                "--state",
                state.to_str().unwrap(),
                "--log-key",
                vk
            ])),
            0
        );
        let o = cairn(&[
            "log",
            "monitor",
            &fork.1,
            "--state",
            state.to_str().unwrap(),
            "--log-key",
            vk,
        ]);
        assert_eq!(code(&o), 1);
        assert!(String::from_utf8_lossy(&o.stderr).contains("ALERT"));
    }

    // Monitor: clean runs exit 0; a rewritten tile exits 1 with an alert.
    let state = tmp.path().join("monitor.json");
    let o = cairn(&[
        "log",
        "monitor",
        &url,
        "--state",
        state.to_str().unwrap(),
        "--log-key",
        vk,
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let tile = dir.join("tile/0/000.p/5");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&tile, &bytes).unwrap();
    let o = cairn(&[
        "log",
        "monitor",
        &url,
        "--state",
        state.to_str().unwrap(),
        "--log-key",
        vk,
    ]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("ALERT"));
    drop(server);
}

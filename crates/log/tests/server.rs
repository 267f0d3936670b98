//! The log server end to end, as a real process on loopback: admission, receipts, dedup,
//! the read API, submit into a bundle, monitor (including a rewritten tile) and the witness.

mod common;

use base64::Engine;
use cairn_formats::bundle::{Attestation, Bundle};
use cairn_log::client::{ClientError, LogClient};
use cairn_log::monitor::{monitor, MonitorError};
use cairn_log::note::Verifier;
use cairn_log::receipt::{verify_receipt, ReceiptError, WitnessPolicy};
use cairn_log::tiles::TileId;
use common::server::{envelope, keys, Server};

fn status(e: ClientError) -> u16 {
    match e {
        ClientError::Status { status, .. } => status,
        other => panic!("expected an HTTP status, got {other}"),
    }
}

#[test]
fn admission_receipts_dedup_and_read_api() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys(tmp.path());
    let dir = tmp.path().join("log");
    let server = Server::start(
        &dir,
        &k.log_key,
        &[
            "--trust-key",
            k.builder_pub.to_str().unwrap(),
            "--interval-ms",
            "50",
        ],
    );
    let client = LogClient::new(&server.url).unwrap();
    let log_keys = [k.log.verifier()];

    // A trusted envelope gets a receipt that verifies offline.
    let env = envelope(&k.builder, "{\"n\":1}");
    let r = client.submit_envelope(&env).unwrap();
    assert_eq!((r.index, r.tree_size), (0, 1));
    let v = verify_receipt(&r.to_value(), &env, &log_keys, &WitnessPolicy::none()).unwrap();
    assert_eq!(v.origin, common::server::ORIGIN);
    // ...and not for another envelope, nor with another log key.
    let env2 = envelope(&k.builder, "{\"n\":2}");
    assert!(matches!(
        verify_receipt(&r.to_value(), &env2, &log_keys, &WitnessPolicy::none()),
        Err(ReceiptError::EntryMismatch)
    ));
    let stranger =
        cairn_log::note::Signer::generate(common::server::ORIGIN, cairn_log::note::TYPE_ED25519)
            .unwrap();
    assert!(verify_receipt(
        &r.to_value(),
        &env,
        &[stranger.verifier()],
        &WitnessPolicy::none()
    )
    .is_err());
    // A tampered proof fails.
    let mut bad = r.clone();
    bad.index = 1;
    assert!(verify_receipt(&bad.to_value(), &env, &log_keys, &WitnessPolicy::none()).is_err());

    // Untrusted signer: 403; garbage: 400; nothing is logged for either.
    let other = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    assert_eq!(
        status(client.submit_envelope(&envelope(&other, "{}")).unwrap_err()),
        403
    );
    assert_eq!(
        status(
            client
                .post("add", "application/json", b"{not json")
                .unwrap_err()
        ),
        400
    );
    assert_eq!(
        status(
            // Its own connection: the server drops a connection whose body it refused.
            LogClient::new(&server.url)
                .unwrap()
                .post("add", "application/json", &vec![b' '; 17 << 20])
                .unwrap_err()
        ),
        413
    );

    // Identical submissions, concurrent and later, get the same index.
    let r2 = client.submit_envelope(&env2).unwrap();
    assert_eq!(r2.index, 1);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url.clone();
            let env = env2.clone();
            std::thread::spawn(move || cairn_log::submit(&url, &env).unwrap())
        })
        .collect();
    for h in handles {
        let again = h.join().unwrap();
        assert_eq!(again.index, 1);
        verify_receipt(&again.to_value(), &env2, &log_keys, &WitnessPolicy::none()).unwrap();
    }
    let cp = cairn_log::checkpoint::open(&client.checkpoint().unwrap(), &log_keys)
        .unwrap()
        .checkpoint;
    assert_eq!(cp.size, 2);

    // A bundle is submitted whole: one receipt per attestation.
    let bundle = Bundle::new(vec![
        Attestation::new(envelope(&k.builder, "{\"n\":3}")),
        Attestation::new(envelope(&k.builder, "{\"n\":4}")),
    ]);
    let resp: serde_json::Value = serde_json::from_slice(
        &client
            .post("add", "application/json", bundle.to_json().as_bytes())
            .unwrap(),
    )
    .unwrap();
    let receipts = resp["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 2);
    for (rc, att) in receipts.iter().zip(&bundle.attestations) {
        verify_receipt(rc, &att.envelope, &log_keys, &WitnessPolicy::none()).unwrap();
    }

    // The library helper for `cairn build --log` fills a bundle's receipts.
    let mut b2 = Bundle::new(vec![Attestation::new(envelope(&k.builder, "{\"n\":5}"))]);
    let got = cairn_log::submit_bundle(&server.url, &mut b2).unwrap();
    assert_eq!(got[0].index, 4);
    verify_receipt(
        &b2.attestations[0].log_receipts[0],
        &b2.attestations[0].envelope,
        &log_keys,
        &WitnessPolicy::none(),
    )
    .unwrap();
    assert!(cairn_log::submit_bundle("ftp://nope", &mut b2).is_err());

    // Read API: tiles within the published tree are served, others and bad paths are not.
    let tile = client.get("tile/0/000.p/5").unwrap();
    assert_eq!(tile.len(), 5 * 32);
    let entries = client.get("tile/entries/000.p/5").unwrap();
    assert_eq!(entries.len(), 5 * (2 + 65));
    assert_eq!(status(client.get("tile/0/000.p/6").unwrap_err()), 404);
    assert_eq!(status(client.get("tile/0/000").unwrap_err()), 404);
    assert_eq!(status(client.get("tile/0/../../log.key").unwrap_err()), 404);
    // The partial of an older checkpoint can still be fetched.
    assert_eq!(client.tile(&TileId::hashes(0, 0, 1)).unwrap().len(), 32);
    let e0 = base64::engine::general_purpose::STANDARD
        .decode(&r.entry)
        .unwrap();
    assert_eq!(&entries[2..67], e0.as_slice());
}

#[test]
fn monitor_follows_growth_and_alerts_on_a_rewritten_tile() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys(tmp.path());
    let dir = tmp.path().join("log");
    let server = Server::start(
        &dir,
        &k.log_key,
        &["--accept-unverified", "--interval-ms", "20"],
    );
    let client = LogClient::new(&server.url).unwrap();
    let log_keys = vec![k.log.verifier()];
    let state = tmp.path().join("monitor.json");
    // Enough entries for a full level-0 tile.
    let submit_many = |from: usize, n: usize| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let url = server.url.clone();
                let envs: Vec<_> = (from..from + n)
                    .filter(|i| i % 8 == t)
                    .map(|i| envelope(&k.builder, &format!("{{\"i\":{i}}}")))
                    .collect();
                std::thread::spawn(move || {
                    for e in envs {
                        cairn_log::submit(&url, &e).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    };
    submit_many(0, 300);
    let r = monitor(&server.url, &state, &log_keys).unwrap();
    assert_eq!((r.old_size, r.new_size), (None, 300));
    assert_eq!(r.entries_checked, 300);
    submit_many(300, 20);
    let r = monitor(&server.url, &state, &log_keys).unwrap();
    assert_eq!((r.old_size, r.new_size), (Some(300), 320));
    let saved = std::fs::read(&state).unwrap();

    // Rewrite the full level-0 tile on disk: one leaf hash changed.
    let tile = dir.join("tile/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&tile, &bytes).unwrap();
    match monitor(&server.url, &state, &log_keys) {
        Err(MonitorError::Alert(msg)) => assert!(msg.contains("tile/0/000"), "{msg}"),
        other => panic!("expected an alert, got {other:?}"),
    }
    // The state is untouched by a failed audit.
    assert_eq!(std::fs::read(&state).unwrap(), saved);
    // The wrong key is an alert too.
    let stranger =
        cairn_log::note::Signer::generate(common::server::ORIGIN, cairn_log::note::TYPE_ED25519)
            .unwrap();
    assert!(matches!(
        monitor(
            &server.url,
            &tmp.path().join("m2.json"),
            &[stranger.verifier()]
        ),
        Err(MonitorError::Alert(_))
    ));
    // The log's own vkey text round-trips into the same verifier the monitor used.
    assert_eq!(
        Verifier::from_vkey(&k.log.verifier().to_vkey()).unwrap(),
        log_keys[0]
    );
    assert_eq!(
        client.checkpoint().unwrap(),
        std::fs::read(dir.join("checkpoint")).unwrap()
    );
}

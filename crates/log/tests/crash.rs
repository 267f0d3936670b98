//! Crash test: kill -9 the log server during sustained concurrent submission, restart it,
//! and check that every acknowledged receipt is still in the log (proved against the new
//! checkpoint from the served tiles) and that the new checkpoint is consistent with every
//! checkpoint handed out before. Ten rounds on the same directory.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_formats::dsse::Envelope;
use cairn_log::checkpoint;
use cairn_log::client::LogClient;
use cairn_log::merkle;
use cairn_log::receipt::{verify_receipt, Receipt, WitnessPolicy};
use cairn_log::tiles::{TileId, TileNodes};
use common::server::{envelope, keys, Server};

const ROUNDS: usize = 10;
const SUBMITTERS: usize = 12;
/// Acknowledgements to wait for before the kill (bounded by a deadline too).
const ACKS_BEFORE_KILL: usize = 40;

#[test]
fn kill_9_during_submission_loses_no_acknowledged_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys(tmp.path());
    let dir = tmp.path().join("log");
    let log_keys = vec![k.log.verifier()];
    let builder = Arc::new(k.builder);
    let trust = k.builder_pub.to_str().unwrap().to_string();
    let acked: Arc<Mutex<Vec<(Envelope, Receipt)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut checkpoints_seen: Vec<(u64, merkle::Hash)> = Vec::new();
    let mut serial = 0usize;

    for round in 0..ROUNDS {
        let server = Server::start(
            &dir,
            &k.log_key,
            &["--trust-key", &trust, "--interval-ms", "30"],
        );
        let url = server.url.clone();
        verify_everything(&url, &log_keys, &acked.lock().unwrap(), &checkpoints_seen);

        let stop = Arc::new(AtomicBool::new(false));
        let before = acked.lock().unwrap().len();
        let mut threads = Vec::new();
        for t in 0..SUBMITTERS {
            let (url, stop, acked, builder) =
                (url.clone(), stop.clone(), acked.clone(), builder.clone());
            let base = serial + t * 1_000_000;
            threads.push(std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let env = envelope(
                        &builder,
                        &format!("{{\"round\":{round},\"n\":{}}}", base + i),
                    );
                    i += 1;
                    match cairn_log::submit(&url, &env) {
                        Ok(r) => acked.lock().unwrap().push((env, r)),
                        // The server died under us: this submission was never acknowledged.
                        Err(_) => return,
                    }
                }
            }));
        }
        serial += SUBMITTERS * 1_000_000;
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked.lock().unwrap().len() < before + ACKS_BEFORE_KILL && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Kill while submissions are in flight.
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let acks = acked.lock().unwrap();
        assert!(
            acks.len() >= before + ACKS_BEFORE_KILL,
            "round {round}: only {} acknowledgements",
            acks.len() - before
        );
        for (_, r) in acks.iter().skip(before) {
            let cp = checkpoint::open(r.checkpoint.as_bytes(), &log_keys)
                .unwrap()
                .checkpoint;
            if !checkpoints_seen.contains(&(cp.size, cp.root)) {
                checkpoints_seen.push((cp.size, cp.root));
            }
        }
    }
    let server = Server::start(
        &dir,
        &k.log_key,
        &["--trust-key", &trust, "--interval-ms", "30"],
    );
    let acks = acked.lock().unwrap();
    verify_everything(&server.url, &log_keys, &acks, &checkpoints_seen);
    // Resubmitting an acknowledged envelope after all the crashes returns its index.
    let (env, r) = &acks[acks.len() / 2];
    assert_eq!(cairn_log::submit(&server.url, env).unwrap().index, r.index);
}

/// Every receipt verifies as issued, and its entry is proved in the current tree from the
/// served tiles; every checkpoint seen is consistent with the current one.
fn verify_everything(
    url: &str,
    log_keys: &[cairn_log::note::Verifier],
    acked: &[(Envelope, Receipt)],
    seen: &[(u64, merkle::Hash)],
) {
    let client = LogClient::new(url).unwrap();
    let cp = checkpoint::open(&client.checkpoint().unwrap(), log_keys)
        .unwrap()
        .checkpoint;
    let mut nodes = TileNodes::new(cp.size, |id: &TileId| {
        client
            .tile(id)
            .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
    });
    let mut indexes = std::collections::HashSet::new();
    for (env, r) in acked {
        verify_receipt(&r.to_value(), env, log_keys, &WitnessPolicy::none()).unwrap();
        assert!(
            r.index < cp.size,
            "acknowledged index {} lost: log restarted at size {}",
            r.index,
            cp.size
        );
        assert!(
            indexes.insert(r.index),
            "two acknowledged entries share index {}",
            r.index
        );
        let leaf = merkle::leaf_hash(&cairn_log::entry_for_envelope(env));
        let proof = merkle::inclusion_proof(r.index, cp.size, &mut nodes).unwrap();
        merkle::verify_inclusion(r.index, cp.size, &leaf, &proof, &cp.root).unwrap_or_else(|e| {
            panic!(
                "acknowledged entry {} not in the restarted log: {e}",
                r.index
            )
        });
    }
    for (size, root) in seen {
        let proof = merkle::consistency_proof(*size, cp.size, &mut nodes).unwrap();
        merkle::verify_consistency(*size, cp.size, &proof, root, &cp.root).unwrap_or_else(|e| {
            panic!(
                "checkpoint {size} is not consistent with the restarted log at {}: {e}",
                cp.size
            )
        });
    }
}

//! The witness (C2SP tlog-witness) and k-of-n witness policies on receipts.

mod common;

use cairn_log::client::{ClientError, LogClient};
use cairn_log::note::{Signer, TYPE_COSIGNATURE_V1, TYPE_ED25519};
use cairn_log::receipt::{verify_receipt, ReceiptError, WitnessPolicy};
use cairn_log::store::Store;
use cairn_log::witness::request_cosignature;
use common::server::{envelope, ORIGIN};

fn start_witness(name: &str, log: &Signer, state: &std::path::Path) -> (String, Signer) {
    let w = Signer::generate(name, TYPE_COSIGNATURE_V1).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let signer = Signer::from_skey(&w.to_skey()).unwrap();
    let (logs, state) = (vec![log.verifier()], state.to_path_buf());
    // The witness thread lives until the test process exits.
    std::thread::spawn(move || cairn_log::witness::run_on(signer, logs, &state, listener).unwrap());
    (url, w)
}

fn post(url: &str, body: String) -> Result<Vec<u8>, ClientError> {
    LogClient::new(url)
        .unwrap()
        .post("add-checkpoint", "text/plain", body.as_bytes())
}

fn status(r: Result<Vec<u8>, ClientError>) -> (u16, String) {
    match r {
        Err(ClientError::Status { status, body, .. }) => (status, body),
        Ok(b) => (200, String::from_utf8_lossy(&b).into_owned()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn witnesses_cosign_consistent_checkpoints_and_policies_count_them() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Signer::generate(ORIGIN, TYPE_ED25519).unwrap();
    let mut store = Store::open(
        &tmp.path().join("log"),
        Signer::from_skey(&log.to_skey()).unwrap(),
        ORIGIN,
    )
    .unwrap();
    let (w1_url, w1) = start_witness("w1.example", &log, &tmp.path().join("w1.json"));
    let (w2_url, w2) = start_witness("w2.example", &log, &tmp.path().join("w2.json"));
    let (_, w3) = start_witness("w3.example", &log, &tmp.path().join("w3.json"));

    let builder = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    let envs: Vec<_> = (0..5)
        .map(|i| envelope(&builder, &format!("{{\"i\":{i}}}")))
        .collect();
    let entries: Vec<_> = envs.iter().map(cairn_log::entry_for_envelope).collect();
    store.append(&entries[..3]).unwrap();
    let cp3 = store.checkpoint().to_string();

    // First contact: probe with old 0.
    let lines1 = request_cosignature(&w1_url, &cp3, 0, |_| Ok(Vec::new())).unwrap();
    assert!(lines1.starts_with("\u{2014} w1.example "));
    // Growth with a real proof.
    store.append(&entries[3..]).unwrap();
    let cp5 = store.checkpoint().to_string();
    let p35 = store.nodes().consistency_proof(3, 5).unwrap();
    let prove = |old: u64| match old {
        0 => Ok(Vec::new()),
        3 => Ok(p35.clone()),
        other => Err(format!("no proof from {other}")),
    };
    let w1_line = request_cosignature(&w1_url, &cp5, 3, prove).unwrap();
    // w2 has never seen the log; the client is told its size (409) and retries.
    let w2_line = request_cosignature(&w2_url, &cp5, 3, prove).unwrap();

    // Protocol errors.
    let (code, body) = status(post(&w1_url, format!("old 3\n\n{cp5}")));
    assert_eq!((code, body.trim()), (409, "5"));
    let (code, _) = status(post(&w1_url, format!("old 5\n\n{}", cp3)));
    assert_eq!(code, 400, "old > new");
    let stranger = Signer::generate(ORIGIN, TYPE_ED25519).unwrap();
    let forged = cairn_log::note::Note {
        text: cairn_log::note::Note::parse(cp5.as_bytes()).unwrap().text,
        signatures: vec![
            stranger.sign_note(&cairn_log::note::Note::parse(cp5.as_bytes()).unwrap().text)
        ],
    };
    assert_eq!(
        status(post(&w1_url, format!("old 5\n\n{}", forged.to_text()))).0,
        403
    );
    let unknown = Signer::generate("other.example/log", TYPE_ED25519).unwrap();
    let other_cp = cairn_log::note::Note {
        text: "other.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".into(),
        signatures: vec![unknown
            .sign_note("other.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")],
    };
    assert_eq!(
        status(post(&w1_url, format!("old 0\n\n{}", other_cp.to_text()))).0,
        404
    );
    assert_eq!(status(post(&w1_url, "garbage".into())).0, 400);
    // A fork at size 5 (same key, different entries) cannot be cosigned: 422.
    let mut fork = Store::open(
        &tmp.path().join("fork"),
        Signer::from_skey(&log.to_skey()).unwrap(),
        ORIGIN,
    )
    .unwrap();
    fork.append(&entries[..3]).unwrap();
    fork.append(&[b"evil".to_vec(), b"twin".to_vec(), b"more".to_vec()])
        .unwrap();
    let fork_cp = fork.checkpoint().to_string();
    let p = fork.nodes().consistency_proof(5, 6).unwrap();
    let body: String = p.iter().map(|h| format!("{}\n", base64_std(h))).collect();
    assert_eq!(
        status(post(&w1_url, format!("old 5\n{body}\n{fork_cp}"))).0,
        422
    );
    // The witness state survived all that at size 5.
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("w1.json")).unwrap()).unwrap();
    assert_eq!(st["logs"][ORIGIN]["size"], 5);

    // A receipt whose checkpoint carries both cosignatures.
    let proof = store.inclusion_proof(4).unwrap();
    let cosigned = format!("{cp5}{w1_line}{w2_line}");
    let receipt = cairn_log::Receipt {
        kind: cairn_log::receipt::RECEIPT_KIND.into(),
        origin: ORIGIN.into(),
        index: 4,
        tree_size: 5,
        entry: base64_std(&entries[4]),
        proof: proof.iter().map(|h| base64_std(h)).collect(),
        checkpoint: cosigned,
    }
    .to_value();
    let keys = [log.verifier()];
    let all = vec![w1.verifier(), w2.verifier(), w3.verifier()];
    let v = verify_receipt(
        &receipt,
        &envs[4],
        &keys,
        &WitnessPolicy::new(all.clone(), 2).unwrap(),
    )
    .unwrap();
    assert_eq!(v.witnesses.len(), 2);
    match verify_receipt(
        &receipt,
        &envs[4],
        &keys,
        &WitnessPolicy::new(all.clone(), 3).unwrap(),
    ) {
        Err(ReceiptError::WitnessThreshold { got: 2, want: 3 }) => {}
        other => panic!("{other:?}"),
    }
    // A log key is not a witness key, and a threshold above the keys is refused.
    assert!(WitnessPolicy::new(vec![log.verifier()], 1).is_err());
    assert!(WitnessPolicy::new(all, 4).is_err());
    // The first cosignature (at size 3) verifies over the size-3 checkpoint.
    let note3 = cairn_log::note::Note::parse(format!("{cp3}{lines1}").as_bytes()).unwrap();
    assert_eq!(note3.verified_cosigners(&[w1.verifier()]).unwrap().len(), 1);
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn a_post_quantum_log_signature_is_required_when_its_key_is_given() {
    use cairn_log::note::TYPE_MLDSA44_SUBTREE;
    let tmp = tempfile::tempdir().unwrap();
    let log = Signer::generate(ORIGIN, TYPE_ED25519).unwrap();
    let pq = Signer::generate(ORIGIN, TYPE_MLDSA44_SUBTREE).unwrap();
    let pq_v = pq.verifier();
    let mut store = Store::open(
        tmp.path(),
        Signer::from_skey(&log.to_skey()).unwrap(),
        ORIGIN,
    )
    .unwrap();
    // The key must be ML-DSA-44 and named like the origin.
    assert!(store
        .set_post_quantum_signer(Signer::generate("other.example", TYPE_MLDSA44_SUBTREE).unwrap())
        .is_err());
    assert!(store
        .set_post_quantum_signer(Signer::generate(ORIGIN, TYPE_COSIGNATURE_V1).unwrap())
        .is_err());
    store.set_post_quantum_signer(pq).unwrap();
    let builder = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    let env = envelope(&builder, "{}");
    let entry = cairn_log::entry_for_envelope(&env);
    store.append(std::slice::from_ref(&entry)).unwrap();
    let receipt = cairn_log::Receipt {
        kind: cairn_log::receipt::RECEIPT_KIND.into(),
        origin: ORIGIN.into(),
        index: 0,
        tree_size: 1,
        entry: base64_std(&entry),
        proof: Vec::new(),
        checkpoint: store.checkpoint().to_string(),
    }
    .to_value();
    let none = WitnessPolicy::none();
    let v = verify_receipt(&receipt, &env, &[log.verifier(), pq_v.clone()], &none).unwrap();
    assert_eq!(v.post_quantum_log_keys, vec![ORIGIN.to_string()]);
    // Ed25519 alone still verifies (the ML-DSA line is an unknown key to it).
    assert!(verify_receipt(&receipt, &env, &[log.verifier()], &none)
        .unwrap()
        .post_quantum_log_keys
        .is_empty());
    // Another ML-DSA key given as required: refused.
    let other = Signer::generate(ORIGIN, TYPE_MLDSA44_SUBTREE)
        .unwrap()
        .verifier();
    assert!(matches!(
        verify_receipt(&receipt, &env, &[log.verifier(), other], &none),
        Err(ReceiptError::Policy(_))
    ));
    // An ML-DSA key alone is not enough: tlog-tiles needs an Ed25519 log signature.
    assert!(matches!(
        verify_receipt(&receipt, &env, &[pq_v], &none),
        Err(ReceiptError::Policy(_))
    ));
    // The checkpoint reopens with its Ed25519 key despite the extra line.
    drop(store);
    assert_eq!(Store::open(tmp.path(), log, ORIGIN).unwrap().size(), 1);
}

/// `serve --witness`: every checkpoint the log publishes carries the witnesses'
/// cosignatures, so receipts satisfy a k-of-n witness policy offline.
#[test]
fn the_log_collects_witness_cosignatures_into_receipts() {
    let tmp = tempfile::tempdir().unwrap();
    let k = common::server::keys(tmp.path());
    let (w1_url, w1) = start_witness("w1.example", &k.log, &tmp.path().join("w1.json"));
    let (w2_url, w2) = start_witness("w2.example", &k.log, &tmp.path().join("w2.json"));
    let server = common::server::Server::start(
        &tmp.path().join("log"),
        &k.log_key,
        &[
            "--accept-unverified",
            "--interval-ms",
            "20",
            "--witness",
            &w1_url,
            "--witness",
            &w2_url,
        ],
    );
    let policy = WitnessPolicy::new(vec![w1.verifier(), w2.verifier()], 2).unwrap();
    for i in 0..3 {
        let env = envelope(&k.builder, &format!("{{\"w\":{i}}}"));
        let r = cairn_log::submit(&server.url, &env).unwrap();
        let v = verify_receipt(&r.to_value(), &env, &[k.log.verifier()], &policy).unwrap();
        assert_eq!(v.witnesses.len(), 2, "receipt {i}");
    }
    // Both witnesses followed the log to its size through consistency proofs.
    for w in ["w1.json", "w2.json"] {
        let st: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join(w)).unwrap()).unwrap();
        assert_eq!(st["logs"][ORIGIN]["size"], 3);
    }
    // The published checkpoint carries the cosignatures too.
    let cp = LogClient::new(&server.url).unwrap().checkpoint().unwrap();
    let note = cairn_log::note::Note::parse(&cp).unwrap();
    assert_eq!(
        note.verified_cosigners(&[w1.verifier(), w2.verifier()])
            .unwrap()
            .len(),
        2
    );
}

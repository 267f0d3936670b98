//! All 518 transparency-dev/merkle proof vectors in `corpus/rfc6962-proofs`: each must give
//! its `wantErr`. Fields may be null, short or garbage; none may panic.

mod common;

use base64::Engine;
use cairn_log::merkle;
use serde_json::Value;
use std::path::Path;

fn b64(v: &Value) -> Vec<u8> {
    match v.as_str() {
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("vector base64"),
        None => Vec::new(),
    }
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    match v.as_array() {
        Some(a) => a.iter().map(b64).collect(),
        None => Vec::new(), // `proof: null`
    }
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("vector field {k}"))
}

fn run(kind: &str, v: &Value) -> Result<(), merkle::ProofError> {
    match kind {
        "inclusion" => merkle::verify_inclusion(
            u(v, "leafIdx"),
            u(v, "treeSize"),
            &b64(&v["leafHash"]),
            &proof(&v["proof"]),
            &b64(&v["root"]),
        ),
        "consistency" => merkle::verify_consistency(
            u(v, "size1"),
            u(v, "size2"),
            &proof(&v["proof"]),
            &b64(&v["root1"]),
            &b64(&v["root2"]),
        ),
        "subtreeinclusion" => merkle::verify_subtree_inclusion(
            u(v, "leafIdx"),
            u(v, "start"),
            u(v, "end"),
            &b64(&v["leafHash"]),
            &proof(&v["proof"]),
            &b64(&v["root"]),
        ),
        "subtreeconsistency" => merkle::verify_subtree_consistency(
            u(v, "start"),
            u(v, "end"),
            u(v, "size"),
            &proof(&v["proof"]),
            &b64(&v["root1"]),
            &b64(&v["root2"]),
        ),
        other => panic!("unknown vector kind {other}"),
    }
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn all_518_vectors_give_their_expected_result() {
    let root = common::corpus().join("rfc6962-proofs");
    let mut counts = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    let mut total = 0;
    for kind in [
        "inclusion",
        "consistency",
        "subtreeinclusion",
        "subtreeconsistency",
    ] {
        let mut files = Vec::new();
        walk(&root.join(kind), &mut files);
        files.sort();
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let want_err = v["wantErr"].as_bool().expect("wantErr");
            let got = run(kind, &v);
            total += 1;
            *counts.entry((kind, want_err)).or_insert(0) += 1;
            if got.is_err() != want_err {
                failures.push(format!(
                    "{}: wantErr={want_err} got {got:?}",
                    f.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} vectors wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(total, 518, "vector count {counts:?}");
    assert_eq!(counts[&("inclusion", false)], 6);
    assert_eq!(counts[&("subtreeinclusion", false)], 12);
}

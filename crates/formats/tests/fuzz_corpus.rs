//! The fuzz targets' invariants on stable Rust.
//!
//! `fuzz/src/checks.rs` holds what each cargo-fuzz target (`fuzz/fuzz_targets/*.rs`)
//! asserts. This test includes that file unchanged and feeds it a seeded corpus: real
//! DSSE vectors, slsa-github-generator and GitHub attestation envelopes, Sigstore bundles
//! and the statements inside them (from `../shared/corpus`, or `$CAIRN_CORPUS`), plus
//! documents built here; then a few thousand deterministic random mutations of them per
//! target (byte flips, JSON-significant bytes, deletions, duplications, splices,
//! structural edits of the parsed JSON, mutated payloads re-wrapped in envelopes).
//!
//! `CAIRN_FUZZ_ITERS` sets the mutations per target (default 2000). Without the shared
//! corpus the test still runs on its built-in seeds, except under `CI=true`, where a
//! missing corpus fails it.

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

use cairn_formats::b64;
use cairn_formats::bundle::{Attestation, Bundle};
use cairn_formats::digest::DigestSet;
use cairn_formats::dsse::{Envelope, Signature, IN_TOTO_PAYLOAD_TYPE};
use cairn_formats::statement::{ResourceDescriptor, Statement};
use serde_json::{json, Value};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CAIRN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("dsse/vectors.json").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared corpus missing at {} under CI",
        dir.display()
    );
    eprintln!(
        "NOTE: shared corpus not found at {}; running on built-in seeds only",
        dir.display()
    );
    None
}

fn files_named(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read corpus dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_named(&p, suffix, out);
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
}

#[derive(Default)]
struct Seeds {
    envelope: Vec<Vec<u8>>,
    statement: Vec<Vec<u8>>,
    bundle: Vec<Vec<u8>>,
    provenance: Vec<Vec<u8>>,
    /// Seeds that real producers wrote and that must be accepted: (target, name, bytes).
    must_accept: Vec<(&'static str, String, Vec<u8>)>,
}

fn built_in_envelope(n: u8) -> Envelope {
    let st = Statement::new(
        vec![ResourceDescriptor::named(
            format!("artifact-{n}"),
            DigestSet::sha256("ab".repeat(32)),
        )],
        "https://slsa.dev/provenance/v1",
        json!({
            "buildDefinition": {"buildType": "https://cairn.dev/build/v1",
                "externalParameters": {"source": {"uri": "git+https://example.com/r@refs/heads/main", "digest": {"gitCommit": "01".repeat(20)}}},
                "resolvedDependencies": [{"uri": "git+https://example.com/dep", "digest": {"sha256": "cd".repeat(32)}}]},
            "runDetails": {"builder": {"id": "https://cairn.dev/builder"},
                "metadata": {"invocationId": "x", "startedOn": "2026-01-01T00:00:00Z", "finishedOn": "2026-01-01T00:01:00Z"}}
        }),
    );
    Envelope {
        payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
        payload: st.to_json().into_bytes(),
        signatures: vec![Signature {
            keyid: Some(format!("key-{n}")),
            sig: vec![n; 64],
            cert: None,
        }],
    }
}

fn load_seeds() -> Seeds {
    let mut s = Seeds::default();
    let mut envelopes: Vec<(String, Value, bool)> = Vec::new(); // (name, envelope, must be accepted)

    for n in 0..3u8 {
        let e = built_in_envelope(n);
        envelopes.push((
            format!("built-in-{n}"),
            serde_json::from_str(&e.to_json()).unwrap(),
            true,
        ));
    }
    let mut a = Attestation::new(built_in_envelope(0));
    a.evidence
        .push(json!({"kind": "tpm-quote", "quote": "AA=="}));
    a.log_receipts
        .push(json!({"kind": "cairn-log", "index": 7}));
    a.timestamps
        .push(json!({"kind": "rfc3161", "token": "AA=="}));
    a.attachments.push(
        json!({"kind": "toolchain-manifest", "tools": [{"name": "rustc", "version": "1.85"}]}),
    );
    let cairn = Bundle::new(vec![a, Attestation::new(built_in_envelope(1))])
        .to_json()
        .into_bytes();
    s.must_accept
        .push(("bundle", "built-in cairn bundle".into(), cairn.clone()));
    s.bundle.push(cairn);
    let jsonl: String = (0..3)
        .map(|n| built_in_envelope(n).to_json() + "\n")
        .collect();
    s.must_accept.push((
        "bundle",
        "built-in JSON lines".into(),
        jsonl.clone().into_bytes(),
    ));
    s.bundle.push(jsonl.into_bytes());

    if let Some(dir) = corpus_dir() {
        let vectors: Value =
            serde_json::from_slice(&std::fs::read(dir.join("dsse/vectors.json")).unwrap()).unwrap();
        for v in vectors["vectors"].as_array().expect("vectors") {
            let id = v["id"].as_str().unwrap().to_string();
            // Every vector's envelope is well formed except the one with an empty payloadType.
            let ok = v["envelope"]["payloadType"]
                .as_str()
                .is_some_and(|t| !t.is_empty());
            envelopes.push((format!("dsse vector {id}"), v["envelope"].clone(), ok));
        }
        let mut jsonl = Vec::new();
        files_named(&dir, ".intoto.jsonl", &mut jsonl);
        assert!(
            jsonl.len() >= 10,
            "expected the slsa-verifier .intoto.jsonl files, found {}",
            jsonl.len()
        );
        for p in &jsonl {
            let bytes = std::fs::read(p).unwrap();
            s.must_accept
                .push(("bundle", p.display().to_string(), bytes.clone()));
            s.bundle.push(bytes.clone());
            for (i, line) in String::from_utf8(bytes)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
            {
                // slsa-github-generator writes bare envelopes; GitHub's attestations (bcr/)
                // are Sigstore bundles, one a line, each with its envelope inside.
                let v: Value = serde_json::from_str(line).unwrap();
                let env = if v.get("dsseEnvelope").is_some() {
                    v["dsseEnvelope"].clone()
                } else {
                    v
                };
                envelopes.push((format!("{} line {}", p.display(), i + 1), env, true));
            }
        }
        let mut sigstore = Vec::new();
        files_named(&dir, ".sigstore.json", &mut sigstore);
        assert!(
            sigstore.len() >= 50,
            "expected the Sigstore conformance bundles, found {}",
            sigstore.len()
        );
        for p in &sigstore {
            let bytes = std::fs::read(p).unwrap();
            s.bundle.push(bytes.clone());
            if let Ok(doc) = serde_json::from_slice::<Value>(&bytes) {
                if doc.get("dsseEnvelope").is_some_and(Value::is_object) {
                    envelopes.push((
                        format!("{} dsseEnvelope", p.display()),
                        doc["dsseEnvelope"].clone(),
                        false,
                    ));
                }
            }
        }
    }

    for (name, env, ok) in envelopes {
        let text = serde_json::to_vec(&env).unwrap();
        if ok {
            s.must_accept.push(("envelope", name.clone(), text.clone()));
        }
        s.envelope.push(text.clone());
        s.bundle.push(text);
        if let Some(payload) = env["payload"].as_str().and_then(b64::decode_any) {
            if let Ok(st) = serde_json::from_slice::<Value>(&payload) {
                let real_statement = st
                    .get("_type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("https://in-toto.io/Statement/"))
                    && st.get("subject").is_some_and(Value::is_array);
                if ok && real_statement {
                    s.must_accept
                        .push(("statement", format!("{name} payload"), payload.clone()));
                }
                if let Some(pred) = st.get("predicate").filter(|p| p.is_object()) {
                    s.provenance.push(serde_json::to_vec(pred).unwrap());
                }
                s.statement.push(payload.clone());
                s.provenance.push(payload);
            }
        }
    }
    s
}

const JSON_BYTES: &[u8] = b"{}[]\",:\\0123456789.-+eEtrufalsn =/_\n\t\x00\x7f\xc3\xa9\xff";

/// Edits the parsed JSON: keeps the document well formed so that the semantic checks
/// behind the syntax get exercised.
fn mutate_value(v: &mut Value, rng: &mut Rng, depth: usize) {
    let descend = depth < 12 && rng.below(4) != 0;
    match v {
        Value::Object(o) if descend && !o.is_empty() => {
            let i = rng.below(o.len());
            match rng.below(8) {
                0 => {
                    let k = o.keys().nth(i).unwrap().clone();
                    o.shift_remove(&k);
                }
                1 => {
                    let k = o.keys().nth(i).unwrap().clone();
                    let x = o.shift_remove(&k).unwrap();
                    o.insert(format!("{k}{}", rng.below(3)), x);
                }
                2 => {
                    o.insert(
                        [
                            "extra", "kind", "digest", "sha256", "uri", "_type", "payload",
                        ][rng.below(7)]
                        .to_string(),
                        Value::Null,
                    );
                }
                _ => mutate_value(o.values_mut().nth(i).unwrap(), rng, depth + 1),
            }
        }
        Value::Array(a) if descend && !a.is_empty() => {
            let i = rng.below(a.len());
            match rng.below(6) {
                0 => {
                    a.remove(i);
                }
                1 => {
                    let x = a[i].clone();
                    a.push(x);
                }
                _ => mutate_value(&mut a[i], rng, depth + 1),
            }
        }
        Value::String(s) if rng.below(3) != 0 => {
            let mut b = s.clone().into_bytes();
            mutate_bytes(&mut b, rng, &[]);
            *s = String::from_utf8_lossy(&b).into_owned();
        }
        _ => {
            *v = match rng.below(9) {
                0 => Value::Null,
                1 => Value::Bool(rng.below(2) == 0),
                2 => json!(rng.next() as i64),
                // any finite double: numbers must survive parse and re-serialisation
                3 => json!(Some(f64::from_bits(rng.next()))
                    .filter(|f| f.is_finite())
                    .unwrap_or(1.5e300)),
                4 => json!(-0.0),
                5 => json!(""),
                6 => json!([]),
                7 => json!({}),
                _ => json!("A".repeat(rng.below(70))),
            }
        }
    }
}

fn mutate_bytes(b: &mut Vec<u8>, rng: &mut Rng, others: &[Vec<u8>]) {
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let len = b.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = JSON_BYTES[rng.below(JSON_BYTES.len())];
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(16)).min(len);
                b.drain(i..end);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(32)).min(len);
                let chunk = b[i..end].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, chunk);
            }
            4 => {
                let at = rng.below(len + 1);
                b.insert(at, JSON_BYTES[rng.below(JSON_BYTES.len())]);
            }
            5 if len > 0 => b.truncate(rng.below(len)),
            6 if !others.is_empty() => {
                let o = &others[rng.below(others.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(o.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&o[from..]);
            }
            _ => b.push(b"}]\" \n"[rng.below(5)]),
        }
    }
}

/// One mutation of `seed`, by whichever strategy the dice pick.
fn mutate(seed: &[u8], rng: &mut Rng, others: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(10) {
        // Structural edit of the parsed document.
        0..=3 => {
            if let Ok(mut v) = serde_json::from_slice::<Value>(seed) {
                mutate_value(&mut v, rng, 0);
                let mut out = serde_json::to_vec(&v).unwrap();
                if rng.below(4) == 0 {
                    mutate_bytes(&mut out, rng, others);
                }
                return out;
            }
            let mut b = seed.to_vec();
            mutate_bytes(&mut b, rng, others);
            b
        }
        // An envelope whose payload is mutated and re-encoded, in either alphabet.
        4 => {
            if let Ok(mut v) = serde_json::from_slice::<Value>(seed) {
                if let Some(p) = v
                    .get("payload")
                    .and_then(Value::as_str)
                    .and_then(b64::decode_any)
                {
                    let m = mutate(&p, rng, &[]);
                    let mut enc = b64::encode(&m);
                    if rng.below(2) == 0 {
                        enc = enc
                            .replace('+', "-")
                            .replace('/', "_")
                            .trim_end_matches('=')
                            .to_string();
                    }
                    v["payload"] = Value::String(enc);
                    return serde_json::to_vec(&v).unwrap();
                }
            }
            let mut b = seed.to_vec();
            mutate_bytes(&mut b, rng, others);
            b
        }
        // Byte-level edits.
        _ => {
            let mut b = seed.to_vec();
            mutate_bytes(&mut b, rng, others);
            b
        }
    }
}

fn iterations() -> usize {
    std::env::var("CAIRN_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn run(name: &str, target: fn(&[u8]) -> bool, seeds: &[Vec<u8>], stream: u64) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let mut accepted_seeds = 0;
    for s in seeds {
        accepted_seeds += target(s) as usize;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ stream.wrapping_mul(0xff51_afd7_ed55_8ccd));
    let n = iterations();
    let mut accepted = 0usize;
    for i in 0..n {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(seed, &mut rng, seeds);
        let ok = std::panic::catch_unwind(|| target(&input)).unwrap_or_else(|_| {
            panic!(
                "{name}: invariant broken on mutation {i}; input ({} bytes):\n{}",
                input.len(),
                String::from_utf8_lossy(&input)
            )
        });
        accepted += ok as usize;
    }
    eprintln!("{name}: {} seeds ({accepted_seeds} accepted), {n} mutations ({accepted} accepted, {} rejected)", seeds.len(), n - accepted);
    // Mutations that keep documents valid must reach the checks behind the parser.
    assert!(
        accepted > 0,
        "{name}: no mutation was accepted; the mutator only exercises rejection"
    );
    assert!(accepted < n, "{name}: every mutation was accepted");
}

#[test]
fn real_documents_are_accepted() {
    let s = load_seeds();
    let mut by_target = std::collections::BTreeMap::new();
    for (target, name, bytes) in &s.must_accept {
        let f: fn(&[u8]) -> bool = match *target {
            "envelope" => checks::envelope,
            "statement" => checks::statement,
            "bundle" => checks::bundle,
            _ => unreachable!(),
        };
        assert!(f(bytes), "{target}: rejected {name}");
        *by_target.entry(*target).or_insert(0) += 1;
    }
    eprintln!("accepted real documents: {by_target:?}");
    assert!(by_target.get("statement").copied().unwrap_or(0) >= 3);
}

#[test]
fn envelope_target_on_mutated_corpus() {
    let s = load_seeds();
    run("envelope", checks::envelope, &s.envelope, 1);
}

#[test]
fn statement_target_on_mutated_corpus() {
    let s = load_seeds();
    run("statement", checks::statement, &s.statement, 2);
}

#[test]
fn bundle_target_on_mutated_corpus() {
    let s = load_seeds();
    run("bundle", checks::bundle, &s.bundle, 3);
}

#[test]
fn provenance_target_on_mutated_corpus() {
    let s = load_seeds();
    run("provenance", checks::provenance, &s.provenance, 4);
}

/// The duplicate-key injector itself: the path it predicts is where the key really is.
#[test]
fn duplicate_injection_names_the_repeated_key() {
    let v = json!({"a": [{"b": 1}, {"c": {"d": 2}}]});
    let mut paths = std::collections::BTreeSet::new();
    for seed in 0..64u64 {
        let (text, path) = checks::inject_duplicate(&v, seed).unwrap();
        paths.insert(path.clone());
        let e =
            cairn_formats::json::parse_strict::<Value>(text.as_bytes(), "doc", &Default::default())
                .unwrap_err();
        assert_eq!(
            e,
            cairn_formats::FormatError::DuplicateKey { what: "doc", path }
        );
    }
    let want: std::collections::BTreeSet<String> = ["$.a", "$.a.[0].b", "$.a.[1].c", "$.a.[1].c.d"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(paths, want);
    assert!(checks::inject_duplicate(&json!([1, {}, "x"]), 3).is_none());
}

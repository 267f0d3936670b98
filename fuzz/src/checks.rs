//! Invariants of cairn's parsers, checked on arbitrary input.
//!
//! Each public function takes raw bytes, runs one parser on them and returns whether the
//! input was accepted. It panics when an invariant is broken: that panic is the finding,
//! for libFuzzer (`fuzz/fuzz_targets/*.rs`) and for the stable-Rust corpus runner
//! (`crates/formats/tests/fuzz_corpus.rs`, which includes this file with `#[path]`).
//!
//! Invariants, beyond "does not panic":
//! - a rejection is a typed error with a message; input that is not UTF-8 is rejected as
//!   `InvalidUtf8`; a duplicate key is reported at a `$.`-rooted path;
//! - whatever the strict parsers accept, plain serde_json accepts too, and it holds no
//!   duplicate key; every number in it, written out, reads back bit for bit;
//! - a parsed value written back out (`to_json`) parses to the same value, and writing
//!   that again gives the same text (a fixed point);
//! - injecting one duplicate key anywhere in an accepted document makes it rejected with
//!   `DuplicateKey` naming exactly that key's path;
//! - the `--bundle` detector and the specific parsers agree on what a document is;
//! - PAE is `DSSEv1 <len> <type> <len> <payload>` with byte lengths;
//! - a statement is the same whether parsed alone or from an in-toto envelope, and is
//!   refused from an envelope of another payload type;
//! - a typed SLSA v1 predicate written back out parses to the same provenance;
//!   `split_git_uri` only ever splits at an `@` (joining the parts gives the input back).

use cairn_formats::bundle::{Bundle, BundleInput};
use cairn_formats::digest::DigestSet;
use cairn_formats::dsse::{self, Envelope, IN_TOTO_PAYLOAD_TYPE};
use cairn_formats::error::FormatError;
use cairn_formats::json::{check_duplicates, parse_strict, Limits};
use cairn_formats::provenance::{
    normalize_repo_uri, split_git_uri, Provenance, SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1,
};
use cairn_formats::statement::{ResourceDescriptor, Statement};
use serde_json::Value;

fn limits() -> Limits {
    Limits::default()
}

/// A rejection must be a typed error that names the problem.
fn check_error(data: &[u8], e: &FormatError) {
    assert!(!e.to_string().is_empty(), "empty error message for {e:?}");
    if std::str::from_utf8(data).is_err() {
        assert!(
            matches!(e, FormatError::InvalidUtf8 { .. }),
            "invalid UTF-8 reported as {e:?}"
        );
    }
    if let FormatError::DuplicateKey { path, .. } = e {
        assert!(
            path.starts_with("$."),
            "duplicate key path {path:?} is not rooted at $"
        );
    }
}

/// Whatever a strict parser accepts is one JSON document that plain serde_json accepts
/// and that has no duplicate key.
fn check_strict_subset(data: &[u8]) -> Value {
    let text = std::str::from_utf8(data).expect("accepted input is UTF-8");
    check_duplicates(text, "fuzz").expect("accepted input has no duplicate key");
    let value: Value = serde_json::from_str(text).expect("accepted input is JSON to serde_json");
    check_numbers_round_trip(&value);
    value
}

/// Every number read is written in a form that reads back as the same number, bit for
/// bit: otherwise a document re-serialised by cairn (`cairn attest` writes the predicate
/// file back out) silently carries different values.
fn check_numbers_round_trip(v: &Value) {
    match v {
        Value::Number(n) => {
            let text = n.to_string();
            let again: Value = serde_json::from_str(&text).expect("a written number reads back");
            match (n.as_f64(), again.as_f64()) {
                (Some(a), Some(b)) if n.is_f64() => assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "number {text} reads back as {b:e}"
                ),
                _ => assert_eq!(&again, v, "number {text} changed"),
            }
        }
        Value::Array(a) => a.iter().for_each(check_numbers_round_trip),
        Value::Object(o) => o.values().for_each(check_numbers_round_trip),
        _ => {}
    }
}

/// PAE framing, with lengths in bytes.
pub fn check_pae(payload_type: &str, payload: &[u8]) {
    let p = dsse::pae(payload_type, payload);
    let head = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    );
    assert!(p.starts_with(head.as_bytes()), "PAE header wrong");
    assert_eq!(&p[head.len()..], payload, "PAE body wrong");
}

fn check_envelope_round_trip(env: &Envelope) {
    assert!(
        !env.payload_type.is_empty(),
        "accepted an empty payloadType"
    );
    for s in &env.signatures {
        assert!(!s.sig.is_empty(), "accepted an empty signature");
        assert_ne!(
            s.keyid.as_deref(),
            Some(""),
            "empty keyid must read as no keyid"
        );
    }
    let json = env.to_json();
    assert!(
        !json.contains('\n'),
        "compact envelope JSON spans lines: {json}"
    );
    let again = Envelope::parse(json.as_bytes(), &limits())
        .unwrap_or_else(|e| panic!("re-serialised envelope rejected: {e}\n{json}"));
    assert_eq!(&again, env, "envelope changed in a round trip");
    assert_eq!(
        again.to_json(),
        json,
        "envelope to_json is not a fixed point"
    );
    check_pae(&env.payload_type, &env.payload);
}

/// Fuzz target `envelope`: `Envelope::parse`.
pub fn envelope(data: &[u8]) -> bool {
    let env = match Envelope::parse(data, &limits()) {
        Ok(e) => e,
        Err(e) => {
            check_error(data, &e);
            return false;
        }
    };
    let value = check_strict_subset(data);
    check_envelope_round_trip(&env);
    // `--bundle` detection sees the same envelope.
    assert_eq!(
        BundleInput::parse(data, &limits()),
        Ok(BundleInput::Envelope(env.clone())),
        "bundle detector disagrees"
    );
    check_duplicate_injection(&value, seed_of(data), |b| {
        Envelope::parse(b, &limits()).map(drop)
    });
    true
}

/// Fuzz target `statement`: `Statement::parse`, plus provenance parsing of the predicate.
pub fn statement(data: &[u8]) -> bool {
    let st = match Statement::parse(data, &limits()) {
        Ok(s) => s,
        Err(e) => {
            check_error(data, &e);
            return false;
        }
    };
    let value = check_strict_subset(data);
    check_statement(&st);
    // The same bytes as the payload of an in-toto envelope give the same statement; any
    // other payload type is refused.
    let env = Envelope {
        payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
        payload: data.to_vec(),
        signatures: Vec::new(),
    };
    assert_eq!(Statement::from_envelope(&env, &limits()).as_ref(), Ok(&st));
    let other = Envelope {
        payload_type: "application/json".to_string(),
        ..env
    };
    assert!(matches!(
        Statement::from_envelope(&other, &limits()),
        Err(FormatError::UnsupportedPayloadType { .. })
    ));
    check_duplicate_injection(&value, seed_of(data), |b| {
        Statement::parse(b, &limits()).map(drop)
    });
    true
}

fn check_statement(st: &Statement) {
    assert!(
        !st.subject.is_empty(),
        "accepted a statement without subjects"
    );
    for (i, s) in st.subject.iter().enumerate() {
        assert!(
            !s.digest.is_empty(),
            "accepted subject[{i}] without a digest"
        );
        s.validate("statement", &format!("subject[{i}]"))
            .expect("accepted subject fails validation");
    }
    assert!(
        !st.predicate_type.is_empty(),
        "accepted an empty predicateType"
    );
    let json = st.to_json();
    let again = Statement::parse(json.as_bytes(), &limits())
        .unwrap_or_else(|e| panic!("re-serialised statement rejected: {e}\n{json}"));
    assert_eq!(&again, st, "statement changed in a round trip");
    assert_eq!(
        again.to_json(),
        json,
        "statement to_json is not a fixed point"
    );
    check_provenance(st);
}

/// Provenance parsing of a statement's predicate; returns whether it was SLSA provenance.
fn check_provenance(st: &Statement) -> bool {
    let is_slsa =
        st.predicate_type == SLSA_PROVENANCE_V1 || st.predicate_type == SLSA_PROVENANCE_V02;
    let p = match Provenance::from_statement(st) {
        Ok(None) => {
            assert!(!is_slsa, "SLSA predicate type read as another predicate");
            return false;
        }
        Err(e) => {
            assert!(
                is_slsa,
                "non-SLSA predicate rejected by the provenance parser: {e}"
            );
            assert!(
                matches!(
                    e,
                    FormatError::Malformed { .. } | FormatError::InvalidDigest { .. }
                ),
                "{e:?}"
            );
            return false;
        }
        Ok(Some(p)) => p,
    };
    let view = p.view();
    match &p {
        Provenance::V1(v1) => {
            assert_eq!(st.predicate_type, SLSA_PROVENANCE_V1);
            assert!(!v1.build_definition.build_type.is_empty());
            assert!(!v1.run_details.builder.id.is_empty());
            assert_eq!(view.builder_id, v1.run_details.builder.id);
            assert_eq!(view.build_type, v1.build_definition.build_type);
            // The typed predicate written back out reads as the same provenance, both as a
            // value and through a statement's JSON text.
            let value = serde_json::to_value(&**v1).expect("provenance serialises");
            let st2 = Statement::new(st.subject.clone(), SLSA_PROVENANCE_V1, value);
            assert_eq!(
                Provenance::from_statement(&st2).as_ref(),
                Ok(&Some(p.clone())),
                "typed provenance changed in a round trip"
            );
            let st3 = Statement::parse(st2.to_json().as_bytes(), &limits())
                .expect("re-serialised provenance statement rejected");
            assert_eq!(Provenance::from_statement(&st3), Ok(Some(p.clone())));
        }
        Provenance::V02(v02) => {
            assert_eq!(st.predicate_type, SLSA_PROVENANCE_V02);
            assert_eq!(view.builder_id, v02.builder.id);
            assert_eq!(view.build_type, v02.build_type);
        }
    }
    if let Some(u) = &view.source_uri {
        let _ = normalize_repo_uri(u);
    }
    true
}

/// `split_git_uri` only splits at an `@`: joining its parts gives back the input without
/// its `git+` prefix.
pub fn check_split_git_uri(uri: &str) {
    let base = uri.strip_prefix("git+").unwrap_or(uri);
    match split_git_uri(uri) {
        (Some(repo), Some(r)) => assert_eq!(
            format!("{repo}@{r}"),
            base,
            "split_git_uri({uri:?}) lost text"
        ),
        (Some(repo), None) => assert_eq!(repo, base, "split_git_uri({uri:?}) changed the uri"),
        (None, r) => panic!("split_git_uri({uri:?}) gave no repository (ref {r:?})"),
    }
    let _ = normalize_repo_uri(uri);
}

/// Fuzz target `provenance`: the input as a whole statement, and as a bare predicate
/// under both SLSA predicate types.
pub fn provenance(data: &[u8]) -> bool {
    let mut accepted = statement(data);
    let Ok(pred) = parse_strict::<Value>(data, "predicate", &limits()) else {
        return accepted;
    };
    for_each_string(&pred, &mut check_split_git_uri);
    let subject = vec![ResourceDescriptor::named(
        "a",
        DigestSet::sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    )];
    for t in [SLSA_PROVENANCE_V1, SLSA_PROVENANCE_V02] {
        accepted |= check_provenance(&Statement::new(subject.clone(), t, pred.clone()));
    }
    accepted
}

fn for_each_string(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| for_each_string(x, f)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            f(k);
            for_each_string(x, f)
        }),
        _ => {}
    }
}

/// Fuzz target `bundle`: `BundleInput::parse`, what `--bundle` accepts.
pub fn bundle(data: &[u8]) -> bool {
    let input = match BundleInput::parse(data, &limits()) {
        Ok(i) => i,
        Err(e) => {
            check_error(data, &e);
            return false;
        }
    };
    let text = std::str::from_utf8(data).expect("accepted input is UTF-8");
    match &input {
        BundleInput::Cairn(b) => {
            let value = check_strict_subset(data);
            assert_eq!(
                Bundle::parse(data, &limits()).as_ref(),
                Ok(b),
                "bundle detector and Bundle::parse disagree"
            );
            assert!(!b.attestations.is_empty());
            for a in &b.attestations {
                check_envelope_round_trip(&a.envelope);
                for item in a.evidence.iter().chain(&a.attachments) {
                    assert!(
                        item.get("kind").and_then(Value::as_str).is_some(),
                        "accepted evidence without a kind"
                    );
                }
                for item in a.log_receipts.iter().chain(&a.timestamps) {
                    assert!(item.is_object());
                }
            }
            let json = b.to_json();
            assert_eq!(
                BundleInput::parse(json.as_bytes(), &limits()).as_ref(),
                Ok(&input),
                "bundle changed in a round trip\n{json}"
            );
            assert_eq!(
                Bundle::parse(json.as_bytes(), &limits())
                    .expect("re-parse")
                    .to_json(),
                json,
                "bundle to_json is not a fixed point"
            );
            check_duplicate_injection(&value, seed_of(data), |b| {
                BundleInput::parse(b, &limits()).map(drop)
            });
        }
        BundleInput::Envelope(e) => {
            let value = check_strict_subset(data);
            assert_eq!(
                Envelope::parse(data, &limits()).as_ref(),
                Ok(e),
                "bundle detector and Envelope::parse disagree"
            );
            check_envelope_round_trip(e);
            check_duplicate_injection(&value, seed_of(data), |b| {
                BundleInput::parse(b, &limits()).map(drop)
            });
        }
        BundleInput::JsonLines(es) => {
            assert!(es.len() >= 2, "a single envelope read as JSON lines");
            let lines: Vec<&str> = text
                .trim()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            assert_eq!(lines.len(), es.len());
            for (line, e) in lines.iter().zip(es) {
                assert_eq!(Envelope::parse(line.as_bytes(), &limits()).as_ref(), Ok(e));
                check_envelope_round_trip(e);
            }
            let jsonl: String = es.iter().map(|e| e.to_json() + "\n").collect();
            assert_eq!(
                BundleInput::parse(jsonl.as_bytes(), &limits()).as_ref(),
                Ok(&input),
                "JSON lines changed in a round trip"
            );
            // A duplicate key in any one line rejects the whole file.
            let i = (seed_of(data) as usize) % es.len();
            let v: Value = serde_json::from_str(&es[i].to_json()).expect("envelope JSON");
            check_duplicate_injection(&v, seed_of(data), |line| {
                let mut doc = String::new();
                for (j, e) in es.iter().enumerate() {
                    if j == i {
                        doc.push_str(std::str::from_utf8(line).expect("utf-8"));
                    } else {
                        doc.push_str(&e.to_json());
                    }
                    doc.push('\n');
                }
                BundleInput::parse(doc.as_bytes(), &limits()).map(drop)
            });
        }
        BundleInput::Sigstore(bytes) => {
            assert_eq!(
                bytes.as_slice(),
                data,
                "Sigstore bundle not handed on unchanged"
            );
            let value = check_strict_subset(data);
            let mt = value
                .get("mediaType")
                .and_then(Value::as_str)
                .expect("Sigstore bundle without mediaType");
            assert!(
                mt.starts_with("application/vnd.dev.sigstore.bundle"),
                "{mt}"
            );
            check_duplicate_injection(&value, seed_of(data), |b| {
                BundleInput::parse(b, &limits()).map(drop)
            });
        }
    }
    let n = match &input {
        BundleInput::Cairn(b) => b.attestations.len(),
        BundleInput::Envelope(_) => 1,
        BundleInput::JsonLines(es) => es.len(),
        BundleInput::Sigstore(_) => 0,
    };
    assert_eq!(input.envelopes().len(), n);
    true
}

/// FNV-1a of the input: picks where to inject a duplicate, deterministically.
pub fn seed_of(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `value` as compact JSON with one key of one object repeated, and returns the
/// text and the path the duplicate check must report (`$.a.[0].b` style). `None` when
/// the document has no object with a key.
pub fn inject_duplicate(value: &Value, seed: u64) -> Option<(String, String)> {
    let mut count = 0usize;
    count_objects(value, &mut count);
    if count == 0 {
        return None;
    }
    let target = (seed % count as u64) as usize;
    let mut out = String::new();
    let mut path = Vec::new();
    let mut found = None;
    let mut index = 0usize;
    write_dup(
        value,
        target,
        seed >> 32,
        &mut index,
        &mut path,
        &mut found,
        &mut out,
    );
    Some((out, found.expect("target object visited")))
}

fn count_objects(v: &Value, n: &mut usize) {
    match v {
        Value::Object(o) => {
            if !o.is_empty() {
                *n += 1;
            }
            o.values().for_each(|x| count_objects(x, n));
        }
        Value::Array(a) => a.iter().for_each(|x| count_objects(x, n)),
        _ => {}
    }
}

fn write_dup(
    v: &Value,
    target: usize,
    key_seed: u64,
    index: &mut usize,
    path: &mut Vec<String>,
    found: &mut Option<String>,
    out: &mut String,
) {
    match v {
        Value::Object(o) => {
            let this = if o.is_empty() {
                None
            } else {
                *index += 1;
                Some(*index - 1)
            };
            let dup_key = (this == Some(target)).then(|| (key_seed % o.len() as u64) as usize);
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("key"));
                out.push(':');
                path.push(k.clone());
                write_dup(x, target, key_seed, index, path, found, out);
                path.pop();
            }
            if let Some(d) = dup_key {
                let (k, x) = o.iter().nth(d).expect("key index in range");
                // The repeat carries the same value: only the repetition is wrong.
                out.push(',');
                out.push_str(&serde_json::to_string(k).expect("key"));
                out.push(':');
                out.push_str(&serde_json::to_string(x).expect("value"));
                let mut p = String::from("$");
                for seg in path.iter() {
                    p.push('.');
                    p.push_str(seg);
                }
                p.push('.');
                p.push_str(k);
                *found = Some(p);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                path.push(format!("[{i}]"));
                write_dup(x, target, key_seed, index, path, found, out);
                path.pop();
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).expect("scalar")),
    }
}

/// A duplicate key injected anywhere must be rejected as `DuplicateKey` at its path.
pub fn check_duplicate_injection(
    value: &Value,
    seed: u64,
    parse: impl Fn(&[u8]) -> Result<(), FormatError>,
) {
    let Some((text, path)) = inject_duplicate(value, seed) else {
        return;
    };
    match parse(text.as_bytes()) {
        Err(FormatError::DuplicateKey { path: p, .. }) => {
            assert_eq!(p, path, "duplicate key reported at the wrong path\n{text}")
        }
        other => panic!("duplicate key at {path} not rejected as such: {other:?}\n{text}"),
    }
}

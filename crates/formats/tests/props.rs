//! Property tests of the formats crate: PAE framing, base64 in either alphabet, envelope
//! and statement round trips, DigestSet validation, and the strict JSON rules (duplicate
//! keys at any depth, trailing data, invalid UTF-8, size limit).
//!
//! Case counts are kept modest (`PROPTEST_CASES` overrides them).

use cairn_formats::b64;
use cairn_formats::digest::DigestSet;
use cairn_formats::dsse::{pae, Envelope, Signature};
use cairn_formats::json::{parse_strict, Limits};
use cairn_formats::statement::{ResourceDescriptor, Statement, StatementVersion};
use cairn_formats::FormatError;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(cases),
        ..ProptestConfig::default()
    }
}

/// Reads PAE back into (type, payload); `None` unless the framing is exact.
fn unpae(mut b: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    b = b.strip_prefix(b"DSSEv1 ")?;
    let mut fields = Vec::new();
    for _ in 0..2 {
        let sp = b.iter().position(|&c| c == b' ')?;
        let digits = std::str::from_utf8(&b[..sp]).ok()?;
        // ASCII decimal, no sign, no leading zero unless the length is 0
        if digits.is_empty()
            || !digits.bytes().all(|c| c.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        let n: usize = digits.parse().ok()?;
        b = &b[sp + 1..];
        if fields.is_empty() {
            if b.len() < n + 1 || b[n] != b' ' {
                return None;
            }
            fields.push(b[..n].to_vec());
            b = &b[n + 1..];
        } else {
            if b.len() != n {
                return None;
            }
            fields.push(b.to_vec());
        }
    }
    let payload = fields.pop()?;
    let t = fields.pop()?;
    Some((t, payload))
}

fn any_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // finite floats, including tiny, huge and negative zero
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn hex_of(len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(b"0123456789abcdef".to_vec()), len)
        .prop_map(|v| String::from_utf8(v).unwrap())
}

fn digest_set() -> impl Strategy<Value = DigestSet> {
    (
        hex_of(64),
        prop::option::of(hex_of(128)),
        prop::option::of(hex_of(40)),
        prop::option::of(("[a-z]{3,8}_x", ".{0,10}")),
    )
        .prop_map(|(s256, s512, git, custom)| {
            let mut d = DigestSet::sha256(s256);
            if let Some(h) = s512 {
                d = d.with("sha512", h);
            }
            if let Some(h) = git {
                d = d.with("gitCommit", h);
            }
            if let Some((k, v)) = custom {
                d = d.with(&k, v);
            }
            d
        })
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        prop::collection::vec((".{0,16}", digest_set(), prop::option::of(".{0,16}")), 1..4),
        "[a-z]{1,10}:.{0,20}",
        any_json(3),
        any::<bool>(),
    )
        .prop_map(|(subjects, predicate_type, predicate, v01)| {
            let subject = subjects
                .into_iter()
                .map(|(name, digest, uri)| ResourceDescriptor {
                    uri,
                    ..ResourceDescriptor::named(name, digest)
                })
                .collect();
            let mut st = Statement::new(subject, predicate_type, predicate);
            if v01 {
                st.version = StatementVersion::V01;
            }
            st
        })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let sig = (
        prop::option::of(".{1,20}"),
        prop::collection::vec(any::<u8>(), 1..96),
        prop::option::of(".{0,20}"),
    )
        .prop_map(|(keyid, sig, cert)| Signature { keyid, sig, cert });
    (
        ".{1,40}",
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(sig, 0..4),
    )
        .prop_map(|(payload_type, payload, signatures)| Envelope {
            payload_type,
            payload,
            signatures,
        })
}

/// Rewrites every base64 field of an envelope's JSON in the URL-safe alphabet, unpadded.
fn url_safe(json: &str) -> String {
    let mut v: Value = serde_json::from_str(json).unwrap();
    let conv = |s: &Value| {
        Value::String(
            s.as_str()
                .unwrap()
                .replace('+', "-")
                .replace('/', "_")
                .trim_end_matches('=')
                .to_string(),
        )
    };
    v["payload"] = conv(&v["payload"]);
    for s in v["signatures"].as_array_mut().unwrap() {
        s["sig"] = conv(&s["sig"]);
    }
    serde_json::to_string(&v).unwrap()
}

/// Writes `v` with one key of the `target`-th non-empty object (pre-order) repeated,
/// the repeat spelled with `\u` escapes so that only a decoder can see it is the same
/// key. Returns the text and the path the duplicate check reports.
fn with_duplicate(v: &Value, target: usize, key_pick: usize) -> Option<(String, String)> {
    fn esc(k: &str) -> String {
        let mut s = String::from("\"");
        for u in k.encode_utf16() {
            s.push_str(&format!("\\u{u:04x}"));
        }
        s.push('"');
        s
    }
    fn go(
        v: &Value,
        target: usize,
        pick: usize,
        seen: &mut usize,
        path: &mut Vec<String>,
        hit: &mut Option<String>,
        out: &mut String,
    ) {
        match v {
            Value::Object(o) => {
                let mine = if o.is_empty() {
                    None
                } else {
                    *seen += 1;
                    Some(*seen - 1)
                };
                out.push('{');
                for (i, (k, x)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    path.push(k.clone());
                    go(x, target, pick, seen, path, hit, out);
                    path.pop();
                }
                if mine == Some(target) {
                    let k = o.keys().nth(pick % o.len()).unwrap();
                    out.push(',');
                    out.push_str(&esc(k));
                    out.push_str(":null");
                    let mut p = String::from("$");
                    for seg in path.iter().chain(std::iter::once(k)) {
                        p.push('.');
                        p.push_str(seg);
                    }
                    *hit = Some(p);
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
                    go(x, target, pick, seen, path, hit, out);
                    path.pop();
                }
                out.push(']');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap()),
        }
    }
    let mut seen = 0;
    let mut hit = None;
    let mut out = String::new();
    // count first, so that `target` can be reduced modulo the number of objects
    go(
        v,
        usize::MAX,
        0,
        &mut seen,
        &mut Vec::new(),
        &mut hit,
        &mut String::new(),
    );
    if seen == 0 {
        return None;
    }
    let target = target % seen;
    seen = 0;
    go(
        v,
        target,
        key_pick,
        &mut seen,
        &mut Vec::new(),
        &mut hit,
        &mut out,
    );
    Some((out, hit.unwrap()))
}

proptest! {
    #![proptest_config(config(256))]

    /// PAE is decodable (hence injective), with byte lengths in minimal ASCII decimal.
    #[test]
    fn pae_frames_type_and_payload(t in ".{0,40}", p in prop::collection::vec(any::<u8>(), 0..200)) {
        let enc = pae(&t, &p);
        prop_assert_eq!(enc.len(), 7 + t.len().to_string().len() + 1 + t.len() + 1 + p.len().to_string().len() + 1 + p.len());
        prop_assert_eq!(unpae(&enc), Some((t.as_bytes().to_vec(), p.clone())));
    }

    /// Two different (type, payload) pairs never share a PAE, even when their
    /// concatenations are equal (the length prefixes are what separates them).
    #[test]
    fn pae_is_injective(a in "[a-z ]{0,8}", b in prop::collection::vec(prop::sample::select(b"ab 1".to_vec()), 0..8), cut in 0usize..16) {
        let joined: Vec<u8> = a.as_bytes().iter().chain(&b).copied().collect();
        let cut = cut.min(joined.len());
        if let Ok(t2) = std::str::from_utf8(&joined[..cut]) {
            let p2 = &joined[cut..];
            prop_assert_eq!(pae(&a, &b) == pae(t2, p2), a == t2 && b == p2);
        }
    }

    /// Bytes survive standard, URL-safe, padded and unpadded base64.
    #[test]
    fn base64_round_trips_in_both_alphabets(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let std_padded = b64::encode(&bytes);
        let url = std_padded.replace('+', "-").replace('/', "_");
        for s in [std_padded.clone(), std_padded.trim_end_matches('=').to_string(), url.clone(), url.trim_end_matches('=').to_string()] {
            prop_assert_eq!(b64::decode_any(&s), Some(bytes.clone()), "{}", s);
        }
    }

    /// Decoding is canonical: whatever decodes re-encodes to the same text (modulo
    /// alphabet and padding), so two encodings never map to one value.
    #[test]
    fn base64_decoding_is_canonical(s in "[A-Za-z0-9+/]{0,24}={0,2}") {
        if let Some(bytes) = b64::decode_any(&s) {
            let again = b64::encode(&bytes);
            prop_assert_eq!(again.trim_end_matches('='), s.trim_end_matches('='));
        }
    }

    /// A string holding both alphabets' special characters is refused.
    #[test]
    fn base64_mixed_alphabets_refused(bytes in prop::collection::vec(any::<u8>(), 3..60), std_c in prop::sample::select(vec!['+', '/']), url_c in prop::sample::select(vec!['-', '_']), i in any::<prop::sample::Index>(), j in any::<prop::sample::Index>()) {
        let mut chars: Vec<char> = b64::encode(&bytes).trim_end_matches('=').chars().collect();
        let n = chars.len();
        let (a, b) = (i.index(n), j.index(n));
        prop_assume!(a != b);
        chars[a] = std_c;
        chars[b] = url_c;
        let s: String = chars.into_iter().collect();
        prop_assert_eq!(b64::decode_any(&s), None);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Any envelope written out reads back the same, in either base64 alphabet.
    #[test]
    fn envelope_round_trips(env in envelope()) {
        let l = Limits::default();
        let json = env.to_json();
        prop_assert_eq!(&Envelope::parse(json.as_bytes(), &l).unwrap(), &env);
        prop_assert_eq!(&Envelope::parse(url_safe(&json).as_bytes(), &l).unwrap(), &env);
        // and the pretty form is the same document
        let pretty = serde_json::to_string_pretty(&env.to_wire()).unwrap();
        prop_assert_eq!(&Envelope::parse(pretty.as_bytes(), &l).unwrap(), &env);
    }

    /// Any valid statement written out reads back the same, v1 or v0.1, whatever JSON
    /// its predicate holds (numbers included).
    #[test]
    fn statement_round_trips(st in statement()) {
        let l = Limits::default();
        let json = st.to_json();
        let again = Statement::parse(json.as_bytes(), &l).unwrap();
        prop_assert_eq!(&again, &st);
        prop_assert_eq!(again.to_json(), json);
    }

    /// DigestSet: well-formed lowercase hex of the right length passes for every
    /// algorithm the in-toto spec defines; a wrong length or an upper-case or non-hex
    /// character fails, naming the algorithm's field; unknown algorithms pass untouched.
    #[test]
    fn digest_set_validation(
        (alg, len) in prop::sample::select(vec![("sha256", 64usize), ("sha384", 96), ("sha512", 128), ("sha1", 40), ("md5", 32), ("sha224", 56), ("sha3_256", 64), ("gitCommit", 40), ("gitCommit", 64), ("dirHash", 64)]),
        good in hex_of(128),
        at in any::<prop::sample::Index>(),
        bad_char in prop::sample::select(vec!['A', 'F', 'g', 'z', ' ', '-', 'é']),
        delta in prop::sample::select(vec![-2i64, -1, 1, 2]),
        unknown in "[a-z]{2,6}_custom",
        anything in ".{0,30}",
    ) {
        let good = &good[..len];
        prop_assert!(DigestSet::new().with(alg, good).validate("t", "d").is_ok());
        let mut bad: Vec<char> = good.chars().collect();
        bad[at.index(len)] = bad_char;
        let bad: String = bad.into_iter().collect();
        let e = DigestSet::new().with(alg, bad).validate("t", "d").unwrap_err();
        let want = format!("d.{alg}");
        prop_assert!(matches!(e, FormatError::InvalidDigest { ref field, .. } if *field == want), "{:?}", e);
        let wrong_len = (len as i64 + delta) as usize;
        let other = format!("{good}{good}");
        prop_assert!(DigestSet::new().with(alg, &other[..wrong_len]).validate("t", "d").is_err());
        prop_assert!(DigestSet::new().with(&unknown, anything).validate("t", "d").is_ok());
    }

    /// A duplicate key anywhere in a document, even spelled with escapes, is rejected
    /// with the path of that key; without the repeat the same document is accepted.
    #[test]
    fn duplicate_keys_rejected_at_any_depth(v in any_json(4), target in any::<usize>(), pick in any::<usize>()) {
        let l = Limits::default();
        let plain = serde_json::to_string(&v).unwrap();
        prop_assert!(parse_strict::<Value>(plain.as_bytes(), "doc", &l).is_ok());
        if let Some((text, path)) = with_duplicate(&v, target, pick) {
            // serde_json alone takes it (keeping the last value); strict parsing refuses.
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            prop_assert_eq!(parse_strict::<Value>(text.as_bytes(), "doc", &l).unwrap_err(), FormatError::DuplicateKey { what: "doc", path });
        }
    }

    /// Anything after the document but whitespace is trailing data.
    #[test]
    fn trailing_data_rejected(v in any_json(2), ws in "[ \n\t\r]{0,3}", tail in prop::sample::select(vec!["{}", "x", "1", "\"", "[", "null", ",", "\u{0}"])) {
        let text = format!("{}{ws}{tail}", serde_json::to_string(&v).unwrap());
        let r = parse_strict::<Value>(text.as_bytes(), "doc", &Limits::default());
        if v.is_number() && tail == "1" && ws.is_empty() {
            // A number followed by a digit is one longer number, not trailing data.
            prop_assert!(r.is_ok());
        } else {
            prop_assert!(matches!(r, Err(FormatError::TrailingData { what: "doc", .. })), "{:?} for {:?}", r, text);
        }
    }

    /// A byte that breaks UTF-8 anywhere is reported at its offset, before any JSON rule.
    #[test]
    fn invalid_utf8_reported_at_offset(v in any_json(2), at in any::<prop::sample::Index>(), bad in prop::sample::select(vec![0x80u8, 0xc0, 0xff, 0xfe])) {
        let mut bytes = serde_json::to_vec(&v).unwrap();
        // only at a character boundary, so the bytes before it stay valid
        let text = String::from_utf8(bytes.clone()).unwrap();
        let mut i = at.index(bytes.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        bytes.insert(i, bad);
        prop_assert_eq!(parse_strict::<Value>(&bytes, "doc", &Limits::default()).unwrap_err(), FormatError::InvalidUtf8 { what: "doc", offset: i });
    }

    /// The size limit applies before parsing, at exactly the limit.
    #[test]
    fn size_limit_is_exact(v in any_json(2)) {
        let text = serde_json::to_vec(&v).unwrap();
        let n = text.len() as u64;
        let at_limit = parse_strict::<Value>(&text, "doc", &Limits { max_bytes: n });
        prop_assert!(at_limit.is_ok());
        prop_assert_eq!(parse_strict::<Value>(&text, "doc", &Limits { max_bytes: n - 1 }).unwrap_err(), FormatError::TooLarge { what: "doc", size: n, limit: n - 1 });
    }
}

/// Regression (found by `statement_round_trips`): serde_json without its
/// `float_roundtrip` feature read `2.8540494048673167e+267` as the float one ULP off
/// (`2.854049404867317e+267`), so a statement written back out (as `cairn attest` does
/// with the predicate file) carried a different number from the one in the input.
#[test]
fn regression_predicate_floats_survive_a_round_trip() {
    let l = Limits::default();
    for n in [
        "2.8540494048673167e+267",
        "2.8540494048673167e267",
        "2.1779730443941924e-308",
        "0.1",
        "1.7976931348623157e308",
        "5e-324",
        "-0.0",
    ] {
        let doc = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"a","digest":{{"sha256":"{}"}}}}],"predicateType":"t:x","predicate":{{"n":{n}}}}}"#,
            "0".repeat(64)
        );
        let st = Statement::parse(doc.as_bytes(), &l).unwrap();
        let want: f64 = n.parse().unwrap();
        let got = st.predicate["n"].as_f64().unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{n} read as {got:e}");
        assert_eq!(
            Statement::parse(st.to_json().as_bytes(), &l).unwrap(),
            st,
            "{n}"
        );
    }
}

//! Strict JSON: size limit, UTF-8, no duplicate keys, no trailing data, and typed errors
//! that carry the JSON path of the field that failed.
//!
//! serde_json alone keeps the last of two duplicate keys and says nothing; an attacker can
//! use that to show one value to one parser and another value to another. So every
//! document is first walked once by [`DuplicateCheck`], which fails on the first repeat.

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::error::FormatError;

/// Limits applied to input that comes from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes.
    pub max_bytes: u64,
}

impl Limits {
    /// 64 MiB: larger than any real provenance or SBOM-bearing bundle seen in the field,
    /// small enough that a hostile input cannot exhaust memory.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

    pub fn check_size(&self, what: &'static str, size: u64) -> Result<(), FormatError> {
        if size > self.max_bytes {
            return Err(FormatError::TooLarge {
                what,
                size,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// Parses `bytes` as one JSON document of type `T`, strictly.
pub fn parse_strict<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    limits: &Limits,
) -> Result<T, FormatError> {
    let text = check_text(bytes, what, limits)?;
    check_duplicates(text, what)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        FormatError::malformed(what, path, strip_position(&inner))
    })?;
    de.end().map_err(|e| FormatError::TrailingData {
        what,
        line: e.line(),
        column: e.column(),
    })?;
    Ok(value)
}

/// Size and UTF-8 checks shared by every parser.
pub fn check_text<'a>(
    bytes: &'a [u8],
    what: &'static str,
    limits: &Limits,
) -> Result<&'a str, FormatError> {
    limits.check_size(what, bytes.len() as u64)?;
    std::str::from_utf8(bytes).map_err(|e| FormatError::InvalidUtf8 {
        what,
        offset: e.valid_up_to(),
    })
}

/// Walks the whole document and fails on the first object with a repeated key, or on
/// any syntax error or trailing data.
pub fn check_duplicates(text: &str, what: &'static str) -> Result<(), FormatError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut path = Vec::new();
    let result = DuplicateCheck { path: &mut path }.deserialize(&mut de);
    match result {
        Ok(()) => {}
        Err(e) => {
            let msg = e.to_string();
            if let Some(rest) = msg.strip_prefix(DUP_MARK) {
                let dup_path = rest.split(" at line ").next().unwrap_or(rest).to_string();
                return Err(FormatError::DuplicateKey {
                    what,
                    path: dup_path,
                });
            }
            if e.is_syntax() || e.is_eof() || e.is_data() {
                return Err(FormatError::malformed(what, "$", strip_position(&e)));
            }
            return Err(FormatError::malformed(what, "$", msg));
        }
    }
    de.end().map_err(|e| FormatError::TrailingData {
        what,
        line: e.line(),
        column: e.column(),
    })
}

const DUP_MARK: &str = "duplicate key: ";

fn strip_position(e: &serde_json::Error) -> String {
    if e.line() == 0 {
        return e.to_string();
    }
    format!(
        "{} (line {}, column {})",
        e.to_string().split(" at line ").next().unwrap_or(""),
        e.line(),
        e.column()
    )
}

struct DuplicateCheck<'p> {
    path: &'p mut Vec<String>,
}

impl DuplicateCheck<'_> {
    fn render(&self, key: &str) -> String {
        let mut s = String::from("$");
        for p in self.path.iter() {
            s.push('.');
            s.push_str(p);
        }
        s.push('.');
        s.push_str(key);
        s
    }
}

impl<'de> DeserializeSeed<'de> for DuplicateCheck<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DuplicateCheck<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            self.path.push(format!("[{i}]"));
            let next = seq.next_element_seed(DuplicateCheck { path: self.path });
            self.path.pop();
            match next? {
                Some(()) => i += 1,
                None => return Ok(()),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                // Drain nothing more: the document is already rejected.
                let _ = map.next_value::<IgnoredAny>();
                return Err(de::Error::custom(format!(
                    "{DUP_MARK}{}",
                    self.render(&key)
                )));
            }
            self.path.push(key.clone());
            let r = map.next_value_seed(DuplicateCheck { path: self.path });
            self.path.pop();
            r?;
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        a: u32,
        #[serde(default)]
        b: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        c: String,
    }

    #[test]
    fn accepts_plain_document() {
        let d: Doc =
            parse_strict(br#"{"a":1,"b":[{"c":"x"}]}"#, "doc", &Limits::default()).unwrap();
        assert_eq!(d.a, 1);
    }

    #[test]
    fn rejects_duplicate_keys_with_path() {
        let e = parse_strict::<Doc>(
            br#"{"a":1,"b":[{"c":"x","c":"y"}]}"#,
            "doc",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            FormatError::DuplicateKey {
                what: "doc",
                path: "$.b.[0].c".into()
            }
        );
        let e = parse_strict::<Doc>(br#"{"a":1,"a":2}"#, "doc", &Limits::default()).unwrap_err();
        assert!(
            matches!(e, FormatError::DuplicateKey { ref path, .. } if path == "$.a"),
            "{e:?}"
        );
    }

    #[test]
    fn rejects_trailing_data() {
        let e = parse_strict::<Doc>(br#"{"a":1} {"a":2}"#, "doc", &Limits::default()).unwrap_err();
        assert!(
            matches!(e, FormatError::TrailingData { what: "doc", .. }),
            "{e:?}"
        );
        // whitespace is not data
        parse_strict::<Doc>(b"{\"a\":1}\n\n", "doc", &Limits::default()).unwrap();
    }

    #[test]
    fn rejects_invalid_utf8() {
        let e = parse_strict::<Doc>(
            b"{\"a\":1,\"b\":[{\"c\":\"\xff\"}]}",
            "doc",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            FormatError::InvalidUtf8 {
                what: "doc",
                offset: 18
            }
        );
    }

    #[test]
    fn rejects_oversize_before_parsing() {
        let e = parse_strict::<Doc>(br#"{"a":1}"#, "doc", &Limits { max_bytes: 3 }).unwrap_err();
        assert_eq!(
            e,
            FormatError::TooLarge {
                what: "doc",
                size: 7,
                limit: 3
            }
        );
    }

    #[test]
    fn names_the_field_on_type_errors() {
        let e = parse_strict::<Doc>(br#"{"a":1,"b":[{"c":5}]}"#, "doc", &Limits::default())
            .unwrap_err();
        match e {
            FormatError::Malformed { path, .. } => assert_eq!(path, "b[0].c"),
            other => panic!("{other:?}"),
        }
        let e = parse_strict::<Doc>(br#"{"b":[]}"#, "doc", &Limits::default()).unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref reason, .. } if reason.contains("missing field `a`")),
            "{e:?}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(
            parse_strict::<serde_json::Value>(deep.as_bytes(), "doc", &Limits::default()).is_err()
        );
    }
}

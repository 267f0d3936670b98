//! in-toto Statement v1 (and v0.1 on input) and ResourceDescriptor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::DigestSet;
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::FormatError;
use crate::json::{parse_strict, Limits};

pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementVersion {
    V1,
    V01,
}

impl StatementVersion {
    pub fn type_uri(self) -> &'static str {
        match self {
            StatementVersion::V1 => STATEMENT_V1,
            StatementVersion::V01 => STATEMENT_V01,
        }
    }
}

/// A ResourceDescriptor (in-toto attestation framework v1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "DigestSet::is_empty")]
    pub digest: DigestSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, Value>>,
}

impl ResourceDescriptor {
    pub fn named(name: impl Into<String>, digest: DigestSet) -> Self {
        ResourceDescriptor {
            name: Some(name.into()),
            digest,
            ..Default::default()
        }
    }

    pub fn uri(uri: impl Into<String>, digest: DigestSet) -> Self {
        ResourceDescriptor {
            uri: Some(uri.into()),
            digest,
            ..Default::default()
        }
    }

    /// A descriptor must identify something: a uri, a digest or inline content.
    pub fn validate(&self, what: &'static str, field: &str) -> Result<(), FormatError> {
        if self.uri.is_none() && self.digest.is_empty() && self.content.is_none() {
            return Err(FormatError::malformed(
                what,
                field,
                "needs at least one of `uri`, `digest` or `content`",
            ));
        }
        self.digest.validate(what, &format!("{field}.digest"))
    }
}

/// A parsed statement. `predicate` stays raw JSON; typed predicates live in
/// [`crate::provenance`].
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub version: StatementVersion,
    pub subject: Vec<ResourceDescriptor>,
    pub predicate_type: String,
    pub predicate: Value,
}

#[derive(Deserialize, Serialize)]
struct WireStatement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Value,
}

impl Statement {
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: impl Into<String>,
        predicate: Value,
    ) -> Self {
        Statement {
            version: StatementVersion::V1,
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Parses a statement strictly. Unknown top-level fields are ignored, as the in-toto
    /// spec requires of consumers; every field cairn relies on is checked.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, FormatError> {
        // Check `_type` before anything else so that a foreign document is named as such.
        let raw: Value = parse_strict(bytes, "statement", limits)?;
        let type_ = raw.get("_type").and_then(Value::as_str).ok_or_else(|| {
            FormatError::malformed("statement", "_type", "missing or not a string")
        })?;
        let version = match type_ {
            STATEMENT_V1 => StatementVersion::V1,
            STATEMENT_V01 => StatementVersion::V01,
            other => {
                return Err(FormatError::UnknownStatementType {
                    found: other.to_string(),
                })
            }
        };
        let wire: WireStatement = serde_path_to_error::deserialize(raw).map_err(|e| {
            let path = e.path().to_string();
            FormatError::malformed("statement", path, e.into_inner().to_string())
        })?;
        if wire.subject.is_empty() {
            return Err(FormatError::malformed(
                "statement",
                "subject",
                "must list at least one subject",
            ));
        }
        for (i, s) in wire.subject.iter().enumerate() {
            let field = format!("subject[{i}]");
            if s.digest.is_empty() {
                return Err(FormatError::malformed(
                    "statement",
                    format!("{field}.digest"),
                    "a subject must carry a digest",
                ));
            }
            s.validate("statement", &field)?;
        }
        if wire.predicate_type.is_empty() {
            return Err(FormatError::malformed(
                "statement",
                "predicateType",
                "must not be empty",
            ));
        }
        Ok(Statement {
            version,
            subject: wire.subject,
            predicate_type: wire.predicate_type,
            predicate: wire.predicate,
        })
    }

    /// Parses the statement inside an in-toto envelope, refusing other payload types.
    pub fn from_envelope(env: &Envelope, limits: &Limits) -> Result<Self, FormatError> {
        env.require_payload_type(IN_TOTO_PAYLOAD_TYPE)?;
        Statement::parse(&env.payload, limits)
    }

    pub fn to_json(&self) -> String {
        let wire = WireStatement {
            type_: self.version.type_uri().to_string(),
            subject: self.subject.clone(),
            predicate_type: self.predicate_type.clone(),
            predicate: self.predicate.clone(),
        };
        serde_json::to_string(&wire).expect("statement serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(t: &str, subject: &str) -> Vec<u8> {
        format!(r#"{{"_type":"{t}","subject":{subject},"predicateType":"https://slsa.dev/provenance/v1","predicate":{{}}}}"#).into_bytes()
    }
    const SUBJ: &str = r#"[{"name":"a","digest":{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}]"#;

    #[test]
    fn parses_v1_and_v01() {
        let l = Limits::default();
        assert_eq!(
            Statement::parse(&stmt(STATEMENT_V1, SUBJ), &l)
                .unwrap()
                .version,
            StatementVersion::V1
        );
        assert_eq!(
            Statement::parse(&stmt(STATEMENT_V01, SUBJ), &l)
                .unwrap()
                .version,
            StatementVersion::V01
        );
    }

    #[test]
    fn rejects_unknown_type_and_empty_subjects() {
        let l = Limits::default();
        let e = Statement::parse(&stmt("https://in-toto.io/Statement/v9", SUBJ), &l).unwrap_err();
        assert_eq!(
            e,
            FormatError::UnknownStatementType {
                found: "https://in-toto.io/Statement/v9".into()
            }
        );
        let e = Statement::parse(&stmt(STATEMENT_V1, "[]"), &l).unwrap_err();
        assert!(matches!(e, FormatError::Malformed { ref path, .. } if path == "subject"));
        let e = Statement::parse(&stmt(STATEMENT_V1, r#"[{"name":"a"}]"#), &l).unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref path, .. } if path == "subject[0].digest")
        );
        let e = Statement::parse(
            &stmt(STATEMENT_V1, r#"[{"name":"a","digest":{"sha256":"XYZ"}}]"#),
            &l,
        )
        .unwrap_err();
        assert!(
            matches!(e, FormatError::InvalidDigest { ref field, .. } if field == "subject[0].digest.sha256")
        );
        let e = Statement::parse(
            &stmt(STATEMENT_V1, r#"[{"name":1,"digest":{"sha256":"ab"}}]"#),
            &l,
        )
        .unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref path, .. } if path == "subject[0].name"),
            "{e:?}"
        );
    }

    #[test]
    fn round_trips() {
        let l = Limits::default();
        let s = Statement::parse(&stmt(STATEMENT_V1, SUBJ), &l).unwrap();
        assert_eq!(Statement::parse(s.to_json().as_bytes(), &l).unwrap(), s);
    }
}

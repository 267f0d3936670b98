//! The cairn bundle (`docs/bundle.md`): one JSON file that carries one or more DSSE
//! envelopes and, beside each, the evidence that later steps add: hardware evidence,
//! transparency-log receipts, RFC 3161 timestamps and attachments such as the toolchain
//! manifest. Also detection of every input `--bundle` accepts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dsse::{Envelope, WireEnvelope};
use crate::error::FormatError;
use crate::json::{check_duplicates, check_text, parse_strict, Limits};

/// Media type of version 1 of the cairn bundle.
pub const CAIRN_BUNDLE_MEDIA_TYPE: &str = "application/vnd.cairn.bundle.v1+json";
const CAIRN_BUNDLE_PREFIX: &str = "application/vnd.cairn.bundle";
const SIGSTORE_BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";

/// A cairn bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub attestations: Vec<Attestation>,
}

/// One envelope and what accompanies it. The evidence, receipt, timestamp and attachment
/// entries are JSON objects with a `kind` each; the crates that own each kind parse them,
/// and the verifier refuses kinds it does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    pub envelope: Envelope,
    pub evidence: Vec<Value>,
    pub log_receipts: Vec<Value>,
    pub timestamps: Vec<Value>,
    pub attachments: Vec<Value>,
}

impl Attestation {
    pub fn new(envelope: Envelope) -> Self {
        Attestation {
            envelope,
            evidence: Vec::new(),
            log_receipts: Vec::new(),
            timestamps: Vec::new(),
            attachments: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireBundle {
    media_type: String,
    attestations: Vec<WireAttestation>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireAttestation {
    dsse_envelope: WireEnvelope,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    evidence: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    log_receipts: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    timestamps: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Value>,
}

impl Bundle {
    pub fn new(attestations: Vec<Attestation>) -> Self {
        Bundle { attestations }
    }

    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, FormatError> {
        let wire: WireBundle = parse_strict(bytes, "bundle", limits)?;
        if wire.media_type != CAIRN_BUNDLE_MEDIA_TYPE {
            return Err(FormatError::UnsupportedVersion {
                what: "bundle",
                field: "mediaType",
                found: wire.media_type,
            });
        }
        if wire.attestations.is_empty() {
            return Err(FormatError::malformed(
                "bundle",
                "attestations",
                "must hold at least one attestation",
            ));
        }
        let mut attestations = Vec::with_capacity(wire.attestations.len());
        for (i, a) in wire.attestations.into_iter().enumerate() {
            let prefix = format!("attestations[{i}].dsseEnvelope.");
            let envelope = Envelope::from_wire_in(a.dsse_envelope, "bundle", &prefix)?;
            for (list, name) in [
                (&a.evidence, "evidence"),
                (&a.log_receipts, "logReceipts"),
                (&a.timestamps, "timestamps"),
                (&a.attachments, "attachments"),
            ] {
                for (j, item) in list.iter().enumerate() {
                    if !item.is_object() {
                        return Err(FormatError::malformed(
                            "bundle",
                            format!("attestations[{i}].{name}[{j}]"),
                            "must be a JSON object",
                        ));
                    }
                }
            }
            for (j, item) in a.evidence.iter().chain(a.attachments.iter()).enumerate() {
                if item.get("kind").and_then(Value::as_str).is_none() {
                    return Err(FormatError::malformed(
                        "bundle",
                        format!("attestations[{i}] entry {j}"),
                        "evidence and attachments need a string `kind`",
                    ));
                }
            }
            attestations.push(Attestation {
                envelope,
                evidence: a.evidence,
                log_receipts: a.log_receipts,
                timestamps: a.timestamps,
                attachments: a.attachments,
            });
        }
        Ok(Bundle { attestations })
    }

    /// Pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let wire = WireBundle {
            media_type: CAIRN_BUNDLE_MEDIA_TYPE.to_string(),
            attestations: self
                .attestations
                .iter()
                .map(|a| WireAttestation {
                    dsse_envelope: a.envelope.to_wire(),
                    evidence: a.evidence.clone(),
                    log_receipts: a.log_receipts.clone(),
                    timestamps: a.timestamps.clone(),
                    attachments: a.attachments.clone(),
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&wire).expect("bundle serialises");
        s.push('\n');
        s
    }
}

/// What a `--bundle` file turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum BundleInput {
    /// A cairn bundle.
    Cairn(Bundle),
    /// One bare DSSE envelope.
    Envelope(Envelope),
    /// A JSON-lines file of envelopes (`.intoto.jsonl`), in file order.
    JsonLines(Vec<Envelope>),
    /// A Sigstore bundle, any version: handed on undecoded to the Sigstore verifier.
    Sigstore(Vec<u8>),
}

impl BundleInput {
    /// Detects and parses what `--bundle` was given. Each form is parsed strictly.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, FormatError> {
        let text = check_text(bytes, "bundle", limits)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FormatError::malformed("bundle", "$", "empty input"));
        }
        // Several non-empty lines, each a JSON object: JSON lines.
        let lines: Vec<&str> = trimmed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.len() > 1
            && lines.iter().all(|l| l.starts_with('{') && l.ends_with('}'))
            && check_duplicates(trimmed, "bundle").is_err()
        {
            let mut envs = Vec::with_capacity(lines.len());
            for (i, line) in lines.iter().enumerate() {
                let env = Envelope::parse(line.as_bytes(), limits).map_err(|e| match e {
                    FormatError::Malformed { path, reason, .. } => {
                        FormatError::malformed("bundle", format!("line {}: {path}", i + 1), reason)
                    }
                    other => other,
                })?;
                envs.push(env);
            }
            return Ok(BundleInput::JsonLines(envs));
        }
        let value: Value = parse_strict(bytes, "bundle", limits)?;
        let obj = value
            .as_object()
            .ok_or_else(|| FormatError::malformed("bundle", "$", "expected a JSON object"))?;
        if let Some(mt) = obj.get("mediaType").and_then(Value::as_str) {
            if mt.starts_with(CAIRN_BUNDLE_PREFIX) {
                return Ok(BundleInput::Cairn(Bundle::parse(bytes, limits)?));
            }
            if mt.starts_with(SIGSTORE_BUNDLE_PREFIX) {
                return Ok(BundleInput::Sigstore(bytes.to_vec()));
            }
            return Err(FormatError::UnsupportedVersion {
                what: "bundle",
                field: "mediaType",
                found: mt.to_string(),
            });
        }
        if obj.contains_key("payloadType") {
            return Ok(BundleInput::Envelope(Envelope::parse(bytes, limits)?));
        }
        Err(FormatError::malformed(
            "bundle",
            "$",
            "not a cairn bundle, DSSE envelope, JSON-lines file of envelopes or Sigstore bundle",
        ))
    }

    /// Every DSSE envelope in the input (none for a Sigstore bundle).
    pub fn envelopes(&self) -> Vec<&Envelope> {
        match self {
            BundleInput::Cairn(b) => b.attestations.iter().map(|a| &a.envelope).collect(),
            BundleInput::Envelope(e) => vec![e],
            BundleInput::JsonLines(es) => es.iter().collect(),
            BundleInput::Sigstore(_) => Vec::new(),
        }
    }

    pub fn format_name(&self) -> &'static str {
        match self {
            BundleInput::Cairn(_) => "cairn-bundle",
            BundleInput::Envelope(_) => "dsse-envelope",
            BundleInput::JsonLines(_) => "intoto-jsonl",
            BundleInput::Sigstore(_) => "sigstore-bundle",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::Signature;

    fn env(n: u8) -> Envelope {
        Envelope {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: vec![b'{', n, b'}'],
            signatures: vec![Signature {
                keyid: Some("k".into()),
                sig: vec![1, 2, 3],
                cert: None,
            }],
        }
    }

    #[test]
    fn detects_each_form() {
        let l = Limits::default();
        let b = Bundle::new(vec![Attestation::new(env(1)), Attestation::new(env(2))]);
        assert_eq!(
            BundleInput::parse(b.to_json().as_bytes(), &l).unwrap(),
            BundleInput::Cairn(b.clone())
        );
        assert_eq!(
            BundleInput::parse(env(1).to_json().as_bytes(), &l).unwrap(),
            BundleInput::Envelope(env(1))
        );
        let jsonl = format!("{}\n{}\n", env(1).to_json(), env(2).to_json());
        assert_eq!(
            BundleInput::parse(jsonl.as_bytes(), &l).unwrap(),
            BundleInput::JsonLines(vec![env(1), env(2)])
        );
        let sig = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":1}"#;
        assert!(matches!(
            BundleInput::parse(sig, &l).unwrap(),
            BundleInput::Sigstore(_)
        ));
    }

    #[test]
    fn rejects_unknown_media_type_and_fields() {
        let l = Limits::default();
        let e = BundleInput::parse(
            br#"{"mediaType":"application/vnd.cairn.bundle.v9+json","attestations":[]}"#,
            &l,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            FormatError::UnsupportedVersion {
                field: "mediaType",
                ..
            }
        ));
        let b = Bundle::new(vec![Attestation::new(env(1))])
            .to_json()
            .replace("\"attestations\"", "\"surprise\": 1, \"attestations\"");
        let e = BundleInput::parse(b.as_bytes(), &l).unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref reason, .. } if reason.contains("unknown field `surprise`")),
            "{e:?}"
        );
        let e = BundleInput::parse(b"[]", &l).unwrap_err();
        assert!(matches!(e, FormatError::Malformed { .. }));
        let e = BundleInput::parse(b"  \n", &l).unwrap_err();
        assert!(matches!(e, FormatError::Malformed { ref reason, .. } if reason == "empty input"));
    }

    #[test]
    fn evidence_needs_a_kind() {
        let mut a = Attestation::new(env(1));
        a.evidence.push(serde_json::json!({"no-kind": true}));
        let e = Bundle::parse(
            Bundle::new(vec![a]).to_json().as_bytes(),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(e, FormatError::Malformed { .. }));
    }
}

//! DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1.0.0).
//!
//! Parsing decodes base64 in either alphabet; signature checking lives in `cairn-sign`,
//! and always runs over [`pae`] of the decoded bytes, never over re-serialised JSON.

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::FormatError;
use crate::json::{parse_strict, Limits};

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Pre-Authentication Encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
/// with lengths as ASCII decimal byte counts.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let t = payload_type.as_bytes();
    let mut out = Vec::with_capacity(32 + t.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(t.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(t);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One DSSE signature. `keyid` is an unauthenticated hint; `cert` is carried by
/// slsa-github-generator envelopes (a PEM Fulcio certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub keyid: Option<String>,
    pub sig: Vec<u8>,
    pub cert: Option<String>,
}

/// A decoded DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Signature>,
}

/// Wire form, as it appears in JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEnvelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<WireSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSignature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    pub sig: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
}

impl Envelope {
    /// Parses a JSON envelope strictly.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, FormatError> {
        let wire: WireEnvelope = parse_strict(bytes, "envelope", limits)?;
        Envelope::from_wire(wire)
    }

    pub fn from_wire(wire: WireEnvelope) -> Result<Self, FormatError> {
        Self::from_wire_in(wire, "envelope", "")
    }

    /// Decodes a wire envelope found at `prefix` inside a larger document `what`.
    pub fn from_wire_in(
        wire: WireEnvelope,
        what: &'static str,
        prefix: &str,
    ) -> Result<Self, FormatError> {
        if wire.payload_type.is_empty() {
            return Err(FormatError::malformed(
                what,
                format!("{prefix}payloadType"),
                "must not be empty",
            ));
        }
        let payload = b64::decode_any(&wire.payload).ok_or_else(|| FormatError::InvalidBase64 {
            what,
            field: format!("{prefix}payload"),
        })?;
        let mut signatures = Vec::with_capacity(wire.signatures.len());
        for (i, s) in wire.signatures.into_iter().enumerate() {
            let sig = b64::decode_any(&s.sig).ok_or_else(|| FormatError::InvalidBase64 {
                what,
                field: format!("{prefix}signatures[{i}].sig"),
            })?;
            if sig.is_empty() {
                return Err(FormatError::malformed(
                    what,
                    format!("{prefix}signatures[{i}].sig"),
                    "empty signature",
                ));
            }
            signatures.push(Signature {
                keyid: s.keyid.filter(|k| !k.is_empty()),
                sig,
                cert: s.cert,
            });
        }
        Ok(Envelope {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }

    pub fn to_wire(&self) -> WireEnvelope {
        WireEnvelope {
            payload: b64::encode(&self.payload),
            payload_type: self.payload_type.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|s| WireSignature {
                    keyid: s.keyid.clone(),
                    sig: b64::encode(&s.sig),
                    cert: s.cert.clone(),
                })
                .collect(),
        }
    }

    /// Compact JSON, as written to `.intoto.jsonl` lines and bundles.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_wire()).expect("envelope serialises")
    }

    /// The bytes every signature covers.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Fails unless the payload type is the one the caller supports.
    pub fn require_payload_type(&self, expected: &str) -> Result<(), FormatError> {
        if self.payload_type != expected {
            return Err(FormatError::UnsupportedPayloadType {
                found: self.payload_type.clone(),
                expected: expected.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("t", b""), b"DSSEv1 1 t 0 ".to_vec());
        // lengths are bytes, not characters
        assert_eq!(pae("é", b"x"), "DSSEv1 2 é 1 x".as_bytes().to_vec());
    }

    #[test]
    fn round_trip_and_lenient_base64() {
        let env = Envelope::parse(
            br#"{"payload":"-_-_Pj8","payloadType":"t","signatures":[{"keyid":"","sig":"AQ=="}]}"#,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(env.payload, vec![0xfb, 0xff, 0xbf, 0x3e, 0x3f]);
        assert_eq!(env.signatures[0].keyid, None);
        let again = Envelope::parse(env.to_json().as_bytes(), &Limits::default()).unwrap();
        assert_eq!(again, env);
    }

    #[test]
    fn rejects_bad_fields() {
        let l = Limits::default();
        let e = Envelope::parse(
            br#"{"payload":"AA==","payloadType":"","signatures":[]}"#,
            &l,
        )
        .unwrap_err();
        assert!(matches!(e, FormatError::Malformed { ref path, .. } if path == "payloadType"));
        let e = Envelope::parse(
            br#"{"payload":"A$==","payloadType":"t","signatures":[]}"#,
            &l,
        )
        .unwrap_err();
        assert_eq!(
            e,
            FormatError::InvalidBase64 {
                what: "envelope",
                field: "payload".into()
            }
        );
        let e = Envelope::parse(
            br#"{"payload":"AA==","payloadType":"t","signatures":[{"sig":"!"}]}"#,
            &l,
        )
        .unwrap_err();
        assert_eq!(
            e,
            FormatError::InvalidBase64 {
                what: "envelope",
                field: "signatures[0].sig".into()
            }
        );
        let e = Envelope::parse(
            br#"{"payload":"AA==","payloadType":"t","signatures":[],"extra":1}"#,
            &l,
        )
        .unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref reason, .. } if reason.contains("unknown field `extra`")),
            "{e:?}"
        );
        let e = Envelope::parse(
            br#"{"payload":"AA==","payload":"AQ==","payloadType":"t","signatures":[]}"#,
            &l,
        )
        .unwrap_err();
        assert!(matches!(e, FormatError::DuplicateKey { .. }));
    }
}

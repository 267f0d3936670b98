//! PyPI (PEP 740) attestation objects and provenance objects, converted to the Sigstore
//! bundles they are a re-encoding of (as pypi-attestations does), so they verify through
//! the same path. Nothing in these objects is trusted before verification: PyPI's
//! unsigned `publisher` block is ignored.

use serde_json::{json, Map, Value};

use crate::error::SigstoreError;

/// What a PEP 740 document was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pep740Kind {
    /// One attestation object (`*.publish.attestation`).
    Attestation,
    /// A provenance object with attestation bundles (`*.provenance`).
    Provenance,
}

/// Recognises a PEP 740 attestation or provenance object by its shape.
pub fn detect(value: &Value) -> Option<Pep740Kind> {
    let obj = value.as_object()?;
    if obj.get("version").and_then(Value::as_u64) != Some(1) {
        return None;
    }
    if obj.contains_key("verification_material") && obj.contains_key("envelope") {
        Some(Pep740Kind::Attestation)
    } else if obj.contains_key("attestation_bundles") {
        Some(Pep740Kind::Provenance)
    } else {
        None
    }
}

/// Parses `bytes` and, when it is a PEP 740 document, returns one Sigstore bundle (JSON)
/// per attestation it holds. `Ok(None)` when it is not PEP 740.
pub fn to_sigstore_bundles(bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>, SigstoreError> {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(None);
    };
    let Some(kind) = detect(&value) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad("$", &e.to_string()))?;
    cairn_formats::json::check_duplicates(text, "PEP 740 document")
        .map_err(|e| SigstoreError::MalformedBundle(e.to_string()))?;
    let attestations: Vec<&Value> = match kind {
        Pep740Kind::Attestation => vec![&value],
        Pep740Kind::Provenance => {
            let bundles = value["attestation_bundles"]
                .as_array()
                .ok_or_else(|| bad("attestation_bundles", "not an array"))?;
            let mut out = Vec::new();
            for (i, b) in bundles.iter().enumerate() {
                let atts = b
                    .get("attestations")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        bad(
                            &format!("attestation_bundles[{i}].attestations"),
                            "missing or not an array",
                        )
                    })?;
                out.extend(atts.iter());
            }
            out
        }
    };
    if attestations.is_empty() {
        return Err(bad("attestation_bundles", "holds no attestation"));
    }
    attestations
        .into_iter()
        .enumerate()
        .map(|(i, a)| convert(a).map_err(|e| prefix(i, e)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn convert(att: &Value) -> Result<Vec<u8>, SigstoreError> {
    if att.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(bad("version", "only attestation version 1 is defined"));
    }
    let s = |path: &str| -> Result<&str, SigstoreError> {
        att.pointer(path)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(path, "missing or not a string"))
    };
    let cert = s("/verification_material/certificate")?;
    let statement = s("/envelope/statement")?;
    let signature = s("/envelope/signature")?;
    let entries = att
        .pointer("/verification_material/transparency_entries")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(
                "/verification_material/transparency_entries",
                "missing or not an array",
            )
        })?;
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": { "rawBytes": cert },
            "tlogEntries": entries,
            "timestampVerificationData": Value::Object(Map::new()),
        },
        "dsseEnvelope": {
            "payload": statement,
            "payloadType": cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE,
            "signatures": [ { "sig": signature } ],
        }
    });
    serde_json::to_vec(&bundle).map_err(|e| bad("$", &e.to_string()))
}

fn bad(field: &str, reason: &str) -> SigstoreError {
    SigstoreError::MalformedBundle(format!("PEP 740 attestation {field}: {reason}"))
}

fn prefix(i: usize, e: SigstoreError) -> SigstoreError {
    match e {
        SigstoreError::MalformedBundle(m) => {
            SigstoreError::MalformedBundle(format!("attestation {i}: {m}"))
        }
        other => other,
    }
}

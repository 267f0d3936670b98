//! Export of a DSSE envelope as a Sigstore bundle v0.3 with a public-key hint, so that
//! Sigstore tooling that accepts managed keys can check the signature.

use serde_json::{json, Value};

use crate::dsse::Envelope;

pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Builds the Sigstore bundle JSON. `key_hint` is the signer's key id, as Sigstore's
/// `publicKey.hint`. The bundle carries no transparency-log entry: cairn's own log
/// receipts are not Rekor entries, so verifiers must be told to skip the tlog check.
pub fn to_sigstore_bundle(envelope: &Envelope, key_hint: &str) -> Value {
    let wire = envelope.to_wire();
    json!({
        "mediaType": SIGSTORE_BUNDLE_V03,
        "verificationMaterial": {
            "publicKey": { "hint": key_hint },
            "tlogEntries": [],
            "timestampVerificationData": { "rfc3161Timestamps": [] }
        },
        "dsseEnvelope": {
            "payload": wire.payload,
            "payloadType": wire.payload_type,
            "signatures": wire.signatures.iter().map(|s| json!({"sig": s.sig, "keyid": s.keyid.clone().unwrap_or_default()})).collect::<Vec<_>>()
        }
    })
}

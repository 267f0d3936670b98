//! The record cairn logs for a DSSE envelope (`docs/log.md`, "Entry format").
//!
//! Attestations can be large; entry bundles cap entries at 64 KiB and every byte is kept
//! forever. So the log holds a fixed 65-byte record and the envelope stays in the bundle:
//!
//! ```text
//! entry = 0x01                                                   version
//!      || SHA-256("cairn/log-entry/v1/pae\n"  || PAE(type, payload))
//!      || SHA-256("cairn/log-entry/v1/sigs\n" || for each signature, in envelope order:
//!                                                 u32 BE length || signature bytes)
//! ```
//!
//! The PAE digest commits to what was said (payload type and payload); the signature
//! digest commits to who said it, so a monitor holding the bundle can tell which key signed
//! each logged statement. Key-id hints are not covered: they are unsigned hints in DSSE.

use cairn_formats::dsse::Envelope;

use crate::merkle::{sha256, Hash};

/// Version byte of the entry format.
pub const ENTRY_VERSION: u8 = 0x01;
/// Length of every v1 entry.
pub const ENTRY_LEN: usize = 1 + 32 + 32;

const PAE_LABEL: &[u8] = b"cairn/log-entry/v1/pae\n";
const SIGS_LABEL: &[u8] = b"cairn/log-entry/v1/sigs\n";

/// Domain-separated SHA-256 of the envelope's PAE.
pub fn pae_digest(env: &Envelope) -> Hash {
    let mut buf = PAE_LABEL.to_vec();
    buf.extend_from_slice(&env.pae());
    sha256(&buf)
}

/// Domain-separated SHA-256 over the envelope's signatures, in order.
pub fn signatures_digest(env: &Envelope) -> Hash {
    let mut buf = SIGS_LABEL.to_vec();
    for s in &env.signatures {
        // Signature lengths are bounded by the input size limit, far below u32::MAX.
        buf.extend_from_slice(&(s.sig.len() as u32).to_be_bytes());
        buf.extend_from_slice(&s.sig);
    }
    sha256(&buf)
}

/// The 65-byte log entry for an envelope.
pub fn entry_for_envelope(env: &Envelope) -> Vec<u8> {
    let mut e = Vec::with_capacity(ENTRY_LEN);
    e.push(ENTRY_VERSION);
    e.extend_from_slice(&pae_digest(env));
    e.extend_from_slice(&signatures_digest(env));
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_formats::dsse::Signature;

    fn env(payload: &[u8], sig: &[u8]) -> Envelope {
        Envelope {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: payload.to_vec(),
            signatures: vec![Signature {
                keyid: Some("k".into()),
                sig: sig.to_vec(),
                cert: None,
            }],
        }
    }

    #[test]
    fn entry_is_fixed_size_and_binds_payload_type_and_signatures() {
        let a = env(b"{}", b"sig");
        let e = entry_for_envelope(&a);
        assert_eq!(e.len(), ENTRY_LEN);
        assert_eq!(e[0], ENTRY_VERSION);
        // Deterministic, and large payloads still give 65 bytes.
        assert_eq!(e, entry_for_envelope(&a.clone()));
        assert_eq!(
            entry_for_envelope(&env(&vec![b'x'; 1 << 20], b"sig")).len(),
            ENTRY_LEN
        );
        // Each part matters.
        assert_ne!(e, entry_for_envelope(&env(b"{ }", b"sig")));
        assert_ne!(e, entry_for_envelope(&env(b"{}", b"sig2")));
        let mut t = a.clone();
        t.payload_type = "text/plain".into();
        assert_ne!(e, entry_for_envelope(&t));
        // The key-id hint does not.
        let mut k = a.clone();
        k.signatures[0].keyid = None;
        assert_eq!(e, entry_for_envelope(&k));
        // The PAE digest is the labelled hash of the PAE.
        let mut want = b"cairn/log-entry/v1/pae\n".to_vec();
        want.extend_from_slice(&cairn_formats::dsse::pae(
            "application/vnd.in-toto+json",
            b"{}",
        ));
        assert_eq!(&e[1..33], &sha256(&want));
    }
}

//! AWS Nitro Enclaves attestation documents: a COSE_Sign1 (ES384) over a CBOR
//! `AttestationDoc`, whose `cabundle` runs from the AWS Nitro Enclaves Root-G1 to the
//! signing certificate.
//!
//! Why not the `nitro_attest` crate at run time: it compiles its root fingerprint in,
//! so it cannot verify against any other anchor (a test chain, a private deployment),
//! and it drops all-zero PCRs from its output, which hides a debug-mode enclave. The
//! parsing here is still crates (`coset` for COSE, AWS's `aws-nitro-enclaves-nsm-api` for
//! the document, `x509-parser` for the certificates, `aws-lc-rs` for ECDSA P-384); only
//! the chain walk is ours. `nitro_attest` serves as a second oracle on AWS's real sample in the tests.
//!
//! Checks: the document decodes (size-limited, no trailing data), alg ES384, the first
//! `cabundle` certificate is a trusted root by SHA-256 fingerprint, each next one is
//! signed by the one before with ecdsa-with-SHA384 and is a CA, the signing certificate is
//! signed by the last, every certificate is valid at `now`, the COSE signature verifies
//! with the signing certificate's P-384 key, the PCRs are SHA-384 and PCR0 is not all zero
//! (debug mode), and `user_data` is SHA-256(PAE) ‖ 32 zero bytes.

use std::collections::BTreeMap;

use ::time::OffsetDateTime;
use aws_nitro_enclaves_nsm_api::api::{AttestationDoc, Digest as NsmDigest};
use cairn_formats::Envelope;
use coset::{iana, CborSerializable, CoseSign1};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use x509_parser::prelude::*;

use super::TeePolicy;
use crate::error::EvidenceError;

pub const NITRO_KIND: &str = "nitro-attestation";
/// Real documents are about 4.5 KiB; the NSM caps user data, nonce and key at 1 KiB each.
pub const MAX_DOCUMENT_LEN: usize = 32 * 1024;
/// At most this many certificates in `cabundle` (AWS uses four).
const MAX_CABUNDLE: usize = 8;

/// SHA-256 of the AWS Nitro Enclaves Root-G1 certificate (DER), as AWS publishes it.
pub const AWS_NITRO_ROOT_G1_SHA256: [u8; 32] =
    hex_literal("641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");

const fn hex_literal(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// The `nitro-attestation` evidence entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NitroEvidence {
    pub kind: String,
    /// Base64 of the COSE_Sign1 attestation document, as the NSM returned it.
    pub document: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedNitro {
    pub module_id: String,
    /// When the NSM made the document (its clock).
    pub timestamp: String,
    /// Non-zero PCRs, SHA-384, hex.
    pub pcrs: BTreeMap<u16, String>,
    /// Subject of the root the chain ends in.
    pub root: String,
    pub user_data: Option<String>,
}

fn err(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::TeeReport {
        kind: NITRO_KIND,
        reason: reason.into(),
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    crate::tpm::structures::sha256(&[b])
}

/// One certificate of the chain, parsed, with its position for messages.
struct ChainCert<'a> {
    what: String,
    x509: X509Certificate<'a>,
}

fn parse_cert<'a>(der: &'a [u8], what: String) -> Result<ChainCert<'a>, EvidenceError> {
    let (rest, x509) = X509Certificate::from_der(der)
        .map_err(|e| err(format!("{what}: not a DER X.509 certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(err(format!("{what}: trailing bytes after the certificate")));
    }
    Ok(ChainCert { what, x509 })
}

impl ChainCert<'_> {
    fn check_time(&self, now: OffsetDateTime) -> Result<(), EvidenceError> {
        let v = self.x509.validity();
        if !v.is_valid_at(ASN1Time::from(now)) {
            return Err(err(format!(
                "{} ({}) is not valid at {now}: valid {} to {}",
                self.what,
                self.x509.subject(),
                v.not_before,
                v.not_after
            )));
        }
        Ok(())
    }

    fn check_signed_by(&self, parent: &ChainCert<'_>) -> Result<(), EvidenceError> {
        if self.x509.signature_algorithm.algorithm
            != x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA384
        {
            return Err(err(format!(
                "{}: signature algorithm {} is not ecdsa-with-SHA384",
                self.what, self.x509.signature_algorithm.algorithm
            )));
        }
        if self.x509.issuer() != parent.x509.subject() {
            return Err(err(format!(
                "{}: issuer {} is not the subject of {} ({})",
                self.what,
                self.x509.issuer(),
                parent.what,
                parent.x509.subject()
            )));
        }
        // aws-lc-rs rather than x509-parser's ring backend: P-384 verification is most of
        // the cost of a document (five signatures), and aws-lc is ~2x faster here.
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
            &parent.x509.public_key().subject_public_key.data,
        );
        key.verify(
            self.x509.tbs_certificate.as_ref(),
            &self.x509.signature_value.data,
        )
        .map_err(|_| {
            err(format!(
                "{}: signature does not verify with the key of {}",
                self.what, parent.what
            ))
        })
    }

    fn check_is_ca(&self) -> Result<(), EvidenceError> {
        match self.x509.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => Ok(()),
            _ => Err(err(format!(
                "{} ({}) is not a CA certificate (basicConstraints cA)",
                self.what,
                self.x509.subject()
            ))),
        }
    }
}

/// Verifies a document's signature and chain at `now` against `roots` (SHA-256 of root
/// certificates' DER; empty = AWS Root-G1). Does not look at `user_data`; see
/// [`verify_nitro_evidence`] for the binding.
pub fn verify_nitro_document(
    document: &[u8],
    roots: &[[u8; 32]],
    now: OffsetDateTime,
) -> Result<VerifiedNitro, EvidenceError> {
    if document.len() > MAX_DOCUMENT_LEN {
        return Err(err(format!(
            "document is {} bytes, more than the {MAX_DOCUMENT_LEN}-byte limit",
            document.len()
        )));
    }
    let cose = CoseSign1::from_slice(document)
        .map_err(|e| err(format!("not a COSE_Sign1 structure: {e:?}")))?;
    match &cose.protected.header.alg {
        Some(coset::Algorithm::Assigned(iana::Algorithm::ES384)) => {}
        other => return Err(err(format!("COSE algorithm {other:?} is not ES384"))),
    }
    let payload = cose
        .payload
        .as_deref()
        .ok_or_else(|| err("COSE_Sign1 has no payload"))?;
    let doc = AttestationDoc::from_binary(payload)
        .map_err(|e| err(format!("attestation document payload: {e:?}")))?;
    if doc.cabundle.is_empty() || doc.cabundle.len() > MAX_CABUNDLE {
        return Err(err(format!(
            "cabundle holds {} certificates; expected 1 to {MAX_CABUNDLE}",
            doc.cabundle.len()
        )));
    }

    // The chain: cabundle[0] is the root, pinned by fingerprint; each later certificate
    // is signed by the one before it; the signing certificate comes last.
    let default_roots = [AWS_NITRO_ROOT_G1_SHA256];
    let roots = if roots.is_empty() {
        &default_roots[..]
    } else {
        roots
    };
    let root_fp = sha256(&doc.cabundle[0]);
    if !roots.contains(&root_fp) {
        return Err(err(format!(
            "cabundle[0] (SHA-256 {}) is not a trusted root (trusted: {})",
            hex::encode(root_fp),
            roots.iter().map(hex::encode).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut chain = Vec::with_capacity(doc.cabundle.len() + 1);
    for (i, der) in doc.cabundle.iter().enumerate() {
        chain.push(parse_cert(der, format!("cabundle[{i}]"))?);
    }
    chain.push(parse_cert(
        &doc.certificate,
        "the signing certificate".into(),
    )?);
    // The root is pinned by fingerprint: its self-signature adds nothing.
    let root = &chain[0];
    for (i, c) in chain.iter().enumerate() {
        c.check_time(now)?;
        if i + 1 < chain.len() {
            c.check_is_ca()?;
        }
        if i > 0 {
            c.check_signed_by(&chain[i - 1])?;
        }
    }

    // The COSE signature, by the signing certificate's P-384 key (r ‖ s, 96 bytes).
    let leaf = &chain[chain.len() - 1];
    let key = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
        &leaf.x509.public_key().subject_public_key.data,
    );
    cose.verify_signature(b"", |sig, data| {
        if sig.len() != 96 {
            return Err(err(format!(
                "COSE signature is {} bytes, not 96",
                sig.len()
            )));
        }
        key.verify(data, sig)
            .map_err(|_| err("COSE signature does not verify with the signing certificate"))
    })?;

    if doc.digest != NsmDigest::SHA384 {
        return Err(err(format!("PCR digest {:?} is not SHA384", doc.digest)));
    }
    let mut pcrs = BTreeMap::new();
    for (idx, value) in &doc.pcrs {
        if value.len() != 48 {
            return Err(err(format!("PCR{idx} is {} bytes, not 48", value.len())));
        }
        let idx = u16::try_from(*idx).map_err(|_| err(format!("PCR index {idx} out of range")))?;
        if value.iter().any(|b| *b != 0) {
            pcrs.insert(idx, hex::encode(value));
        }
    }
    if !pcrs.contains_key(&0) {
        return Err(err(
            "PCR0 is all zeros or absent: the enclave runs in debug mode, whose memory the parent instance can read",
        ));
    }
    let timestamp = i64::try_from(doc.timestamp / 1000)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| err(format!("timestamp {} ms is out of range", doc.timestamp)))?;
    Ok(VerifiedNitro {
        module_id: doc.module_id,
        timestamp: timestamp
            .format(&::time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        pcrs,
        root: root.x509.subject().to_string(),
        user_data: doc.user_data.map(|u| hex::encode(u.as_slice())),
    })
}

/// Verifies a `nitro-attestation` evidence entry, its binding to `envelope` (`user_data`)
/// and the launch measurement policy (PCR0).
pub fn verify_nitro_evidence(
    evidence: &Value,
    envelope: &Envelope,
    policy: &TeePolicy,
    now: OffsetDateTime,
) -> Result<VerifiedNitro, EvidenceError> {
    let what = "nitro-attestation evidence";
    let ev: NitroEvidence =
        crate::entry::parse_entry(what, NITRO_KIND, |e: &NitroEvidence| &e.kind, evidence)?;
    let document = crate::entry::b64_field(what, "document", &ev.document)?;
    let v = verify_nitro_document(&document, &policy.nitro_roots, now)?;
    let user_data = v
        .user_data
        .as_deref()
        .ok_or_else(|| err("the document has no user_data: it binds no build"))?;
    super::check_report_data(
        NITRO_KIND,
        &hex::decode(user_data).unwrap_or_default(),
        envelope,
    )?;
    let pcr0 = v
        .pcrs
        .get(&0)
        .and_then(|h| hex::decode(h).ok())
        .unwrap_or_default();
    policy.check_launch_measurement(NITRO_KIND, "PCR0", &pcr0)?;
    Ok(v)
}

//! Receipts: what `POST /add` returns and what a bundle keeps in `logReceipts`, and their
//! offline verification.
//!
//! ```json
//! { "kind": "cairn.log.receipt/v1", "origin": "log.example/a", "index": 7,
//!   "tree_size": 12, "entry": "<base64 65-byte entry>",
//!   "proof": ["<base64 hash>", ...], "checkpoint": "<signed note text>" }
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cairn_formats::dsse::Envelope;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, CheckpointError};
use crate::entry::entry_for_envelope;
use crate::merkle::{self, Hash, ProofError};
use crate::note::{NoteError, Verifier, TYPE_ED25519};

/// The `kind` of a cairn log receipt.
pub const RECEIPT_KIND: &str = "cairn.log.receipt/v1";
/// Most proof hashes a receipt may carry (a tree of 2^64 leaves needs 64).
pub const MAX_PROOF_HASHES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub kind: String,
    pub origin: String,
    pub index: u64,
    pub tree_size: u64,
    /// Base64 of the logged entry; must equal the entry recomputed from the envelope.
    pub entry: String,
    /// Base64 hashes, leaf level first.
    pub proof: Vec<String>,
    /// The signed checkpoint the proof leads to, as signed-note text.
    pub checkpoint: String,
}

impl Receipt {
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt field {field}: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("receipt is for a different entry than this envelope's")]
    EntryMismatch,
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("receipt origin {receipt:?} differs from its checkpoint's {checkpoint:?}")]
    OriginMismatch { receipt: String, checkpoint: String },
    #[error("receipt tree_size {receipt} differs from its checkpoint's {checkpoint}")]
    SizeMismatch { receipt: u64, checkpoint: u64 },
    #[error("receipt inclusion proof: {0}")]
    Proof(#[from] ProofError),
    #[error("witness cosignature: {0}")]
    Witness(NoteError),
    #[error("{got} of the required {want} witnesses cosigned the checkpoint")]
    WitnessThreshold { got: usize, want: usize },
    #[error("{0}")]
    Policy(String),
}

fn malformed(field: &'static str, reason: impl Into<String>) -> ReceiptError {
    ReceiptError::Malformed {
        field,
        reason: reason.into(),
    }
}

/// How many of which witnesses must have cosigned a checkpoint.
#[derive(Debug, Clone, Default)]
pub struct WitnessPolicy {
    /// Witness cosigning keys (type 0x04 vkeys).
    pub keys: Vec<Verifier>,
    /// Distinct witnesses required; 0 = none.
    pub threshold: usize,
}

impl WitnessPolicy {
    pub fn none() -> Self {
        WitnessPolicy::default()
    }

    /// Checks the policy is satisfiable and the keys are cosigning keys.
    pub fn new(keys: Vec<Verifier>, threshold: usize) -> Result<Self, ReceiptError> {
        if let Some(k) = keys.iter().find(|k| k.key_type() == TYPE_ED25519) {
            return Err(ReceiptError::Policy(format!(
                "witness key {} is a log key (0x01), not a cosigning key (0x04 or 0x06)",
                k.name()
            )));
        }
        if threshold > keys.len() {
            return Err(ReceiptError::Policy(format!(
                "witness threshold {threshold} exceeds the {} witness keys given",
                keys.len()
            )));
        }
        Ok(WitnessPolicy { keys, threshold })
    }
}

/// What a verified receipt establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub origin: String,
    pub index: u64,
    pub tree_size: u64,
    pub root: Hash,
    /// Names of the log keys whose checkpoint signature verified.
    pub log_keys: Vec<String>,
    /// Names of the log's ML-DSA-44 (0x06) keys whose signature verified; every such key
    /// given as a log key is required.
    pub post_quantum_log_keys: Vec<String>,
    /// Witnesses whose cosignature verified, with their timestamps.
    pub witnesses: Vec<(String, u64)>,
}

/// Parses a receipt from a bundle's `logReceipts` item, strictly.
pub fn parse_receipt(value: &serde_json::Value) -> Result<Receipt, ReceiptError> {
    let r: Receipt =
        serde_json::from_value(value.clone()).map_err(|e| malformed("$", e.to_string()))?;
    if r.kind != RECEIPT_KIND {
        return Err(malformed(
            "kind",
            format!("{:?} is not {RECEIPT_KIND:?}", r.kind),
        ));
    }
    if r.proof.len() > MAX_PROOF_HASHES {
        return Err(malformed(
            "proof",
            format!("{} hashes, at most {MAX_PROOF_HASHES}", r.proof.len()),
        ));
    }
    if r.checkpoint.len() > crate::note::MAX_NOTE_BYTES {
        return Err(malformed("checkpoint", "too large"));
    }
    Ok(r)
}

/// Verifies a receipt offline: the entry matches the envelope, the checkpoint is signed by
/// one of `log_keys` (type 0x01 vkeys, key name = origin), the inclusion proof leads from
/// the entry to the checkpoint's root, and `witnesses.threshold` distinct witnesses
/// cosigned the checkpoint.
pub fn verify_receipt(
    receipt: &serde_json::Value,
    envelope: &Envelope,
    log_keys: &[Verifier],
    witnesses: &WitnessPolicy,
) -> Result<VerifiedReceipt, ReceiptError> {
    let r = parse_receipt(receipt)?;
    let (ed_keys, pq_keys): (Vec<Verifier>, Vec<Verifier>) = log_keys
        .iter()
        .cloned()
        .partition(|k| k.key_type() == TYPE_ED25519);
    if ed_keys.is_empty() {
        return Err(ReceiptError::Policy(
            "at least one Ed25519 (0x01) log key is required".into(),
        ));
    }
    if let Some(k) = pq_keys
        .iter()
        .find(|k| k.key_type() != crate::note::TYPE_MLDSA44_SUBTREE)
    {
        return Err(ReceiptError::Policy(format!(
            "log key {} is a witness cosigning key, not a log key",
            k.name()
        )));
    }
    let entry = entry_for_envelope(envelope);
    let logged = STANDARD
        .decode(&r.entry)
        .map_err(|_| malformed("entry", "not standard base64"))?;
    if logged != entry {
        return Err(ReceiptError::EntryMismatch);
    }
    let signed = checkpoint::open(r.checkpoint.as_bytes(), &ed_keys)?;
    let cp = &signed.checkpoint;
    if cp.origin != r.origin {
        return Err(ReceiptError::OriginMismatch {
            receipt: r.origin,
            checkpoint: cp.origin.clone(),
        });
    }
    if cp.size != r.tree_size {
        return Err(ReceiptError::SizeMismatch {
            receipt: r.tree_size,
            checkpoint: cp.size,
        });
    }
    let mut proof = Vec::with_capacity(r.proof.len());
    for p in &r.proof {
        proof.push(
            STANDARD
                .decode(p)
                .map_err(|_| malformed("proof", "not standard base64"))?,
        );
    }
    merkle::verify_inclusion(
        r.index,
        r.tree_size,
        &merkle::leaf_hash(&entry),
        &proof,
        &cp.root,
    )?;
    // The log's post-quantum signatures: each ML-DSA-44 log key given must have signed.
    let pq_ok = signed
        .note
        .verified_cosigners(&pq_keys)
        .map_err(ReceiptError::Witness)?;
    if let Some(missing) = pq_keys.iter().find(|k| !pq_ok.iter().any(|(v, _)| v == *k)) {
        return Err(ReceiptError::Policy(format!(
            "checkpoint lacks the log's ML-DSA-44 signature by {} ({})",
            missing.name(),
            hex::encode(missing.key_id())
        )));
    }
    let cosigners = signed
        .note
        .verified_cosigners(&witnesses.keys)
        .map_err(ReceiptError::Witness)?;
    if cosigners.len() < witnesses.threshold {
        return Err(ReceiptError::WitnessThreshold {
            got: cosigners.len(),
            want: witnesses.threshold,
        });
    }
    Ok(VerifiedReceipt {
        origin: cp.origin.clone(),
        index: r.index,
        tree_size: r.tree_size,
        root: cp.root,
        log_keys: signed.verified_by.clone(),
        post_quantum_log_keys: pq_ok.iter().map(|(v, _)| v.name().to_string()).collect(),
        witnesses: cosigners
            .into_iter()
            .map(|(v, t)| (v.name().to_string(), t))
            .collect(),
    })
}

/// Reads a file of vkeys, one per line (blank lines and `#` comments ignored).
pub fn parse_vkeys(text: &str) -> Result<Vec<Verifier>, NoteError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(Verifier::from_vkey)
        .collect()
}

//! Bundle evidence entries in the exact form `cairn-evidence` verifies
//! (`cairn_evidence::tee::{snp, tdx, nitro}`).

use base64::Engine as _;
use serde_json::{json, Value};

use crate::TeeError;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `sev-snp`: the 1184-byte report and the VCEK certificate (DER) that signed it.
pub fn snp(report: &[u8], vcek_der: &[u8]) -> Value {
    json!({"kind": "sev-snp", "report": b64(report), "vcek": b64(vcek_der)})
}

/// `tdx-quote`: the quote and its DCAP collateral (the JSON Intel's PCS/PCCS serves,
/// as `dcap-qvl` models it: `pck_crl_issuer_chain`, `root_ca_crl`, `pck_crl`,
/// `tcb_info_issuer_chain`, `tcb_info`, `tcb_info_signature`, `qe_identity_issuer_chain`,
/// `qe_identity`, `qe_identity_signature`).
pub fn tdx(quote: &[u8], collateral: Value) -> Result<Value, TeeError> {
    if !collateral.is_object() {
        return Err(TeeError::Report(
            "TDX collateral is not a JSON object".into(),
        ));
    }
    Ok(json!({"kind": "tdx-quote", "quote": b64(quote), "collateral": collateral}))
}

/// `nitro-attestation`: the COSE_Sign1 document as the NSM returned it.
pub fn nitro(document: &[u8]) -> Value {
    json!({"kind": "nitro-attestation", "document": b64(document)})
}

//! Bundle evidence entries, built from `cairn-evidence`'s own entry types so that the
//! producer and the verifier share one definition of each format.

use base64::Engine as _;
use cairn_evidence::tee::nitro::{NitroEvidence, NITRO_KIND};
use cairn_evidence::tee::snp::{SnpEvidence, SNP_KIND};
use cairn_evidence::tee::tdx::{QuoteCollateralV3, TdxEvidence, TDX_KIND};
use serde_json::Value;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Serialising these plain structs cannot fail.
fn value(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `sev-snp`: the 1184-byte report and the VCEK certificate (DER) that signed it.
pub fn snp(report: &[u8], vcek_der: &[u8]) -> Value {
    value(SnpEvidence {
        kind: SNP_KIND.into(),
        report: b64(report),
        vcek: b64(vcek_der),
    })
}

/// `tdx-quote`: the quote and its DCAP collateral (as Intel's PCS/PCCS serves it).
pub fn tdx(quote: &[u8], collateral: QuoteCollateralV3) -> Value {
    value(TdxEvidence {
        kind: TDX_KIND.into(),
        quote: b64(quote),
        collateral,
    })
}

/// `nitro-attestation`: the COSE_Sign1 document as the NSM returned it.
pub fn nitro(document: &[u8]) -> Value {
    value(NitroEvidence {
        kind: NITRO_KIND.into(),
        document: b64(document),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_as_the_verifier_reads_them() {
        let snp_entry = snp(&[1; 4], &[2; 3]);
        let back: SnpEvidence = serde_json::from_value(snp_entry).unwrap();
        assert_eq!(
            (back.kind.as_str(), back.report.as_str()),
            (SNP_KIND, "AQEBAQ==")
        );
        let nitro_entry = nitro(b"doc");
        let back: NitroEvidence = serde_json::from_value(nitro_entry).unwrap();
        assert_eq!(
            (back.kind.as_str(), back.document.as_str()),
            (NITRO_KIND, "ZG9j")
        );
    }
}

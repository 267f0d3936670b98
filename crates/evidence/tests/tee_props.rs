//! Property tests for the TEE verifiers (stable-Rust counterpart of the `tee_evidence`
//! fuzz target): arbitrary bytes and randomly mutated real samples never panic and never
//! verify; evidence entries of any JSON shape are refused with an error, not a panic.
#![cfg(all(feature = "snp", feature = "tdx", feature = "nitro"))]

use cairn_evidence::tee::{nitro, snp, tdx, TeePolicy};
use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
const AT: OffsetDateTime = datetime!(2025-06-25 00:00:00 UTC);

fn read(n: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{n}")).unwrap()
}

fn policy() -> TeePolicy {
    TeePolicy {
        tdx_allowed_platform_flags: vec![
            "dynamic-platform".into(),
            "cached-keys".into(),
            "smt".into(),
        ],
        ..Default::default()
    }
}

/// Applies `(position, xor)` edits, skipping no-ops, to a copy of `base`.
fn mutate(base: &[u8], edits: &[(usize, u8)]) -> Option<Vec<u8>> {
    let mut out = base.to_vec();
    for (pos, x) in edits {
        let i = pos % out.len();
        out[i] ^= x;
    }
    (out != base).then_some(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
        let collateral: dcap_qvl::QuoteCollateralV3 =
            serde_json::from_slice(&read("tdx/tdx_quote_collateral.json")).unwrap();
        prop_assert!(snp::verify_snp_report(&bytes, &read("sev/vcek_milan.der"), AT).is_err());
        prop_assert!(tdx::verify_tdx_quote(&bytes, &collateral, &policy(), AT).is_err());
        prop_assert!(nitro::verify_nitro_document(&bytes, &[], AT).is_err());
    }

    #[test]
    fn mutated_tdx_quotes_never_verify(edits in proptest::collection::vec((any::<usize>(), 1u8..), 1..4)) {
        let quote = read("tdx/tdx_quote");
        let collateral: dcap_qvl::QuoteCollateralV3 =
            serde_json::from_slice(&read("tdx/tdx_quote_collateral.json")).unwrap();
        if let Some(bad) = mutate(&quote, &edits) {
            prop_assert!(tdx::verify_tdx_quote(&bad, &collateral, &policy(), AT).is_err());
        }
    }

    #[test]
    fn mutated_nitro_documents_never_verify(edits in proptest::collection::vec((any::<usize>(), 1u8..), 1..4)) {
        let doc = read("nitro/attestation.cose");
        let at = OffsetDateTime::from_unix_timestamp(1_736_179_625).unwrap();
        if let Some(bad) = mutate(&doc, &edits) {
            prop_assert!(nitro::verify_nitro_document(&bad, &[], at).is_err());
        }
    }

    #[test]
    fn any_json_entry_is_refused_without_panic(kind in prop_oneof![Just("sev-snp"), Just("tdx-quote"), Just("nitro-attestation")],
                                              field in "[a-z]{1,8}",
                                              value in prop_oneof![
                                                  any::<i64>().prop_map(serde_json::Value::from),
                                                  "[A-Za-z0-9+/=%]{0,40}".prop_map(serde_json::Value::from),
                                                  Just(serde_json::Value::Null),
                                                  Just(serde_json::json!([])),
                                                  Just(serde_json::json!({})),
                                              ]) {
        let env = cairn_formats::Envelope {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: b"{}".to_vec(),
            signatures: vec![],
        };
        let entry = serde_json::json!({"kind": kind, field.clone(): value.clone(), "report": value.clone(), "document": value.clone(), "quote": value.clone(), "collateral": value});
        let p = policy();
        let r = match kind {
            "sev-snp" => snp::verify_snp_evidence(&entry, &env, &p, AT).map(|_| ()),
            "tdx-quote" => tdx::verify_tdx_evidence(&entry, &env, &p, AT).map(|_| ()),
            _ => nitro::verify_nitro_evidence(&entry, &env, &p, AT).map(|_| ()),
        };
        prop_assert!(r.is_err());
    }
}

#![no_main]
//! Fuzz target `tee_evidence`: the TEE verifiers on arbitrary bytes. The first byte picks
//! the parser (SEV-SNP report, TDX quote with the real sample's collateral, Nitro
//! document); the rest is the input. Invariant: no panic, and nothing verifies (the
//! inputs carry no valid vendor signature over a document a fuzzer could find).
//! Stable-Rust counterpart: `crates/evidence/tests/tee_props.rs`.

use libfuzzer_sys::fuzz_target;
use time::macros::datetime;

const COLLATERAL: &[u8] =
    include_bytes!("../../crates/evidence/testdata/tdx/tdx_quote_collateral.json");
const VCEK: &[u8] = include_bytes!("../../crates/evidence/testdata/sev/vcek_milan.der");

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else { return };
    let at = datetime!(2025-06-25 00:00:00 UTC);
    let policy = cairn_evidence::tee::TeePolicy {
        tdx_allowed_platform_flags: vec!["dynamic-platform".into(), "cached-keys".into(), "smt".into()],
        ..Default::default()
    };
    match which % 3 {
        0 => {
            let r = cairn_evidence::tee::snp::verify_snp_report(input, VCEK, at);
            assert!(r.is_err());
        }
        1 => {
            let collateral: dcap_qvl::QuoteCollateralV3 =
                serde_json::from_slice(COLLATERAL).expect("sample collateral");
            let r = cairn_evidence::tee::tdx::verify_tdx_quote(input, &collateral, &policy, at);
            assert!(r.is_err());
        }
        _ => {
            let r = cairn_evidence::tee::nitro::verify_nitro_document(input, &[], at);
            assert!(r.is_err());
        }
    }
});

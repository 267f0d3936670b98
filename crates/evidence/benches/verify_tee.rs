//! In-process verification of the real vendor-signed TEE samples (`testdata/`), at pinned
//! times inside their validity: SEV-SNP (VCEK → ASK → ARK, RSA-PSS + ECDSA P-384),
//! TDX (PCK chain, QE report, collateral signatures and CRLs, ECDSA P-256), and Nitro
//! (four-certificate P-384 chain + COSE ES384), with `nitro_attest` on the same document
//! as the baseline for cairn's own Nitro chain walk.
//!
//! Run: `cargo bench -p cairn-evidence --bench verify_tee`

use std::hint::black_box;

use cairn_evidence::tee::{nitro, snp, tdx, TeePolicy};
use criterion::{criterion_group, criterion_main, Criterion};
use time::macros::datetime;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

fn bench(c: &mut Criterion) {
    let read = |n: &str| std::fs::read(format!("{DIR}/{n}")).unwrap();

    let report = hex::decode(
        String::from_utf8(read("sev/report_milan.hex"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let vcek = read("sev/vcek_milan.der");
    let at = datetime!(2025-06-25 00:00:00 UTC);
    snp::verify_snp_report(&report, &vcek, at).unwrap();
    c.bench_function("sev-snp report (Milan sample)", |b| {
        b.iter(|| snp::verify_snp_report(black_box(&report), &vcek, at).unwrap())
    });

    let quote = read("tdx/tdx_quote");
    let collateral: dcap_qvl::QuoteCollateralV3 =
        serde_json::from_slice(&read("tdx/tdx_quote_collateral.json")).unwrap();
    let policy = TeePolicy {
        tdx_allowed_platform_flags: vec![
            "dynamic-platform".into(),
            "cached-keys".into(),
            "smt".into(),
        ],
        ..Default::default()
    };
    tdx::verify_tdx_quote(&quote, &collateral, &policy, at).unwrap();
    c.bench_function("tdx quote + collateral (dcap-qvl sample)", |b| {
        b.iter(|| tdx::verify_tdx_quote(black_box(&quote), &collateral, &policy, at).unwrap())
    });

    let doc = read("nitro/attestation.cose");
    let nitro_at = time::OffsetDateTime::from_unix_timestamp(1_736_179_625).unwrap();
    nitro::verify_nitro_document(&doc, &[], nitro_at).unwrap();
    c.bench_function("nitro document, cairn (AWS sample)", |b| {
        b.iter(|| nitro::verify_nitro_document(black_box(&doc), &[], nitro_at).unwrap())
    });
    c.bench_function("nitro document, nitro_attest baseline (AWS sample)", |b| {
        b.iter(|| {
            nitro_attest::UnparsedAttestationDoc::from(black_box(doc.as_slice()))
                .parse_and_verify(nitro_at)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

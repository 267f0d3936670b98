//! In-process verification of one TPM evidence entry (a real swtpm quote from
//! `testdata/tpm/`): AK binding signature, EK chain (RSA, two certificates), quote
//! signature (ECDSA P-256), PCR digest, event-log replay and measurements.
//!
//! Run: `CARGO_TARGET_DIR=/work/targets/tpm cargo bench -p cairn-evidence --bench verify_tpm`

use std::hint::black_box;

use cairn_evidence::{verify_tpm_evidence, TpmTrust};
use cairn_formats::{Envelope, Limits, Statement};
use criterion::{criterion_group, criterion_main, Criterion};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tpm");

fn bench(c: &mut Criterion) {
    let read = |n: &str| std::fs::read(format!("{DIR}/{n}")).unwrap();
    let envelope = Envelope::parse(&read("envelope.json"), &Limits::default()).unwrap();
    let statement = Statement::from_envelope(&envelope, &Limits::default()).unwrap();
    let evidence: serde_json::Value = serde_json::from_slice(&read("evidence.json")).unwrap();
    let trust = TpmTrust::from_files(
        &[format!("{DIR}/manufacturer-root.pem").into()],
        &[format!("{DIR}/enrollment.pub").into()],
        None,
        &[],
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    verify_tpm_evidence(&evidence, &envelope, &statement, &trust, now).unwrap();
    c.bench_function("verify_tpm_evidence", |b| {
        b.iter(|| {
            verify_tpm_evidence(black_box(&evidence), &envelope, &statement, &trust, now).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

#![no_main]
//! Fuzz target `tpm_evidence`: the TPM structure parsers on arbitrary bytes, and the whole
//! TPM verifier on the real swtpm fixture (`crates/evidence/testdata/tpm/`) with the input
//! in place of its TPMS_ATTEST or TPMT_SIGNATURE. Invariant: no panic, and no input other
//! than the original bytes verifies. Stable-Rust counterpart:
//! `crates/evidence/tests/tpm_fixture.rs` (module `props`).

use std::sync::OnceLock;

use base64::Engine as _;
use cairn_evidence::tpm::{Attest, Public, Signature};
use cairn_evidence::{verify_tpm_evidence, TpmTrust};
use cairn_formats::{Envelope, Limits, Statement};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/evidence/testdata/tpm");

struct Fixture {
    evidence: Value,
    envelope: Envelope,
    statement: Statement,
    trust: TpmTrust,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let read = |n: &str| std::fs::read(format!("{DIR}/{n}")).expect("fixture file");
        let envelope = Envelope::parse(&read("envelope.json"), &Limits::default()).expect("envelope");
        let statement = Statement::from_envelope(&envelope, &Limits::default()).expect("statement");
        let trust = TpmTrust::from_files(
            &[format!("{DIR}/manufacturer-root.pem").into()],
            &[format!("{DIR}/enrollment.pub").into()],
            None,
            &[],
        )
        .expect("trust");
        Fixture {
            evidence: serde_json::from_slice(&read("evidence.json")).expect("evidence"),
            envelope,
            statement,
            trust,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else { return };
    let _ = Attest::parse(input);
    let _ = Public::parse(input);
    let _ = Signature::parse(input);
    let f = fixture();
    let field = if which % 2 == 0 { "attest" } else { "signature" };
    let original = base64::engine::general_purpose::STANDARD
        .decode(f.evidence[field].as_str().unwrap_or_default())
        .unwrap_or_default();
    let mut ev = f.evidence.clone();
    ev[field] = Value::String(base64::engine::general_purpose::STANDARD.encode(input));
    let ok = verify_tpm_evidence(&ev, &f.envelope, &f.statement, &f.trust, time::OffsetDateTime::now_utc())
        .is_ok();
    assert!(!ok || input == original.as_slice(), "a changed {field} verified");
});

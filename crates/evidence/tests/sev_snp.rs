//! AMD SEV-SNP: the real Milan report and VCEK shipped with the `sev` crate
//! (testdata/sev/NOTICE.md), verified against AMD's roots.
#![cfg(feature = "snp")]

use base64::Engine as _;
use cairn_evidence::tee::snp::{
    verify_snp_evidence, verify_snp_report, ARK_MILAN_SHA256, SNP_KIND,
};
use cairn_evidence::tee::TeePolicy;
use cairn_evidence::EvidenceError;
use cairn_formats::Envelope;
use time::macros::datetime;
use time::OffsetDateTime;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sev");

fn report() -> Vec<u8> {
    hex::decode(
        std::fs::read_to_string(format!("{DIR}/report_milan.hex"))
            .unwrap()
            .trim(),
    )
    .unwrap()
}

fn vcek() -> Vec<u8> {
    std::fs::read(format!("{DIR}/vcek_milan.der")).unwrap()
}

/// A fixed verification time inside every certificate's validity.
const NOW: OffsetDateTime = datetime!(2025-06-25 00:00:00 UTC);

#[test]
fn the_milan_sample_verifies() {
    let v = verify_snp_report(&report(), &vcek(), NOW).unwrap();
    assert_eq!(v.product, "milan");
    assert_eq!(v.policy & (1 << 19), 0, "not a debug guest");
    assert_eq!(v.measurement.len(), 96);
}

#[test]
fn pinned_ark_fingerprint_matches_the_builtin_root() {
    let ark = sev::certs::snp::builtin::milan::ark()
        .unwrap()
        .to_der()
        .unwrap();
    use sha2::Digest as _;
    assert_eq!(hex::encode(sha2::Sha256::digest(&ark)), ARK_MILAN_SHA256);
}

#[test]
fn any_flipped_byte_in_the_signed_part_fails() {
    let r = report();
    // Bytes 0x000-0x29F are signed; the signature itself sits at 0x2A0.
    for i in (0..0x2a0)
        .step_by(29)
        .chain([0x50, 0x90, 0x2a0, 0x2a0 + 0x48])
    {
        let mut bad = r.clone();
        bad[i] ^= 0x01;
        let e = verify_snp_report(&bad, &vcek(), NOW).unwrap_err();
        assert!(
            matches!(
                e,
                EvidenceError::TeeReport {
                    kind: "sev-snp",
                    ..
                }
            ),
            "byte {i}: {e}"
        );
    }
    // A flipped byte in the VCEK breaks its chain.
    let mut v = vcek();
    v[40] ^= 0xff;
    let e = verify_snp_report(&report(), &v, NOW).unwrap_err();
    assert!(
        e.to_string().contains("does not chain to AMD's ARK/ASK") || e.to_string().contains("VCEK"),
        "{e}"
    );
    // Wrong length.
    let e = verify_snp_report(&report()[..1000], &vcek(), NOW).unwrap_err();
    assert!(
        e.to_string()
            .contains("report is 1000 bytes, expected 1184"),
        "{e}"
    );
}

#[test]
fn fails_past_expiry_and_before_issue() {
    let e = verify_snp_report(&report(), &vcek(), datetime!(2060-01-01 00:00:00 UTC)).unwrap_err();
    assert!(
        e.to_string().contains("VCEK") && e.to_string().contains("is not valid at 2060-01-01"),
        "{e}"
    );
    let e = verify_snp_report(&report(), &vcek(), datetime!(2015-01-01 00:00:00 UTC)).unwrap_err();
    assert!(e.to_string().contains("is not valid at 2015-01-01"), "{e}");
}

#[test]
fn report_data_must_bind_the_envelope() {
    // The sample's REPORT_DATA was chosen by whoever made it, so it binds no cairn envelope:
    // as bundle evidence it is rejected as belonging to another build.
    let env = Envelope {
        payload_type: "application/vnd.in-toto+json".into(),
        payload: b"{}".to_vec(),
        signatures: vec![],
    };
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let ev = serde_json::json!({"kind": SNP_KIND, "report": b64(&report()), "vcek": b64(&vcek())});
    let e = verify_snp_evidence(&ev, &env, &TeePolicy::default(), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            EvidenceError::ReportDataMismatch {
                kind: "sev-snp",
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("the report belongs to another build"),
        "{e}"
    );
    let mut bad = ev.clone();
    bad["vcek"] = serde_json::Value::String("!!".into());
    assert!(verify_snp_evidence(&bad, &env, &TeePolicy::default(), NOW)
        .unwrap_err()
        .to_string()
        .contains("field `vcek`: not base64"));
    let mut bad = ev.clone();
    bad["extra"] = serde_json::Value::Bool(true);
    assert!(verify_snp_evidence(&bad, &env, &TeePolicy::default(), NOW)
        .unwrap_err()
        .to_string()
        .contains("unknown field `extra`"));
}

#[test]
fn reported_tcb_and_chip_id_must_match_the_vcek() {
    use cairn_evidence::tee::snp::check_vcek_matches_report;
    use sev::parser::ByteParser as _;
    let parsed = sev::firmware::guest::AttestationReport::from_bytes(&report()).unwrap();
    let t = &parsed.reported_tcb;
    let reported = |micro: u8| {
        [
            ("bootloader", Some(t.bootloader)),
            ("tee", Some(t.tee)),
            ("snp", Some(t.snp)),
            ("microcode", Some(micro)),
            ("fmc", t.fmc),
        ]
    };
    // The real pair is consistent (verify_snp_report runs this check too).
    check_vcek_matches_report(&vcek(), &reported(t.microcode), &parsed.chip_id).unwrap();
    // A report from another microcode level than the VCEK's.
    let e = check_vcek_matches_report(
        &vcek(),
        &reported(t.microcode.wrapping_add(1)),
        &parsed.chip_id,
    )
    .unwrap_err();
    assert!(e.to_string().contains("REPORTED_TCB.microcode"), "{e}");
    // Another chip's id.
    let mut other = parsed.chip_id;
    other[0] ^= 1;
    let e = check_vcek_matches_report(&vcek(), &reported(t.microcode), &other).unwrap_err();
    assert!(e.to_string().contains("another chip"), "{e}");
    // A masked (all-zero) chip id is not compared.
    check_vcek_matches_report(&vcek(), &reported(t.microcode), &[0; 64]).unwrap();
}

//! Intel TDX: the real quote and collateral shipped with `dcap-qvl` (testdata/tdx/NOTICE.md),
//! verified against Intel's SGX Root CA at a pinned time inside the collateral's validity.
#![cfg(feature = "tdx")]

use base64::Engine as _;
use cairn_evidence::tee::tdx::{
    verify_tdx_evidence, verify_tdx_quote, INTEL_SGX_ROOT_CA_DER, INTEL_SGX_ROOT_SHA256, TDX_KIND,
};
use cairn_evidence::tee::TeePolicy;
use cairn_evidence::EvidenceError;
use cairn_formats::Envelope;
use dcap_qvl::QuoteCollateralV3;
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tdx");

/// The collateral is valid from 2025-06-19 to 2025-07-19.
const NOW: OffsetDateTime = datetime!(2025-06-25 00:00:00 UTC);

fn quote() -> Vec<u8> {
    std::fs::read(format!("{DIR}/tdx_quote")).unwrap()
}

fn collateral_json() -> Value {
    serde_json::from_slice(&std::fs::read(format!("{DIR}/tdx_quote_collateral.json")).unwrap())
        .unwrap()
}

fn collateral() -> QuoteCollateralV3 {
    serde_json::from_value(collateral_json()).unwrap()
}

/// The sample's platform is "dynamic", its keys "cached" and SMT is on, as a cloud host's
/// typically are: allowed explicitly (cairn refuses each by default).
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

fn is_tdx_error(e: &EvidenceError) -> bool {
    matches!(
        e,
        EvidenceError::TeeReport {
            kind: "tdx-quote",
            ..
        }
    )
}

#[test]
fn the_real_sample_verifies() {
    let v = verify_tdx_quote(&quote(), &collateral(), &policy(), NOW).unwrap();
    assert_eq!(v.tcb_status, "UpToDate");
    assert_eq!(v.mr_td.len(), 96);
    assert!(v.rtmr.iter().all(|r| r.len() == 96));
    assert_eq!(v.report_data.len(), 128);
}

#[test]
fn pinned_intel_root_fingerprint() {
    use sha2::Digest as _;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(INTEL_SGX_ROOT_CA_DER)),
        INTEL_SGX_ROOT_SHA256
    );
}

#[test]
fn every_flipped_byte_of_the_quote_fails() {
    let q = quote();
    let c = collateral();
    // Every byte of header, TD report and signature data (and a stride through the
    // certification data, which is the PCK chain in PEM).
    let signed_and_sig = 0..1100.min(q.len());
    let tail = (1100..q.len()).step_by(37);
    let mut checked = 0;
    for i in signed_and_sig.chain(tail) {
        let mut bad = q.clone();
        bad[i] ^= 0x01;
        let e = verify_tdx_quote(&bad, &c, &policy(), NOW)
            .expect_err(&format!("flipped byte {i} was accepted"));
        assert!(is_tdx_error(&e), "byte {i}: {e}");
        checked += 1;
    }
    assert!(checked > 1100);
    // The sample ends in 70 bytes of zero padding after its declared auth data: the
    // padding's length is not significant, but its content and the declared part are.
    let declared = q.len() - 70;
    assert!(q[declared..].iter().all(|b| *b == 0));
    verify_tdx_quote(&q[..declared], &c, &policy(), NOW).unwrap();
    let mut padded = q.clone();
    padded.extend([0u8; 16]);
    verify_tdx_quote(&padded, &c, &policy(), NOW).unwrap();
    padded.push(1);
    let e = verify_tdx_quote(&padded, &c, &policy(), NOW).unwrap_err();
    assert!(e.to_string().contains("is not zero padding"), "{e}");
    for cut in [declared - 1, 600, 0] {
        assert!(
            verify_tdx_quote(&q[..cut], &c, &policy(), NOW).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn altered_collateral_fails() {
    for field in ["tcb_info", "qe_identity"] {
        let mut c = collateral_json();
        let s = c[field].as_str().unwrap().replacen(
            "\"tcbEvaluationDataNumber\":17",
            "\"tcbEvaluationDataNumber\":18",
            1,
        );
        assert_ne!(
            s,
            c[field].as_str().unwrap(),
            "{field} has tcbEvaluationDataNumber 17"
        );
        c[field] = Value::String(s);
        let c: QuoteCollateralV3 = serde_json::from_value(c).unwrap();
        let e = verify_tdx_quote(&quote(), &c, &policy(), NOW).unwrap_err();
        assert!(is_tdx_error(&e), "{field}: {e}");
    }
    let mut c = collateral();
    let last = c.tcb_info_signature.len() - 1;
    c.tcb_info_signature[last] ^= 1;
    let e = verify_tdx_quote(&quote(), &c, &policy(), NOW).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("signature"), "{e}");
}

#[test]
fn fails_past_expiry_and_before_issue() {
    for at in [
        datetime!(2025-08-01 00:00:00 UTC),
        datetime!(2030-01-01 00:00:00 UTC),
        datetime!(2025-06-01 00:00:00 UTC),
    ] {
        let e = verify_tdx_quote(&quote(), &collateral(), &policy(), at).unwrap_err();
        assert!(is_tdx_error(&e), "{at}: {e}");
    }
}

#[test]
fn an_sgx_enclave_quote_is_not_td_evidence() {
    let q = std::fs::read(format!("{DIR}/sgx_quote")).unwrap();
    let c: QuoteCollateralV3 =
        serde_json::from_slice(&std::fs::read(format!("{DIR}/sgx_quote_collateral.json")).unwrap())
            .unwrap();
    // Pick a time inside the SGX sample's collateral window.
    let mut last_err = None;
    for at in [
        datetime!(2025-06-25 00:00:00 UTC),
        datetime!(2024-06-01 00:00:00 UTC),
        datetime!(2025-01-15 00:00:00 UTC),
    ] {
        match verify_tdx_quote(&q, &c, &policy(), at) {
            Ok(v) => panic!("SGX quote accepted as TDX: {v:?}"),
            Err(e) => last_err = Some(e),
        }
    }
    assert!(is_tdx_error(&last_err.unwrap()));
}

#[test]
fn platform_flags_are_refused_unless_allowed() {
    let e = verify_tdx_quote(&quote(), &collateral(), &TeePolicy::default(), NOW).unwrap_err();
    assert!(
        e.to_string().contains("Dynamic platform is not allowed"),
        "{e}"
    );
    assert!(
        e.to_string().contains("--tdx-allow dynamic-platform"),
        "{e}"
    );
    let mut p = policy();
    p.tdx_allowed_platform_flags.push("turbo".into());
    let e = verify_tdx_quote(&quote(), &collateral(), &p, NOW).unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown TDX platform flag \"turbo\""),
        "{e}"
    );
}

#[test]
fn tcb_status_policy_names_unknown_statuses() {
    let mut p = policy();
    p.tdx_extra_tcb_statuses = vec!["SWHardeningNeeded".into(), "OutOfDate".into()];
    verify_tdx_quote(&quote(), &collateral(), &p, NOW).unwrap();
    p.tdx_extra_tcb_statuses = vec!["Whatever".into()];
    let e = verify_tdx_quote(&quote(), &collateral(), &p, NOW).unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown TDX TCB status \"Whatever\""),
        "{e}"
    );
}

#[test]
fn oversized_quote_is_refused_before_parsing() {
    let big = vec![0u8; 64 * 1024 + 1];
    let e = verify_tdx_quote(&big, &collateral(), &policy(), NOW).unwrap_err();
    assert!(e.to_string().contains("byte limit"), "{e}");
}

fn envelope() -> Envelope {
    Envelope {
        payload_type: "application/vnd.in-toto+json".into(),
        payload: b"{}".to_vec(),
        signatures: vec![],
    }
}

fn entry() -> Value {
    json!({
        "kind": TDX_KIND,
        "quote": base64::engine::general_purpose::STANDARD.encode(quote()),
        "collateral": collateral_json(),
    })
}

#[test]
fn report_data_must_bind_the_envelope() {
    // The sample's REPORTDATA was chosen by whoever made it; it binds no cairn envelope,
    // so as bundle evidence it is rejected after its signatures and collateral verified.
    let e = verify_tdx_evidence(&entry(), &envelope(), &policy(), NOW).unwrap_err();
    assert!(
        matches!(
            e,
            EvidenceError::ReportDataMismatch {
                kind: "tdx-quote",
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
}

#[test]
fn malformed_entries_name_the_field() {
    let env = envelope();
    let cases: [(&str, Box<dyn Fn(&mut Value)>, &str); 5] = [
        (
            "quote",
            Box::new(|v| v["quote"] = json!("%%")),
            "field `quote`: not base64",
        ),
        (
            "extra",
            Box::new(|v| v["extra"] = json!(1)),
            "unknown field `extra`",
        ),
        (
            "collateral",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("collateral");
            }),
            "missing field `collateral`",
        ),
        (
            "collateral.tcb_info",
            Box::new(|v| v["collateral"]["tcb_info"] = json!(7)),
            "collateral.tcb_info",
        ),
        (
            "kind",
            Box::new(|v| v["kind"] = json!("sev-snp")),
            "field `kind`",
        ),
    ];
    for (name, mutate, want) in cases {
        let mut v = entry();
        mutate(&mut v);
        let e = verify_tdx_evidence(&v, &env, &policy(), NOW).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
    }
}

//! TEE evidence through the CLI: a bundle carrying a (synthetic-root) Nitro document that
//! binds its envelope verifies with `--nitro-root`, and fails with exit 1 and a message
//! naming the cause otherwise; the TDX and Nitro policy flags reject bad values with exit
//! 2; the real TDX sample goes through `cairn tpm verify-evidence` at a pinned time.

mod common;

use std::path::Path;
use std::process::Output;

use common::{cairn_in as cairn, text};

use cairn_formats::{Bundle, Limits};
use cairn_testutil::nitro::{SyntheticNitro, PCR0};
use sha2::Digest as _;

const AT: &str = "--verification-time=2026-06-01T00:00:00Z";

/// An attested artifact whose bundle carries a Nitro document over its envelope.
fn attested(d: &Path, nitro: &SyntheticNitro) {
    std::fs::write(d.join("app"), b"the artifact").unwrap();
    std::fs::write(
        d.join("provenance.json"),
        br#"{"buildDefinition":{"buildType":"https://example.com/t","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/b"}}}"#,
    )
    .unwrap();
    assert!(cairn(&["key", "generate", "-o", "builder"], d)
        .status
        .success());
    let o = cairn(
        &[
            "attest",
            "--predicate",
            "provenance.json",
            "--type",
            "https://slsa.dev/provenance/v1",
            "--key",
            "builder.key",
            "-o",
            "app.bundle.json",
            "app",
        ],
        d,
    );
    assert!(o.status.success(), "{}", text(&o));
    let mut b = Bundle::parse(
        &std::fs::read(d.join("app.bundle.json")).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let pae = b.attestations[0].envelope.pae();
    let rd = cairn_evidence::tee::report_data_for(&sha2::Sha256::digest(pae).into());
    b.attestations[0]
        .evidence
        .push(cairn_tee_entry(&nitro.document(Some(rd.to_vec()), PCR0)));
    std::fs::write(d.join("app.bundle.json"), b.to_json()).unwrap();
    std::fs::write(d.join("nitro-root.pem"), nitro.root_pem()).unwrap();
}

fn cairn_tee_entry(doc: &[u8]) -> serde_json::Value {
    use base64::Engine as _;
    serde_json::json!({
        "kind": "nitro-attestation",
        "document": base64::engine::general_purpose::STANDARD.encode(doc),
    })
}

fn verify(d: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "app",
        "--bundle",
        "app.bundle.json",
        "--key",
        "builder.pub",
        AT,
    ];
    args.extend_from_slice(extra);
    cairn(&args, d)
}

#[test]
fn nitro_evidence_verifies_through_cairn_verify() {
    let nitro = SyntheticNitro::new();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    attested(d, &nitro);
    let pcr0 = format!("nitro:{}", hex::encode(PCR0));

    let o = verify(
        d,
        &[
            "--nitro-root",
            "nitro-root.pem",
            "--require-hardware",
            "nitro",
            "--tee-measurement",
            &pcr0,
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["hardwareEvidence"][0]["kind"], "nitro-attestation");
    assert_eq!(
        report["hardwareEvidence"][0]["detail"]["moduleId"],
        "i-test-enc0001"
    );

    // AWS's root is the default: the synthetic chain fails, exit 1, named.
    let o = verify(d, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is not a trusted root"), "{}", text(&o));

    // Another PCR0 is refused.
    let other = format!("nitro:{}", "ab".repeat(48));
    let o = verify(
        d,
        &[
            "--nitro-root",
            "nitro-root.pem",
            "--tee-measurement",
            &other,
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("PCR0"), "{}", text(&o));

    // Required TDX evidence is missing.
    let o = verify(
        d,
        &[
            "--nitro-root",
            "nitro-root.pem",
            "--require-hardware",
            "tdx",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("policy requires `tdx-quote`"),
        "{}",
        text(&o)
    );

    // The same evidence through `cairn tpm verify-evidence`.
    let o = cairn(
        &[
            "tpm",
            "verify-evidence",
            "--bundle",
            "app.bundle.json",
            "--nitro-root",
            "nitro-root.pem",
            AT,
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o)
            .contains("attestation 0: verified nitro-attestation from enclave \"i-test-enc0001\""),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_hardware_policy_flags_are_usage_errors() {
    let nitro = SyntheticNitro::new();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    attested(d, &nitro);
    std::fs::write(d.join("empty.pem"), b"").unwrap();
    for (flags, want) in [
        (
            vec!["--require-hardware", "sgx"],
            "unknown hardware requirement \"sgx\"",
        ),
        (vec!["--tee-measurement", "nitro:zz"], "96 hex digits"),
        (vec!["--tee-measurement", "tpm:00"], "use --golden-pcrs"),
        (vec!["--nitro-root", "empty.pem"], "no PEM certificate"),
        (
            vec!["--nitro-root", "missing.pem"],
            "--nitro-root missing.pem",
        ),
        (
            vec!["--tdx-tcb-status", "Fine"],
            "unknown TDX TCB status \"Fine\"",
        ),
        (
            vec!["--tdx-allow", "turbo"],
            "unknown TDX platform flag \"turbo\"",
        ),
    ] {
        let o = verify(d, &flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{flags:?}: {}", text(&o));
    }
}

#[test]
fn the_real_tdx_sample_through_verify_evidence() {
    // A bundle carrying the real dcap-qvl TDX quote: its signatures and collateral verify
    // at a time inside the collateral's window, and it then fails as another build's.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nitro = SyntheticNitro::new();
    attested(d, &nitro);
    let tdx = concat!(env!("CARGO_MANIFEST_DIR"), "/../evidence/testdata/tdx");
    let quote = std::fs::read(format!("{tdx}/tdx_quote")).unwrap();
    let collateral: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{tdx}/tdx_quote_collateral.json")).unwrap())
            .unwrap();
    let mut b = Bundle::parse(
        &std::fs::read(d.join("app.bundle.json")).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    use base64::Engine as _;
    b.attestations[0].evidence = vec![serde_json::json!({
        "kind": "tdx-quote",
        "quote": base64::engine::general_purpose::STANDARD.encode(quote),
        "collateral": collateral,
    })];
    std::fs::write(d.join("tdx.bundle.json"), b.to_json()).unwrap();
    let run_at = |at: &str, extra: &[&str]| {
        let at = format!("--verification-time={at}");
        let mut args = vec!["tpm", "verify-evidence", "--bundle", "tdx.bundle.json", &at];
        args.extend_from_slice(extra);
        cairn(&args, d)
    };
    let run = |extra: &[&str]| run_at("2025-06-25T00:00:00Z", extra);
    // Default policy: the cloud platform's flags are refused, and the message says how
    // to accept them.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("--tdx-allow dynamic-platform"),
        "{}",
        text(&o)
    );
    // Accepting them, the quote verifies and then belongs to another build.
    let allow = [
        "--tdx-allow",
        "dynamic-platform",
        "--tdx-allow",
        "cached-keys",
        "--tdx-allow",
        "smt",
    ];
    let o = run(&allow);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("the report belongs to another build"),
        "{}",
        text(&o)
    );
    // Past the collateral's expiry it fails earlier, on time.
    let o = run_at("2025-09-01T00:00:00Z", &allow);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!text(&o).contains("another build"), "{}", text(&o));
    assert!(text(&o).contains("tdx-quote"), "{}", text(&o));
}

#[cfg(all(feature = "tpm", feature = "hw-tsm"))]
#[test]
fn tpm_and_tee_are_exclusive_and_refused_before_any_device_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(cairn(&["key", "generate", "-o", "builder"], d)
        .status
        .success());
    // The TPM address and host file do not exist: the refusal must come first.
    let o = cairn(
        &[
            "build",
            "--source",
            ".",
            "--output",
            "out",
            "--key",
            "builder.key",
            "--tpm",
            "swtpm:host=127.0.0.1,port=1",
            "--tpm-host",
            "missing.json",
            "--tee",
            "tsm",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--tpm and --tee are exclusive"),
        "{}",
        text(&o)
    );
    assert!(!d.join("out").exists());
}

//! A real sandboxed build (bubblewrap, gcc) with a TEE attester whose report source signs
//! synthetic Nitro documents, verified through the whole `cairn verify` pipeline: the
//! provenance claims `nitro-attestation`, the evidence binds this envelope, and every way
//! to break that binding fails. What is synthetic is only the NSM and its root; the
//! attester, the build, the bundle and the verifier are the production code.

#[path = "../../build/tests/common/mod.rs"]
mod common;

use cairn_evidence::check::HardwareEvidenceCheck;
use cairn_evidence::hardware::HardwareTrust;
use cairn_evidence::tee::TeePolicy;
use cairn_formats::bundle::{Bundle, BundleInput};
use cairn_formats::Limits;
use cairn_tee::{ReportSource, TeeAttester, TeeError};
use cairn_testutil::nitro::{SyntheticNitro, PCR0};
use cairn_verify::{ArtifactInput, Policy, Report};
use common::*;

const HELLO: &[u8] = b"int main(void) { return 0; }\n";
const TOML: &[u8] = b"[build]\ncommand = [\"sh\", \"-c\", \"gcc -O2 -o $CAIRN_OUTPUT/hello hello.c\"]\noutputs = [\"hello\"]\n";

/// Plays the Nitro Secure Module: signs whatever report data it is given.
struct SyntheticNsm<'a>(&'a SyntheticNitro);

impl ReportSource for SyntheticNsm<'_> {
    fn kind(&self) -> &'static str {
        "nitro-attestation"
    }
    fn evidence(&mut self, report_data: &[u8; 64]) -> Result<serde_json::Value, TeeError> {
        Ok(cairn_tee::evidence::nitro(
            &self.0.document(Some(report_data.to_vec()), PCR0),
        ))
    }
}

fn verify_bundle(
    bundle: &Bundle,
    artifact: &std::path::Path,
    key: &cairn_sign::PrivateKey,
    tee: TeePolicy,
    required: Vec<&'static str>,
) -> Report {
    let check = HardwareEvidenceCheck {
        trust: HardwareTrust {
            tee,
            ..Default::default()
        },
        required,
        now: time::macros::datetime!(2026-06-01 00:00:00 UTC),
    };
    cairn_verify::verify_dsse_input(
        &BundleInput::Cairn(bundle.clone()),
        &ArtifactInput::file(artifact),
        &[key.public_key().clone()],
        &Policy::default(),
        &[&check],
        &Limits::default(),
    )
}

fn failure(r: &Report) -> String {
    serde_json::to_string(&r.checks).unwrap()
}

#[test]
fn a_tee_attested_build_verifies_and_every_break_fails() {
    let nitro = SyntheticNitro::new();
    let src = repo(&[("hello.c", HELLO), ("cairn.toml", TOML)]);
    let e = request(src.path(), &[]);
    let k = key();
    let mut attester = TeeAttester::new(SyntheticNsm(&nitro));
    let r = cairn_build::build(&e.req, &k, Some(&mut attester), &mut cairn_build::Quiet)
        .unwrap_or_else(|err| panic!("{err}\n{}", log(&e.req)));
    let bundle =
        Bundle::parse(&std::fs::read(&r.bundle_path).unwrap(), &Limits::default()).unwrap();
    let att = &bundle.attestations[0];
    assert_eq!(att.evidence.len(), 1);
    assert_eq!(att.evidence[0]["kind"], "nitro-attestation");
    let st: serde_json::Value = serde_json::from_slice(&att.envelope.payload).unwrap();
    assert_eq!(
        st["predicate"]["buildDefinition"]["internalParameters"]["hardwareEvidence"],
        serde_json::json!(["nitro-attestation"])
    );

    let artifact = e.req.output_dir.join("hello");
    let trusting = || TeePolicy {
        nitro_roots: vec![nitro.root_sha256()],
        ..Default::default()
    };

    // Verifies, with the launch measurement pinned and the evidence required.
    let mut pinned = trusting();
    pinned
        .add_launch_measurement(&format!("nitro:{}", hex::encode(PCR0)))
        .unwrap();
    let ok = verify_bundle(&bundle, &artifact, &k, pinned, vec!["nitro-attestation"]);
    assert!(ok.verified, "{}", failure(&ok));
    assert_eq!(ok.hardware_evidence.len(), 1);
    assert_eq!(ok.hardware_evidence[0].kind, "nitro-attestation");
    assert_eq!(
        ok.hardware_evidence[0].detail["pcrs"]["0"],
        hex::encode(PCR0)
    );

    // The synthetic root is not AWS's: untrusted by default.
    let r = verify_bundle(&bundle, &artifact, &k, TeePolicy::default(), vec![]);
    assert!(!r.verified);
    assert!(
        failure(&r).contains("is not a trusted root"),
        "{}",
        failure(&r)
    );

    // Another launch measurement is refused, naming PCR0.
    let mut other = trusting();
    other
        .add_launch_measurement(&format!("nitro:{}", "ee".repeat(48)))
        .unwrap();
    let r = verify_bundle(&bundle, &artifact, &k, other, vec![]);
    assert!(!r.verified);
    assert!(failure(&r).contains("PCR0"), "{}", failure(&r));

    // Evidence stripped: the signed claim catches it even when nothing is required.
    let mut stripped = bundle.clone();
    stripped.attestations[0].evidence.clear();
    let r = verify_bundle(&stripped, &artifact, &k, trusting(), vec![]);
    assert!(!r.verified);
    assert!(
        failure(&r).contains("evidence was stripped"),
        "{}",
        failure(&r)
    );

    // Evidence from another build (a document over other report data).
    let mut replayed = bundle.clone();
    replayed.attestations[0].evidence[0] =
        cairn_tee::evidence::nitro(&nitro.document(Some(vec![7; 64]), PCR0));
    let r = verify_bundle(&replayed, &artifact, &k, trusting(), vec![]);
    assert!(!r.verified);
    assert!(
        failure(&r).contains("the report belongs to another build"),
        "{}",
        failure(&r)
    );

    // A TPM requirement is not met by TEE evidence.
    let r = verify_bundle(&bundle, &artifact, &k, trusting(), vec!["tpm2-quote"]);
    assert!(!r.verified);
    assert!(
        failure(&r).contains("policy requires `tpm2-quote`"),
        "{}",
        failure(&r)
    );
}

#[test]
fn the_attester_refuses_an_incomplete_build() {
    use cairn_build::{BuildAttester, MeasurementKind};
    let nitro = SyntheticNitro::new();
    let mut a = TeeAttester::new(SyntheticNsm(&nitro));
    assert!(
        a.measure(MeasurementKind::Outputs, [0; 32]).is_err(),
        "before begin"
    );
    a.begin().unwrap();
    a.measure(MeasurementKind::BuilderBinary, [0; 32]).unwrap();
    let e = a.finish([1; 32]).unwrap_err().to_string();
    assert!(e.contains("incomplete build"), "{e}");
}

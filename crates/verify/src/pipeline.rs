//! Verification of DSSE-based inputs: cairn bundles, bare envelopes, JSON-lines files.

use cairn_formats::bundle::{Attestation, BundleInput};
use cairn_formats::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use cairn_formats::provenance::Provenance;
use cairn_formats::{DigestAlgorithm, Limits, Statement};
use cairn_sign::dsse::{verify_envelope_with, VerifyOptions};
use cairn_sign::PublicKey;
use serde_json::Value;

use crate::artifact::ArtifactInput;
use crate::error::VerifyError;
use crate::policy::Policy;
use crate::report::{Report, SignerInfo, SubjectInfo};

/// The public keys the consumer trusts to sign attestations.
pub type TrustedKeys = [PublicKey];

/// What a check sees: one attestation whose signature, subject and statement policy have
/// already been verified.
pub struct CheckContext<'a> {
    /// The bundle entry (with its evidence and receipts); `None` for bare envelopes.
    pub attestation: Option<&'a Attestation>,
    pub envelope: &'a Envelope,
    pub statement: &'a Statement,
    pub provenance: Option<&'a Provenance>,
    pub policy: &'a Policy,
}

impl CheckContext<'_> {
    /// `(kind, entry)` for every attachment of the bundle entry.
    pub fn attachment_kinds(&self) -> Vec<(&str, &Value)> {
        self.attestation
            .map(|a| {
                a.attachments
                    .iter()
                    .filter_map(|v| v.get("kind").and_then(Value::as_str).map(|k| (k, v)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A verification step supplied by another crate: log receipts, hardware evidence,
/// source checkouts. Each records what it did in the report.
pub trait AttestationCheck {
    /// Short name used in the report's checks.
    fn name(&self) -> &'static str;
    /// The `kind`s of bundle evidence entries this check verifies. Evidence of a kind no
    /// check claims makes verification fail: a bundle that claims more than the verifier
    /// can check is not silently accepted.
    fn evidence_kinds(&self) -> &'static [&'static str] {
        &[]
    }
    fn check(&self, ctx: &CheckContext<'_>, report: &mut Report) -> Result<(), VerifyError>;
}

/// Verifies `artifact` against every attestation in `input` and returns the report of the
/// first one that passes every check, or else of the one that got furthest.
pub fn verify_dsse_input(
    input: &BundleInput,
    artifact: &ArtifactInput,
    keys: &TrustedKeys,
    policy: &Policy,
    checks: &[&dyn AttestationCheck],
    limits: &Limits,
) -> Report {
    let format = input.format_name();
    let name = artifact.display_name();
    let candidates: Vec<(Option<&Attestation>, &Envelope)> = match input {
        BundleInput::Cairn(b) => b
            .attestations
            .iter()
            .map(|a| (Some(a), &a.envelope))
            .collect(),
        BundleInput::Envelope(e) => vec![(None, e)],
        BundleInput::JsonLines(es) => es.iter().map(|e| (None, e)).collect(),
        BundleInput::Sigstore(_) => {
            let mut r = Report::new(format, name);
            r.set_error(&VerifyError::Usage(
                "Sigstore bundles are verified by the Sigstore verifier, not the DSSE pipeline"
                    .into(),
            ));
            return r;
        }
    };
    if let Err(e) = artifact.check_readable() {
        let mut r = Report::new(format, name);
        r.fail("artifact", &e);
        return r;
    }
    let mut best: Option<(u8, Report)> = None;
    for (attestation, envelope) in candidates {
        let mut report = Report::new(format, name.clone());
        match verify_one(
            attestation,
            envelope,
            artifact,
            keys,
            policy,
            checks,
            limits,
            &mut report,
        ) {
            Ok(()) => {
                report.verified = true;
                report.error = None;
                report.artifact.digest = artifact.known_digests();
                return report;
            }
            Err(e) => {
                if report.error.is_none() {
                    report.set_error(&e);
                }
                report.artifact.digest = artifact.known_digests();
                let p = e.progress();
                if best.as_ref().map(|(bp, _)| p > *bp).unwrap_or(true) {
                    best = Some((p, report));
                }
            }
        }
    }
    best.map(|(_, r)| r).unwrap_or_else(|| {
        let mut r = Report::new(format, artifact.display_name());
        r.set_error(&VerifyError::Malformed(
            cairn_formats::FormatError::Malformed {
                what: "bundle",
                path: "$".into(),
                reason: "no attestations".into(),
            },
        ));
        r
    })
}

#[allow(clippy::too_many_arguments)]
fn verify_one(
    attestation: Option<&Attestation>,
    envelope: &Envelope,
    artifact: &ArtifactInput,
    keys: &TrustedKeys,
    policy: &Policy,
    checks: &[&dyn AttestationCheck],
    limits: &Limits,
    report: &mut Report,
) -> Result<(), VerifyError> {
    // 1. Signatures over the PAE; the payload type is part of what is signed.
    let opts = VerifyOptions {
        threshold: policy.threshold,
        require_all: policy.require_all_keys,
        payload_types: None,
    };
    let signed = match verify_envelope_with(envelope, keys, &opts) {
        Ok(s) => s,
        Err(e) => {
            let err = VerifyError::NoTrustedSignature(e);
            report.fail("signature", &err);
            return Err(err);
        }
    };
    for id in &signed {
        let alg = keys
            .iter()
            .find(|k| k.key_id() == id)
            .map(|k| k.algorithm().name().to_string());
        report.signers.push(SignerInfo {
            kind: "key".into(),
            key_id: Some(id.clone()),
            algorithm: alg,
            ..Default::default()
        });
    }
    report.pass(
        "signature",
        format!(
            "{} of {} trusted key(s) signed (threshold {}{})",
            signed.len(),
            keys.len(),
            policy.threshold,
            if policy.require_all_keys {
                ", all keys required"
            } else {
                ""
            }
        ),
    );

    // 2. The statement, from the verified payload bytes.
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        let err = VerifyError::Malformed(cairn_formats::FormatError::UnsupportedPayloadType {
            found: envelope.payload_type.clone(),
            expected: IN_TOTO_PAYLOAD_TYPE.into(),
        });
        report.fail("statement", &err);
        return Err(err);
    }
    let statement = Statement::parse(&envelope.payload, limits).map_err(|e| {
        let err = VerifyError::Malformed(e);
        report.fail("statement", &err);
        err
    })?;

    // 3. The artifact against the subjects.
    match_subject(&statement, artifact, report)?;

    // 4. Statement policy.
    let provenance = policy.evaluate(&statement, report)?;

    // 5. Evidence and other checks.
    if let Some(a) = attestation {
        for ev in &a.evidence {
            let kind = ev.get("kind").and_then(Value::as_str).unwrap_or("");
            if !checks.iter().any(|c| c.evidence_kinds().contains(&kind)) {
                let err = VerifyError::evidence("evidence", format!("the bundle carries evidence of kind {kind:?}, which this verifier cannot check"));
                report.fail("evidence", &err);
                return Err(err);
            }
        }
    }
    let ctx = CheckContext {
        attestation,
        envelope,
        statement: &statement,
        provenance: provenance.as_ref(),
        policy,
    };
    for c in checks {
        if let Err(e) = c.check(&ctx, report) {
            if report.error.is_none() {
                report.fail(c.name(), &e);
            }
            return Err(e);
        }
    }
    report.statement = serde_json::from_slice(&envelope.payload).ok();
    Ok(())
}

/// Matches the artifact against the subjects, hashing the file only with algorithms that
/// some subject names (strongest first), so npm's sha512 subjects need no flag.
fn match_subject(
    st: &Statement,
    artifact: &ArtifactInput,
    report: &mut Report,
) -> Result<(), VerifyError> {
    let named: Vec<DigestAlgorithm> = DigestAlgorithm::PREFERENCE
        .into_iter()
        .filter(|a| st.subject.iter().any(|s| s.digest.get(a.name()).is_some()))
        .collect();
    let subjects_text = || {
        st.subject
            .iter()
            .map(|s| {
                let d = s
                    .digest
                    .0
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(",");
                match &s.name {
                    Some(n) => format!("{n} {d}"),
                    None => d,
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if named.is_empty() {
        let err = VerifyError::SubjectMismatch {
            algorithm: "sha256/sha384/sha512".into(),
            found: "(no comparable digest)".into(),
            subjects: subjects_text(),
        };
        report.fail("subject", &err);
        return Err(err);
    }
    let digests = artifact.digests(&named)?;
    if digests.is_empty() {
        let err = VerifyError::SubjectMismatch {
            algorithm: named.iter().map(|a| a.name()).collect::<Vec<_>>().join("/"),
            found: format!(
                "(only {} known for this artifact)",
                artifact
                    .known_digests()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            subjects: subjects_text(),
        };
        report.fail("subject", &err);
        return Err(err);
    }
    for s in &st.subject {
        for (alg, d) in &digests {
            if let Some(want) = s.digest.bytes(*alg) {
                if cairn_sign::digest::ct_eq(&want, d) {
                    report.subject = Some(SubjectInfo {
                        name: s.name.clone(),
                        digest: s.digest.0.clone(),
                    });
                    report.pass_value(
                        "subject",
                        format!(
                            "artifact {alg} digest matches subject {}",
                            s.name.as_deref().unwrap_or("(unnamed)")
                        ),
                        hex::encode(d),
                    );
                    return Ok(());
                }
            }
        }
    }
    let (alg, d) = digests
        .iter()
        .next()
        .map(|(a, d)| (*a, d.clone()))
        .unwrap_or((DigestAlgorithm::Sha256, Vec::new()));
    let err = VerifyError::SubjectMismatch {
        algorithm: alg.name().into(),
        found: hex::encode(d),
        subjects: subjects_text(),
    };
    report.fail("subject", &err);
    Err(err)
}

//! Cryptographic verification of one Sigstore bundle through `sigstore-verify`, turned
//! into cairn's own result model. No policy beyond "the bundle is sound and describes
//! this artifact" is applied here; see [`crate::policy`] for identity and source policy.

use cairn_formats::{DigestAlgorithm, Limits, Statement};
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm, SignatureContent,
};
use sigstore_verify::{Policy, PublicKeyVerificationPolicy, VerificationPolicy};

use crate::digest;
use crate::error::{Check, SigstoreError};
use crate::model::{
    ArtifactMatch, CertificateSigner, Checks, FulcioClaims, Signer, TlogEntry, VerifiedBundle,
    VerifiedContent,
};
use crate::trust::{issued_by_github, TrustRoots};

/// Bundles larger than this are refused before parsing.
pub const MAX_BUNDLE_BYTES: u64 = 64 << 20;

/// What the bundle must describe: the artifact bytes, or a digest of it given on the
/// command line (`sha256:<hex>`; for DSSE it names an in-toto subject, and sha384/sha512
/// digests can name subjects of those algorithms).
#[derive(Debug, Clone, Copy)]
pub enum ArtifactInput<'a> {
    Bytes(&'a [u8]),
    Digest(DigestAlgorithm, &'a [u8]),
}

impl<'a> ArtifactInput<'a> {
    fn backend(self) -> Result<Artifact<'a>, SigstoreError> {
        let bad = |e: sigstore_verify::types::Error| SigstoreError::Artifact {
            what: "digest".into(),
            reason: e.to_string(),
        };
        Ok(match self {
            ArtifactInput::Bytes(b) => Artifact::Blob(b),
            ArtifactInput::Digest(alg, d) => {
                let alg = match alg {
                    DigestAlgorithm::Sha256 => HashAlgorithm::Sha2256,
                    DigestAlgorithm::Sha384 => HashAlgorithm::Sha2384,
                    DigestAlgorithm::Sha512 => HashAlgorithm::Sha2512,
                };
                Artifact::Digest(ArtifactDigest::new(alg, d.to_vec()).map_err(bad)?)
            }
        })
    }
}

/// A managed (non-Fulcio) public key, PEM, with where it came from for messages.
#[derive(Debug, Clone)]
pub struct PublicKeyInput {
    pub origin: String,
    pub pem: String,
}

/// Verifies `bundle_bytes` against the artifact. With `key`, the bundle must be a
/// managed-key bundle signed by it; without, a keyless (certificate) bundle.
pub fn verify_bundle(
    roots: &TrustRoots,
    bundle_bytes: &[u8],
    artifact: ArtifactInput<'_>,
    key: Option<&PublicKeyInput>,
) -> Result<VerifiedBundle, SigstoreError> {
    let bundle = parse_bundle(bundle_bytes)?;
    let cert_der = bundle.signing_certificate().map(|c| c.as_bytes().to_vec());
    let root = roots.select(cert_der.as_deref().is_some_and(issued_by_github))?;
    let statement = dsse_statement(&bundle)?;

    let backend_artifact = artifact.backend()?;

    let mut checks = Checks::default();
    let (result, signer) = match (key, &bundle.verification_material.content) {
        (Some(key), VerificationMaterialContent::PublicKey(_)) => {
            let der = DerPublicKey::from_pem(&key.pem).map_err(|e| SigstoreError::Key {
                path: key.origin.clone(),
                reason: e.to_string(),
            })?;
            let key_id = hex::encode(digest::sha256(der.as_bytes()));
            let policy = PublicKeyVerificationPolicy::new(der);
            let result = run(root, backend_artifact, &bundle, &policy)?;
            (result, Signer::PublicKey { key_id })
        }
        (Some(key), _) => {
            return Err(SigstoreError::KeyMismatch(format!(
                "--key {} was given but the bundle is signed with a Fulcio certificate; verify it with --certificate-identity and --certificate-oidc-issuer instead",
                key.origin
            )))
        }
        (None, VerificationMaterialContent::PublicKey(_)) => {
            return Err(SigstoreError::KeyMismatch(
                "the bundle is signed with a managed key (no certificate): pass the public key with --key".into(),
            ))
        }
        (None, _) => {
            let mut policy = VerificationPolicy::any_identity();
            // A trust domain without a transparency log (GitHub's private-repository
            // instance) is verified through its RFC 3161 timestamps instead; only when the
            // bundle carries no log entry either, so a logged bundle is always checked.
            if !root.has_tlogs && bundle.verification_material.tlog_entries.is_empty() {
                policy = policy.skip_tlog_unsafe();
                checks.tlog_skip_reason = Some(format!("trusted root {} has no transparency log", root.name));
            }
            if !root.has_ctlogs {
                policy = policy.skip_sct();
                checks.sct_skip_reason = Some(format!("trusted root {} has no CT log", root.name));
            }
            let result = run(root, backend_artifact, &bundle, &policy)?;
            let cert = result.certificate().ok_or_else(|| {
                SigstoreError::MalformedBundle("verified bundle has no signing certificate".into())
            })?;
            let signer = CertificateSigner {
                identity: result.identity().map(|s| s.as_str().to_string()).unwrap_or_default(),
                identity_kind: match result.identity() {
                    Some(sigstore_verify::SubjectAltName::Email(_)) => "email",
                    Some(_) => "uri",
                    None => "none",
                },
                issuer: result.issuer().map(str::to_string),
                claims: FulcioClaims::from_backend(&cert.ci_claims),
                not_before: cert.not_before.to_string(),
                not_after: cert.not_after.to_string(),
            };
            (result, Signer::Certificate(Box::new(signer)))
        }
    };

    checks.certificate_chain = result.certificate_verified();
    checks.sct = result.sct_verified();
    checks.tlog = result.tlog_verified();
    checks.rfc3161_timestamps = bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .len();
    if matches!(signer, Signer::PublicKey { .. }) {
        checks.sct_skip_reason = Some("managed key: no certificate".into());
    }

    let content = match (&bundle.content, statement) {
        (SignatureContent::DsseEnvelope(env), Some(statement)) => {
            let matched = match_subject(&statement, artifact)?;
            VerifiedContent::Dsse {
                payload_type: env.payload_type.clone(),
                statement,
                matched,
            }
        }
        (SignatureContent::MessageSignature(msg), _) => {
            let (algorithm, digest) = match artifact {
                ArtifactInput::Bytes(b) => (DigestAlgorithm::Sha256, digest::sha256(b).to_vec()),
                ArtifactInput::Digest(alg, d) => (alg, d.to_vec()),
            };
            VerifiedContent::MessageSignature {
                artifact: ArtifactMatch {
                    subject_index: None,
                    algorithm,
                    digest: hex::encode(digest),
                },
                bundle_digest_algorithm: msg
                    .message_digest
                    .as_ref()
                    .map(|d| format!("{:?}", d.algorithm)),
            }
        }
        _ => {
            return Err(SigstoreError::Unsupported(
                "bundle content is neither a message signature nor an in-toto DSSE envelope".into(),
            ))
        }
    };

    let tlog_entries = bundle
        .verification_material
        .tlog_entries
        .iter()
        .map(|e| TlogEntry {
            log_id: hex::encode(e.log_id.key_id.as_bytes()),
            log_index: e.log_index.get(),
            kind: e.kind_version.kind().to_string(),
            version: e.kind_version.version().to_string(),
            integrated_time: e.integrated_time.map(|t| t.to_string()),
            inclusion_proof: e.inclusion_proof.is_some(),
            inclusion_promise: e.inclusion_promise.is_some(),
            verified: result.tlog_verified(),
        })
        .collect();

    Ok(VerifiedBundle {
        media_type: bundle.media_type.as_str().to_string(),
        trust_root: root.name.clone(),
        signer,
        content,
        tlog_entries,
        verified_times: result
            .verified_timestamps()
            .iter()
            .map(|t| t.to_string())
            .collect(),
        checks,
    })
}

fn run(
    root: &crate::trust::LoadedRoot,
    artifact: Artifact<'_>,
    bundle: &Bundle,
    policy: &(impl Policy + ?Sized),
) -> Result<sigstore_verify::VerificationResult, SigstoreError> {
    root.verifier
        .verify(artifact, bundle, policy)
        .map_err(|source| SigstoreError::Verification {
            check: classify(&source),
            source,
        })
}

/// Which check a backend error belongs to.
fn classify(e: &sigstore_verify::Error) -> Check {
    use sigstore_verify::{CertificateError, Error};
    match e {
        Error::Certificate(CertificateError::Sct(_)) => Check::Sct,
        Error::Certificate(_) | Error::TrustedCertificate(_) => Check::Certificate,
        Error::TransparencyLog(_) => Check::TransparencyLog,
        Error::Timestamp(_) => Check::Timestamp,
        Error::SignatureInvalid(_) | Error::Crypto(_) => Check::Signature,
        Error::ArtifactMismatch(_) | Error::UnsupportedArtifact(_) | Error::ArtifactRead(_) => {
            Check::ArtifactBinding
        }
        Error::InvalidTrustRoot(_) | Error::TrustRoot(_) => Check::TrustRoot,
        _ => Check::Bundle,
    }
}

fn parse_bundle(bytes: &[u8]) -> Result<Bundle, SigstoreError> {
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(SigstoreError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_BUNDLE_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| SigstoreError::MalformedBundle(format!("not UTF-8: {e}")))?;
    // Duplicate keys would let two readers see two different bundles.
    cairn_formats::json::check_duplicates(text, "Sigstore bundle")
        .map_err(|e| SigstoreError::MalformedBundle(e.to_string()))?;
    Bundle::from_json(text).map_err(|e| SigstoreError::MalformedBundle(e.to_string()))
}

/// The in-toto statement of a DSSE bundle, parsed strictly before verification so a
/// payload cairn cannot evaluate fails early (it is only trusted after verification).
fn dsse_statement(bundle: &Bundle) -> Result<Option<Statement>, SigstoreError> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => {
            if env.payload_type != cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE {
                return Err(SigstoreError::Unsupported(format!(
                    "DSSE payload type {:?} is not an in-toto statement",
                    env.payload_type
                )));
            }
            Ok(Some(Statement::parse(
                env.payload.as_bytes(),
                &Limits::default(),
            )?))
        }
        _ => Ok(None),
    }
}

/// Finds the subject the artifact is, computing the digest algorithm each subject names
/// (strongest first). The backend has already bound sha256/sha512 subjects; this names
/// which subject matched and covers sha384.
fn match_subject(
    statement: &Statement,
    artifact: ArtifactInput<'_>,
) -> Result<ArtifactMatch, SigstoreError> {
    let mut computed: Vec<(DigestAlgorithm, Vec<u8>)> = Vec::new();
    for alg in DigestAlgorithm::PREFERENCE {
        for (i, subject) in statement.subject.iter().enumerate() {
            let Some(want) = subject.digest.bytes(alg) else {
                continue;
            };
            let have = match artifact {
                ArtifactInput::Digest(given, d) if given == alg => d.to_vec(),
                ArtifactInput::Digest(..) => continue,
                ArtifactInput::Bytes(b) => {
                    if let Some((_, d)) = computed.iter().find(|(a, _)| *a == alg) {
                        d.clone()
                    } else {
                        let d = digest::compute(alg, b);
                        computed.push((alg, d.clone()));
                        d
                    }
                }
            };
            if have == want {
                return Ok(ArtifactMatch {
                    subject_index: Some(i),
                    algorithm: alg,
                    digest: hex::encode(have),
                });
            }
        }
    }
    Err(SigstoreError::Verification {
        check: Check::ArtifactBinding,
        source: sigstore_verify::Error::ArtifactMismatch(
            "the artifact's digest matches no subject of the in-toto statement".into(),
        ),
    })
}

//! cairn's result model for a verified Sigstore bundle. Everything here was verified;
//! anything skipped says so in [`Checks`].

use cairn_formats::{DigestAlgorithm, Statement};
use serde::Serialize;

/// A bundle that verified cryptographically against a trusted root and the artifact.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub media_type: String,
    /// `embedded:<instance>` or the `--trusted-root` path.
    pub trust_root: String,
    pub signer: Signer,
    pub content: VerifiedContent,
    pub tlog_entries: Vec<TlogEntry>,
    /// Authenticated times (RFC 3339): Rekor integrated times backed by a SET or proof, and
    /// RFC 3161 timestamp gen-times.
    pub verified_times: Vec<String>,
    pub checks: Checks,
}

impl VerifiedBundle {
    /// The verified in-toto statement, for DSSE bundles.
    pub fn statement(&self) -> Option<&Statement> {
        match &self.content {
            VerifiedContent::Dsse { statement, .. } => Some(statement),
            VerifiedContent::MessageSignature { .. } => None,
        }
    }

    pub fn artifact(&self) -> &ArtifactMatch {
        match &self.content {
            VerifiedContent::Dsse { matched, .. } => matched,
            VerifiedContent::MessageSignature { artifact, .. } => artifact,
        }
    }

    pub fn certificate(&self) -> Option<&CertificateSigner> {
        match &self.signer {
            Signer::Certificate(c) => Some(c),
            Signer::PublicKey { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum VerifiedContent {
    /// A signature over the artifact itself (hashedrekord).
    MessageSignature {
        artifact: ArtifactMatch,
        bundle_digest_algorithm: Option<String>,
    },
    /// A DSSE envelope whose in-toto statement names the artifact as a subject.
    Dsse {
        payload_type: String,
        statement: Statement,
        matched: ArtifactMatch,
    },
}

/// How the artifact was tied to the bundle.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactMatch {
    /// Index of the matching in-toto subject (DSSE only).
    pub subject_index: Option<usize>,
    #[serde(serialize_with = "ser_alg")]
    pub algorithm: DigestAlgorithm,
    pub digest: String,
}

fn ser_alg<S: serde::Serializer>(alg: &DigestAlgorithm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(alg.name())
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signer {
    /// A Fulcio (or GitHub CA) certificate.
    Certificate(Box<CertificateSigner>),
    /// A managed key; `key_id` is SHA-256 of its SubjectPublicKeyInfo, hex.
    PublicKey { key_id: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateSigner {
    /// The SAN identity (URI or email).
    pub identity: String,
    pub identity_kind: &'static str,
    /// The OIDC issuer extension.
    pub issuer: Option<String>,
    pub claims: FulcioClaims,
    pub not_before: String,
    pub not_after: String,
}

/// The Fulcio certificate extensions cairn's policies read (OID arc 1.3.6.1.4.1.57264.1).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FulcioClaims {
    /// .1.9: the workflow that signed, with its ref (`.../release.yml@refs/tags/v1`).
    pub build_signer_uri: Option<String>,
    /// .1.10
    pub build_signer_digest: Option<String>,
    /// .1.11: `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// .1.12 (or the deprecated .1.5 `owner/repo`, expanded to a github.com URI).
    pub source_repository_uri: Option<String>,
    /// .1.13 (or the deprecated .1.3 workflow sha).
    pub source_repository_digest: Option<String>,
    /// .1.14 (or the deprecated .1.6 workflow ref).
    pub source_repository_ref: Option<String>,
    /// .1.16
    pub source_repository_owner_uri: Option<String>,
    /// .1.18: the top-level workflow that ran.
    pub build_config_uri: Option<String>,
    /// .1.20 (or the deprecated .1.2 trigger).
    pub build_trigger: Option<String>,
    /// .1.21
    pub run_invocation_uri: Option<String>,
    /// .1.22
    pub source_repository_visibility: Option<String>,
}

impl FulcioClaims {
    pub(crate) fn from_backend(c: &sigstore_verify::crypto::FulcioCiClaims) -> Self {
        let old = &c.deprecated_github;
        FulcioClaims {
            build_signer_uri: c.build_signer_uri.clone(),
            build_signer_digest: c.build_signer_digest.clone(),
            runner_environment: c.runner_environment.clone(),
            source_repository_uri: c.source_repository_uri.clone().or_else(|| {
                old.workflow_repository
                    .as_ref()
                    .map(|r| format!("https://github.com/{r}"))
            }),
            source_repository_digest: c
                .source_repository_digest
                .clone()
                .or_else(|| old.workflow_sha.clone()),
            source_repository_ref: c
                .source_repository_ref
                .clone()
                .or_else(|| old.workflow_ref.clone()),
            source_repository_owner_uri: c.source_repository_owner_uri.clone(),
            build_config_uri: c.build_config_uri.clone(),
            build_trigger: c
                .build_trigger
                .clone()
                .or_else(|| old.workflow_trigger.clone()),
            run_invocation_uri: c.run_invocation_uri.clone(),
            source_repository_visibility: c.source_repository_visibility_at_signing.clone(),
        }
    }
}

/// One transparency-log entry of the bundle.
#[derive(Debug, Clone, Serialize)]
pub struct TlogEntry {
    /// SHA-256 of the log's public key, hex.
    pub log_id: String,
    pub log_index: u64,
    pub kind: String,
    pub version: String,
    pub integrated_time: Option<String>,
    pub inclusion_proof: bool,
    pub inclusion_promise: bool,
    /// Inclusion proof / checkpoint / SET verified against the trusted root.
    pub verified: bool,
}

/// Which checks ran. A `false` with a skip reason was skipped on purpose (trust domain
/// without that service); every other check is mandatory and failure is an error.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checks {
    pub certificate_chain: bool,
    pub sct: bool,
    pub sct_skip_reason: Option<String>,
    pub tlog: bool,
    pub tlog_skip_reason: Option<String>,
    pub rfc3161_timestamps: usize,
}

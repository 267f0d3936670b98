//! `cairn verify` for Sigstore bundles (v0.1–v0.3), GitHub/npm attestations,
//! slsa-github-generator `.intoto.jsonl` bundles and PyPI PEP 740 attestations: verified
//! offline by `cairn-sigstore`, then the same policy flags and the same report as every
//! other input.
//!
//! Policy, in order: cosign identity flags, `gh attestation` flags (`--owner`, `--repo`,
//! `--signer-workflow`, `--source-ref`), slsa-verifier flags (`--source-uri`,
//! `--builder-id`, `--source-tag|branch|versioned-tag`), then the statement policy shared
//! with the DSSE pipeline (`--type`, `--build-type`, `--max-age`). A keyless bundle needs
//! at least one identity-binding policy.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::anyhow;
use cairn_formats::bundle::BundleInput;
use cairn_formats::digest::parse_prefixed_digest;
use cairn_formats::{DigestAlgorithm, FormatError};
use cairn_sigstore::model::ArtifactMatch;
use cairn_sigstore::policy::{require_all, Decision};
use cairn_sigstore::trust::default_updated_dir;
use cairn_sigstore::verify::{verify_bundle, ArtifactInput, PublicKeyInput};
use cairn_sigstore::{
    pep740, slsa, GitHubPolicy, IdentityPolicy, PolicyError, Signer, SigstoreError, SlsaOptions,
    TrustRoots, TrustSource, VerifiedBundle,
};
use cairn_verify::report::{LogEntryInfo, SignerInfo, SubjectInfo, TimestampInfo};
use cairn_verify::{Policy, Report, VerifyError};

use super::verify::VerifyArgs;
use crate::exit::{CliError, CliResult};

/// gh's default predicate type for `--owner`/`--repo`.
const GH_DEFAULT_PREDICATE: &str = "https://slsa.dev/provenance/v1";

/// Verifies one Sigstore bundle (routed here by `cairn verify`).
pub fn run_sigstore(args: &VerifyArgs, bundle: &[u8]) -> CliResult {
    let ctx = Context::from_args(args)?;
    let report = match BundleInput::parse(bundle, &args.limits()) {
        Ok(BundleInput::Sigstore(_)) => verify_one(&ctx, bundle, None),
        // A DSSE envelope whose signature carries only a Fulcio certificate (older
        // slsa-github-generator `.intoto.jsonl`): without the log entry there is no proof of
        // log inclusion and no trusted signing time for the short-lived certificate, and
        // fetching them means an online Rekor search, which cairn never does.
        Ok(other) => {
            let mut r = Report::new(other.format_name(), ctx.artifact_name.clone());
            r.fail(
                "tlog",
                &VerifyError::evidence(
                    "tlog",
                    "the envelope's signature carries a Fulcio certificate but no transparency-log entry; \
                     verifying it needs an online Rekor lookup, which cairn does not do: use the Sigstore \
                     bundle (.sigstore.json / .build.slsa / v2 .intoto.jsonl) the builder publishes",
                ),
            );
            r
        }
        Err(e) => {
            let mut r = Report::new("sigstore-bundle", ctx.artifact_name.clone());
            r.fail("sigstore-bundle", &VerifyError::Malformed(e));
            r
        }
    };
    super::verify::emit(&report, args.format)
}

/// When `bytes` is a PyPI PEP 740 attestation or provenance object, verifies every
/// attestation in it (all must pass) and returns the outcome; `None` otherwise.
pub fn run_pep740(args: &VerifyArgs, bytes: &[u8]) -> Option<CliResult> {
    let bundles = match pep740::to_sigstore_bundles(bytes) {
        Ok(None) => return None,
        Ok(Some(b)) => b,
        Err(e) => {
            return Some(Err(CliError::Input(anyhow!(
                "{}: {e}",
                args.bundle.display()
            ))))
        }
    };
    Some((|| {
        let ctx = Context::from_args(args)?;
        let total = bundles.len();
        let mut last = None;
        for (i, b) in bundles.iter().enumerate() {
            let mut report = verify_one(&ctx, b, Some("pep740-attestation"));
            if !report.verified {
                return super::verify::emit(&report, args.format);
            }
            report.pass(
                "pep740",
                format!("attestation {} of {total} verified", i + 1),
            );
            last = Some(report);
        }
        match last {
            Some(r) => super::verify::emit(&r, args.format),
            None => Err(CliError::Input(anyhow!(
                "{}: no attestation",
                args.bundle.display()
            ))),
        }
    })())
}

/// Everything derived from the flags once, before any bundle is looked at.
struct Context {
    roots: TrustRoots,
    artifact_name: String,
    artifact: ArtifactData,
    keys: Vec<PublicKeyInput>,
    identity: IdentityPolicy,
    github: GitHubPolicy,
    source_ref: Option<String>,
    slsa: Option<SlsaOptions>,
    statement_policy: Policy,
    statement_policy_set: bool,
}

enum ArtifactData {
    Bytes(Vec<u8>),
    Digest(DigestAlgorithm, Vec<u8>),
}

impl Context {
    fn from_args(args: &VerifyArgs) -> Result<Self, CliError> {
        let usage = |e: PolicyError| CliError::Input(anyhow!("{e}"));
        let identity = IdentityPolicy::from_flags(
            args.certificate_identity.as_deref(),
            args.certificate_identity_regexp.as_deref(),
            args.certificate_oidc_issuer.as_deref(),
            args.certificate_oidc_issuer_regexp.as_deref(),
        )
        .map_err(usage)?;
        let github = GitHubPolicy {
            owner: args.owner.clone(),
            repo: args.repo.clone(),
            signer_workflow: args.signer_workflow.clone(),
            issuer: args.certificate_oidc_issuer.clone(),
        };
        github.validate().map_err(usage)?;
        if args.threshold != 1 || args.require_all_keys {
            return Err(CliError::Input(anyhow!(
                "--threshold and --require-all-keys apply to DSSE envelopes; a Sigstore bundle carries one signature"
            )));
        }
        let slsa_flags = args.builder_id.is_some()
            || args.source_tag.is_some()
            || args.source_branch.is_some()
            || args.source_versioned_tag.is_some();
        let slsa = match (&args.source_uri, slsa_flags) {
            (Some(uri), _) => Some(SlsaOptions {
                source_uri: uri.clone(),
                builder_id: args.builder_id.clone(),
                source_branch: args.source_branch.clone(),
                source_tag: args.source_tag.clone(),
                source_versioned_tag: args.source_versioned_tag.clone(),
            }),
            (None, true) => {
                return Err(CliError::Input(anyhow!(
                    "--builder-id, --source-tag, --source-branch and --source-versioned-tag need --source-uri (as in slsa-verifier)"
                )))
            }
            (None, false) => None,
        };
        let predicate_type = args
            .predicate_type
            .clone()
            .or_else(|| (!github.is_empty()).then(|| GH_DEFAULT_PREDICATE.to_string()));
        let statement_policy_set =
            predicate_type.is_some() || args.build_type.is_some() || args.max_age.is_some();
        let statement_policy = Policy {
            predicate_type,
            build_type: args.build_type.clone(),
            max_age: args.max_age,
            now: args.now()?,
            ..Policy::default()
        };
        let keys = args
            .keys
            .iter()
            .map(|p| read_key(p))
            .collect::<Result<Vec<_>, _>>()?;
        let (artifact_name, artifact) = read_artifact(&args.artifact)?;
        let roots = TrustRoots::new(match &args.trusted_root {
            Some(p) => TrustSource::File(p.clone()),
            None => TrustSource::Embedded {
                staging: false,
                updated_dir: default_updated_dir(),
            },
        });
        Ok(Context {
            roots,
            artifact_name,
            artifact,
            keys,
            identity,
            github,
            source_ref: args.source_ref.clone(),
            slsa,
            statement_policy,
            statement_policy_set,
        })
    }

    /// A policy that ties a keyless signature to a signer was given.
    fn binds_identity(&self) -> bool {
        (self.identity.identity.is_some() && self.identity.issuer.is_some())
            || !self.github.is_empty()
            || self.slsa.is_some()
    }
}

fn read_key(path: &Path) -> Result<PublicKeyInput, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::Input(anyhow!("--key {}: {e}", path.display())))?;
    if meta.len() > 1 << 20 {
        return Err(CliError::Input(anyhow!(
            "--key {}: not a PEM public key (over 1 MiB)",
            path.display()
        )));
    }
    let pem = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(anyhow!("--key {}: {e}", path.display())))?;
    Ok(PublicKeyInput {
        origin: path.display().to_string(),
        pem,
    })
}

/// The artifact argument: `sha256:`/`sha384:`/`sha512:` hex when no such file exists,
/// else a file path.
fn read_artifact(arg: &str) -> Result<(String, ArtifactData), CliError> {
    if !Path::new(arg).exists() {
        if let Some((alg, bytes)) = parse_prefixed_digest(arg) {
            return Ok((arg.to_string(), ArtifactData::Digest(alg, bytes)));
        }
    }
    let bytes = std::fs::read(arg).map_err(|e| CliError::Input(anyhow!("artifact {arg}: {e}")))?;
    Ok((arg.to_string(), ArtifactData::Bytes(bytes)))
}

/// Verifies one bundle and evaluates every policy, recording all of it in the report.
fn verify_one(ctx: &Context, bundle: &[u8], format: Option<&str>) -> Report {
    let mut report = Report::new(
        format.unwrap_or("sigstore-bundle"),
        ctx.artifact_name.clone(),
    );
    let artifact = match &ctx.artifact {
        ArtifactData::Bytes(b) => ArtifactInput::Bytes(b),
        ArtifactData::Digest(alg, d) => ArtifactInput::Digest(*alg, d),
    };
    let verified = match verify_with_keys(ctx, bundle, artifact) {
        Ok(v) => v,
        Err(e) => {
            let name = match &e {
                SigstoreError::Verification { check, .. } => check.name(),
                _ => "sigstore-bundle",
            };
            report.fail(name, &to_verify_error(&e));
            return report;
        }
    };
    if format.is_none() {
        report.input_format = bundle_format_name(&verified.media_type);
    }
    fill_verified(&verified, &mut report);
    if let Err(e) = apply_policies(ctx, &verified, &mut report) {
        if report.error.is_none() {
            report.set_error(&e);
        }
        return report;
    }
    report.verified = true;
    report
}

fn verify_with_keys(
    ctx: &Context,
    bundle: &[u8],
    artifact: ArtifactInput<'_>,
) -> Result<VerifiedBundle, SigstoreError> {
    if ctx.keys.is_empty() {
        return verify_bundle(&ctx.roots, bundle, artifact, None);
    }
    // Any one of the trusted keys may have signed a managed-key bundle.
    let mut last = None;
    for key in &ctx.keys {
        match verify_bundle(&ctx.roots, bundle, artifact, Some(key)) {
            Ok(v) => return Ok(v),
            Err(e) if e.is_input_error() => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| SigstoreError::KeyMismatch("no --key given".into())))
}

fn apply_policies(
    ctx: &Context,
    v: &VerifiedBundle,
    report: &mut Report,
) -> Result<(), VerifyError> {
    match &v.signer {
        Signer::Certificate(cert) => {
            if !ctx.binds_identity() {
                let e = PolicyError::NoIdentityPolicy {
                    identity: cert.identity.clone(),
                    issuer: cert.issuer.clone().unwrap_or_default(),
                };
                let err = VerifyError::Usage(e.to_string());
                report.fail("identity-policy", &err);
                return Err(err);
            }
            record(report, &ctx.identity.evaluate(cert))?;
            if !ctx.github.is_empty() {
                record(report, &ctx.github.evaluate(cert))?;
            }
            if let Some(want) = &ctx.source_ref {
                let found = cert.claims.source_repository_ref.clone();
                let ok = found.as_deref().is_some_and(|f| {
                    f == want
                        || (!want.starts_with("refs/")
                            && (f == format!("refs/heads/{want}")
                                || f == format!("refs/tags/{want}")))
                });
                record(
                    report,
                    &[Decision {
                        policy: "source_ref".into(),
                        expected: want.clone(),
                        found,
                        passed: ok,
                    }],
                )?;
            }
        }
        Signer::PublicKey { key_id } => {
            if !ctx.identity.is_empty()
                || !ctx.github.is_empty()
                || ctx.source_ref.is_some()
                || ctx.slsa.is_some()
            {
                let err = VerifyError::Usage(format!(
                    "the bundle is signed by managed key {key_id}, not a certificate: identity, GitHub and source flags do not apply"
                ));
                report.fail("identity-policy", &err);
                return Err(err);
            }
        }
    }
    if let Some(opts) = &ctx.slsa {
        match slsa::evaluate(v, opts) {
            Ok(decisions) => record(report, &decisions)?,
            Err(e) => {
                let err = policy_error(&e);
                report.fail("slsa-policy", &err);
                return Err(err);
            }
        }
    }
    match v.statement() {
        Some(st) => {
            ctx.statement_policy.evaluate(st, report)?;
        }
        None if ctx.statement_policy_set => {
            let err = VerifyError::policy(
                "predicateType",
                "an attestation (for --type, --build-type or --max-age)",
                "a signature over the artifact itself",
            );
            report.fail("predicate-type", &err);
            return Err(err);
        }
        None => {}
    }
    Ok(())
}

/// Adds decisions as checks; the first failed one becomes the error.
fn record(report: &mut Report, decisions: &[Decision]) -> Result<(), VerifyError> {
    for d in decisions {
        let name = d.policy.replace('_', "-");
        if d.passed {
            report.pass_value(
                &name,
                format!("{} matches", d.policy),
                d.found.clone().unwrap_or_default(),
            );
        }
    }
    if let Err(e) = require_all(decisions) {
        let failed = decisions
            .iter()
            .find(|d| !d.passed)
            .map(|d| d.policy.replace('_', "-"));
        let err = policy_error(&e);
        report.fail(failed.as_deref().unwrap_or("policy"), &err);
        return Err(err);
    }
    Ok(())
}

fn policy_error(e: &PolicyError) -> VerifyError {
    match e {
        PolicyError::Mismatch {
            what,
            expected,
            found,
        } => VerifyError::policy(*what, expected.clone(), found.clone()),
        PolicyError::UntrustedBuilder { found, reason } => {
            VerifyError::policy("builder (signing workflow)", reason.clone(), found.clone())
        }
        PolicyError::BadValue { .. } | PolicyError::BadRegex { .. } => {
            VerifyError::Usage(e.to_string())
        }
        other => VerifyError::policy("policy", other.to_string(), "(see message)"),
    }
}

fn to_verify_error(e: &SigstoreError) -> VerifyError {
    match e {
        SigstoreError::MalformedBundle(m) => VerifyError::Malformed(FormatError::Malformed {
            what: "Sigstore bundle",
            path: "$".into(),
            reason: m.clone(),
        }),
        SigstoreError::TooLarge { .. }
        | SigstoreError::TrustRoot { .. }
        | SigstoreError::Key { .. }
        | SigstoreError::Artifact { .. }
        | SigstoreError::KeyMismatch(_) => VerifyError::Usage(e.to_string()),
        SigstoreError::Verification { check, source } => {
            VerifyError::evidence(check.name(), source.to_string())
        }
        SigstoreError::Statement(f) => VerifyError::Malformed(f.clone()),
        SigstoreError::Unsupported(_) => VerifyError::evidence("sigstore-bundle", e.to_string()),
    }
}

fn bundle_format_name(media_type: &str) -> String {
    for v in ["0.1", "0.2", "0.3"] {
        if media_type.ends_with(&format!("version={v}"))
            || media_type.contains(&format!(".v{v}+json"))
        {
            return format!("sigstore-bundle-v{v}");
        }
    }
    "sigstore-bundle".into()
}

/// The verified facts, as report fields and passed checks.
fn fill_verified(v: &VerifiedBundle, report: &mut Report) {
    let m: &ArtifactMatch = v.artifact();
    report.artifact.digest = BTreeMap::from([(m.algorithm.name().to_string(), m.digest.clone())]);
    report.pass("trusted-root", v.trust_root.clone());
    match &v.signer {
        Signer::Certificate(c) => {
            report.signers.push(SignerInfo {
                kind: "certificate".into(),
                identity: Some(c.identity.clone()),
                issuer: c.issuer.clone(),
                ..Default::default()
            });
            if v.checks.certificate_chain {
                report.pass(
                    "certificate-chain",
                    format!(
                        "chains to the trusted root; valid {} to {}",
                        c.not_before, c.not_after
                    ),
                );
            }
        }
        Signer::PublicKey { key_id } => {
            report.signers.push(SignerInfo {
                kind: "key".into(),
                key_id: Some(key_id.clone()),
                ..Default::default()
            });
            report.skip("certificate-chain", "managed key: no certificate");
        }
    }
    match (&v.checks.sct, &v.checks.sct_skip_reason) {
        (true, _) => report.pass("sct", "signed certificate timestamp verified"),
        (false, Some(r)) => report.skip("sct", r.clone()),
        (false, None) => report.skip("sct", "not checked"),
    }
    match (&v.checks.tlog, &v.checks.tlog_skip_reason) {
        (true, _) => report.pass(
            "tlog",
            format!(
                "{} entr(y/ies): inclusion proof, checkpoint and SET verified",
                v.tlog_entries.len()
            ),
        ),
        (false, Some(r)) => report.skip("tlog", r.clone()),
        (false, None) => report.skip("tlog", "not checked"),
    }
    if v.checks.rfc3161_timestamps > 0 {
        report.pass(
            "rfc3161",
            format!(
                "{} timestamp(s) verified against the trusted TSAs",
                v.checks.rfc3161_timestamps
            ),
        );
    }
    report.pass("signature", "signature verified with the signing key");
    let integrated: Vec<&String> = v
        .tlog_entries
        .iter()
        .filter_map(|e| e.integrated_time.as_ref())
        .collect();
    for t in &v.verified_times {
        let kind = if integrated.contains(&t) {
            "tlog-integrated-time"
        } else {
            "rfc3161"
        };
        report.timestamps.push(TimestampInfo {
            kind: kind.into(),
            time: t.clone(),
            verified: true,
        });
    }
    for e in &v.tlog_entries {
        report.log_entries.push(LogEntryInfo {
            log: e.log_id.clone(),
            index: e.log_index,
            tree_size: None,
            integrated_time: e.integrated_time.clone(),
            inclusion_verified: e.verified && e.inclusion_proof,
            witnesses: Vec::new(),
        });
    }
    if let Some(st) = v.statement() {
        if let Some(s) = m.subject_index.and_then(|i| st.subject.get(i)) {
            report.subject = Some(SubjectInfo {
                name: s.name.clone(),
                digest: s.digest.0.clone(),
            });
        }
        report.pass_value(
            "subject",
            format!("artifact {} matches a subject", m.algorithm),
            m.digest.clone(),
        );
        report.statement = serde_json::from_str(&st.to_json()).ok();
    } else {
        report.pass_value(
            "artifact-digest",
            "the signature covers the artifact",
            m.digest.clone(),
        );
    }
}

//! `cairn verify`: check an artifact against a bundle, offline, with policy.
//!
//! DSSE-based inputs (cairn bundles, envelopes, `.intoto.jsonl`) go through
//! `cairn_verify::verify_dsse_input`; Sigstore bundles and keyless envelopes (signatures
//! carrying a Fulcio certificate) go to `verify_sigstore`. Both produce the same report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use cairn_formats::bundle::BundleInput;
use cairn_formats::Limits;
use cairn_sign::PublicKey;
use cairn_verify::{ArtifactInput, AttestationCheck, CheckStatus, Policy, Report};
use clap::{Args, ValueEnum};

use crate::exit::{CliError, CliResult, EXIT_FAILED, EXIT_OK};
use crate::output;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
#[command(after_help = "Examples:
  cairn verify ./app --bundle app.bundle.json --key builder.pub
  cairn verify ./app --bundle app.bundle.json --key builder.pub \\
      --builder-id https://cairn.dev/builder --source-uri github.com/acme/app --source-ref main --max-age 30d
  cairn verify sha256:<hex> --bundle app.intoto.jsonl --key a.pub --key b.pub --threshold 2
  cairn verify ./app --bundle app.bundle.json --key ed.pub --key mldsa.pub --require-all-keys
  cairn verify ./app --bundle app.bundle.json --key builder.pub --format json | jq .checks
  cairn verify ./app --bundle app.bundle.json --key builder.pub \\
      --tpm-ca manufacturer-root.pem --enrollment-key authority.pub --require-hardware tpm
  cairn verify ./app --bundle app.bundle.json --key builder.pub \\
      --require-hardware tdx --tee-measurement tdx:<MRTD hex> --tdx-allow dynamic-platform

Exit codes: 0 verified, 1 verification failed, 2 usage or input error.")]
pub struct VerifyArgs {
    /// The artifact: a file, or sha256:<hex> (sha384:/sha512: too) in place of a file.
    #[arg(value_name = "ARTIFACT|sha256:HEX")]
    pub artifact: String,
    /// A cairn bundle, a DSSE envelope, a JSON-lines file of envelopes, or a Sigstore bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Trusted public key (SPKI PEM). Repeat for several keys.
    #[arg(long = "key", value_name = "PUB")]
    pub keys: Vec<PathBuf>,
    /// Distinct trusted keys that must have signed.
    #[arg(long, default_value_t = 1)]
    pub threshold: usize,
    /// Every --key must have signed (e.g. both halves of a hybrid Ed25519 + ML-DSA envelope).
    #[arg(long)]
    pub require_all_keys: bool,
    /// Required predicate type URI.
    #[arg(long = "type", visible_alias = "predicate-type", value_name = "URI")]
    pub predicate_type: Option<String>,
    /// Required builder id (runDetails.builder.id / builder.id).
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,
    /// Required buildType URI.
    #[arg(long, value_name = "URI")]
    pub build_type: Option<String>,
    /// Required source repository (scheme, git+ and .git are ignored when comparing).
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,
    /// Required source ref (`main` matches refs/heads/main and refs/tags/main).
    #[arg(long, value_name = "REF")]
    pub source_ref: Option<String>,
    /// Required source tag (slsa-verifier spelling).
    #[arg(long, value_name = "TAG")]
    pub source_tag: Option<String>,
    /// Required source branch (slsa-verifier spelling).
    #[arg(long, value_name = "BRANCH")]
    pub source_branch: Option<String>,
    /// Required semantic-version tag prefix, e.g. v1 or v1.2 (slsa-verifier spelling).
    #[arg(long, value_name = "TAG")]
    pub source_versioned_tag: Option<String>,
    /// The build must have finished at most this long ago (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_age: Option<Duration>,
    /// Sigstore trusted root (trusted_root.json), instead of the embedded ones.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Required certificate identity (SAN), exact.
    #[arg(long, visible_alias = "cert-identity", value_name = "ID")]
    pub certificate_identity: Option<String>,
    /// Required certificate identity (SAN), regular expression.
    #[arg(long, value_name = "REGEX")]
    pub certificate_identity_regexp: Option<String>,
    /// Required OIDC issuer, exact.
    #[arg(long, visible_alias = "cert-oidc-issuer", value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// Required OIDC issuer, regular expression.
    #[arg(long, value_name = "REGEX")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// GitHub owner the attestation must come from (gh attestation spelling).
    #[arg(long, value_name = "OWNER")]
    pub owner: Option<String>,
    /// GitHub repository owner/name the attestation must come from (gh attestation spelling).
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: Option<String>,
    /// Workflow that must have signed, e.g. github.com/o/r/.github/workflows/release.yml.
    #[arg(long, value_name = "WORKFLOW")]
    pub signer_workflow: Option<String>,
    /// Largest bundle accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT_MAX_BYTES)]
    pub max_bundle_size: u64,
    /// Evaluate time-dependent checks as of this RFC 3339 time instead of now.
    #[arg(long, value_name = "TIME", hide = true)]
    pub verification_time: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Hardware evidence (TPM quotes): trust anchors and requirements.
    #[command(flatten)]
    pub tpm: super::tpm::VerifyHardwareArgs,
    /// Transparency-log receipts: trusted log and witness keys.
    #[command(flatten)]
    pub log: super::verify_log::VerifyLogArgs,
    /// Inputs of cairn builds: the consumer's checkout and allowed toolchains.
    #[command(flatten)]
    pub build: super::verify_build::VerifyBuildArgs,
}

impl VerifyArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_bundle_size,
        }
    }

    pub fn now(&self) -> anyhow::Result<time::OffsetDateTime> {
        verification_time(self.verification_time.as_deref())
    }

    /// The DSSE-side policy these flags describe.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        let refs = [
            self.source_ref.clone(),
            self.source_tag.as_ref().map(|t| format!("refs/tags/{t}")),
            self.source_branch
                .as_ref()
                .map(|b| format!("refs/heads/{b}")),
        ];
        let given: Vec<String> = refs.into_iter().flatten().collect();
        if given.len() > 1 {
            return Err(anyhow!(
                "give at most one of --source-ref, --source-tag and --source-branch"
            ));
        }
        Ok(Policy {
            threshold: self.threshold,
            require_all_keys: self.require_all_keys,
            predicate_type: self.predicate_type.clone(),
            builder_id: self.builder_id.clone(),
            build_type: self.build_type.clone(),
            source_uri: self.source_uri.clone(),
            source_ref: given.into_iter().next(),
            max_age: self.max_age,
            now: self.now()?,
        })
    }
}

pub fn run(args: VerifyArgs) -> CliResult {
    let limits = args.limits();
    let bytes = read_bundle(&args.bundle, &limits)?;
    // PyPI PEP 740 attestation/provenance objects are Sigstore bundles in another encoding.
    if let Some(outcome) = super::verify_sigstore::run_pep740(&args, &bytes) {
        return outcome;
    }
    let input = BundleInput::parse(&bytes, &limits)
        .with_context(|| format!("{}", args.bundle.display()))?;

    let keyless = match &input {
        BundleInput::Sigstore(_) => true,
        other => {
            args.keys.is_empty()
                && other
                    .envelopes()
                    .iter()
                    .any(|e| e.signatures.iter().any(|s| s.cert.is_some()))
        }
    };
    if keyless {
        return super::verify_sigstore::run_sigstore(&args, &bytes);
    }
    if args.threshold == 0 {
        return Err(CliError::Input(anyhow!("--threshold must be at least 1")));
    }
    if args.keys.is_empty() {
        return Err(CliError::Input(anyhow!(
            "give at least one trusted --key (SPKI PEM) to verify a DSSE envelope"
        )));
    }
    if args.source_versioned_tag.is_some() {
        return Err(CliError::Input(anyhow!("--source-versioned-tag applies to GitHub-built (slsa-github-generator) provenance only")));
    }
    let keys = args
        .keys
        .iter()
        .map(|p| {
            PublicKey::from_pem_file(p).with_context(|| format!("loading key {}", p.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let policy = args.policy()?;
    let artifact = ArtifactInput::from_arg(&args.artifact);

    let extensions = Extensions::from_args(&args)?;
    let checks = extensions.checks();
    let report =
        cairn_verify::verify_dsse_input(&input, &artifact, &keys, &policy, &checks, &limits);
    emit(&report, args.format)
}

/// Checks contributed by other crates (log receipts, hardware evidence, source
/// checkouts), built from their flags.
struct Extensions {
    /// Always present: a bundle that claims or carries hardware evidence fails unless it
    /// verifies, and `--require-hardware` makes evidence mandatory.
    hardware: cairn_evidence::check::HardwareEvidenceCheck,
    log: super::verify_log::LogReceiptCheck,
    build: super::verify_build::BuildProvenanceCheck,
}

impl Extensions {
    fn from_args(args: &VerifyArgs) -> anyhow::Result<Self> {
        Ok(Extensions {
            hardware: args.tpm.check(args.now()?)?,
            log: args.log.check()?,
            build: args.build.check(),
        })
    }

    fn checks(&self) -> Vec<&dyn AttestationCheck> {
        vec![&self.build, &self.log, &self.hardware]
    }
}

fn read_bundle(path: &std::path::Path, limits: &Limits) -> Result<Vec<u8>, CliError> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    limits
        .check_size("bundle", meta.len())
        .map_err(|e| CliError::Input(anyhow!("{}: {e}", path.display())))?;
    Ok(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
}

/// Prints the report in the chosen format and maps it to the exit code.
pub fn emit(report: &Report, format: OutputFormat) -> CliResult {
    match format {
        OutputFormat::Json => println!("{}", report.to_json()),
        OutputFormat::Text => print_text(report),
    }
    // The report already says why; the exit code says which kind of outcome it was.
    let code = match &report.error {
        None if report.verified => EXIT_OK,
        None => EXIT_FAILED,
        Some(e) => e.exit_code,
    };
    Ok(ExitCode::from(code))
}

fn print_text(r: &Report) {
    let tty = output::stdout_is_tty();
    let digest = r
        .artifact
        .digest
        .iter()
        .next()
        .map(|(a, d)| format!(" ({a}:{}…)", &d[..d.len().min(16)]))
        .unwrap_or_default();
    if r.verified {
        println!(
            "{} {}{}",
            output::green(tty, "Verified OK"),
            r.artifact.name,
            digest
        );
    } else {
        let msg = r
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("not verified");
        eprintln!(
            "{} {}{}: {}",
            output::red(output::stderr_is_tty(), "Verification FAILED"),
            r.artifact.name,
            digest,
            msg
        );
    }
    let mut lines: Vec<(String, String)> = vec![("input".into(), r.input_format.clone())];
    for s in &r.signers {
        let who = match (&s.identity, &s.key_id) {
            (Some(id), _) => format!(
                "{id}{}",
                s.issuer
                    .as_ref()
                    .map(|i| format!(" (issuer {i})"))
                    .unwrap_or_default()
            ),
            (None, Some(k)) => format!(
                "key {}… {}",
                &k[..k.len().min(16)],
                s.algorithm.clone().unwrap_or_default()
            ),
            _ => s.kind.clone(),
        };
        lines.push(("signer".into(), who));
    }
    if let Some(p) = &r.predicate_type {
        lines.push(("predicate".into(), p.clone()));
    }
    if let Some(b) = &r.builder {
        lines.push(("builder".into(), b.id.clone()));
    }
    if let Some(s) = &r.source {
        let mut t = s.uri.clone().unwrap_or_default();
        if let Some(rf) = &s.ref_ {
            t.push_str(&format!(" @ {rf}"));
        }
        if let Some(c) = &s.commit {
            t.push_str(&format!(" ({})", &c[..c.len().min(12)]));
        }
        lines.push(("source".into(), t));
    }
    for l in &r.log_entries {
        lines.push((
            "log".into(),
            format!(
                "{} #{}{}",
                l.log,
                l.index,
                if l.inclusion_verified {
                    " (inclusion proven)"
                } else {
                    ""
                }
            ),
        ));
    }
    for h in &r.hardware_evidence {
        lines.push((
            "hardware".into(),
            format!("{}{}", h.kind, if h.verified { " (verified)" } else { "" }),
        ));
    }
    for c in &r.checks {
        let status = match c.status {
            CheckStatus::Pass => output::green(tty, "pass"),
            CheckStatus::Fail => output::red(tty, "FAIL"),
            CheckStatus::Skipped => output::dim(tty, "skip"),
        };
        lines.push((
            format!("check {}", c.name),
            format!("{status} {}", c.detail),
        ));
    }
    let out = lines
        .iter()
        .map(|(k, v)| format!("  {k:<22} {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    if r.verified {
        println!("{out}");
    } else {
        eprintln!("{out}");
    }
}

/// `--verification-time RFC3339`, or now.
pub fn verification_time(arg: Option<&str>) -> anyhow::Result<time::OffsetDateTime> {
    match arg {
        Some(t) => cairn_formats::provenance::parse_time(t)
            .ok_or_else(|| anyhow!("--verification-time {t:?}: not an RFC 3339 time")),
        None => Ok(time::OffsetDateTime::now_utc()),
    }
}

//! `cairn attest`: sign an in-toto statement whose subjects are the given artifacts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use cairn_formats::bundle::{Attestation, Bundle};
use cairn_formats::digest::parse_prefixed_digest;
use cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE;
use cairn_formats::sigstore_export::to_sigstore_bundle;
use cairn_formats::{DigestSet, Limits, ResourceDescriptor, Statement};
use cairn_sign::PrivateKey;
use clap::Args;

use crate::exit::CliResult;
use crate::fsutil::write_atomic;

#[derive(Args)]
#[command(after_help = "Examples:
  cairn attest --predicate provenance.json --type https://slsa.dev/provenance/v1 \\
      --key builder.key -o app.bundle.json ./app
  cairn attest --predicate p.json --type https://example.com/review/v1 --key a.key \\
      --key a-pq.key sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  cairn attest ... --sigstore-bundle app.sigstore.json ./app   # also export for Sigstore tooling")]
pub struct AttestArgs {
    /// JSON file holding the predicate (a JSON object).
    #[arg(long)]
    pub predicate: PathBuf,
    /// Predicate type URI, e.g. https://slsa.dev/provenance/v1.
    #[arg(long = "type", value_name = "URI")]
    pub predicate_type: String,
    /// Private key(s) (PKCS#8 PEM). Give a classical and an ML-DSA key for a hybrid envelope.
    #[arg(long, required = true)]
    pub key: Vec<PathBuf>,
    /// Where to write the cairn bundle (default: standard output).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Also write the envelope as a Sigstore bundle v0.3 with a public-key hint.
    #[arg(long, value_name = "FILE")]
    pub sigstore_bundle: Option<PathBuf>,
    /// Files to attest, or sha256:<hex> digests in place of files.
    #[arg(required = true, value_name = "ARTIFACT")]
    pub artifacts: Vec<String>,
}

pub fn run(a: AttestArgs) -> CliResult {
    Ok(attest(a)?)
}

fn attest(a: AttestArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    let raw = std::fs::read(&a.predicate)
        .with_context(|| format!("reading predicate {}", a.predicate.display()))?;
    let predicate: serde_json::Value =
        cairn_formats::json::parse_strict(&raw, "predicate", &limits)?;
    if !predicate.is_object() {
        bail!("predicate {}: must be a JSON object", a.predicate.display());
    }
    if a.predicate_type.trim().is_empty() {
        bail!("--type must not be empty");
    }
    let keys = a
        .key
        .iter()
        .map(|p| {
            PrivateKey::from_pem_file(p).with_context(|| format!("loading key {}", p.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let mut subjects = Vec::with_capacity(a.artifacts.len());
    for arg in &a.artifacts {
        subjects.push(subject_for(arg)?);
    }
    let statement = Statement::new(subjects, a.predicate_type.clone(), predicate);
    let key_refs: Vec<&PrivateKey> = keys.iter().collect();
    let envelope = cairn_sign::dsse::sign_envelope(
        IN_TOTO_PAYLOAD_TYPE,
        statement.to_json().as_bytes(),
        &key_refs,
    )?;

    if let Some(path) = &a.sigstore_bundle {
        let sb = to_sigstore_bundle(&envelope, keys[0].key_id());
        write_atomic(
            path,
            format!("{}\n", serde_json::to_string_pretty(&sb)?).as_bytes(),
        )?;
    }
    let bundle = Bundle::new(vec![Attestation::new(envelope)]).to_json();
    match &a.output {
        Some(p) => {
            write_atomic(p, bundle.as_bytes())?;
            eprintln!(
                "signed {} subject(s) with {} key(s); wrote {}",
                a.artifacts.len(),
                keys.len(),
                p.display()
            );
        }
        None => print!("{bundle}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn subject_for(arg: &str) -> anyhow::Result<ResourceDescriptor> {
    let path = Path::new(arg);
    if !path.exists() {
        if let Some((alg, bytes)) = parse_prefixed_digest(arg) {
            return Ok(ResourceDescriptor {
                digest: DigestSet::new().with(alg.name(), hex::encode(bytes)),
                ..Default::default()
            });
        }
        bail!("{arg}: no such file (and not a sha256:<64 hex> digest)");
    }
    let meta = std::fs::metadata(path).with_context(|| format!("reading {arg}"))?;
    if !meta.is_file() {
        bail!("{arg}: not a regular file");
    }
    let d = cairn_sign::digest::sha256_file(path).with_context(|| format!("hashing {arg}"))?;
    Ok(ResourceDescriptor::named(
        arg,
        DigestSet::sha256(hex::encode(d)),
    ))
}

//! `cairn conformance`: the Sigstore conformance-suite CLI protocol
//! (sigstore-conformance `cli_protocol.md`). Verification only; the result is the exit
//! code (0 verified, 1 not), with the reason on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use cairn_sigstore::conformance::{self, ConformanceError, Material, Request};
use clap::{Args, Subcommand};

use crate::exit::{CliError, CliResult, EXIT_OK};

#[derive(Subcommand, Debug)]
pub enum ConformanceCommand {
    /// verify-bundle [--staging] --bundle FILE (--certificate-identity ID
    /// --certificate-oidc-issuer URL | --key PEM) [--trusted-root FILE] FILE_OR_DIGEST
    VerifyBundle(VerifyBundleArgs),
    /// Signing is not part of cairn's conformance client: exits 2.
    SignBundle {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct VerifyBundleArgs {
    /// Use the Sigstore staging root instead of public-good.
    #[arg(long)]
    pub staging: bool,
    /// The Sigstore bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Expected certificate identity (SAN), exact.
    #[arg(
        long,
        value_name = "IDENTITY",
        requires = "certificate_oidc_issuer",
        conflicts_with = "key"
    )]
    pub certificate_identity: Option<String>,
    /// Expected OIDC issuer, exact.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,
    /// PEM public key of a managed-key bundle.
    #[arg(
        long,
        value_name = "PATH_TO_KEY",
        required_unless_present = "certificate_identity"
    )]
    pub key: Option<PathBuf>,
    /// Trusted root to use instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The artifact, or `sha256:<hex>` of it.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

pub fn run(cmd: ConformanceCommand) -> CliResult {
    match cmd {
        ConformanceCommand::SignBundle { .. } => Err(CliError::Input(anyhow!(
            "sign-bundle is unsupported: cairn's conformance client only verifies"
        ))),
        ConformanceCommand::VerifyBundle(a) => {
            let material = match (a.key, a.certificate_identity, a.certificate_oidc_issuer) {
                (Some(key), _, _) => Material::Key(key),
                (None, Some(identity), Some(issuer)) => Material::Identity { identity, issuer },
                _ => {
                    return Err(CliError::Input(anyhow!(
                        "give --key, or --certificate-identity with --certificate-oidc-issuer"
                    )))
                }
            };
            let req = Request {
                staging: a.staging,
                bundle: a.bundle,
                material,
                trusted_root: a.trusted_root,
                artifact: a.artifact,
            };
            match conformance::verify(&req) {
                Ok(_) => Ok(ExitCode::from(EXIT_OK)),
                // The protocol only reads the exit code: anything not verified is a failure.
                Err(e @ ConformanceError::Read { .. }) => Err(CliError::Input(e.into())),
                Err(e) => Err(CliError::Failed {
                    error: e.into(),
                    printed: false,
                }),
            }
        }
    }
}

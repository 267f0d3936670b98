//! Sigstore bundles and keyless envelopes (owned by the Sigstore integration).

use anyhow::anyhow;

use super::verify::VerifyArgs;
use crate::exit::{CliError, CliResult};

pub fn run_sigstore(_args: &VerifyArgs, _bundle: &[u8]) -> CliResult {
    Err(CliError::Input(anyhow!("Sigstore bundles and keyless envelopes are not supported by this build")))
}

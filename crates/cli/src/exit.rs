//! Errors at the CLI edge and the exit codes they map to.

use std::process::ExitCode;

/// 0: success or verified.
pub const EXIT_OK: u8 = 0;
/// 1: verification ran and failed.
pub const EXIT_FAILED: u8 = 1;
/// 2: usage or input error (unreadable file, malformed bundle, bad flag value).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug)]
pub enum CliError {
    /// Bad usage or unusable input: exit 2.
    Input(anyhow::Error),
    /// Verification failed: exit 1. The message has already been printed when `printed`.
    Failed { error: anyhow::Error, printed: bool },
}

impl CliError {
    pub fn report(self) -> ExitCode {
        match self {
            CliError::Input(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(EXIT_USAGE)
            }
            CliError::Failed { error, printed } => {
                if !printed {
                    eprintln!("verification failed: {error:#}");
                }
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Input(e)
    }
}

pub type CliResult = Result<ExitCode, CliError>;

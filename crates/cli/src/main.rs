//! `cairn`: one binary over the library crates. Each subcommand lives in `cmd/<name>.rs`
//! and only translates flags into library calls and results into output and exit codes.
//!
//! Exit codes: 0 verified / success, 1 verification failed, 2 usage or input error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod exit;
mod fsutil;
mod output;

/// Attested builds: build hermetically, record provenance, bind it to hardware, publish it
/// to a transparency log, verify it offline.
#[derive(Parser)]
#[command(name = "cairn", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success/verified, 1 verification failed, 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate and inspect signing keys.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Sign an in-toto statement about one or more artifacts.
    Attest(cmd::attest::AttestArgs),
    /// Verify an artifact against a bundle, offline, with policy.
    Verify(cmd::verify::VerifyArgs),
    /// Build in a hermetic sandbox and sign SLSA provenance into a cairn bundle.
    Build(cmd::build::BuildArgs),
    /// Sigstore conformance-suite client protocol (verify-bundle).
    #[command(subcommand)]
    Conformance(cmd::conformance::ConformanceCommand),
    /// Show or refresh (through TUF, the only networked command) the Sigstore trusted roots.
    #[command(subcommand)]
    TrustRoot(cmd::trust_root::TrustRootCommand),
    /// Run, feed, audit and witness a transparency log (C2SP tlog-tiles).
    #[command(subcommand)]
    Log(cmd::log::LogCommand),
    /// TPM 2.0: enroll a build host, check TPM evidence in a bundle.
    #[command(subcommand)]
    Tpm(cmd::tpm::TpmCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(c) => cmd::key::run(c),
        Command::Attest(a) => cmd::attest::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Conformance(c) => cmd::conformance::run(c),
        Command::TrustRoot(c) => cmd::trust_root::run(c),
        Command::Log(c) => cmd::log::run(c),
        Command::Tpm(c) => cmd::tpm::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

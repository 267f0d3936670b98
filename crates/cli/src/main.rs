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
#[command(after_help = "Exit codes: 0 success/verified, 1 verification failed, 2 usage or input error.")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(c) => cmd::key::run(c),
        Command::Attest(a) => cmd::attest::run(a),
        Command::Verify(a) => cmd::verify::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

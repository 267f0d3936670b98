//! `cairn key`: generate signing keys and print key ids.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_sign::{Algorithm, PrivateKey, PublicKey};
use clap::{Args, Subcommand};

use crate::exit::CliResult;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM).
    #[command(
        after_help = "Examples:\n  cairn key generate --algorithm ed25519 --out builder\n  cairn key generate --algorithm ml-dsa-65 --out builder-pq   # post-quantum half of a hybrid pair"
    )]
    Generate(GenerateArgs),
    /// Print the key id (hex SHA-256 of the SPKI DER) and algorithm of a public or private key.
    Id {
        /// A .pub (SPKI PEM) or .key (PKCS#8 PEM) file.
        key: PathBuf,
    },
}

#[derive(Args)]
pub struct GenerateArgs {
    /// ed25519, ecdsa-p256, ecdsa-p384 or ml-dsa-65.
    #[arg(long, short = 'a', default_value = "ed25519")]
    pub algorithm: Algorithm,
    /// Base name: writes NAME.key and NAME.pub. Existing files are never overwritten.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

pub fn run(cmd: KeyCommand) -> CliResult {
    Ok(key(cmd)?)
}

fn key(cmd: KeyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeyCommand::Generate(a) => {
            let key = PrivateKey::generate(a.algorithm).context("generating the key")?;
            let (k, p) = key.write_pair(&a.out)?;
            println!("{} {}", key.algorithm(), key.key_id());
            eprintln!("wrote {} (private, 0600) and {}", k.display(), p.display());
            Ok(ExitCode::SUCCESS)
        }
        KeyCommand::Id { key } => {
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let public = if text.contains("PRIVATE KEY") {
                PrivateKey::from_pem(&text)?.public_key().clone()
            } else {
                PublicKey::from_pem(&text)?
            };
            println!("{} {}", public.algorithm(), public.key_id());
            Ok(ExitCode::SUCCESS)
        }
    }
}

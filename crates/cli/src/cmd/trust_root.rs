//! `cairn trust-root`: show which Sigstore trusted roots verification uses, and refresh
//! them through TUF. `update` is the only cairn command that uses the network.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use cairn_sigstore::trust::{default_updated_dir, updated_root_path, Instance};
use clap::{Subcommand, ValueEnum};

use crate::exit::{CliError, CliResult, EXIT_OK};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InstanceArg {
    PublicGood,
    Github,
    Staging,
}

impl From<InstanceArg> for Instance {
    fn from(i: InstanceArg) -> Self {
        match i {
            InstanceArg::PublicGood => Instance::PublicGood,
            InstanceArg::Github => Instance::GitHub,
            InstanceArg::Staging => Instance::Staging,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum TrustRootCommand {
    /// Refresh trusted roots from their TUF repositories (network). Verification then
    /// prefers them to the embedded snapshots.
    Update {
        /// Instances to refresh (default: public-good and github).
        #[arg(long = "instance", value_enum)]
        instances: Vec<InstanceArg>,
        /// Where to store refreshed roots (default: $CAIRN_TRUST_DIR, else
        /// $XDG_DATA_HOME/cairn/trust, else ~/.local/share/cairn/trust).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// A mirror of the instance's TUF repository (URL), instead of its CDN.
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
    },
    /// Show where each instance's trusted root comes from.
    Show {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

pub fn run(cmd: TrustRootCommand) -> CliResult {
    match cmd {
        TrustRootCommand::Update {
            instances,
            dir,
            mirror,
        } => {
            let dir = dir.or_else(default_updated_dir).ok_or_else(|| {
                CliError::Input(anyhow!("no trust directory: set --dir or CAIRN_TRUST_DIR"))
            })?;
            let instances: Vec<Instance> = if instances.is_empty() {
                vec![Instance::PublicGood, Instance::GitHub]
            } else {
                instances.into_iter().map(Instance::from).collect()
            };
            if mirror.is_some() && instances.len() != 1 {
                return Err(CliError::Input(anyhow!(
                    "--mirror serves one instance: name it with --instance"
                )));
            }
            for instance in instances {
                let u = cairn_sigstore::tuf::update(instance, &dir, mirror.as_deref()).map_err(
                    |e| CliError::Failed {
                        error: e.into(),
                        printed: false,
                    },
                )?;
                println!(
                    "{}: {} CA(s), {} log(s), {} TSA(s) from {} -> {}",
                    instance.name(),
                    u.certificate_authorities,
                    u.tlogs,
                    u.timestamp_authorities,
                    u.url,
                    u.path.display()
                );
            }
            Ok(ExitCode::from(EXIT_OK))
        }
        TrustRootCommand::Show { dir } => {
            let dir = dir.or_else(default_updated_dir);
            for instance in [Instance::PublicGood, Instance::GitHub, Instance::Staging] {
                let updated = dir
                    .as_ref()
                    .map(|d| updated_root_path(d, instance))
                    .filter(|p| p.exists());
                match updated {
                    Some(p) => println!("{:<22} updated  {}", instance.name(), p.display()),
                    None => println!(
                        "{:<22} embedded (sigstore-trust-root 0.15.1 snapshot)",
                        instance.name()
                    ),
                }
            }
            Ok(ExitCode::from(EXIT_OK))
        }
    }
}

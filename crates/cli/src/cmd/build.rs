//! `cairn build`: run a build in the sandbox and write a signed cairn bundle.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use cairn_build::{BuildError, BuildRequest, Progress, Stage};
use cairn_sign::PrivateKey;
use clap::Args;

use crate::exit::{CliError, CliResult};
use crate::output;

#[derive(Args)]
pub struct BuildArgs {
    /// Build definition (default: cairn.toml at the top of the source, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Top of a clean git checkout.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,
    /// Where the declared outputs are copied.
    #[arg(long, value_name = "DIR", default_value = "cairn-out")]
    pub output: PathBuf,
    /// Signing key (PKCS#8 PEM; keep it 0600 and outside the source and toolchain).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Bundle path (default: cairn.bundle.json beside the output dir).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Toolchain path mounted read-only and hashed (repeatable; default: host /usr, /bin,
    /// /lib*, and the /etc files dynamic linking needs).
    #[arg(long, value_name = "PATH")]
    pub toolchain: Vec<PathBuf>,
    /// Supervisor state: digest cache and staging (default: $CAIRN_STATE_DIR,
    /// $XDG_STATE_HOME/cairn or ~/.local/state/cairn).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Builder id written into the provenance.
    #[arg(long, value_name = "URI")]
    pub builder_id: Option<String>,
    /// Wall-clock limit in seconds (overrides limits.timeout-secs).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Do not observe executed files with fanotify (record the manifest only).
    #[arg(long)]
    pub no_observe: bool,
    /// TPM evidence: quote the build with an enrolled TPM.
    #[cfg(feature = "tpm")]
    #[command(flatten)]
    pub tpm: super::tpm::BuildTpmArgs,
    /// TEE evidence: this host is a confidential VM or enclave.
    #[cfg(any(feature = "hw-tsm", feature = "hw-nitro"))]
    #[command(flatten)]
    pub tee: BuildTeeArgs,
    /// The build command (overrides build.command in cairn.toml).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn default_state_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("CAIRN_STATE_DIR") {
        return PathBuf::from(x);
    }
    // As root the supervisor runs bwrap as an unprivileged uid, which must be able to
    // traverse to the staging area: root's home (0700) would not do.
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/cairn");
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(x).join("cairn");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    home.join(".local/state/cairn")
}

/// indicatif spinner on a TTY; nothing otherwise.
struct Spinner(Option<indicatif::ProgressBar>);

impl Progress for Spinner {
    fn stage(&mut self, s: Stage) {
        let Some(pb) = &self.0 else { return };
        let msg = match s {
            Stage::Source => "checking and copying the source".to_string(),
            Stage::Toolchain => "hashing the toolchain".to_string(),
            Stage::Dependencies => "checking pinned dependencies".to_string(),
            Stage::LocksChecked => "dependencies verified".to_string(),
            Stage::Running { step, of } => format!("building in the sandbox (step {step}/{of})"),
            Stage::Outputs => "hashing outputs".to_string(),
            Stage::Recheck => "re-checking inputs".to_string(),
            Stage::Signing => "signing provenance".to_string(),
            Stage::Writing => "writing outputs and bundle".to_string(),
        };
        pb.set_message(msg);
    }
}

pub fn run(a: BuildArgs) -> CliResult {
    let key =
        PrivateKey::from_pem_file(&a.key).map_err(|e| anyhow!("--key {}: {e}", a.key.display()))?;
    let source = std::fs::canonicalize(&a.source)
        .with_context(|| format!("--source {}", a.source.display()))?;
    let mut req = BuildRequest::new(
        source,
        &a.output,
        a.state_dir.clone().unwrap_or_else(default_state_dir),
    );
    req.config = a.config.clone();
    req.command = a.command.clone();
    req.bundle = a.bundle.clone();
    req.toolchain = a.toolchain.clone();
    req.key_path = Some(a.key.clone());
    req.timeout_secs = a.timeout;
    req.observe_execs = !a.no_observe;
    if let Some(id) = &a.builder_id {
        req.builder_id = id.clone();
    }
    let tty = output::stderr_is_tty();
    let pb = tty.then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    });
    let mut spinner = Spinner(pb);
    // The TPM or TEE is opened here, in the supervisor; the sandbox never sees it.
    #[cfg(all(feature = "tpm", any(feature = "hw-tsm", feature = "hw-nitro")))]
    if a.tpm.tpm.is_some() && a.tee.tee.is_some() {
        return Err(CliError::Input(anyhow::anyhow!(
            "--tpm and --tee are exclusive: a build carries one kind of hardware evidence"
        )));
    }
    let mut attester: Option<Box<dyn cairn_build::BuildAttester>> = None;
    #[cfg(feature = "tpm")]
    if let Some(t) = a.tpm.attester()? {
        attester = Some(Box::new(t));
    }
    #[cfg(any(feature = "hw-tsm", feature = "hw-nitro"))]
    if let Some(t) = a.tee.attester()? {
        attester = Some(t);
    }
    let attester = attester
        .as_mut()
        .map(|a| &mut **a as &mut dyn cairn_build::BuildAttester);
    let result = cairn_build::build(&req, &key, attester, &mut spinner);
    if let Some(pb) = &spinner.0 {
        pb.finish_and_clear();
    }
    let r = match result {
        Ok(r) => r,
        Err(
            e @ (BuildError::Config { .. }
            | BuildError::DirtySource { .. }
            | BuildError::Source { .. }),
        ) => return Err(CliError::Input(anyhow!(e))),
        Err(e) => {
            eprintln!("{} {e}", output::red(tty, "build failed:"));
            eprintln!(
                "nothing was signed; build log: {}",
                req.log_path().display()
            );
            return Err(CliError::Failed {
                error: anyhow!(e),
                printed: true,
            });
        }
    };
    let color = output::stdout_is_tty();
    println!(
        "{} {} output(s) in {}",
        output::green(color, "built"),
        r.outputs.len(),
        r.output_dir.display()
    );
    for o in &r.outputs {
        println!("  sha256:{}  {}", o.sha256, o.name);
    }
    println!("bundle:          {}", r.bundle_path.display());
    println!("build log:       {}", r.log_path.display());
    println!("sandbox policy:  sha256:{}", r.policy_digest);
    let st = &r.toolchain_stats;
    let mib = st.hashed_bytes as f64 / (1024.0 * 1024.0);
    let secs = r.timings.toolchain.as_secs_f64().max(1e-9);
    println!(
        "toolchain:       sha256:{} ({} files: {} hashed, {:.1} MiB at {:.0} MiB/s; {} from cache)",
        r.toolchain_digest,
        st.files,
        st.hashed_files,
        mib,
        mib / secs,
        st.cached_files
    );
    if let Some(x) = &r.executed {
        println!(
            "executed:        {} toolchain file(s) observed with fanotify",
            x.len()
        );
    }
    let t = &r.timings;
    println!(
        "{}",
        output::dim(color, &format!("time: source {:.0?}, toolchain {:.0?}, dependencies {:.0?}, sandbox {:.0?}, outputs {:.0?}, sign+write {:.0?}", t.source, t.toolchain, t.dependencies, t.sandbox, t.outputs, t.sign_and_write))
    );
    Ok(ExitCode::SUCCESS)
}

/// Flags `cairn build` takes to attach TEE evidence.
#[cfg(any(feature = "hw-tsm", feature = "hw-nitro"))]
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BuildTeeArgs {
    /// Attach a TEE report over the provenance: `tsm` (SEV-SNP or TDX guest, through
    /// /sys/kernel/config/tsm/report) or `nitro` (inside an AWS Nitro enclave).
    #[arg(long = "tee", value_name = "SOURCE")]
    pub tee: Option<String>,
    /// TDX only: the platform's DCAP collateral (JSON from Intel PCS or your PCCS), which
    /// travels in the bundle so consumers verify offline.
    #[arg(long = "tdx-collateral", value_name = "FILE")]
    pub tdx_collateral: Option<PathBuf>,
}

#[cfg(any(feature = "hw-tsm", feature = "hw-nitro"))]
impl BuildTeeArgs {
    pub fn attester(&self) -> anyhow::Result<Option<Box<dyn cairn_build::BuildAttester>>> {
        use cairn_tee::TeeAttester;
        let Some(source) = self.tee.as_deref() else {
            return Ok(None);
        };
        match source {
            #[cfg(feature = "hw-tsm")]
            "tsm" => {
                let tsm = cairn_tee::tsm::ConfigfsTsm::open(
                    std::path::Path::new(cairn_tee::tsm::DEFAULT_ROOT),
                    self.tdx_collateral.as_deref(),
                )?;
                Ok(Some(Box::new(TeeAttester::new(tsm))))
            }
            #[cfg(feature = "hw-nitro")]
            "nitro" => Ok(Some(Box::new(TeeAttester::new(
                cairn_tee::nsm::Nsm::open()?
            )))),
            other => anyhow::bail!(
                "--tee {other:?}: this cairn was built with support for: {}",
                [
                    #[cfg(feature = "hw-tsm")]
                    "tsm",
                    #[cfg(feature = "hw-nitro")]
                    "nitro",
                ]
                .join(", ")
            ),
        }
    }
}

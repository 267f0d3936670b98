//! `cairn log`: run, feed, audit and witness a transparency log (`docs/log.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cairn_formats::bundle::{Bundle, BundleInput};
use cairn_formats::json::Limits;
use cairn_log::checkpoint;
use cairn_log::merkle;
use cairn_log::note::{Signer, Verifier, TYPE_COSIGNATURE_V1, TYPE_ED25519};
use cairn_log::receipt::{parse_vkeys, WitnessPolicy};
use cairn_log::tiles::{TileId, TileNodes};
use clap::{Args, Subcommand};

use crate::exit::{CliError, CliResult};

#[derive(Subcommand)]
pub enum LogCommand {
    /// Generate a signed-note key: FILE (signer key, mode 0600) and FILE.pub (verifier key).
    #[command(
        after_help = "Examples:\n  cairn log keygen --origin log.example.com/cairn --out log.key\n  cairn log keygen --witness --origin witness.example.com --out witness.key"
    )]
    Keygen(KeygenArgs),
    /// Serve a log: tlog-tiles read API from plain files in DIR, and POST /add.
    #[command(
        after_help = "Example:\n  cairn log serve --dir /var/lib/cairn-log --key log.key --origin log.example.com/cairn \\\n      --listen 127.0.0.1:8080 --trust-key builder.pub"
    )]
    Serve(ServeArgs),
    /// Submit every envelope of a bundle and add the receipts to it (rewritten atomically).
    Submit(SubmitArgs),
    /// Check that checkpoint NEW extends checkpoint OLD.
    #[command(
        after_help = "Exit codes: 0 consistent, 1 inconsistent or badly signed, 2 usage or input error."
    )]
    Consistency(ConsistencyArgs),
    /// Audit a log: fetch new tiles, recompute roots, check consistency with the last
    /// checkpoint seen (kept in --state). Exits 1 with an ALERT on a rewrite or split view.
    Monitor(MonitorArgs),
    /// Run a witness: cosign checkpoints verified consistent with the last one seen
    /// (C2SP tlog-witness POST /add-checkpoint).
    Witness(WitnessArgs),
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Key name; for a log, its origin (e.g. log.example.com/cairn).
    #[arg(long)]
    pub origin: String,
    /// Signer key file to create; the verifier key goes to FILE.pub.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Make a witness cosigning key (cosignature/v1, type 0x04) instead of a log key.
    #[arg(long, conflicts_with = "mldsa")]
    pub witness: bool,
    /// Make an ML-DSA-44 key (type 0x06): a log's post-quantum second signature
    /// (`serve --pq-key`) or a post-quantum witness.
    #[arg(long)]
    pub mldsa: bool,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Log directory (created if missing); holds checkpoint and tile/.
    #[arg(long)]
    pub dir: PathBuf,
    /// Log signer key (from `cairn log keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// Optional ML-DSA-44 key (`keygen --mldsa`, same name as the origin): adds a
    /// post-quantum signature line to every checkpoint.
    #[arg(long = "pq-key")]
    pub pq_key: Option<PathBuf>,
    /// Witness URL asked to cosign each new checkpoint before it is published
    /// (C2SP tlog-witness). Repeatable; a failing witness is skipped with a warning.
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// Checkpoint origin; must be the key's name.
    #[arg(long)]
    pub origin: String,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
    #[arg(long)]
    pub listen: String,
    /// Builder public key (SPKI PEM) whose DSSE signatures admit an envelope. Repeatable.
    #[arg(long = "trust-key")]
    pub trust_keys: Vec<PathBuf>,
    /// Admit any well-formed envelope without checking signatures (announced loudly).
    #[arg(long)]
    pub accept_unverified: bool,
    /// Integration interval (at most this long from a submission to its batch).
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Largest POST /add body, in bytes.
    #[arg(long, default_value_t = cairn_log::server::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Recent entries remembered for deduplication (memory ~40 B each).
    #[arg(long, default_value_t = cairn_log::server::DEFAULT_DEDUP_CAPACITY)]
    pub dedup_capacity: usize,
}

#[derive(Args)]
pub struct SubmitArgs {
    /// A cairn bundle (rewritten with the receipts) or a DSSE envelope (receipt printed).
    pub bundle: PathBuf,
    /// Log URL prefix, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub log: String,
    /// Verify each receipt with this log key before keeping it.
    #[arg(long = "log-key")]
    pub log_key: Option<PathBuf>,
}

#[derive(Args)]
pub struct ConsistencyArgs {
    /// The older checkpoint file.
    pub old: PathBuf,
    /// The newer checkpoint file.
    pub new: PathBuf,
    /// Log verifier key(s) (vkey file, one per line).
    #[arg(long = "log-key", required = true)]
    pub log_keys: Vec<PathBuf>,
    /// Build the proof from this log's tiles.
    #[arg(long, conflicts_with = "proof")]
    pub log: Option<String>,
    /// A proof file: base64 hashes, one per line.
    #[arg(long)]
    pub proof: Option<PathBuf>,
}

#[derive(Args)]
pub struct MonitorArgs {
    /// Log URL prefix.
    pub url: String,
    /// State file: the last checkpoint accepted (created on the first run).
    #[arg(long)]
    pub state: PathBuf,
    /// Log verifier key(s) (vkey file).
    #[arg(long = "log-key", required = true)]
    pub log_keys: Vec<PathBuf>,
}

#[derive(Args)]
pub struct WitnessArgs {
    /// Witness signer key (`cairn log keygen --witness`).
    #[arg(long)]
    pub key: PathBuf,
    /// Verifier key of a log this witness follows. Repeatable.
    #[arg(long = "log-key", required = true)]
    pub log_keys: Vec<PathBuf>,
    /// State file: the latest checkpoint size and root per origin.
    #[arg(long)]
    pub state: PathBuf,
    /// Address to listen on.
    #[arg(long)]
    pub listen: String,
}

pub fn run(cmd: LogCommand) -> CliResult {
    match cmd {
        LogCommand::Keygen(a) => Ok(keygen(a)?),
        LogCommand::Serve(a) => Ok(serve(a)?),
        LogCommand::Submit(a) => Ok(submit(a)?),
        LogCommand::Consistency(a) => consistency(a),
        LogCommand::Monitor(a) => monitor(a),
        LogCommand::Witness(a) => Ok(witness(a)?),
    }
}

fn read_signer(path: &Path) -> anyhow::Result<Signer> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Signer::from_skey(&text).with_context(|| format!("{}", path.display()))
}

fn read_vkeys(paths: &[PathBuf]) -> anyhow::Result<Vec<Verifier>> {
    let mut out = Vec::new();
    for p in paths {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let keys = parse_vkeys(&text).with_context(|| format!("{}", p.display()))?;
        if keys.is_empty() {
            bail!("{}: no verifier key", p.display());
        }
        out.extend(keys);
    }
    Ok(out)
}

fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let key_type = if a.witness {
        TYPE_COSIGNATURE_V1
    } else if a.mldsa {
        cairn_log::note::TYPE_MLDSA44_SUBTREE
    } else {
        TYPE_ED25519
    };
    let signer = Signer::generate(&a.origin, key_type)?;
    let pub_path = PathBuf::from(format!("{}.pub", a.out.display()));
    if pub_path.exists() {
        bail!(
            "{} already exists (refusing to overwrite a key)",
            pub_path.display()
        );
    }
    let skey = zeroize::Zeroizing::new(format!("{}\n", signer.to_skey()));
    cairn_log::fsutil::create_secret(&a.out, skey.as_bytes())?;
    let vkey = signer.verifier().to_vkey();
    cairn_log::fsutil::write_durable(&pub_path, format!("{vkey}\n").as_bytes(), 0o644)?;
    println!("{vkey}");
    eprintln!(
        "wrote {} (signer key, 0600) and {}",
        a.out.display(),
        pub_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let signer = read_signer(&a.key)?;
    let pq_signer = match &a.pq_key {
        Some(p) => Some(read_signer(p)?),
        None => None,
    };
    let mut trust_keys = Vec::new();
    for p in &a.trust_keys {
        trust_keys.push(
            cairn_sign::PublicKey::from_pem_file(p)
                .with_context(|| format!("--trust-key {}", p.display()))?,
        );
    }
    let cfg = cairn_log::server::ServeConfig {
        dir: a.dir,
        signer,
        pq_signer,
        origin: a.origin,
        trust_keys,
        accept_unverified: a.accept_unverified,
        interval: a.interval,
        max_body: a.max_body,
        dedup_capacity: a.dedup_capacity,
        witnesses: a.witnesses,
    };
    cairn_log::server::run(cfg, &a.listen)?;
    Ok(ExitCode::SUCCESS)
}

fn submit(a: SubmitArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&a.bundle).with_context(|| format!("reading {}", a.bundle.display()))?;
    let log_keys = match &a.log_key {
        Some(p) => Some(read_vkeys(std::slice::from_ref(p))?),
        None => None,
    };
    let client = cairn_log::client::LogClient::new(&a.log)?;
    let check =
        |env: &cairn_formats::dsse::Envelope, r: &cairn_log::Receipt| -> anyhow::Result<()> {
            if let Some(keys) = &log_keys {
                cairn_log::verify_receipt(&r.to_value(), env, keys, &WitnessPolicy::none())
                    .context("the log's receipt does not verify")?;
            }
            Ok(())
        };
    match BundleInput::parse(&bytes, &Limits::default())? {
        BundleInput::Envelope(env) => {
            let r = client.submit_envelope(&env)?;
            check(&env, &r)?;
            println!("{}", serde_json::to_string_pretty(&r.to_value())?);
            Ok(ExitCode::SUCCESS)
        }
        BundleInput::Cairn(mut bundle) => {
            for (i, att) in bundle.attestations.iter_mut().enumerate() {
                let r = client
                    .submit_envelope(&att.envelope)
                    .with_context(|| format!("attestation {i}"))?;
                check(&att.envelope, &r)?;
                eprintln!(
                    "attestation {i}: logged at index {} (tree size {})",
                    r.index, r.tree_size
                );
                att.log_receipts.push(r.to_value());
            }
            write_bundle(&a.bundle, &bundle)?;
            Ok(ExitCode::SUCCESS)
        }
        other => Err(anyhow!(
            "{}: cannot add receipts to a {}",
            a.bundle.display(),
            other.format_name()
        )),
    }
}

fn write_bundle(path: &Path, bundle: &Bundle) -> anyhow::Result<()> {
    let mode = {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o644)
        }
        #[cfg(not(unix))]
        {
            0o644
        }
    };
    cairn_log::fsutil::write_durable(path, bundle.to_json().as_bytes(), mode)?;
    Ok(())
}

fn failed(e: anyhow::Error) -> CliError {
    CliError::Failed {
        error: e,
        printed: false,
    }
}

fn consistency(a: ConsistencyArgs) -> CliResult {
    let keys = read_vkeys(&a.log_keys)?;
    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let (old_text, new_text) = (read(&a.old)?, read(&a.new)?);
    let old = checkpoint::open(&old_text, &keys)
        .map_err(|e| failed(anyhow!("{}: {e}", a.old.display())))?
        .checkpoint;
    let new = checkpoint::open(&new_text, &keys)
        .map_err(|e| failed(anyhow!("{}: {e}", a.new.display())))?
        .checkpoint;
    if old.origin != new.origin {
        return Err(failed(anyhow!(
            "checkpoints are from different logs: {:?} and {:?}",
            old.origin,
            new.origin
        )));
    }
    if old.size > new.size {
        return Err(failed(anyhow!(
            "OLD has size {} but NEW only {}",
            old.size,
            new.size
        )));
    }
    let proof: Vec<Vec<u8>> = if let Some(p) = &a.proof {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                STANDARD
                    .decode(l)
                    .map_err(|_| anyhow!("{}: {l:?} is not base64", p.display()))
            })
            .collect::<anyhow::Result<_>>()?
    } else if let Some(url) = &a.log {
        let client =
            cairn_log::client::LogClient::new(url).map_err(|e| CliError::Input(anyhow!(e)))?;
        let mut nodes = TileNodes::new(new.size, |id: &TileId| {
            client.tile(id).map_err(|e| anyhow!(e))
        });
        merkle::consistency_proof(old.size, new.size, &mut nodes)
            .map_err(|e| anyhow!("building the proof from {url}: {e}"))?
            .iter()
            .map(|h| h.to_vec())
            .collect()
    } else if old.size == new.size || old.size == 0 {
        Vec::new()
    } else {
        return Err(CliError::Input(anyhow!(
            "give --log URL to fetch tiles, or --proof FILE"
        )));
    };
    let result = if old.size == 0 {
        Ok(())
    } else {
        merkle::verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
    };
    match result {
        Ok(()) => {
            println!(
                "consistent: {} size {} extends size {}",
                new.origin, new.size, old.size
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(failed(anyhow!(
            "NOT consistent: size {} does not extend size {}: {e}",
            new.size,
            old.size
        ))),
    }
}

fn monitor(a: MonitorArgs) -> CliResult {
    let keys = read_vkeys(&a.log_keys)?;
    match cairn_log::monitor::monitor(&a.url, &a.state, &keys) {
        Ok(r) => {
            match r.old_size {
                Some(old) => println!(
                    "ok: {} grew from {old} to {} entries; {} tiles and {} new entries checked",
                    r.origin, r.new_size, r.tiles_checked, r.entries_checked
                ),
                None => println!(
                    "ok: {} at {} entries; {} tiles and {} entries checked (first run)",
                    r.origin, r.new_size, r.tiles_checked, r.entries_checked
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ cairn_log::monitor::MonitorError::Alert(_)) => {
            eprintln!("{e}");
            Err(CliError::Failed {
                error: anyhow!(e),
                printed: true,
            })
        }
        Err(e) => Err(CliError::Input(anyhow!(e))),
    }
}

fn witness(a: WitnessArgs) -> anyhow::Result<ExitCode> {
    let signer = read_signer(&a.key)?;
    if signer.key_type() != TYPE_COSIGNATURE_V1 {
        bail!(
            "{}: not a witness key (make one with `cairn log keygen --witness`)",
            a.key.display()
        );
    }
    let logs = read_vkeys(&a.log_keys)?;
    cairn_log::witness::run(signer, logs, &a.state, &a.listen)?;
    Ok(ExitCode::SUCCESS)
}

//! A minimal `serve` entry point over the same library code as `cairn log serve`, so the
//! crash test and the benchmark can kill -9 and restart a real server process without
//! building the whole CLI. Flags: --dir --key --origin --listen [--accept-unverified]
//! [--trust-key PEM]... [--pq-key FILE] [--witness URL]... [--interval-ms N].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut dir, mut key, mut origin, mut listen) = (None, None, None, None);
    let mut trust = Vec::new();
    let mut pq_key: Option<PathBuf> = None;
    let mut witnesses = Vec::new();
    let mut accept_unverified = false;
    let mut interval = cairn_log::server::DEFAULT_INTERVAL;
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--dir" => dir = Some(PathBuf::from(val()?)),
            "--key" => key = Some(PathBuf::from(val()?)),
            "--origin" => origin = Some(val()?),
            "--listen" => listen = Some(val()?),
            "--trust-key" => trust.push(PathBuf::from(val()?)),
            "--pq-key" => pq_key = Some(PathBuf::from(val()?)),
            "--witness" => witnesses.push(val()?),
            "--interval-ms" => {
                interval = Duration::from_millis(
                    val()?.parse().map_err(|_| "--interval-ms: not a number")?,
                )
            }
            "--accept-unverified" => accept_unverified = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let key = key.ok_or("--key is required")?;
    let text = std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", key.display()))?;
    let signer = cairn_log::note::Signer::from_skey(&text).map_err(|e| e.to_string())?;
    let pq_signer = match pq_key {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(cairn_log::note::Signer::from_skey(&text).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let mut trust_keys = Vec::new();
    for p in trust {
        trust_keys.push(cairn_sign::PublicKey::from_pem_file(&p).map_err(|e| e.to_string())?);
    }
    let cfg = cairn_log::server::ServeConfig {
        dir: dir.ok_or("--dir is required")?,
        signer,
        pq_signer,
        origin: origin.ok_or("--origin is required")?,
        trust_keys,
        accept_unverified,
        interval,
        max_body: cairn_log::server::DEFAULT_MAX_BODY,
        dedup_capacity: cairn_log::server::DEFAULT_DEDUP_CAPACITY,
        witnesses,
    };
    cairn_log::server::run(cfg, &listen.ok_or("--listen is required")?).map_err(|e| e.to_string())
}

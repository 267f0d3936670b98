//! Transparency-log receipts in `cairn verify`: `--log-key`, `--require-log`,
//! `--witness-key`, `--witness-threshold`. Receipts are verified offline: the entry must be
//! this envelope's, the inclusion proof must lead to the checkpoint's root, the checkpoint
//! must carry a valid signature by a trusted log key, and the witness policy must hold.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use cairn_log::note::Verifier;
use cairn_log::receipt::{parse_receipt, WitnessPolicy};
use cairn_verify::report::LogEntryInfo;
use cairn_verify::{AttestationCheck, CheckContext, Report, VerifyError};
use clap::Args;

#[derive(Args, Debug, Clone, Default)]
pub struct VerifyLogArgs {
    /// Trusted transparency-log verifier key: a file of vkey lines (`<name>+<id>+<key>`) or the
    /// vkey text itself. Repeat for several logs.
    #[arg(long = "log-key", value_name = "VKEY")]
    pub log_keys: Vec<String>,
    /// Fail unless the attestation carries a receipt that verifies against a --log-key.
    #[arg(long)]
    pub require_log: bool,
    /// Witness cosigning key (vkey file or text). Repeat for several witnesses.
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
    /// Witness cosignatures required on the receipt's checkpoint (default: all --witness-key).
    #[arg(long, value_name = "K")]
    pub witness_threshold: Option<usize>,
}

/// Reads vkeys from a file path, or takes the argument as vkey text.
fn load_vkeys(arg: &str) -> anyhow::Result<Vec<Verifier>> {
    let path = PathBuf::from(arg);
    let text = if path.is_file() {
        let meta = std::fs::metadata(&path)?;
        if meta.len() > 1 << 20 {
            return Err(anyhow!("{arg}: over the 1 MiB limit for a key file"));
        }
        std::fs::read_to_string(&path).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_string()
    };
    let keys = cairn_log::receipt::parse_vkeys(&text)
        .with_context(|| format!("{arg}: not a verifier key file or vkey"))?;
    if keys.is_empty() {
        return Err(anyhow!("{arg}: no verifier key found"));
    }
    Ok(keys)
}

impl VerifyLogArgs {
    pub fn check(&self) -> anyhow::Result<LogReceiptCheck> {
        let mut log_keys = Vec::new();
        for k in &self.log_keys {
            log_keys.extend(load_vkeys(k)?);
        }
        let mut witness_keys = Vec::new();
        for k in &self.witness_keys {
            witness_keys.extend(load_vkeys(k)?);
        }
        if self.require_log && log_keys.is_empty() {
            return Err(anyhow!(
                "--require-log needs at least one --log-key to check receipts against"
            ));
        }
        if self.witness_threshold.is_some() && witness_keys.is_empty() {
            return Err(anyhow!("--witness-threshold needs --witness-key"));
        }
        let threshold = self.witness_threshold.unwrap_or(witness_keys.len());
        let witnesses = WitnessPolicy::new(witness_keys, threshold).map_err(|e| anyhow!("{e}"))?;
        Ok(LogReceiptCheck {
            log_keys,
            witnesses,
            require: self.require_log,
        })
    }
}

pub struct LogReceiptCheck {
    log_keys: Vec<Verifier>,
    witnesses: WitnessPolicy,
    require: bool,
}

impl AttestationCheck for LogReceiptCheck {
    fn name(&self) -> &'static str {
        "log-receipt"
    }

    fn check(&self, ctx: &CheckContext<'_>, report: &mut Report) -> Result<(), VerifyError> {
        let receipts = ctx
            .attestation
            .map(|a| a.log_receipts.as_slice())
            .unwrap_or(&[]);
        if receipts.is_empty() {
            if self.require {
                return Err(VerifyError::evidence(
                    "log-receipt",
                    "--require-log: the attestation carries no transparency-log receipt",
                ));
            }
            report.skip("log-receipt", "no transparency-log receipt in the bundle");
            return Ok(());
        }
        if self.log_keys.is_empty() {
            report.skip(
                "log-receipt",
                format!(
                    "{} receipt(s) present but not checked: no --log-key given",
                    receipts.len()
                ),
            );
            return Ok(());
        }
        let trusted_origins: Vec<&str> = self.log_keys.iter().map(|k| k.name()).collect();
        let mut verified = 0usize;
        for (i, value) in receipts.iter().enumerate() {
            let parsed = parse_receipt(value)
                .map_err(|e| VerifyError::evidence("log-receipt", format!("receipt {i}: {e}")))?;
            if !trusted_origins.contains(&parsed.origin.as_str()) {
                report.skip(
                    "log-receipt",
                    format!(
                        "receipt {i} is from log {:?}, for which no --log-key was given",
                        parsed.origin
                    ),
                );
                continue;
            }
            let v = cairn_log::verify_receipt(value, ctx.envelope, &self.log_keys, &self.witnesses)
                .map_err(|e| {
                    VerifyError::evidence(
                        "log-receipt",
                        format!("receipt {i} from {}: {e}", parsed.origin),
                    )
                })?;
            report.log_entries.push(LogEntryInfo {
                log: v.origin.clone(),
                index: v.index,
                tree_size: Some(v.tree_size),
                integrated_time: None,
                inclusion_verified: true,
                witnesses: v.witnesses.iter().map(|(name, _)| name.clone()).collect(),
            });
            report.pass(
                "log-receipt",
                format!(
                    "entry {} included in {} at tree size {}, checkpoint signed by a trusted key{}",
                    v.index,
                    v.origin,
                    v.tree_size,
                    if v.witnesses.is_empty() {
                        String::new()
                    } else {
                        format!(", cosigned by {} witness(es)", v.witnesses.len())
                    }
                ),
            );
            verified += 1;
        }
        if verified == 0 {
            return Err(VerifyError::evidence(
                "log-receipt",
                format!(
                    "none of the {} receipt(s) is from a log named by --log-key ({})",
                    receipts.len(),
                    trusted_origins.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

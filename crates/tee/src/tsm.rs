//! SEV-SNP and TDX reports through Linux configfs-tsm (`/sys/kernel/config/tsm/report`,
//! Linux >= 6.7; Documentation/ABI/testing/configfs-tsm): make a report directory, write
//! the 64 bytes of report data to `inblob`, read `outblob` (the SNP report or the TDX
//! quote) and `auxblob` (SNP: the certificate table with the VCEK), and check that
//! `generation` did not move under us (another writer would have changed the report).
//!
//! Written against the kernel ABI directly: the one crate for it (`configfs-tsm`) is
//! AGPL. Runs only in an SEV-SNP or TDX guest; untested here.

use std::fs;
use std::path::{Path, PathBuf};

use cairn_evidence::tee::tdx::QuoteCollateralV3;

use crate::{evidence, snp_certs, ReportSource, TeeError};

/// Where configfs-tsm lives on a guest with it mounted.
pub const DEFAULT_ROOT: &str = "/sys/kernel/config/tsm/report";

/// One configfs-tsm report entry, removed on drop.
pub struct ConfigfsTsm {
    dir: PathBuf,
    provider: Provider,
    tdx_collateral: Option<QuoteCollateralV3>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    SevGuest,
    TdxGuest,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TeeError {
    let what = what.into();
    move |source| TeeError::Io { what, source }
}

impl ConfigfsTsm {
    /// Opens a report entry under `root` ([`DEFAULT_ROOT`]). A TDX guest needs the DCAP
    /// collateral for its platform (JSON from Intel PCS or a PCCS), which the consumer
    /// needs to verify offline.
    pub fn open(root: &Path, tdx_collateral: Option<&Path>) -> Result<Self, TeeError> {
        let dir = root.join(format!("cairn-{}", std::process::id()));
        fs::create_dir(&dir).map_err(io(format!(
            "creating {} (is configfs-tsm mounted, and is this an SEV-SNP or TDX guest?)",
            dir.display()
        )))?;
        let mut me = ConfigfsTsm {
            dir,
            provider: Provider::SevGuest,
            tdx_collateral: None,
        };
        let provider = me.read_text("provider")?;
        me.provider = match provider.trim() {
            "sev_guest" => Provider::SevGuest,
            "tdx_guest" => Provider::TdxGuest,
            other => {
                return Err(TeeError::Report(format!(
                    "configfs-tsm provider {other:?} is neither sev_guest nor tdx_guest"
                )))
            }
        };
        if me.provider == Provider::TdxGuest {
            let path = tdx_collateral.ok_or_else(|| {
                TeeError::Report(
                    "a TDX quote needs its DCAP collateral for offline verification: pass the \
                     platform's collateral JSON (from Intel PCS or your PCCS)"
                        .into(),
                )
            })?;
            let bytes = fs::read(path).map_err(io(format!("reading {}", path.display())))?;
            me.tdx_collateral = Some(serde_json::from_slice(&bytes).map_err(|e| {
                TeeError::Report(format!("{}: not DCAP collateral JSON: {e}", path.display()))
            })?);
        }
        Ok(me)
    }

    fn read_text(&self, name: &str) -> Result<String, TeeError> {
        fs::read_to_string(self.dir.join(name))
            .map_err(io(format!("reading {}", self.dir.join(name).display())))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, TeeError> {
        fs::read(self.dir.join(name))
            .map_err(io(format!("reading {}", self.dir.join(name).display())))
    }

    fn generation(&self) -> Result<u64, TeeError> {
        let g = self.read_text("generation")?;
        g.trim()
            .parse()
            .map_err(|_| TeeError::Report(format!("configfs-tsm generation {g:?} is not a number")))
    }
}

impl Drop for ConfigfsTsm {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

impl ReportSource for ConfigfsTsm {
    fn kind(&self) -> &'static str {
        match self.provider {
            Provider::SevGuest => "sev-snp",
            Provider::TdxGuest => "tdx-quote",
        }
    }

    fn evidence(&mut self, report_data: &[u8; 64]) -> Result<serde_json::Value, TeeError> {
        fs::write(self.dir.join("inblob"), report_data)
            .map_err(io(format!("writing {}", self.dir.join("inblob").display())))?;
        let generation = self.generation()?;
        let out = self.read("outblob")?;
        let aux = match self.provider {
            Provider::SevGuest => Some(self.read("auxblob")?),
            Provider::TdxGuest => None,
        };
        if self.generation()? != generation {
            return Err(TeeError::Report(
                "configfs-tsm generation changed while reading the report: another process wrote this entry".into(),
            ));
        }
        match (self.provider, aux, &self.tdx_collateral) {
            (Provider::SevGuest, Some(aux), _) => Ok(evidence::snp(&out, snp_certs::vcek(&aux)?)),
            (Provider::TdxGuest, _, Some(collateral)) => {
                Ok(evidence::tdx(&out, collateral.clone()))
            }
            _ => Err(TeeError::Report(
                "configfs-tsm: inconsistent provider state".into(),
            )),
        }
    }
}

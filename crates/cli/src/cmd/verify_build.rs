//! cairn-build provenance in `cairn verify`: the consumer's own checkout
//! (`--source-dir`), allowed toolchain digests (`--allow-toolchain`), and the toolchain
//! manifest attached to the bundle, which must hash to the digest the provenance signs.

use std::path::PathBuf;

use cairn_build::policy::{check_manifest_attachment, check_toolchain};
use cairn_formats::provenance::Provenance;
use cairn_verify::{AttestationCheck, CheckContext, Report, VerifyError};
use clap::Args;
use serde_json::Value;

const MANIFEST_KIND: &str = "toolchain-manifest";

#[derive(Args, Debug, Clone, Default)]
pub struct VerifyBuildArgs {
    /// Your own checkout of the source: its commit, tree and lockfiles must match the
    /// provenance (cairn builds only).
    #[arg(long, value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
    /// Allowed toolchain manifest digest (sha256:<hex>). Repeat to allow several.
    #[arg(long = "allow-toolchain", value_name = "DIGEST")]
    pub allow_toolchain: Vec<String>,
}

impl VerifyBuildArgs {
    pub fn check(&self) -> BuildProvenanceCheck {
        BuildProvenanceCheck { args: self.clone() }
    }
}

pub struct BuildProvenanceCheck {
    args: VerifyBuildArgs,
}

impl AttestationCheck for BuildProvenanceCheck {
    fn name(&self) -> &'static str {
        "build-inputs"
    }

    fn check(&self, ctx: &CheckContext<'_>, report: &mut Report) -> Result<(), VerifyError> {
        let v1 = match ctx.provenance {
            Some(Provenance::V1(p)) => Some(p.as_ref()),
            _ => None,
        };
        // Every toolchain manifest the bundle carries must be the one the provenance signs.
        let manifests: Vec<&Value> = ctx
            .attachment_kinds()
            .into_iter()
            .filter(|(k, _)| *k == MANIFEST_KIND)
            .map(|(_, v)| v)
            .collect();
        for m in &manifests {
            let p = v1.ok_or_else(|| {
                VerifyError::evidence(
                    "toolchain-manifest",
                    "a toolchain manifest is attached, but the statement is not SLSA v1 provenance",
                )
            })?;
            check_manifest_attachment(m, p)
                .map_err(|e| VerifyError::evidence("toolchain-manifest", e.to_string()))?;
            report.pass(
                "toolchain-manifest",
                "the attached toolchain manifest hashes to the digest the provenance signs",
            );
        }
        if !self.args.allow_toolchain.is_empty() {
            let p = v1.ok_or_else(|| {
                VerifyError::policy(
                    "predicate",
                    "cairn SLSA v1 provenance (for --allow-toolchain)",
                    "other",
                )
            })?;
            check_toolchain(p, &self.args.allow_toolchain).map_err(|e| match e {
                cairn_build::policy::PolicyViolation::Toolchain { found, allowed } => {
                    VerifyError::policy(
                        "internalParameters.toolchainManifestDigest",
                        allowed,
                        found,
                    )
                }
                other => VerifyError::evidence("allow-toolchain", other.to_string()),
            })?;
            report.pass("allow-toolchain", "the toolchain digest is allowed");
        }
        if let Some(dir) = &self.args.source_dir {
            let p = v1.ok_or_else(|| {
                VerifyError::policy(
                    "predicate",
                    "cairn SLSA v1 provenance (for --source-dir)",
                    "other",
                )
            })?;
            let r = cairn_build::check::check_source(dir, p)
                .map_err(|e| VerifyError::evidence("source-dir", e.to_string()))?;
            report.pass(
                "source-dir",
                format!(
                    "{} matches the provenance: tree {}{}, {} lockfile(s)",
                    dir.display(),
                    r.tree,
                    r.commit
                        .map(|c| format!(", commit {c}"))
                        .unwrap_or_default(),
                    r.lockfiles.len()
                ),
            );
        }
        Ok(())
    }
}

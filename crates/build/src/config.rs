//! The build definition: `cairn.toml` in the source tree, or flags. See `docs/build.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::BuildError;

/// Largest `cairn.toml` accepted.
const MAX_CONFIG: u64 = 1024 * 1024;

/// `cairn.toml` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default)]
    pub build: BuildSection,
    #[serde(default)]
    pub toolchain: ToolchainSection,
    #[serde(default)]
    pub dependencies: DependenciesSection,
    #[serde(default)]
    pub limits: LimitsSection,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildSection {
    /// One command as argv.
    pub command: Option<Vec<String>>,
    /// Several commands, run in order in the same source copy; each in a fresh sandbox.
    pub commands: Option<Vec<Vec<String>>>,
    /// Output paths or globs, relative to `$CAIRN_OUTPUT`.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Names of host environment variables passed through (values are recorded).
    #[serde(default)]
    pub env: Vec<String>,
    /// Fixed variables set inside the sandbox (e.g. a `PATH` that includes a rustup toolchain).
    #[serde(default)]
    pub set_env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ToolchainSection {
    /// Host paths bound read-only; default: [`crate::toolchain::DEFAULT_TOOLCHAIN`].
    pub paths: Option<Vec<PathBuf>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DependenciesSection {
    /// `cargo vendor` directory, relative to the source root.
    pub cargo_vendor: Option<PathBuf>,
    /// npm cache directory (host path, mounted at `/deps/npm-cache`).
    pub npm_cache: Option<PathBuf>,
    /// Wheelhouse directory (relative to the source, or a host path mounted at `/deps/wheelhouse`).
    pub pip_wheelhouse: Option<PathBuf>,
    /// Go module cache (host path, mounted at `/deps/go-mod`).
    pub go_modcache: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsSection {
    #[serde(default = "d_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "d_cpu")]
    pub cpu_secs: u64,
    /// Address-space limit per process, MiB (RLIMIT_AS).
    #[serde(default = "d_mem")]
    pub memory_mib: u64,
    /// Processes of the sandbox's host uid (RLIMIT_NPROC).
    #[serde(default = "d_procs")]
    pub processes: u64,
    /// Largest file a build may write, MiB (RLIMIT_FSIZE).
    #[serde(default = "d_fsize")]
    pub file_size_mib: u64,
}

fn d_timeout() -> u64 {
    3600
}
fn d_cpu() -> u64 {
    4 * 3600
}
fn d_mem() -> u64 {
    64 * 1024
}
fn d_procs() -> u64 {
    1024
}
fn d_fsize() -> u64 {
    8 * 1024
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            timeout_secs: d_timeout(),
            cpu_secs: d_cpu(),
            memory_mib: d_mem(),
            processes: d_procs(),
            file_size_mib: d_fsize(),
        }
    }
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, BuildError> {
        let err = |reason: String| BuildError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
        if meta.len() > MAX_CONFIG {
            return Err(err(format!(
                "{} bytes exceeds the {MAX_CONFIG}-byte limit",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        Self::parse(&text).map_err(err)
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let c: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if c.build.command.is_some() && c.build.commands.is_some() {
            return Err("build: set `command` or `commands`, not both".into());
        }
        for name in c.build.env.iter().chain(c.build.set_env.keys()) {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(format!("build.env: invalid variable name {name:?}"));
            }
            if RESERVED_ENV.contains(&name.as_str()) {
                return Err(format!(
                    "build.env: {name} is set by the sandbox and cannot be overridden"
                ));
            }
        }
        for o in &c.build.outputs {
            check_output_pattern(o)?;
        }
        if c.limits.timeout_secs == 0 || c.limits.processes == 0 {
            return Err("limits: timeout-secs and processes must be positive".into());
        }
        Ok(c)
    }

    pub fn commands(&self) -> Vec<Vec<String>> {
        match (&self.build.command, &self.build.commands) {
            (Some(c), _) => vec![c.clone()],
            (None, Some(cs)) => cs.clone(),
            _ => Vec::new(),
        }
    }
}

/// Variables the sandbox sets itself.
pub const RESERVED_ENV: &[&str] = &[
    "HOME",
    "SOURCE_DATE_EPOCH",
    "TZ",
    "LC_ALL",
    "LANG",
    "CAIRN_OUTPUT",
    "TMPDIR",
    "USER",
    "LOGNAME",
];

/// An output pattern must stay under the output dir.
pub fn check_output_pattern(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') || p.split('/').any(|c| c == "..") {
        return Err(format!(
            "outputs: {p:?} must be a relative path or glob under $CAIRN_OUTPUT"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let c = ConfigFile::parse("[build]\ncommand = [\"make\"]\noutputs = [\"bin/*\"]\nenv = [\"CFLAGS\"]\n[limits]\ntimeout-secs = 5\n").unwrap();
        assert_eq!(c.commands(), vec![vec!["make".to_string()]]);
        assert_eq!(c.limits.timeout_secs, 5);
        assert_eq!(c.limits.processes, 1024);
        assert!(ConfigFile::parse("[build]\ncomand = []\n")
            .unwrap_err()
            .contains("unknown field"));
        assert!(ConfigFile::parse("[build]\noutputs = [\"../x\"]\n")
            .unwrap_err()
            .contains("outputs"));
        assert!(ConfigFile::parse("[build]\noutputs = [\"/etc/x\"]\n")
            .unwrap_err()
            .contains("outputs"));
        assert!(ConfigFile::parse("[build]\nenv = [\"HOME\"]\n")
            .unwrap_err()
            .contains("HOME"));
        assert!(
            ConfigFile::parse("[build]\ncommand = [\"a\"]\ncommands = [[\"b\"]]\n")
                .unwrap_err()
                .contains("not both")
        );
    }
}

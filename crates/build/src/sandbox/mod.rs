//! The sandbox: bubblewrap run as a subprocess of the supervisor, with a seccomp filter,
//! rlimits, a wall-clock timeout and (when privileged) fanotify exec observation.
//!
//! [`SandboxPolicy`] is everything that shapes the build's world; it is serialised
//! canonically and hashed, and the digest goes into the provenance (and PCR 23).

pub mod observe;
pub mod run;
pub mod seccomp;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::hash;

/// Paths inside the sandbox.
pub const SRC_DIR: &str = "/build/src";
pub const OUT_DIR: &str = "/build/out";
pub const HOME_DIR: &str = "/build/home";
pub const WRAPPER: &str = "/build/.cairn/run";
pub const SANDBOX_UID: u32 = 1000;
pub const HOSTNAME: &str = "builder";

/// One mount of the sandbox, as the policy records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MountSpec {
    /// `ro-bind`, `bind`, `tmpfs`, `proc`, `dev` or `symlink`.
    pub kind: &'static str,
    pub dest: String,
    /// For `symlink`: the link target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What is mounted, by content: toolchain manifest digest, source tree id, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A mount plus the host path it comes from (not part of the policy digest: staging
/// paths are random; content digests stand in for them).
#[derive(Debug, Clone)]
pub struct Mount {
    pub spec: MountSpec,
    pub host: Option<PathBuf>,
}

impl Mount {
    pub fn bind(
        ro: bool,
        host: impl Into<PathBuf>,
        dest: impl Into<String>,
        content: Option<String>,
    ) -> Self {
        Mount {
            spec: MountSpec {
                kind: if ro { "ro-bind" } else { "bind" },
                dest: dest.into(),
                target: None,
                content,
            },
            host: Some(host.into()),
        }
    }
    pub fn special(kind: &'static str, dest: &str) -> Self {
        Mount {
            spec: MountSpec {
                kind,
                dest: dest.into(),
                target: None,
                content: None,
            },
            host: None,
        }
    }
    pub fn symlink(target: &str, dest: &str) -> Self {
        Mount {
            spec: MountSpec {
                kind: "symlink",
                dest: dest.into(),
                target: Some(target.into()),
                content: None,
            },
            host: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub timeout_secs: u64,
    pub cpu_secs: u64,
    pub address_space_bytes: u64,
    pub processes: u64,
    pub file_size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompSpec {
    pub sha256: String,
    pub denied: Vec<String>,
}

/// Everything that shapes the sandbox. Field order is fixed and maps are sorted, so the
/// compact JSON is canonical.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxPolicy {
    pub version: u32,
    pub runner: String,
    pub namespaces: Vec<&'static str>,
    pub disable_userns: bool,
    pub die_with_parent: bool,
    pub new_session: bool,
    pub uid: u32,
    pub gid: u32,
    pub hostname: String,
    /// Whether a privileged supervisor drops to an unprivileged host uid before bwrap.
    pub host_uid_unprivileged: bool,
    pub cwd: String,
    pub env: BTreeMap<String, String>,
    pub mounts: Vec<MountSpec>,
    pub seccomp: SeccompSpec,
    pub limits: Limits,
    pub leftover_processes_fail: bool,
}

impl SandboxPolicy {
    pub fn canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    pub fn digest(&self) -> String {
        hash::sha256_hex(&self.canonical_json())
    }
}

/// The namespaces every sandbox unshares.
pub const NAMESPACES: &[&str] = &["user", "mount", "pid", "net", "ipc", "uts", "cgroup"];

/// The wrapper the build command runs under, inside the sandbox. After the command exits
/// it fails the build if any other process is still alive (a daemon left behind); the pid
/// namespace teardown then kills it. Pure POSIX sh builtins: no forks while scanning.
pub const WRAPPER_SCRIPT: &str = r#"#!/bin/sh
"$@"
rc=$?
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  if [ "$pid" = 1 ] || [ "$pid" = "$$" ]; then continue; fi
  st=
  name=
  while read -r k v rest; do
    case "$k" in
      Name:) name=$v ;;
      State:) st=$v ;;
    esac
  done < "$p/status" 2>/dev/null
  if [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]; then
    echo "cairn: process $pid ($name) was left running after the build command; failing the build" >&2
    [ "$rc" = 0 ] && rc=125
  fi
done
exit $rc
"#;

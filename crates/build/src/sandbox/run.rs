//! Runs one build step under bubblewrap: builds the argv from the policy, passes the
//! seccomp program and the bind sources as file descriptors (`command-fds`), applies
//! rlimits and drops privileges in `pre_exec`, enforces the wall-clock limit, and returns
//! only once the sandbox's pid namespace is gone.

use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};
use nix::sys::resource::{setrlimit, Resource};

use super::observe::{pid_ns, ExecObserver};
use super::{Mount, SandboxPolicy, NAMESPACES};
use crate::error::BuildError;

/// The host uid/gid a privileged supervisor drops to before starting bwrap.
pub const NOBODY: u32 = 65534;

/// How one step ended.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// Host paths executed inside the sandbox (fanotify), when observed.
    pub executed: Option<Vec<String>>,
}

impl StepOutcome {
    pub fn success(&self) -> bool {
        !self.timed_out && self.exit_code == Some(0)
    }
}

/// One step to run.
pub struct Step<'a> {
    pub policy: &'a SandboxPolicy,
    pub mounts: &'a [Mount],
    pub seccomp_bpf: &'a [u8],
    pub argv: &'a [String],
    /// stdout and stderr of the build are appended here.
    pub log: &'a Path,
    /// Drop to this host uid/gid before bwrap (when the supervisor is root).
    pub drop_to: Option<u32>,
    /// Observe execs under these roots with fanotify.
    pub observe: Option<Vec<PathBuf>>,
}

fn open_path(p: &Path) -> Result<OwnedFd, BuildError> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| BuildError::Sandbox(format!("path with NUL: {}", p.display())))?;
    // SAFETY: a valid NUL-terminated path; the returned fd is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return Err(BuildError::io(
            "sandbox mount source",
            p,
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The bwrap argv (without the program name) and the fds it refers to.
fn bwrap_args(
    step: &Step<'_>,
    seccomp_fd: i32,
    info_fd: i32,
) -> Result<(Vec<String>, Vec<FdMapping>), BuildError> {
    let p = step.policy;
    let mut a: Vec<String> = Vec::new();
    let mut fds = Vec::new();
    let s = |v: &str| v.to_string();
    // bwrap always makes a mount namespace; the others are flags.
    for ns in NAMESPACES.iter().filter(|n| **n != "mount") {
        a.push(format!("--unshare-{ns}"));
    }
    if p.disable_userns {
        a.push(s("--disable-userns"));
    }
    if p.die_with_parent {
        a.push(s("--die-with-parent"));
    }
    if p.new_session {
        a.push(s("--new-session"));
    }
    a.extend([
        s("--uid"),
        p.uid.to_string(),
        s("--gid"),
        p.gid.to_string(),
        s("--hostname"),
        p.hostname.clone(),
        s("--clearenv"),
    ]);
    for (k, v) in &p.env {
        a.extend([s("--setenv"), k.clone(), v.clone()]);
    }
    a.extend([
        s("--info-fd"),
        info_fd.to_string(),
        s("--seccomp"),
        seccomp_fd.to_string(),
    ]);
    let mut next_fd = 10;
    for m in step.mounts {
        match m.spec.kind {
            "ro-bind" | "bind" => {
                let host = m.host.as_ref().ok_or_else(|| {
                    BuildError::Sandbox(format!("bind {} without a source", m.spec.dest))
                })?;
                let fd = open_path(host)?;
                let flag = if m.spec.kind == "bind" {
                    "--bind-fd"
                } else {
                    "--ro-bind-fd"
                };
                a.extend([s(flag), next_fd.to_string(), m.spec.dest.clone()]);
                fds.push(FdMapping {
                    parent_fd: fd,
                    child_fd: next_fd,
                });
                next_fd += 1;
            }
            "tmpfs" => a.extend([s("--tmpfs"), m.spec.dest.clone()]),
            "proc" => a.extend([s("--proc"), m.spec.dest.clone()]),
            "dev" => a.extend([s("--dev"), m.spec.dest.clone()]),
            "symlink" => a.extend([
                s("--symlink"),
                m.spec.target.clone().unwrap_or_default(),
                m.spec.dest.clone(),
            ]),
            other => return Err(BuildError::Sandbox(format!("unknown mount kind {other}"))),
        }
    }
    a.extend([
        s("--chdir"),
        p.cwd.clone(),
        s("--"),
        s("/bin/sh"),
        s(super::WRAPPER),
    ]);
    a.extend(step.argv.iter().cloned());
    Ok((a, fds))
}

/// Runs the step. Returns when bwrap has exited and the sandbox's pid namespace is gone.
pub fn run_step(step: &Step<'_>) -> Result<StepOutcome, BuildError> {
    let sb = |m: String| BuildError::Sandbox(m);
    let mut seccomp = tempfile::tempfile().map_err(|e| sb(format!("seccomp temp file: {e}")))?;
    seccomp
        .write_all(step.seccomp_bpf)
        .and_then(|_| seccomp.rewind())
        .map_err(|e| sb(format!("seccomp temp file: {e}")))?;
    // nix rather than std::io::pipe, which is newer than the workspace MSRV (1.85).
    let (info_r, info_w) = nix::unistd::pipe().map_err(|e| sb(format!("pipe: {e}")))?;
    let mut info_r = std::fs::File::from(info_r);
    let (args, mut fds) = bwrap_args(step, 3, 4)?;
    fds.push(FdMapping {
        parent_fd: OwnedFd::from(seccomp),
        child_fd: 3,
    });
    fds.push(FdMapping {
        parent_fd: info_w,
        child_fd: 4,
    });

    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(step.log)
        .map_err(|e| BuildError::io("build log", step.log, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| BuildError::io("build log", step.log, e))?;
    let mut cmd = Command::new("bwrap");
    cmd.args(&args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    cmd.fd_mappings(fds)
        .map_err(|e| sb(format!("fd mapping: {e}")))?;
    let limits = step.policy.limits.clone();
    let drop_to = step.drop_to;
    // SAFETY: only async-signal-safe calls (setrlimit, prctl, setgroups, setres[ug]id)
    // run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let set = |r, v: u64| setrlimit(r, v, v).map_err(std::io::Error::from);
            set(Resource::RLIMIT_CPU, limits.cpu_secs)?;
            set(Resource::RLIMIT_AS, limits.address_space_bytes)?;
            set(Resource::RLIMIT_FSIZE, limits.file_size_bytes)?;
            set(Resource::RLIMIT_NPROC, limits.processes)?;
            set(Resource::RLIMIT_CORE, 0)?;
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(id) = drop_to {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresgid(id, id, id) != 0
                    || libc::setresuid(id, id, id) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let observer = match &step.observe {
        Some(roots) => ExecObserver::start(roots).ok(),
        None => None,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| sb(format!("cannot start bwrap: {e}")))?;
    drop(cmd); // closes the parent's copies of the mapped fds (info pipe writer)
    let bwrap_pid = child.id() as i32;

    // bwrap reports the sandbox's pid 1 (host pid) on the info fd.
    let (info_tx, info_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = info_r.read_to_string(&mut s);
        let pid = serde_json::from_str::<serde_json::Value>(&s)
            .ok()
            .and_then(|v| v.get("child-pid").and_then(|p| p.as_i64()))
            .map(|p| p as i32);
        let ns = pid.and_then(pid_ns);
        let _ = info_tx.send((pid, ns));
    });
    let (wait_tx, wait_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = wait_tx.send(child.wait());
    });
    let limit = Duration::from_secs(step.policy.limits.timeout_secs);
    let mut timed_out = false;
    let mut info_cache = None;
    let status = match wait_rx.recv_timeout(limit) {
        Ok(s) => s,
        Err(_) => {
            timed_out = true;
            // Kill the sandbox's pid 1 (which takes the whole pid namespace with it) and bwrap.
            if let Ok((Some(pid), ns)) = info_rx.recv_timeout(Duration::from_secs(5)) {
                wait_gone(pid, ns.as_deref(), true);
                info_cache = Some((Some(pid), ns));
            }
            // SAFETY: signalling our own child.
            unsafe { libc::kill(bwrap_pid, libc::SIGKILL) };
            wait_rx
                .recv()
                .map_err(|e| sb(format!("waiting for bwrap: {e}")))?
        }
    }
    .map_err(|e| sb(format!("waiting for bwrap: {e}")))?;
    let (child_pid, ns) = match info_cache {
        Some(i) => i,
        None => info_rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or((None, None)),
    };
    if let Some(pid) = child_pid {
        wait_gone(pid, ns.as_deref(), true);
    }
    let executed = observer.map(|o| o.finish(ns.as_deref()));
    Ok(StepOutcome {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        executed,
    })
}

/// Waits until the sandbox's pid 1 (not our child) has exited, SIGKILLing it first when
/// `kill`. Its pid namespace is torn down before pid 1 finishes exiting, so afterwards no
/// process of the build is left. A pid that now names a process outside the sandbox's
/// namespace (reused) is left alone.
fn wait_gone(pid: i32, ns: Option<&str>, kill: bool) {
    // SAFETY: pidfd_open with valid arguments; the fd is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return; // already gone (ESRCH)
    }
    // SAFETY: fd is a fresh pidfd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let current = pid_ns(pid);
    if ns.is_none() || current.as_deref() != ns {
        return;
    }
    if !kill {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, -1) };
        return;
    }
    // SAFETY: signalling via a pidfd we own.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<u8>(),
            0,
        )
    };
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; -1 waits until the process exits.
    unsafe { libc::poll(&mut pfd, 1, -1) };
}

/// Whether the supervisor may observe with fanotify (CAP_SYS_ADMIN in the initial
/// user namespace; approximated by euid 0).
pub fn can_observe() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Quick check that bwrap is installed and can create the namespaces we need.
pub fn bwrap_version() -> Result<String, BuildError> {
    let out = Command::new("bwrap")
        .arg("--version")
        .output()
        .map_err(|e| {
            BuildError::Sandbox(format!(
                "bubblewrap (`bwrap`) is not installed: {e}; install Debian package `bubblewrap`"
            ))
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

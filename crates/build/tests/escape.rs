//! The sandbox escape suite: each attempt is refused or contained, the build fails, and
//! nothing is signed.

mod common;

use std::path::Path;

use cairn_build::BuildError;
use common::*;

/// Runs `script` under `sh -e -c` in the sandbox; returns the error and the log.
fn attempt(script: &str, config: &[u8], timeout: Option<u64>) -> (BuildError, String) {
    let src = repo(&[("cairn.toml", config)]);
    let mut e = request(src.path(), &["sh", "-e", "-c", script]);
    e.req.timeout_secs = timeout;
    let err = run(&e.req, &key()).expect_err("the attempt must fail the build");
    let bundle = e.req.bundle_path();
    assert!(!bundle.exists(), "a failed build wrote a bundle");
    assert!(!e.req.output_dir.join("x").exists());
    let log = log(&e.req);
    (err, log)
}

fn no_process_with(token: &str) -> bool {
    for ent in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(ent.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(token) {
                return false;
            }
        }
    }
    true
}

#[test]
fn host_loopback_listener_is_unreachable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let script = format!("python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2)\"; touch $CAIRN_OUTPUT/x");
    let (err, log) = attempt(&script, b"", None);
    assert!(matches!(err, BuildError::CommandFailed(_)), "{err}");
    assert!(
        log.contains("PermissionError") && log.contains("Operation not permitted"),
        "{log}"
    );
    assert!(l.accept().is_err(), "the listener saw a connection");
}

#[test]
fn signing_key_path_is_not_visible() {
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("signing.key");
    std::fs::write(&keyfile, "secret").unwrap();
    let (err, log) = attempt(&format!("cat {}", keyfile.display()), b"", None);
    assert!(matches!(err, BuildError::CommandFailed(_)), "{err}");
    assert!(
        log.contains("No such file or directory") && !log.contains("secret"),
        "{log}"
    );
}

#[test]
fn tpm_devices_are_absent() {
    let (_, log) = attempt("ls /dev; cat /dev/tpm0 || cat /dev/tpmrm0", b"", None);
    assert!(
        log.contains("/dev/tpmrm0: No such file or directory"),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("tpm")),
        "a TPM device is listed: {log}"
    );
}

#[test]
fn shadow_and_home_are_absent() {
    let (_, log) = attempt("cat /etc/shadow", b"", None);
    assert!(
        log.contains("/etc/shadow: No such file or directory"),
        "{log}"
    );
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let (_, log) = attempt(&format!("ls -a {home}/"), b"", None);
    assert!(log.contains("No such file or directory"), "{log}");
}

#[test]
fn writes_outside_the_output_dir_are_refused() {
    let target = "/usr/cairn-escape-test";
    let (_, log) = attempt(&format!("echo pwned > {target}"), b"", None);
    assert!(log.contains("Read-only file system"), "{log}");
    assert!(!Path::new(target).exists());
}

#[test]
fn ptrace_of_the_supervisor_is_refused() {
    let me = std::process::id();
    // PTRACE_ATTACH = 16; also the supervisor's pid does not exist in the sandbox.
    let script = format!("python3 -c \"import ctypes,os; c=ctypes.CDLL(None, use_errno=True); r=c.ptrace(16, {me}, 0, 0); e=ctypes.get_errno(); print('ptrace', r, os.strerror(e)); raise SystemExit(0 if r == 0 else 1)\"");
    let (err, log) = attempt(&script, b"", None);
    assert!(matches!(err, BuildError::CommandFailed(_)), "{err}");
    assert!(log.contains("ptrace -1 Operation not permitted"), "{log}");
}

#[test]
fn background_process_is_detected_and_killed() {
    let token = format!("{}.{}", 1000 + std::process::id() % 1000, 7);
    let (err, log) = attempt(&format!("sleep {token} & exit 0"), b"", None);
    assert!(
        matches!(err, BuildError::CommandFailed(ref m) if m.contains("exit status 125")),
        "{err}"
    );
    assert!(
        log.contains("was left running after the build command"),
        "{log}"
    );
    assert!(
        no_process_with(&format!("sleep\0{token}")),
        "the background process survived"
    );
}

#[test]
fn time_limit_kills_the_whole_sandbox() {
    let token = format!("{}.{}", 2000 + std::process::id() % 1000, 3);
    let (err, _) = attempt(&format!("sleep {token} & sleep {token}"), b"", Some(2));
    assert!(
        matches!(err, BuildError::Timeout { limit_secs: 2 }),
        "{err}"
    );
    assert!(
        no_process_with(&format!("sleep\0{token}")),
        "a sandboxed process outlived the timeout"
    );
}

#[test]
fn fork_bomb_is_contained() {
    let token = format!("{}.{}", 3000 + std::process::id() % 1000, 1);
    let script = format!(
        "i=0; while [ $i -lt 400 ]; do sleep {token} & i=$((i+1)); done; touch $CAIRN_OUTPUT/x"
    );
    let (err, log) = attempt(&script, b"[limits]\nprocesses = 40\n", Some(120));
    assert!(matches!(err, BuildError::CommandFailed(_)), "{err}");
    assert!(
        log.contains("Cannot fork") || log.contains("Resource temporarily unavailable"),
        "{log}"
    );
    assert!(
        no_process_with(&format!("sleep\0{token}")),
        "forked processes survived"
    );
}

#[test]
fn a_signing_key_under_a_mounted_path_is_refused() {
    let tc = tempfile::tempdir().unwrap();
    let keyfile = tc.path().join("builder.key");
    std::fs::write(&keyfile, "secret").unwrap();
    let src = repo(&[("a", b"a")]);
    let mut e = request(src.path(), &["true"]);
    e.req.toolchain = vec!["/usr".into(), tc.path().to_path_buf()];
    e.req.key_path = Some(keyfile.clone());
    let err = run(&e.req, &key()).unwrap_err();
    assert!(
        err.to_string().contains("lies under") && err.to_string().contains("builder.key"),
        "{err}"
    );
    assert!(!e.req.bundle_path().exists());
}

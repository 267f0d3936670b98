//! The seccomp filter handed to bubblewrap (`--seccomp FD`), compiled in pure Rust with
//! `seccompiler`. A deny list on top of the namespaces: calls a build never needs and
//! that widen the kernel attack surface, or reach other processes, fail with EPERM.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::error::BuildError;

/// Calls refused outright, by name (the names are part of the hashed sandbox policy).
pub const DENIED: &[(&str, i64)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("kcmp", libc::SYS_kcmp),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("fsopen", libc::SYS_fsopen),
    ("fsmount", libc::SYS_fsmount),
    ("fsconfig", libc::SYS_fsconfig),
    ("fspick", libc::SYS_fspick),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("setns", libc::SYS_setns),
    ("unshare", libc::SYS_unshare),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("reboot", libc::SYS_reboot),
    ("acct", libc::SYS_acct),
    ("quotactl", libc::SYS_quotactl),
    ("syslog", libc::SYS_syslog),
    ("setxattr", libc::SYS_setxattr),
    ("lsetxattr", libc::SYS_lsetxattr),
    ("fsetxattr", libc::SYS_fsetxattr),
    ("removexattr", libc::SYS_removexattr),
    ("lremovexattr", libc::SYS_lremovexattr),
    ("fremovexattr", libc::SYS_fremovexattr),
];

/// x32 ABI: syscall numbers with this bit set bypass rules keyed by x86-64 numbers, so
/// every denied call is denied under its x32 number too (ptrace and process_vm_* have
/// their own x32 numbers).
const X32: i64 = 0x4000_0000;
const X32_SPECIAL: &[(&str, i64)] = &[
    ("ptrace", 521),
    ("process_vm_readv", 539),
    ("process_vm_writev", 540),
];

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, BuildError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
        .map_err(|e| BuildError::Sandbox(format!("seccomp condition: {e}")))
}

fn rule(c: Vec<SeccompCondition>) -> Result<SeccompRule, BuildError> {
    SeccompRule::new(c).map_err(|e| BuildError::Sandbox(format!("seccomp rule: {e}")))
}

/// The compiled filter as the bytes bubblewrap reads (`struct sock_filter[]`, native endian).
pub fn compile() -> Result<Vec<u8>, BuildError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(BuildError::Sandbox(
            "the seccomp filter is only defined for x86_64".into(),
        ));
    }
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (_, nr) in DENIED {
        rules.insert(*nr, Vec::new());
        rules.insert(*nr | X32, Vec::new());
    }
    for (_, nr) in X32_SPECIAL {
        rules.insert(*nr | X32, Vec::new());
    }
    // No network: only AF_UNIX sockets (the netns is empty anyway; this also closes
    // netlink and packet sockets).
    rules.insert(
        libc::SYS_socket,
        vec![rule(vec![cond(
            0,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )?])?],
    );
    // No setuid/setgid bits (Nix's rule): chmod family with S_ISUID or S_ISGID.
    for (nr, arg) in [
        (libc::SYS_chmod, 1u8),
        (libc::SYS_fchmod, 1),
        (libc::SYS_fchmodat, 2),
        (452, 2), /* fchmodat2 */
    ] {
        rules.insert(
            nr,
            vec![
                rule(vec![cond(
                    arg,
                    SeccompCmpOp::MaskedEq(libc::S_ISUID as u64),
                    libc::S_ISUID as u64,
                )?])?,
                rule(vec![cond(
                    arg,
                    SeccompCmpOp::MaskedEq(libc::S_ISGID as u64),
                    libc::S_ISGID as u64,
                )?])?,
            ],
        );
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        TargetArch::x86_64,
    )
    .map_err(|e| BuildError::Sandbox(format!("seccomp filter: {e}")))?;
    let prog: BpfProgram = filter.try_into().map_err(|e: seccompiler::BackendError| {
        BuildError::Sandbox(format!("seccomp compile: {e}"))
    })?;
    let mut out = Vec::with_capacity(prog.len() * 8);
    for ins in prog {
        out.extend_from_slice(&ins.code.to_ne_bytes());
        out.push(ins.jt);
        out.push(ins.jf);
        out.extend_from_slice(&ins.k.to_ne_bytes());
    }
    Ok(out)
}

/// The names in the policy: the denied calls plus the two conditional rules.
pub fn description() -> Vec<String> {
    let mut v: Vec<String> = DENIED.iter().map(|(n, _)| n.to_string()).collect();
    v.push("socket(domain != AF_UNIX)".into());
    v.push("chmod/fchmod/fchmodat/fchmodat2 with S_ISUID or S_ISGID".into());
    v.push("x32 variants of all of the above".into());
    v
}

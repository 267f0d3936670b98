//! Which executables the build actually ran: fanotify on the filesystems of the toolchain,
//! filtered to the sandbox's pid namespace. Needs CAP_SYS_ADMIN in the initial user
//! namespace; without it the caller falls back to the manifest.
//!
//! The permission variant `FAN_OPEN_EXEC_PERM` is used rather than `FAN_OPEN_EXEC`: the
//! exec waits until the observer has read the process's pid namespace and allowed it, so
//! a short-lived process (`as` on a small file) cannot exit before it is attributed. Every
//! event is allowed; if the observer goes away the kernel allows pending events.

use std::collections::BTreeSet;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response,
};

/// A running observer.
pub struct ExecObserver {
    stop: Arc<AtomicBool>,
    /// Written to on stop so the observer's poll wakes at once.
    wake: std::fs::File,
    handle: JoinHandle<Vec<(String, String)>>,
}

/// The pid namespace of a process, as `/proc/<pid>/ns/pid` names it (`pid:[inode]`).
pub fn pid_ns(pid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid"))
        .ok()
        .map(|p| p.to_string_lossy().to_string())
}

impl ExecObserver {
    /// Starts watching exec opens on the filesystems holding `roots`.
    pub fn start(roots: &[PathBuf]) -> Result<Self, String> {
        let fan = Fanotify::init(
            InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
        )
        .map_err(|e| format!("fanotify_init: {e}"))?;
        for r in roots {
            fan.mark(
                MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_FILESYSTEM,
                MaskFlags::FAN_OPEN_EXEC_PERM,
                std::fs::File::open("/").map_err(|e| e.to_string())?.as_fd(),
                Some(r.as_path()),
            )
            .map_err(|e| format!("fanotify_mark {}: {e}", r.display()))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let (wake_r, wake) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
        let wake = std::fs::File::from(wake);
        let handle = std::thread::spawn(move || {
            let mut seen: Vec<(String, String)> = Vec::new();
            loop {
                let stopping = stop2.load(Ordering::Acquire);
                let mut fds = [
                    PollFd::new(fan.as_fd(), PollFlags::POLLIN),
                    PollFd::new(wake_r.as_fd(), PollFlags::POLLIN),
                ];
                let _ = poll(
                    &mut fds,
                    if stopping {
                        PollTimeout::ZERO
                    } else {
                        PollTimeout::NONE
                    },
                );
                let fan_ready = fds[0]
                    .revents()
                    .map(|r| r.contains(PollFlags::POLLIN))
                    .unwrap_or(false);
                if fan_ready {
                    if let Ok(events) = fan.read_events() {
                        for ev in events {
                            let Some(fd) = ev.fd() else { continue };
                            let path =
                                std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                                    .map(|p| p.to_string_lossy().to_string());
                            let ns = pid_ns(ev.pid());
                            // Allow first thing after reading: other host processes wait too.
                            let _ =
                                fan.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW));
                            if let (Ok(path), Some(ns)) = (path, ns) {
                                seen.push((ns, path));
                            }
                        }
                        continue;
                    }
                }
                if stopping {
                    break;
                }
            }
            seen
        });
        Ok(ExecObserver { stop, wake, handle })
    }

    /// Stops and returns the distinct host paths executed inside pid namespace `ns`.
    pub fn finish(mut self, ns: Option<&str>) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        let _ = std::io::Write::write_all(&mut self.wake, b"x");
        let seen = self.handle.join().unwrap_or_default();
        let Some(ns) = ns else { return Vec::new() };
        let set: BTreeSet<String> = seen
            .into_iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, p)| p)
            .collect();
        set.into_iter().collect()
    }
}

//! The toolchain: host paths (or a rootfs) mounted read-only into the sandbox, each file
//! hashed into a manifest. The manifest travels in the bundle; its digest goes into the
//! provenance. A persistent digest cache keyed by (path, dev, ino, size, mtime_ns,
//! ctime_ns) spares a repeated build from rehashing an unchanged toolchain.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use walkdir::WalkDir;

use crate::error::BuildError;
use crate::hash;

/// The default toolchain: merged-/usr Debian and the few `/etc` files dynamic linking and
/// `cc`-style alternatives need. Never `/etc` wholesale: it holds `shadow`, host keys and
/// credentials. `/etc/passwd`, `/etc/group` and `/etc/hosts` are stubs the sandbox writes.
pub const DEFAULT_TOOLCHAIN: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/os-release",
];

/// Paths that are never accepted as (or under) a toolchain path.
const FORBIDDEN: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/ssh",
    "/etc/sudoers",
    "/dev",
    "/proc",
    "/sys",
    "/run",
    "/var/run",
    "/root/.ssh",
    "/root/.gnupg",
];
/// Directories that may hold a toolchain below them but are never bound whole.
const NOT_WHOLE: &[&str] = &["/root", "/home", "/tmp", "/var", "/etc"];

/// How a toolchain root appears inside the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ToolchainRoot {
    /// A directory or file bound read-only at the same path.
    Bind { path: String },
    /// A symlink recreated as is (`/bin -> usr/bin` on merged-/usr systems).
    Symlink { path: String, target: String },
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Every file of the toolchain, sorted by path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub roots: Vec<ToolchainRoot>,
    pub files: Vec<ManifestEntry>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct HashStats {
    pub files: u64,
    pub hashed_files: u64,
    pub hashed_bytes: u64,
    pub cached_files: u64,
}

/// First line of the manifest text.
pub const MANIFEST_HEADER: &str = "cairn-toolchain-manifest v1";

impl Manifest {
    /// The canonical text form, what the manifest digest is computed over and what the
    /// bundle carries (compact next to JSON for 100k+ files):
    ///
    /// ```text
    /// cairn-toolchain-manifest v1
    /// root bind /usr
    /// root symlink /bin usr/bin
    /// <sha256 hex | -> <mode octal> <size | -> <path>[ -> <link target>]
    /// ```
    ///
    /// Entries are sorted by path; an unreadable file has `-` as its digest. Paths with a
    /// newline are refused when the manifest is built.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.files.len() * 120);
        s.push_str(MANIFEST_HEADER);
        s.push('\n');
        for r in &self.roots {
            match r {
                ToolchainRoot::Bind { path } => s.push_str(&format!("root bind {path}\n")),
                ToolchainRoot::Symlink { path, target } => {
                    s.push_str(&format!("root symlink {path} {target}\n"))
                }
            }
        }
        for e in &self.files {
            s.push_str(e.sha256.as_deref().unwrap_or("-"));
            s.push(' ');
            s.push_str(&e.mode);
            s.push(' ');
            match e.size {
                Some(n) => s.push_str(&n.to_string()),
                None => s.push('-'),
            }
            s.push(' ');
            s.push_str(&e.path);
            if let Some(l) = &e.link {
                s.push_str(" -> ");
                s.push_str(l);
            }
            s.push('\n');
        }
        s
    }

    pub fn digest(&self) -> String {
        hash::sha256_hex(self.to_text().as_bytes())
    }

    pub fn lookup(&self, path: &str) -> Option<&ManifestEntry> {
        self.files
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// Resolves symlinks inside the manifest (absolute or relative), up to 40 hops.
    pub fn resolve(&self, path: &str) -> Option<&ManifestEntry> {
        let mut p = path.to_string();
        for _ in 0..40 {
            let e = self.lookup(&p)?;
            match &e.link {
                None => return Some(e),
                Some(t) if t.starts_with('/') => p = t.clone(),
                Some(t) => {
                    let parent = Path::new(&p).parent().unwrap_or(Path::new("/"));
                    p = normalize(&parent.join(t));
                }
            }
        }
        None
    }
}

fn normalize(p: &Path) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(s) => out.push(s.to_string_lossy().to_string()),
            _ => {}
        }
    }
    format!("/{}", out.join("/"))
}

/// The persistent digest cache: one line per file,
/// `dev ino size mtime_ns ctime_ns sha256 path`.
pub struct DigestCache {
    file: Option<PathBuf>,
    entries: Mutex<HashMap<String, (CacheKey, String)>>,
    dirty: Mutex<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CacheKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl CacheKey {
    fn of(m: &fs::Metadata) -> Self {
        CacheKey {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            ctime_ns: m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128,
        }
    }
}

impl DigestCache {
    /// A cache that lives only in memory.
    pub fn in_memory() -> Self {
        DigestCache {
            file: None,
            entries: Mutex::new(HashMap::new()),
            dirty: Mutex::new(false),
        }
    }

    /// Loads the cache file; a missing or corrupt file starts an empty cache (a cache
    /// miss only costs a rehash).
    pub fn load(file: &Path) -> Self {
        let mut entries = HashMap::new();
        if let Ok(text) = fs::read_to_string(file) {
            for line in text.lines() {
                let mut it = line.splitn(7, ' ');
                let parsed = (|| {
                    let key = CacheKey {
                        dev: it.next()?.parse().ok()?,
                        ino: it.next()?.parse().ok()?,
                        size: it.next()?.parse().ok()?,
                        mtime_ns: it.next()?.parse().ok()?,
                        ctime_ns: it.next()?.parse().ok()?,
                    };
                    let digest = it.next()?.to_string();
                    let path = it.next()?.to_string();
                    (digest.len() == 64).then_some((path, (key, digest)))
                })();
                if let Some((p, v)) = parsed {
                    entries.insert(p, v);
                }
            }
        }
        DigestCache {
            file: Some(file.to_path_buf()),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
        }
    }

    fn get(&self, path: &str, m: &fs::Metadata) -> Option<String> {
        let e = self.entries.lock().ok()?;
        let (k, d) = e.get(path)?;
        (*k == CacheKey::of(m)).then(|| d.clone())
    }

    fn put(&self, path: &str, m: &fs::Metadata, digest: &str) {
        if let Ok(mut e) = self.entries.lock() {
            e.insert(path.to_string(), (CacheKey::of(m), digest.to_string()));
        }
        if let Ok(mut d) = self.dirty.lock() {
            *d = true;
        }
    }

    /// Writes the cache atomically (0600) when it changed.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !*self
            .dirty
            .lock()
            .map_err(|_| std::io::Error::other("cache lock poisoned"))?
        {
            return Ok(());
        }
        let entries = self
            .entries
            .lock()
            .map_err(|_| std::io::Error::other("cache lock poisoned"))?;
        let dir = file.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        for (p, (k, d)) in entries.iter() {
            if p.contains('\n') {
                continue;
            }
            writeln!(
                w,
                "{} {} {} {} {} {} {}",
                k.dev, k.ino, k.size, k.mtime_ns, k.ctime_ns, d, p
            )?;
        }
        w.flush()?;
        drop(w);
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))?;
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(())
    }
}

fn forbidden(path: &str) -> Option<&'static str> {
    if let Some(w) = NOT_WHOLE.iter().copied().find(|w| *w == path) {
        return Some(w);
    }
    FORBIDDEN.iter().copied().find(|f| {
        path == *f || path.starts_with(&format!("{f}/")) || f.starts_with(&format!("{path}/"))
    })
}

/// Validates toolchain paths: absolute, existing, not forbidden, not `/`.
pub fn roots(paths: &[PathBuf]) -> Result<Vec<ToolchainRoot>, BuildError> {
    let mut out = Vec::new();
    for p in paths {
        let err = |reason: String| BuildError::Toolchain {
            path: p.clone(),
            reason,
        };
        let s = p
            .to_str()
            .ok_or_else(|| err("not UTF-8".into()))?
            .trim_end_matches('/')
            .to_string();
        if !p.is_absolute() || s.is_empty() || s.contains("/../") || s.ends_with("/..") {
            return Err(err("must be an absolute path below /".into()));
        }
        if let Some(f) = forbidden(&s) {
            return Err(err(format!(
                "overlaps {f}, which is never exposed to a build"
            )));
        }
        let meta = fs::symlink_metadata(p).map_err(|e| err(format!("cannot stat: {e}")))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(p).map_err(|e| err(format!("cannot read link: {e}")))?;
            out.push(ToolchainRoot::Symlink {
                path: s,
                target: target.to_string_lossy().to_string(),
            });
        } else {
            out.push(ToolchainRoot::Bind { path: s });
        }
    }
    out.sort_by(|a, b| root_path(a).cmp(root_path(b)));
    out.dedup();
    Ok(out)
}

pub fn root_path(r: &ToolchainRoot) -> &str {
    match r {
        ToolchainRoot::Bind { path } | ToolchainRoot::Symlink { path, .. } => path,
    }
}

/// Walks and hashes every file under the bound roots. Devices, FIFOs and sockets are
/// refused: a bound socket would be a way out of the sandbox.
pub fn manifest(
    roots: &[ToolchainRoot],
    cache: &DigestCache,
) -> Result<(Manifest, HashStats), BuildError> {
    let mut items: Vec<(String, fs::Metadata)> = Vec::new();
    let mut entries: Vec<ManifestEntry> = Vec::new();
    for r in roots {
        let path = match r {
            ToolchainRoot::Symlink { path, target } => {
                entries.push(ManifestEntry {
                    path: path.clone(),
                    sha256: None,
                    size: None,
                    mode: "120777".into(),
                    link: Some(target.clone()),
                });
                continue;
            }
            ToolchainRoot::Bind { path } => path,
        };
        for ent in WalkDir::new(path).follow_links(false).sort_by_file_name() {
            let ent = ent.map_err(|e| BuildError::Toolchain {
                path: PathBuf::from(path),
                reason: e.to_string(),
            })?;
            let p = ent
                .path()
                .to_str()
                .ok_or_else(|| BuildError::Toolchain {
                    path: ent.path().to_path_buf(),
                    reason: "not UTF-8".into(),
                })?
                .to_string();
            if p.contains('\n') || p.contains(" -> ") {
                return Err(BuildError::Toolchain {
                    path: ent.path().to_path_buf(),
                    reason: "a path with a newline or \" -> \" cannot be recorded".into(),
                });
            }
            let meta = ent.metadata().map_err(|e| BuildError::Toolchain {
                path: ent.path().to_path_buf(),
                reason: e.to_string(),
            })?;
            let ft = meta.file_type();
            let mode = format!("{:o}", meta.mode());
            if ft.is_dir() {
                continue;
            } else if ft.is_symlink() {
                let t = fs::read_link(ent.path())
                    .map_err(|e| BuildError::io("toolchain", ent.path(), e))?;
                entries.push(ManifestEntry {
                    path: p,
                    sha256: None,
                    size: None,
                    mode,
                    link: Some(t.to_string_lossy().to_string()),
                });
            } else if ft.is_file() {
                items.push((p, meta));
            } else {
                return Err(BuildError::Toolchain {
                    path: ent.path().to_path_buf(),
                    reason: "is a device, FIFO or socket; refusing to expose it".into(),
                });
            }
        }
    }
    let stats = Mutex::new(HashStats::default());
    let results: Mutex<Vec<ManifestEntry>> = Mutex::new(Vec::with_capacity(items.len()));
    let first_err: Mutex<Option<BuildError>> = Mutex::new(None);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for part in items.chunks(chunk) {
            let (stats, results, first_err) = (&stats, &results, &first_err);
            s.spawn(move || {
                let mut local = Vec::with_capacity(part.len());
                let mut st = HashStats::default();
                for (p, meta) in part {
                    st.files += 1;
                    let mode = format!("{:o}", meta.mode());
                    let digest = match cache.get(p, meta) {
                        Some(d) => {
                            st.cached_files += 1;
                            Some(d)
                        }
                        None if meta.mode() & 0o444 == 0 && !is_root() => None,
                        None => match hash::sha256_file(Path::new(p)) {
                            Ok((d, n)) => {
                                let d = hex::encode(d);
                                st.hashed_files += 1;
                                st.hashed_bytes += n;
                                cache.put(p, meta, &d);
                                Some(d)
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
                            Err(e) => {
                                if let Ok(mut f) = first_err.lock() {
                                    f.get_or_insert(BuildError::io("toolchain file", p, e));
                                }
                                None
                            }
                        },
                    };
                    local.push(ManifestEntry {
                        path: p.clone(),
                        sha256: digest,
                        size: Some(meta.size()),
                        mode,
                        link: None,
                    });
                }
                if let Ok(mut r) = results.lock() {
                    r.extend(local);
                }
                if let Ok(mut s) = stats.lock() {
                    s.files += st.files;
                    s.hashed_files += st.hashed_files;
                    s.hashed_bytes += st.hashed_bytes;
                    s.cached_files += st.cached_files;
                }
            });
        }
    });
    if let Some(e) = first_err.into_inner().ok().flatten() {
        return Err(e);
    }
    entries.extend(results.into_inner().unwrap_or_default());
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries.dedup_by(|a, b| a.path == b.path);
    let stats = stats.into_inner().unwrap_or_default();
    Ok((
        Manifest {
            roots: roots.to_vec(),
            files: entries,
        },
        stats,
    ))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_hashes_and_cache_spares_rehash() {
        let d = tempfile::tempdir().unwrap();
        let tc = d.path().join("tc");
        fs::create_dir_all(tc.join("bin")).unwrap();
        fs::write(tc.join("bin/tool"), b"hello\n").unwrap();
        std::os::unix::fs::symlink("tool", tc.join("bin/alias")).unwrap();
        let roots = roots(std::slice::from_ref(&tc)).unwrap();
        let cache_file = d.path().join("cache");
        let cache = DigestCache::load(&cache_file);
        let (m, st) = manifest(&roots, &cache).unwrap();
        assert_eq!((st.hashed_files, st.cached_files), (1, 0));
        cache.save().unwrap();
        let tool = format!("{}/bin/tool", tc.display());
        assert_eq!(
            m.lookup(&tool).unwrap().sha256.as_deref(),
            Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        assert_eq!(
            m.resolve(&format!("{}/bin/alias", tc.display()))
                .unwrap()
                .path,
            tool
        );
        let cache = DigestCache::load(&cache_file);
        let (m2, st) = manifest(&roots, &cache).unwrap();
        assert_eq!((st.hashed_files, st.cached_files), (0, 1));
        assert_eq!(m2.digest(), m.digest());
        // A changed file changes ctime, so the cache misses and the digest follows.
        fs::write(tc.join("bin/tool"), b"hellO\n").unwrap();
        let (m3, st) = manifest(&roots, &cache).unwrap();
        assert_eq!(st.hashed_files, 1);
        assert_ne!(m3.digest(), m.digest());
    }

    #[test]
    fn refuses_forbidden_and_special_files() {
        let e = roots(&[PathBuf::from("/etc/shadow")]).unwrap_err();
        assert!(e.to_string().contains("never exposed"), "{e}");
        assert!(roots(&[PathBuf::from("/")]).is_err());
        assert!(roots(&[PathBuf::from("relative")]).is_err());
        let d = tempfile::tempdir().unwrap();
        nix_mkfifo(&d.path().join("fifo"));
        let e = manifest(
            &roots(&[d.path().to_path_buf()]).unwrap(),
            &DigestCache::in_memory(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    fn nix_mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
}

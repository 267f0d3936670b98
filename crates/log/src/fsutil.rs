//! Durable file writes: write to a temporary name, fsync, rename, then fsync the
//! directories whose entries changed. Nothing is acknowledged before this returns.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O failure and the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct IoError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IoError + '_ {
    move |source| IoError {
        path: path.display().to_string(),
        source,
    }
}

/// Directories to fsync once a group of writes is done.
#[derive(Default)]
pub struct DirSync {
    dirs: BTreeSet<PathBuf>,
}

impl DirSync {
    /// Creates `dir` and any missing parents, remembering each parent whose entries changed.
    pub fn create_dir_all(&mut self, dir: &Path) -> Result<(), IoError> {
        // The parent of a bare relative name ("log.key") is "": the current directory.
        if dir.as_os_str().is_empty() || dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            self.create_dir_all(parent)?;
            self.dirs.insert(parent.to_path_buf());
        }
        match fs::create_dir(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io_err(dir)(e)),
        }
    }

    /// Writes `bytes` to `path` through a temporary file, fsynced and renamed into place.
    /// The directory is fsynced by [`DirSync::sync`].
    pub fn write_atomic(&mut self, path: &Path, bytes: &[u8]) -> Result<(), IoError> {
        self.write_atomic_mode(path, bytes, 0o644)
    }

    /// As [`DirSync::write_atomic`], with a file mode (0600 for keys and state).
    pub fn write_atomic_mode(
        &mut self,
        path: &Path,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), IoError> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        self.create_dir_all(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))?;
        self.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// Fsyncs every directory touched since the last call.
    pub fn sync(&mut self) -> Result<(), IoError> {
        for d in std::mem::take(&mut self.dirs) {
            File::open(&d)
                .and_then(|f| f.sync_all())
                .map_err(io_err(&d))?;
        }
        Ok(())
    }
}

/// Writes one file durably (file and directory fsynced) with the given mode.
pub fn write_durable(path: &Path, bytes: &[u8], mode: u32) -> Result<(), IoError> {
    let mut s = DirSync::default();
    s.write_atomic_mode(path, bytes, mode)?;
    s.sync()
}

/// Creates a new file with mode 0600 and the given contents, refusing to overwrite.
pub fn create_secret(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(io_err(dir))?;
    }
    Ok(())
}

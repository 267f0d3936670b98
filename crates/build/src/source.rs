//! The source: a clean git checkout at a commit. Records repo URL, ref, commit and tree
//! id, copies the tracked files into the sandbox's writable source dir, and recomputes
//! the git tree id from the copied bytes (so the tree in the provenance is what the build
//! saw, not what git's index claims).
//!
//! The git CLI lists files and resolves refs; the object ids are computed here, so the
//! consumer-side check (`check_source`) hashes the consumer's own files.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::error::BuildError;
use crate::hash;

/// What the build records about its source.
#[derive(Debug, Clone, PartialEq)]
pub struct GitSource {
    pub root: PathBuf,
    /// `origin`'s URL when set, else `file://<root>`.
    pub repo_url: String,
    /// `refs/heads/<branch>` when HEAD is on a branch.
    pub git_ref: Option<String>,
    pub commit: String,
    pub tree: String,
}

/// One tracked path with its git mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    pub mode: String,
    pub path: String,
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

fn git_line(dir: &Path, args: &[&str]) -> Result<String, String> {
    git(dir, args).map(|o| String::from_utf8_lossy(&o).trim().to_string())
}

impl GitSource {
    /// Inspects `dir`, which must be the top of a git worktree with no uncommitted or
    /// untracked changes.
    pub fn inspect(dir: &Path) -> Result<Self, BuildError> {
        let err = |reason: String| BuildError::Source {
            path: dir.to_path_buf(),
            reason,
        };
        let top = git_line(dir, &["rev-parse", "--show-toplevel"])
            .map_err(|e| err(format!("not a git checkout ({e})")))?;
        let root = PathBuf::from(&top);
        let canon = fs::canonicalize(dir).map_err(|e| BuildError::io("source", dir, e))?;
        if canon != root {
            return Err(err(format!("must be the top of the git worktree ({top})")));
        }
        let status = git(
            dir,
            &[
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=none",
            ],
        )
        .map_err(err)?;
        if !status.is_empty() {
            let entries: Vec<String> = status
                .split(|b| *b == 0)
                .filter(|e| !e.is_empty())
                .take(5)
                .map(|e| String::from_utf8_lossy(e).to_string())
                .collect();
            return Err(BuildError::DirtySource {
                path: root,
                detail: entries.join(", "),
            });
        }
        let commit = git_line(dir, &["rev-parse", "--verify", "HEAD^{commit}"])
            .map_err(|e| err(format!("no commit checked out ({e})")))?;
        let tree = git_line(dir, &["rev-parse", "--verify", "HEAD^{tree}"]).map_err(err)?;
        let git_ref = git_line(dir, &["symbolic-ref", "-q", "HEAD"])
            .ok()
            .filter(|r| !r.is_empty());
        let repo_url = git_line(dir, &["remote", "get-url", "origin"])
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("file://{top}"));
        Ok(GitSource {
            root,
            repo_url,
            git_ref,
            commit,
            tree,
        })
    }

    /// `git+<url>@<ref>` as used in the provenance.
    pub fn uri(&self) -> String {
        match &self.git_ref {
            Some(r) => format!("git+{}@{}", self.repo_url, r),
            None => format!("git+{}", self.repo_url),
        }
    }
}

/// Files tracked at HEAD (`git ls-tree`), with their modes.
pub fn tracked_files(dir: &Path, commit: &str) -> Result<Vec<TrackedFile>, BuildError> {
    let err = |reason: String| BuildError::Source {
        path: dir.to_path_buf(),
        reason,
    };
    let out = git(dir, &["ls-tree", "-r", "-z", "--full-tree", commit]).map_err(err)?;
    let mut files = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8(rec.to_vec())
            .map_err(|_| err("a tracked path is not UTF-8".into()))?;
        // "<mode> <type> <id>\t<path>"
        let (meta, path) = rec
            .split_once('\t')
            .ok_or_else(|| err(format!("unexpected ls-tree record {rec:?}")))?;
        let mode = meta.split(' ').next().unwrap_or_default().to_string();
        if mode == "160000" {
            return Err(err(format!(
                "submodule {path} is not supported: vendor it or build it separately"
            )));
        }
        files.push(TrackedFile {
            mode,
            path: path.to_string(),
        });
    }
    Ok(files)
}

fn check_rel(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    if p.is_absolute() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("refusing path {path:?}"));
    }
    Ok(())
}

/// Copies the tracked files of `src` into `dst` (which must exist and be empty).
pub fn export(src: &Path, files: &[TrackedFile], dst: &Path) -> Result<(), BuildError> {
    for f in files {
        check_rel(&f.path).map_err(|reason| BuildError::Source {
            path: src.to_path_buf(),
            reason,
        })?;
        let from = src.join(&f.path);
        let to = dst.join(&f.path);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| BuildError::io("source copy", parent, e))?;
        }
        match f.mode.as_str() {
            "120000" => {
                let target =
                    fs::read_link(&from).map_err(|e| BuildError::io("source", &from, e))?;
                std::os::unix::fs::symlink(&target, &to)
                    .map_err(|e| BuildError::io("source copy", &to, e))?;
            }
            _ => {
                let meta =
                    fs::symlink_metadata(&from).map_err(|e| BuildError::io("source", &from, e))?;
                if !meta.file_type().is_file() {
                    return Err(BuildError::Source {
                        path: from,
                        reason: "tracked as a file but is not a regular file".into(),
                    });
                }
                fs::copy(&from, &to).map_err(|e| BuildError::io("source copy", &to, e))?;
                let mode = if f.mode == "100755" { 0o755 } else { 0o644 };
                fs::set_permissions(&to, fs::Permissions::from_mode(mode))
                    .map_err(|e| BuildError::io("source copy", &to, e))?;
            }
        }
    }
    Ok(())
}

/// Per-file git object ids of `paths` under `dir`, read from the files themselves.
/// A missing or unreadable path maps to an error string naming it.
pub fn blob_ids(
    dir: &Path,
    paths: &[String],
) -> Result<BTreeMap<String, (String, String)>, String> {
    let mut out = BTreeMap::new();
    for p in paths {
        check_rel(p)?;
        let full = dir.join(p);
        let meta = fs::symlink_metadata(&full).map_err(|e| format!("{p}: {e}"))?;
        let ft = meta.file_type();
        let (mode, id) = if ft.is_symlink() {
            let t = fs::read_link(&full).map_err(|e| format!("{p}: {e}"))?;
            (
                "120000".to_string(),
                hash::git_object_id("blob", t.as_os_str().as_encoded_bytes()),
            )
        } else if ft.is_file() {
            let mode = if meta.mode() & 0o100 != 0 {
                "100755"
            } else {
                "100644"
            };
            (
                mode.to_string(),
                hash::git_blob_id_file(&full, meta.len()).map_err(|e| format!("{p}: {e}"))?,
            )
        } else {
            return Err(format!("{p}: not a regular file or symlink"));
        };
        out.insert(p.clone(), (mode, id));
    }
    Ok(out)
}

/// The git tree id of a set of files given as path → (mode, blob id).
pub fn tree_id(files: &BTreeMap<String, (String, String)>) -> String {
    #[derive(Default)]
    struct Dir {
        files: BTreeMap<String, (String, String)>,
        dirs: BTreeMap<String, Dir>,
    }
    let mut root = Dir::default();
    for (path, entry) in files {
        let mut parts: Vec<&str> = path.split('/').collect();
        let name = parts.pop().unwrap_or_default();
        let mut d = &mut root;
        for p in parts {
            d = d.dirs.entry(p.to_string()).or_default();
        }
        d.files.insert(name.to_string(), entry.clone());
    }
    fn write(d: &Dir) -> String {
        // Git sorts entries by name, comparing directories as if their name ended in '/'.
        let mut entries: Vec<(Vec<u8>, String, String)> = Vec::new();
        for (name, (mode, id)) in &d.files {
            entries.push((name.as_bytes().to_vec(), mode.clone(), id.clone()));
        }
        for (name, sub) in &d.dirs {
            let mut key = name.as_bytes().to_vec();
            key.push(b'/');
            entries.push((key, "40000".to_string(), write(sub)));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut body = Vec::new();
        for (key, mode, id) in entries {
            let name = key.strip_suffix(b"/").unwrap_or(&key);
            body.extend_from_slice(mode.as_bytes());
            body.push(b' ');
            body.extend_from_slice(name);
            body.push(0);
            body.extend_from_slice(&hex::decode(&id).unwrap_or_default());
        }
        hash::git_object_id("tree", &body)
    }
    write(&root)
}

/// Git tree id of the tracked files as they are in `dir`.
pub fn tree_of(dir: &Path, files: &[TrackedFile]) -> Result<String, BuildError> {
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let ids = blob_ids(dir, &paths).map_err(|reason| BuildError::Source {
        path: dir.to_path_buf(),
        reason,
    })?;
    Ok(tree_id(&ids))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh git repo with the given files committed.
    pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(d.path())
                .args(args)
                .output()
                .unwrap();
            assert!(
                ok.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&ok.stderr)
            );
        };
        run(&["init", "-q", "-b", "main"]);
        for (p, c) in files {
            let full = d.path().join(p);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, c).unwrap();
        }
        run(&["add", "-A"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "-m",
            "init",
        ]);
        d
    }

    #[test]
    fn tree_id_matches_git_and_copy() {
        let r = repo(&[
            ("a.c", "int main(){}\n"),
            ("sub/dir/b.txt", "b\n"),
            ("sub/c", "c"),
            ("sub-x", "x"),
        ]);
        let s = GitSource::inspect(r.path()).unwrap();
        assert_eq!(s.git_ref.as_deref(), Some("refs/heads/main"));
        let files = tracked_files(r.path(), &s.commit).unwrap();
        assert_eq!(tree_of(r.path(), &files).unwrap(), s.tree);
        let dst = tempfile::tempdir().unwrap();
        export(r.path(), &files, dst.path()).unwrap();
        assert_eq!(tree_of(dst.path(), &files).unwrap(), s.tree);
        fs::write(dst.path().join("sub/c"), "C").unwrap();
        assert_ne!(tree_of(dst.path(), &files).unwrap(), s.tree);
    }

    #[test]
    fn dirty_and_untracked_are_refused() {
        let r = repo(&[("a", "1")]);
        fs::write(r.path().join("a"), "2").unwrap();
        let e = GitSource::inspect(r.path()).unwrap_err();
        assert!(
            matches!(e, BuildError::DirtySource { ref detail, .. } if detail.contains(" M a")),
            "{e}"
        );
        let r = repo(&[("a", "1")]);
        fs::write(r.path().join("new"), "x").unwrap();
        let e = GitSource::inspect(r.path()).unwrap_err();
        assert!(
            matches!(e, BuildError::DirtySource { ref detail, .. } if detail.contains("?? new")),
            "{e}"
        );
        let plain = tempfile::tempdir().unwrap();
        let e = GitSource::inspect(plain.path()).unwrap_err();
        assert!(e.to_string().contains("not a git checkout"), "{e}");
    }
}

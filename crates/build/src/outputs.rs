//! Outputs: the files under the output dir that match the declared paths or globs,
//! hashed from the supervisor's side after the sandbox is gone. Symlinks are not
//! followed; symlinks, devices, FIFOs and sockets are refused as outputs.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSetBuilder};
use walkdir::WalkDir;

use crate::error::BuildError;
use crate::hash;

/// One output file.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Path relative to the output dir, `/`-separated: the subject name.
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub mode: u32,
}

/// Collects and hashes the outputs of `dir` matching `patterns` (every regular file when
/// empty). Each pattern must match at least one file.
pub fn collect(dir: &Path, patterns: &[String]) -> Result<Vec<Output>, BuildError> {
    let pats: Vec<String> = if patterns.is_empty() {
        vec!["**".to_string()]
    } else {
        patterns.to_vec()
    };
    let mut matchers = Vec::new();
    for p in &pats {
        crate::config::check_output_pattern(p).map_err(|reason| BuildError::Output {
            path: p.clone(),
            reason,
        })?;
        let g = GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| BuildError::Output {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        let mut set = GlobSetBuilder::new();
        set.add(g);
        matchers.push((
            p.clone(),
            set.build().map_err(|e| BuildError::Output {
                path: p.clone(),
                reason: e.to_string(),
            })?,
            false,
        ));
    }
    let mut out = Vec::new();
    for ent in WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let ent = ent.map_err(|e| BuildError::Output {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        if ent.depth() == 0 || ent.file_type().is_dir() {
            continue;
        }
        let rel = ent.path().strip_prefix(dir).unwrap_or(ent.path());
        let name = rel
            .to_str()
            .ok_or_else(|| BuildError::Output {
                path: rel.display().to_string(),
                reason: "not UTF-8".into(),
            })?
            .to_string();
        let mut hit = false;
        for (_, set, used) in matchers.iter_mut() {
            if set.is_match(&name) {
                *used = true;
                hit = true;
            }
        }
        if !hit {
            continue;
        }
        let meta = std::fs::symlink_metadata(ent.path())
            .map_err(|e| BuildError::io("output", ent.path(), e))?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            return Err(BuildError::Output {
                path: name,
                reason: "is a symlink; outputs must be regular files".into(),
            });
        }
        if !ft.is_file() {
            return Err(BuildError::Output {
                path: name,
                reason: "is a device, FIFO or socket; refused".into(),
            });
        }
        let (d, size) =
            hash::sha256_file(ent.path()).map_err(|e| BuildError::io("output", ent.path(), e))?;
        use std::os::unix::fs::PermissionsExt;
        out.push(Output {
            name,
            sha256: hex::encode(d),
            size,
            mode: meta.permissions().mode() & 0o777,
        });
    }
    for (p, _, used) in &matchers {
        if !used {
            return Err(BuildError::MissingOutput {
                pattern: p.clone(),
                dir: dir.to_path_buf(),
            });
        }
    }
    if out.is_empty() {
        return Err(BuildError::MissingOutput {
            pattern: "**".into(),
            dir: dir.to_path_buf(),
        });
    }
    Ok(out)
}

/// Copies the outputs from `staging` to `dest`, then re-hashes each copy and checks it
/// against the digest that will be signed.
pub fn publish(
    staging: &Path,
    outputs: &[Output],
    dest: &Path,
) -> Result<Vec<PathBuf>, BuildError> {
    let mut written = Vec::new();
    for o in outputs {
        let from = staging.join(&o.name);
        let to = dest.join(&o.name);
        let parent = to.parent().unwrap_or(dest);
        std::fs::create_dir_all(parent).map_err(|e| BuildError::io("output dir", parent, e))?;
        let tmp = parent.join(format!(
            ".{}.cairn-tmp",
            to.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        ));
        std::fs::copy(&from, &tmp).map_err(|e| BuildError::io("output copy", &tmp, e))?;
        let (d, _) = hash::sha256_file(&tmp).map_err(|e| BuildError::io("output copy", &tmp, e))?;
        if hex::encode(d) != o.sha256 {
            let _ = std::fs::remove_file(&tmp);
            return Err(BuildError::InputChanged {
                what: "output",
                path: o.name.clone(),
                expected: o.sha256.clone(),
                found: hex::encode(d),
            });
        }
        std::fs::rename(&tmp, &to).map_err(|e| BuildError::io("output", &to, e))?;
        written.push(to);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn globs_symlinks_and_specials() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("bin")).unwrap();
        fs::write(d.path().join("bin/a"), b"a").unwrap();
        fs::write(d.path().join("log.txt"), b"l").unwrap();
        let o = collect(d.path(), &["bin/*".into()]).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].name, "bin/a");
        assert_eq!(o[0].sha256, hash::sha256_hex(b"a"));
        assert_eq!(collect(d.path(), &[]).unwrap().len(), 2);
        let e = collect(d.path(), &["lib/*.so".into()]).unwrap_err();
        assert!(
            matches!(e, BuildError::MissingOutput { ref pattern, .. } if pattern == "lib/*.so")
        );
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("bin/evil")).unwrap();
        let e = collect(d.path(), &["bin/*".into()]).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
    }
}

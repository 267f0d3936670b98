//! go.sum against an extracted module cache (`GOMODCACHE`). Go's "h1" dirhash is
//! SHA-256 over the sorted lines `"<sha256 hex>  <module>@<version>/<file>\n"`, base64.
//! Implemented by hand: the Go algorithm is a dozen lines and no Rust crate carries it.

use std::path::Path;

use base64::Engine;
use cairn_formats::DigestSet;
use walkdir::WalkDir;

use super::{read_text, ResolvedDep};
use crate::error::DependencyError;
use crate::hash;

const LOCK: &str = "go.sum";

/// Go's module path escaping in the cache: upper case `X` becomes `!x`.
pub fn escape_module(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// h1 dirhash of the files `(name, path)` as Go computes it.
pub fn dirhash_h1(mut files: Vec<(String, std::path::PathBuf)>) -> std::io::Result<String> {
    files.sort();
    let mut summary = String::new();
    for (name, path) in files {
        let (d, _) = hash::sha256_file(&path)?;
        summary.push_str(&format!("{}  {}\n", hex::encode(d), name));
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(hash::sha256(summary.as_bytes()))
    ))
}

/// h1 of an extracted module directory `<modcache>/<escaped module>@<version>`.
pub fn module_dir_h1(dir: &Path, module: &str, version: &str) -> std::io::Result<String> {
    let mut files = Vec::new();
    for ent in WalkDir::new(dir).follow_links(false) {
        let ent = ent.map_err(std::io::Error::other)?;
        if ent.file_type().is_file() {
            let rel = ent
                .path()
                .strip_prefix(dir)
                .map_err(std::io::Error::other)?;
            files.push((
                format!("{module}@{version}/{}", rel.to_string_lossy()),
                ent.path().to_path_buf(),
            ));
        }
    }
    dirhash_h1(files)
}

/// Checks each `module version h1:` line of go.sum against `modcache`. `/go.mod` lines are
/// checked against `cache/download/<module>/@v/<version>.mod`.
pub fn check(source: &Path, modcache: Option<&Path>) -> Result<Vec<ResolvedDep>, DependencyError> {
    let text = read_text(&source.join(LOCK), LOCK)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() != 3 || !f[2].starts_with("h1:") {
            return Err(DependencyError::Malformed {
                lockfile: LOCK.into(),
                reason: format!("line {}: expected `module version h1:hash`", i + 1),
            });
        }
        let (module, ver, want) = (f[0], f[1], f[2]);
        let id = format!("{module}@{ver}");
        let cache = modcache.ok_or_else(|| DependencyError::Missing {
            lockfile: LOCK.into(),
            package: id.clone(),
            store: "(no module cache configured: set [dependencies] go-modcache)".into(),
        })?;
        let (found, path) = if let Some(v) = ver.strip_suffix("/go.mod") {
            let p = cache.join(format!(
                "cache/download/{}/@v/{v}.mod",
                escape_module(module)
            ));
            if !p.is_file() {
                return Err(DependencyError::Missing {
                    lockfile: LOCK.into(),
                    package: id,
                    store: cache.display().to_string(),
                });
            }
            (dirhash_h1(vec![("go.mod".into(), p.clone())]), p)
        } else {
            let p = cache.join(format!("{}@{ver}", escape_module(module)));
            if !p.is_dir() {
                return Err(DependencyError::Missing {
                    lockfile: LOCK.into(),
                    package: id,
                    store: cache.display().to_string(),
                });
            }
            (module_dir_h1(&p, module, ver), p)
        };
        let found = found.map_err(|e| DependencyError::Malformed {
            lockfile: LOCK.into(),
            reason: format!("{}: {e}", path.display()),
        })?;
        if found != want {
            return Err(DependencyError::Mismatch {
                lockfile: LOCK.into(),
                package: id,
                expected: want.into(),
                found,
                file: path.display().to_string(),
            });
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&want[3..])
            .unwrap_or_default();
        out.push(ResolvedDep {
            purl: format!("pkg:golang/{module}@{ver}"),
            digest: DigestSet::new().with("dirHash", hex::encode(raw)),
            native: Some(want.to_string()),
            artifact: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn go_sum_dirhash() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("mc/example.com/!foo@v1.0.0");
        fs::create_dir_all(&m).unwrap();
        fs::write(m.join("go.mod"), "module example.com/Foo\n").unwrap();
        // The summary Go hashes, written out by hand for this one-file module.
        let summary = format!(
            "{}  example.com/Foo@v1.0.0/go.mod\n",
            hash::sha256_hex(b"module example.com/Foo\n")
        );
        let h1 = format!(
            "h1:{}",
            base64::engine::general_purpose::STANDARD.encode(hash::sha256(summary.as_bytes()))
        );
        fs::write(
            d.path().join(LOCK),
            format!("example.com/Foo v1.0.0 {h1}\n"),
        )
        .unwrap();
        let deps = check(d.path(), Some(&d.path().join("mc"))).unwrap();
        assert_eq!(deps[0].native.as_deref(), Some(h1.as_str()));
        fs::write(m.join("extra.go"), "package foo\n").unwrap();
        let e = check(d.path(), Some(&d.path().join("mc"))).unwrap_err();
        assert!(
            matches!(e, DependencyError::Mismatch { ref package, ref expected, .. } if package == "example.com/Foo@v1.0.0" && *expected == h1),
            "{e}"
        );
        fs::write(d.path().join(LOCK), "garbage\n").unwrap();
        assert!(matches!(
            check(d.path(), None).unwrap_err(),
            DependencyError::Malformed { .. }
        ));
    }
}

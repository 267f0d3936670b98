//! pip requirements with `--hash` and uv.lock, against a local wheelhouse directory.
//! Every wheelhouse file of a pinned `name==version` must carry one of its listed hashes
//! (pip may pick any of them), and at least one must exist.

use std::collections::BTreeMap;
use std::path::Path;

use cairn_formats::DigestSet;

use super::{purl_escape, read_text, ResolvedDep};
use crate::error::DependencyError;
use crate::hash;

const REQ: &str = "requirements.txt";
const UV: &str = "uv.lock";

/// PEP 503 name normalisation, then `_` as in wheel file names.
fn normalize(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut out = String::new();
    for c in lower.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Wheelhouse files of `name` at `version` (wheels and sdists).
fn files_for(
    wheelhouse: &Path,
    name: &str,
    version: &str,
) -> Result<Vec<(String, std::path::PathBuf)>, std::io::Error> {
    let want = format!("{}-{}", normalize(name), version);
    let mut out = Vec::new();
    for ent in std::fs::read_dir(wheelhouse)? {
        let ent = ent?;
        let fname = ent.file_name().to_string_lossy().to_string();
        let stem = fname
            .strip_suffix(".whl")
            .or_else(|| fname.strip_suffix(".tar.gz"))
            .or_else(|| fname.strip_suffix(".zip"));
        let Some(stem) = stem else { continue };
        let (n, rest) = match stem.split_once('-') {
            Some(x) => x,
            None => continue,
        };
        let v = rest.split('-').next().unwrap_or("");
        if format!("{}-{}", normalize(n), v) == want {
            out.push((fname, ent.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn check_files(
    lockfile: &str,
    wheelhouse: Option<&Path>,
    name: &str,
    version: &str,
    allowed: &[String],
) -> Result<Vec<ResolvedDep>, DependencyError> {
    let id = format!("{name}=={version}");
    let wh = wheelhouse.ok_or_else(|| DependencyError::Missing {
        lockfile: lockfile.into(),
        package: id.clone(),
        store: "(no wheelhouse configured: set [dependencies] pip-wheelhouse)".into(),
    })?;
    let files = files_for(wh, name, version).map_err(|e| DependencyError::Malformed {
        lockfile: lockfile.into(),
        reason: format!("{}: {e}", wh.display()),
    })?;
    if files.is_empty() {
        return Err(DependencyError::Missing {
            lockfile: lockfile.into(),
            package: id,
            store: wh.display().to_string(),
        });
    }
    let mut out = Vec::new();
    for (fname, path) in files {
        let (d, _) = hash::sha256_file(&path).map_err(|e| DependencyError::Malformed {
            lockfile: lockfile.into(),
            reason: format!("{}: {e}", path.display()),
        })?;
        let found = hex::encode(d);
        if !allowed.contains(&found) {
            return Err(DependencyError::Mismatch {
                lockfile: lockfile.into(),
                package: id,
                expected: allowed
                    .iter()
                    .map(|h| format!("sha256:{h}"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                found: format!("sha256:{found}"),
                file: path.display().to_string(),
            });
        }
        out.push(ResolvedDep {
            purl: format!(
                "pkg:pypi/{}@{}",
                purl_escape(&normalize(name).replace('_', "-")),
                version
            ),
            digest: DigestSet::sha256(found),
            native: None,
            artifact: Some(fname),
        });
    }
    Ok(out)
}

/// `requirements.txt`: every requirement must be `name==version` with `--hash=sha256:…`.
pub fn check_requirements(
    source: &Path,
    wheelhouse: Option<&Path>,
) -> Result<Vec<ResolvedDep>, DependencyError> {
    let text = read_text(&source.join(REQ), REQ)?;
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = Vec::new();
    for (i, line) in joined.lines().enumerate() {
        let line = line.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('-') {
            let opt = line.split_whitespace().next().unwrap_or("");
            if matches!(
                opt,
                "--no-index" | "--require-hashes" | "--only-binary" | "--prefer-binary"
            ) {
                continue;
            }
            return Err(DependencyError::Malformed {
                lockfile: REQ.into(),
                reason: format!(
                    "line {}: option {opt} is not allowed in a pinned requirements file",
                    i + 1
                ),
            });
        }
        let mut parts = line.split_whitespace();
        let spec = parts.next().unwrap_or("");
        let spec = spec.split(';').next().unwrap_or(spec);
        let Some((name, version)) = spec.split_once("==") else {
            return Err(DependencyError::Unpinned {
                lockfile: REQ.into(),
                package: spec.to_string(),
                reason: "not pinned with `==`".into(),
            });
        };
        let name = name.split('[').next().unwrap_or(name);
        let mut hashes = Vec::new();
        for p in parts {
            if let Some(h) = p.strip_prefix("--hash=sha256:") {
                hashes.push(h.to_ascii_lowercase());
            } else if p.starts_with("--hash=") {
                return Err(DependencyError::Unpinned {
                    lockfile: REQ.into(),
                    package: name.into(),
                    reason: format!("only sha256 hashes are accepted, found {p}"),
                });
            }
        }
        if hashes.is_empty() {
            return Err(DependencyError::Unpinned {
                lockfile: REQ.into(),
                package: format!("{name}=={version}"),
                reason: "no --hash".into(),
            });
        }
        out.extend(check_files(REQ, wheelhouse, name, version, &hashes)?);
    }
    Ok(out)
}

/// `uv.lock`: registry packages' sdist and wheel hashes against the wheelhouse.
pub fn check_uv_lock(
    source: &Path,
    wheelhouse: Option<&Path>,
) -> Result<Vec<ResolvedDep>, DependencyError> {
    let text = read_text(&source.join(UV), UV)?;
    let doc: toml::Value = toml::from_str(&text).map_err(|e| DependencyError::Malformed {
        lockfile: UV.into(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    let packages = doc
        .get("package")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in packages {
        let name = p.get("name").and_then(toml::Value::as_str).unwrap_or("");
        let version = p.get("version").and_then(toml::Value::as_str).unwrap_or("");
        let source = p.get("source").and_then(toml::Value::as_table);
        if source
            .map(|s| {
                s.contains_key("editable")
                    || s.contains_key("virtual")
                    || s.contains_key("directory")
            })
            .unwrap_or(true)
        {
            continue; // the project itself or a local path: covered by the source digest
        }
        let mut hashes: BTreeMap<String, String> = BTreeMap::new();
        let mut files: Vec<&toml::Value> = Vec::new();
        if let Some(sd) = p.get("sdist") {
            files.push(sd);
        }
        if let Some(ws) = p.get("wheels").and_then(toml::Value::as_array) {
            files.extend(ws.iter());
        }
        for f in files {
            let Some(h) = f
                .get("hash")
                .and_then(toml::Value::as_str)
                .and_then(|h| h.strip_prefix("sha256:"))
            else {
                return Err(DependencyError::Unpinned {
                    lockfile: UV.into(),
                    package: format!("{name}=={version}"),
                    reason: "a file without a sha256 hash".into(),
                });
            };
            let url = f.get("url").and_then(toml::Value::as_str).unwrap_or("");
            hashes.insert(
                h.to_string(),
                url.rsplit('/').next().unwrap_or("").to_string(),
            );
        }
        if hashes.is_empty() {
            return Err(DependencyError::Unpinned {
                lockfile: UV.into(),
                package: format!("{name}=={version}"),
                reason: "no files with hashes".into(),
            });
        }
        let allowed: Vec<String> = hashes.keys().cloned().collect();
        out.extend(check_files(UV, wheelhouse, name, version, &allowed)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn requirements_hashes_against_wheelhouse() {
        let d = tempfile::tempdir().unwrap();
        let wh = d.path().join("wh");
        fs::create_dir(&wh).unwrap();
        fs::write(wh.join("tiny_pkg-1.0-py3-none-any.whl"), b"wheel").unwrap();
        let h = hash::sha256_hex(b"wheel");
        fs::write(
            d.path().join(REQ),
            format!("# pinned\nTiny.Pkg==1.0 \\\n    --hash=sha256:{h}\n"),
        )
        .unwrap();
        let deps = check_requirements(d.path(), Some(&wh)).unwrap();
        assert_eq!(deps[0].purl, "pkg:pypi/tiny-pkg@1.0");
        fs::write(wh.join("tiny_pkg-1.0-py3-none-any.whl"), b"wheeL").unwrap();
        let e = check_requirements(d.path(), Some(&wh)).unwrap_err();
        assert!(
            matches!(e, DependencyError::Mismatch { ref package, ref expected, ref found, .. }
            if package == "Tiny.Pkg==1.0" && expected.contains(&h) && *found == format!("sha256:{}", hash::sha256_hex(b"wheeL"))),
            "{e}"
        );
        fs::write(d.path().join(REQ), "tiny-pkg>=1.0\n").unwrap();
        assert!(matches!(
            check_requirements(d.path(), Some(&wh)).unwrap_err(),
            DependencyError::Unpinned { .. }
        ));
        fs::write(d.path().join(REQ), "tiny-pkg==1.0\n").unwrap();
        assert!(
            matches!(check_requirements(d.path(), Some(&wh)).unwrap_err(), DependencyError::Unpinned { ref reason, .. } if reason == "no --hash")
        );
        fs::write(
            d.path().join(REQ),
            format!("--index-url https://evil\ntiny-pkg==1.0 --hash=sha256:{h}\n"),
        )
        .unwrap();
        assert!(matches!(
            check_requirements(d.path(), Some(&wh)).unwrap_err(),
            DependencyError::Malformed { .. }
        ));
    }

    #[test]
    fn uv_lock_against_wheelhouse() {
        let d = tempfile::tempdir().unwrap();
        let wh = d.path().join("wh");
        fs::create_dir(&wh).unwrap();
        fs::write(wh.join("tiny-2.0-py3-none-any.whl"), b"w2").unwrap();
        let h = hash::sha256_hex(b"w2");
        fs::write(
            d.path().join(UV),
            format!("version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1\"\nsource = {{ editable = \".\" }}\n\n[[package]]\nname = \"tiny\"\nversion = \"2.0\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\nwheels = [{{ url = \"https://files/tiny-2.0-py3-none-any.whl\", hash = \"sha256:{h}\", size = 2 }}]\n"),
        )
        .unwrap();
        let deps = check_uv_lock(d.path(), Some(&wh)).unwrap();
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].digest.get("sha256"), Some(h.as_str()));
        fs::write(wh.join("tiny-2.0-py3-none-any.whl"), b"w3").unwrap();
        assert!(
            matches!(check_uv_lock(d.path(), Some(&wh)).unwrap_err(), DependencyError::Mismatch { ref package, .. } if package == "tiny==2.0")
        );
    }
}

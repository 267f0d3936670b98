//! package-lock.json (v2/v3) `integrity` against an npm cache (cacache, content addressed
//! by integrity: `_cacache/content-v2/<alg>/<hex[0..2]>/<hex[2..4]>/<hex[4..]>`).
//!
//! SRI is decoded by hand (`<alg>-<base64>`, space separated, strongest wins) rather than
//! with `ssri`, whose extra hash implementations we do not need.

use std::path::Path;

use base64::Engine;
use cairn_formats::DigestSet;
use serde_json::Value;

use super::{purl_escape, read_text, ResolvedDep};
use crate::error::DependencyError;
use crate::hash;

const LOCK: &str = "package-lock.json";

/// A decoded Subresource Integrity value: the strongest sha512/sha256 hash listed.
pub fn decode_sri(sri: &str) -> Option<(&'static str, Vec<u8>)> {
    let mut best: Option<(&'static str, Vec<u8>)> = None;
    for part in sri.split_whitespace() {
        let (alg, rest) = part.split_once('-')?;
        let b64 = rest.split('?').next()?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let (alg, len) = match alg {
            "sha512" => ("sha512", 64),
            "sha256" => ("sha256", 32),
            _ => continue, // sha1 and others are too weak to pin with
        };
        if bytes.len() != len {
            return None;
        }
        if best.as_ref().map(|b| b.0 != "sha512").unwrap_or(true) {
            best = Some((alg, bytes));
        }
    }
    best
}

/// Checks every package of `package-lock.json` in `source` against the npm cache `cache`.
pub fn check(source: &Path, cache: Option<&Path>) -> Result<Vec<ResolvedDep>, DependencyError> {
    let text = read_text(&source.join(LOCK), LOCK)?;
    let malformed = |reason: String| DependencyError::Malformed {
        lockfile: LOCK.into(),
        reason,
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    let version = doc
        .get("lockfileVersion")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if version < 2 {
        return Err(malformed(format!(
            "lockfileVersion {version} is not supported; regenerate with npm 7 or later"
        )));
    }
    let packages = doc
        .get("packages")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("no `packages` object".into()))?;
    let mut out = Vec::new();
    for (key, pkg) in packages {
        if key.is_empty() {
            continue; // the root project itself
        }
        let name = pkg
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                key.rsplit_once("node_modules/")
                    .map(|(_, n)| n.to_string())
                    .unwrap_or_else(|| key.clone())
            });
        let version = pkg
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("0.0.0");
        let id = format!("{name}@{version}");
        let resolved = pkg.get("resolved").and_then(Value::as_str).unwrap_or("");
        if pkg.get("link").and_then(Value::as_bool) == Some(true)
            || (!key.contains("node_modules/"))
        {
            continue; // a workspace member or link: part of the source tree
        }
        let Some(integrity) = pkg.get("integrity").and_then(Value::as_str) else {
            return Err(DependencyError::Unpinned {
                lockfile: LOCK.into(),
                package: id,
                reason: format!("no `integrity` (resolved {resolved:?})"),
            });
        };
        let (alg, want) = decode_sri(integrity).ok_or_else(|| DependencyError::Unpinned {
            lockfile: LOCK.into(),
            package: id.clone(),
            reason: format!("integrity {integrity:?} has no well-formed sha512 or sha256 hash"),
        })?;
        let cache = cache.ok_or_else(|| DependencyError::Missing {
            lockfile: LOCK.into(),
            package: id.clone(),
            store: "(no npm cache configured: set [dependencies] npm-cache)".into(),
        })?;
        let hexd = hex::encode(&want);
        let rel = format!(
            "_cacache/content-v2/{alg}/{}/{}/{}",
            &hexd[..2],
            &hexd[2..4],
            &hexd[4..]
        );
        let file = cache.join(&rel);
        if !file.is_file() {
            return Err(DependencyError::Missing {
                lockfile: LOCK.into(),
                package: id,
                store: cache.display().to_string(),
            });
        }
        let found = match alg {
            "sha512" => hash::sha512_file(&file).map(hex::encode),
            _ => hash::sha256_file(&file).map(|(d, _)| hex::encode(d)),
        }
        .map_err(|e| DependencyError::Malformed {
            lockfile: LOCK.into(),
            reason: format!("{}: {e}", file.display()),
        })?;
        if found != hexd {
            return Err(DependencyError::Mismatch {
                lockfile: LOCK.into(),
                package: id,
                expected: integrity.to_string(),
                found: format!(
                    "{alg}-{}",
                    base64::engine::general_purpose::STANDARD
                        .encode(hex::decode(&found).unwrap_or_default())
                ),
                file: file.display().to_string(),
            });
        }
        out.push(ResolvedDep {
            purl: format!("pkg:npm/{}@{}", purl_name(&name), version),
            digest: DigestSet::new().with(alg, hexd),
            native: Some(integrity.to_string()),
            artifact: Some(rel),
        });
    }
    Ok(out)
}

fn purl_name(name: &str) -> String {
    match name.split_once('/') {
        Some((scope, n)) => format!("{}/{}", purl_escape(scope), purl_escape(n)),
        None => purl_escape(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use std::fs;

    fn put(cache: &Path, body: &[u8]) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, body);
        let h = hex::encode(d.as_ref());
        let p = cache.join(format!(
            "_cacache/content-v2/sha512/{}/{}/{}",
            &h[..2],
            &h[2..4],
            &h[4..]
        ));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
        format!("sha512-{}", STANDARD.encode(d.as_ref()))
    }

    #[test]
    fn integrity_is_checked_against_the_cache() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("cache");
        let sri = put(&cache, b"tarball bytes");
        let lock = serde_json::json!({"name":"app","lockfileVersion":3,"packages":{"":{"name":"app"},
            "node_modules/@s/tiny":{"version":"1.0.0","resolved":"https://registry.npmjs.org/@s/tiny/-/tiny-1.0.0.tgz","integrity":sri}}});
        fs::write(d.path().join(LOCK), lock.to_string()).unwrap();
        let deps = check(d.path(), Some(&cache)).unwrap();
        assert_eq!(deps[0].purl, "pkg:npm/%40s/tiny@1.0.0");
        assert_eq!(deps[0].native.as_deref(), Some(sri.as_str()));

        // Corrupt the cached tarball: mismatch names the package and both digests.
        let (_, want) = decode_sri(&sri).unwrap();
        let h = hex::encode(&want);
        fs::write(
            cache.join(format!(
                "_cacache/content-v2/sha512/{}/{}/{}",
                &h[..2],
                &h[2..4],
                &h[4..]
            )),
            b"tarball bytez",
        )
        .unwrap();
        let e = check(d.path(), Some(&cache)).unwrap_err();
        assert!(
            matches!(e, DependencyError::Mismatch { ref package, ref expected, ref found, .. }
            if package == "@s/tiny@1.0.0" && *expected == sri && found.starts_with("sha512-") && *found != sri),
            "{e}"
        );

        // Not in the cache at all.
        let lock = lock
            .to_string()
            .replace(&sri, &put(&d.path().join("other"), b"x"));
        fs::write(d.path().join(LOCK), lock).unwrap();
        assert!(matches!(
            check(d.path(), Some(&cache)).unwrap_err(),
            DependencyError::Missing { .. }
        ));
    }

    #[test]
    fn missing_integrity_and_old_lockfiles_are_refused() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join(LOCK),
            r#"{"lockfileVersion":3,"packages":{"node_modules/x":{"version":"1.0.0"}}}"#,
        )
        .unwrap();
        assert!(
            matches!(check(d.path(), None).unwrap_err(), DependencyError::Unpinned { ref package, .. } if package == "x@1.0.0")
        );
        fs::write(
            d.path().join(LOCK),
            r#"{"lockfileVersion":1,"dependencies":{}}"#,
        )
        .unwrap();
        assert!(matches!(
            check(d.path(), None).unwrap_err(),
            DependencyError::Malformed { .. }
        ));
        assert!(decode_sri("sha1-AAAA").is_none());
        assert!(decode_sri("sha512-AAAA").is_none(), "wrong length");
    }
}

//! Cargo.lock against vendored crates (`cargo vendor`): the lockfile checksum must equal
//! `.cargo-checksum.json`'s `package`, and every vendored file must hash to the value
//! listed there, with no extra files. (Cargo itself only checks the per-file list, which a
//! tamperer can rewrite; the lock checksum ties it to the published `.crate`.)

use std::collections::BTreeMap;
use std::path::Path;

use cairn_formats::DigestSet;
use cargo_lock::Lockfile;
use walkdir::WalkDir;

use super::{read_text, ResolvedDep};
use crate::error::DependencyError;
use crate::hash;

const LOCK: &str = "Cargo.lock";

#[derive(serde::Deserialize)]
struct Checksums {
    files: BTreeMap<String, String>,
    package: Option<String>,
}

/// Checks `Cargo.lock` in `source` against `vendor` (a `cargo vendor` directory).
pub fn check(source: &Path, vendor: Option<&Path>) -> Result<Vec<ResolvedDep>, DependencyError> {
    let text = read_text(&source.join(LOCK), LOCK)?;
    let lock: Lockfile =
        text.parse()
            .map_err(|e: cargo_lock::Error| DependencyError::Malformed {
                lockfile: LOCK.into(),
                reason: e.to_string(),
            })?;
    let mut out = Vec::new();
    for pkg in &lock.packages {
        let name = pkg.name.as_str();
        let version = pkg.version.to_string();
        let id = format!("{name}@{version}");
        let purl = format!("pkg:cargo/{name}@{version}");
        let Some(src) = &pkg.source else {
            continue; // a path dependency: part of the source tree, covered by its digest
        };
        if src.is_git() {
            let commit = src.precise().ok_or_else(|| DependencyError::Unpinned {
                lockfile: LOCK.into(),
                package: id.clone(),
                reason: "git source without a pinned commit".into(),
            })?;
            out.push(ResolvedDep {
                purl,
                digest: DigestSet::new().with("gitCommit", commit),
                native: None,
                artifact: None,
            });
            continue;
        }
        let Some(sum) = &pkg.checksum else {
            return Err(DependencyError::Unpinned {
                lockfile: LOCK.into(),
                package: id,
                reason: "registry package without a checksum".into(),
            });
        };
        let expected = sum.to_string();
        let vendor = vendor.ok_or_else(|| DependencyError::Missing {
            lockfile: LOCK.into(),
            package: id.clone(),
            store: "(no vendor directory configured: set [dependencies] cargo-vendor)".into(),
        })?;
        let dir = [vendor.join(format!("{name}-{version}")), vendor.join(name)]
            .into_iter()
            .find(|d| vendored_version(d).as_deref() == Some(version.as_str()))
            .ok_or_else(|| DependencyError::Missing {
                lockfile: LOCK.into(),
                package: id.clone(),
                store: vendor.display().to_string(),
            })?;
        check_vendored(&dir, &id, &expected)?;
        out.push(ResolvedDep {
            purl,
            digest: DigestSet::sha256(expected),
            native: None,
            artifact: dir
                .strip_prefix(vendor)
                .ok()
                .map(|p| p.display().to_string()),
        });
    }
    Ok(out)
}

fn vendored_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let v: toml::Value = toml::from_str(&text).ok()?;
    v.get("package")?
        .get("version")?
        .as_str()
        .map(str::to_string)
}

fn check_vendored(dir: &Path, id: &str, expected: &str) -> Result<(), DependencyError> {
    let mismatch = |expected: String, found: String, file: String| DependencyError::Mismatch {
        lockfile: LOCK.into(),
        package: id.to_string(),
        expected,
        found,
        file,
    };
    let sums_path = dir.join(".cargo-checksum.json");
    let text = read_text(&sums_path, LOCK)?;
    let sums: Checksums = serde_json::from_str(&text).map_err(|e| DependencyError::Malformed {
        lockfile: sums_path.display().to_string(),
        reason: e.to_string(),
    })?;
    let found = sums.package.clone().unwrap_or_else(|| "(none)".into());
    if found != expected {
        return Err(mismatch(
            expected.into(),
            found,
            sums_path.display().to_string(),
        ));
    }
    let mut seen = 0usize;
    for ent in WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let ent = ent.map_err(|e| DependencyError::Malformed {
            lockfile: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        if ent.file_type().is_dir() {
            continue;
        }
        let rel = ent
            .path()
            .strip_prefix(dir)
            .unwrap_or(ent.path())
            .to_string_lossy()
            .to_string();
        if rel == ".cargo-checksum.json" {
            continue;
        }
        let want = sums.files.get(&rel).ok_or_else(|| {
            mismatch(
                "(not listed)".into(),
                "extra file".into(),
                ent.path().display().to_string(),
            )
        })?;
        if !ent.file_type().is_file() {
            return Err(mismatch(
                want.clone(),
                "not a regular file".into(),
                ent.path().display().to_string(),
            ));
        }
        let (d, _) = hash::sha256_file(ent.path()).map_err(|e| {
            mismatch(
                want.clone(),
                format!("unreadable: {e}"),
                ent.path().display().to_string(),
            )
        })?;
        let got = hex::encode(d);
        if &got != want {
            return Err(mismatch(
                want.clone(),
                got,
                ent.path().display().to_string(),
            ));
        }
        seen += 1;
    }
    if seen != sums.files.len() {
        let missing = sums
            .files
            .keys()
            .find(|k| !dir.join(k).exists())
            .cloned()
            .unwrap_or_default();
        return Err(mismatch(
            "present".into(),
            "missing".into(),
            dir.join(missing).display().to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn vendored(root: &Path, body: &[u8], package_sum: &str) {
        let d = root.join("vendor/tiny");
        fs::create_dir_all(d.join("src")).unwrap();
        fs::write(
            d.join("Cargo.toml"),
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        fs::write(d.join("src/lib.rs"), body).unwrap();
        let files = serde_json::json!({
            "Cargo.toml": hash::sha256_hex(b"[package]\nname = \"tiny\"\nversion = \"0.1.0\"\n"),
            "src/lib.rs": hash::sha256_hex(b"pub fn f() {}\n"),
        });
        fs::write(
            d.join(".cargo-checksum.json"),
            serde_json::json!({"files": files, "package": package_sum}).to_string(),
        )
        .unwrap();
    }

    fn lock(root: &Path, sum: &str) {
        fs::write(
            root.join("Cargo.lock"),
            format!("version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"tiny\"]\n\n[[package]]\nname = \"tiny\"\nversion = \"0.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{sum}\"\n"),
        )
        .unwrap();
    }

    #[test]
    fn vendored_crates_are_checked() {
        let sum = "a".repeat(64);
        let d = tempfile::tempdir().unwrap();
        lock(d.path(), &sum);
        vendored(d.path(), b"pub fn f() {}\n", &sum);
        let deps = check(d.path(), Some(&d.path().join("vendor"))).unwrap();
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].purl, "pkg:cargo/tiny@0.1.0");
        assert_eq!(deps[0].digest.get("sha256"), Some(sum.as_str()));

        // One edited byte in a vendored file.
        fs::write(d.path().join("vendor/tiny/src/lib.rs"), b"pub fn g() {}\n").unwrap();
        let e = check(d.path(), Some(&d.path().join("vendor"))).unwrap_err();
        let DependencyError::Mismatch {
            package,
            expected,
            found,
            file,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(package, "tiny@0.1.0");
        assert_eq!(expected, &hash::sha256_hex(b"pub fn f() {}\n"));
        assert_eq!(found, &hash::sha256_hex(b"pub fn g() {}\n"));
        assert!(file.ends_with("src/lib.rs"));

        // A vendored crate whose package checksum differs from the lock.
        let d2 = tempfile::tempdir().unwrap();
        lock(d2.path(), &sum);
        vendored(d2.path(), b"pub fn f() {}\n", &"b".repeat(64));
        let e = check(d2.path(), Some(&d2.path().join("vendor"))).unwrap_err();
        assert!(
            matches!(e, DependencyError::Mismatch { ref expected, ref found, .. } if *expected == sum && *found == "b".repeat(64)),
            "{e}"
        );

        // No vendor directory at all.
        let e = check(d2.path(), None).unwrap_err();
        assert!(
            matches!(e, DependencyError::Missing { ref package, .. } if package == "tiny@0.1.0"),
            "{e}"
        );
    }

    #[test]
    fn unpinned_registry_package_is_refused() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("Cargo.lock"), "version = 3\n\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n").unwrap();
        let e = check(d.path(), None).unwrap_err();
        assert!(
            matches!(e, DependencyError::Unpinned { ref package, .. } if package == "x@1.0.0"),
            "{e}"
        );
        fs::write(d.path().join("Cargo.lock"), "not toml [").unwrap();
        assert!(matches!(
            check(d.path(), None).unwrap_err(),
            DependencyError::Malformed { .. }
        ));
    }
}

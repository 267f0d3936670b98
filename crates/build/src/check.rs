//! Consumer-side input checks: recompute the source commit, git tree id and lockfile
//! digests from the consumer's own checkout and compare them with a cairn provenance.
//! Pure Rust apart from the `git` CLI, which only lists files and resolves HEAD.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use cairn_formats::provenance::ProvenanceV1;
use serde_json::Value;
use walkdir::WalkDir;

use crate::provenance::{kind_of, KIND_LOCKFILE, KIND_SOURCE};
use crate::source;

/// What was recomputed, when everything matched.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReport {
    /// HEAD of the checkout, when it is a git checkout.
    pub commit: Option<String>,
    pub tree: String,
    /// (lockfile path, sha256) recomputed.
    pub lockfiles: Vec<(String, String)>,
}

/// One difference between the provenance and the checkout.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDifference {
    /// `commit`, `tree`, `lockfile <path>` or `provenance`.
    pub field: String,
    pub expected: String,
    pub found: String,
    /// e.g. the paths whose content differs.
    pub detail: Option<String>,
}

/// The checkout does not match the provenance; every difference is listed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SourceMismatch {
    pub differences: Vec<SourceDifference>,
}

impl fmt::Display for SourceMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .differences
            .iter()
            .map(|d| {
                let mut s = format!("{}: expected {}, found {}", d.field, d.expected, d.found);
                if let Some(x) = &d.detail {
                    s.push_str(&format!(" ({x})"));
                }
                s
            })
            .collect();
        write!(f, "source check failed: {}", parts.join("; "))
    }
}

fn diff(
    field: &str,
    expected: impl Into<String>,
    found: impl Into<String>,
    detail: Option<String>,
) -> SourceDifference {
    SourceDifference {
        field: field.into(),
        expected: expected.into(),
        found: found.into(),
        detail,
    }
}

/// Recomputes commit, tree id and lockfile digests from `dir` and compares them with
/// `provenance` (cairn buildType). Files are those git tracks plus untracked, unignored
/// ones; without git, every file except `.git`.
pub fn check_source(dir: &Path, provenance: &ProvenanceV1) -> Result<SourceReport, SourceMismatch> {
    let fail = |d: SourceDifference| SourceMismatch {
        differences: vec![d],
    };
    let ext = &provenance.build_definition.external_parameters;
    let want_commit = ext
        .get("source")
        .and_then(|s| s.get("digest"))
        .and_then(|d| d.get("gitCommit"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let src_dep = provenance
        .build_definition
        .resolved_dependencies
        .iter()
        .find(|d| kind_of(d) == Some(KIND_SOURCE));
    let want_tree = src_dep
        .and_then(|d| d.digest.get("gitTree"))
        .map(str::to_string);
    let (Some(want_commit), Some(want_tree)) = (want_commit, want_tree) else {
        return Err(fail(diff("provenance", "a cairn source (externalParameters.source.digest.gitCommit and a source dependency with gitTree)", "none", None)));
    };

    let is_git = source::git(dir, &["rev-parse", "--is-inside-work-tree"]).is_ok();
    let mut differences = Vec::new();
    let commit = if is_git {
        let head = source::git(dir, &["rev-parse", "--verify", "HEAD^{commit}"])
            .ok()
            .map(|o| String::from_utf8_lossy(&o).trim().to_string());
        match &head {
            Some(h) if *h == want_commit => {}
            Some(h) => differences.push(diff("commit", &want_commit, h, None)),
            None => differences.push(diff("commit", &want_commit, "no commit checked out", None)),
        }
        head
    } else {
        None
    };

    let paths = list_files(dir, is_git)
        .map_err(|e| fail(diff("tree", &want_tree, "unreadable checkout", Some(e))))?;
    let ids = source::blob_ids(dir, &paths)
        .map_err(|e| fail(diff("tree", &want_tree, "unreadable checkout", Some(e))))?;
    let tree = source::tree_id(&ids);
    if tree != want_tree {
        let detail = changed_paths(dir, &want_commit, &ids, is_git);
        differences.push(diff("tree", &want_tree, &tree, detail));
    }

    let mut lockfiles = Vec::new();
    for d in provenance
        .build_definition
        .resolved_dependencies
        .iter()
        .filter(|d| kind_of(d) == Some(KIND_LOCKFILE))
    {
        let name = d.name.clone().unwrap_or_default();
        let want = d.digest.get("sha256").unwrap_or_default().to_string();
        if !crate::deps::LOCKFILES.contains(&name.as_str()) {
            differences.push(diff(
                &format!("lockfile {name}"),
                "a known lockfile name",
                &name,
                None,
            ));
            continue;
        }
        match std::fs::read(dir.join(&name)) {
            Ok(bytes) => {
                let found = crate::hash::sha256_hex(&bytes);
                if found != want {
                    differences.push(diff(
                        &format!("lockfile {name}"),
                        format!("sha256:{want}"),
                        format!("sha256:{found}"),
                        None,
                    ));
                }
                lockfiles.push((name, found));
            }
            Err(e) => differences.push(diff(
                &format!("lockfile {name}"),
                format!("sha256:{want}"),
                format!("missing ({e})"),
                None,
            )),
        }
    }
    // A lockfile in the checkout the provenance does not know about.
    for name in crate::deps::LOCKFILES {
        if dir.join(name).is_file()
            && !lockfiles.iter().any(|(n, _)| n == name)
            && !differences
                .iter()
                .any(|d| d.field == format!("lockfile {name}"))
        {
            differences.push(diff(
                &format!("lockfile {name}"),
                "absent (not in the provenance)",
                "present",
                None,
            ));
        }
    }
    if differences.is_empty() {
        Ok(SourceReport {
            commit,
            tree,
            lockfiles,
        })
    } else {
        Err(SourceMismatch { differences })
    }
}

fn list_files(dir: &Path, is_git: bool) -> Result<Vec<String>, String> {
    if is_git {
        let out = source::git(
            dir,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--deduplicate",
            ],
        )?;
        let mut v: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).to_string())
            .collect();
        v.sort();
        v.dedup();
        return Ok(v);
    }
    let mut v = Vec::new();
    for ent in WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
    {
        let ent = ent.map_err(|e| e.to_string())?;
        if ent.file_type().is_dir() {
            continue;
        }
        let rel = ent.path().strip_prefix(dir).map_err(|e| e.to_string())?;
        v.push(rel.to_string_lossy().to_string());
    }
    Ok(v)
}

/// The paths that differ from the expected commit, when git has that commit.
fn changed_paths(
    dir: &Path,
    commit: &str,
    found: &BTreeMap<String, (String, String)>,
    is_git: bool,
) -> Option<String> {
    if !is_git {
        return None;
    }
    let out = source::git(dir, &["ls-tree", "-r", "-z", "--full-tree", commit]).ok()?;
    let mut want: BTreeMap<String, (String, String)> = BTreeMap::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let (meta, path) = rec.split_once('\t')?;
        let f: Vec<&str> = meta.split(' ').collect();
        want.insert(
            path.to_string(),
            (f.first()?.to_string(), f.get(2)?.to_string()),
        );
    }
    let mut changed = Vec::new();
    for (p, w) in &want {
        match found.get(p) {
            Some(f) if f == w => {}
            Some(_) => changed.push(format!("modified {p}")),
            None => changed.push(format!("missing {p}")),
        }
    }
    for p in found.keys().filter(|p| !want.contains_key(*p)) {
        changed.push(format!("added {p}"));
    }
    (!changed.is_empty()).then(|| changed.join(", "))
}

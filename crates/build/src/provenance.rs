//! The SLSA v1 provenance cairn writes (buildType [`BUILD_TYPE`], documented in
//! `docs/build.md`), and the names of its fields that the consumer-side checks read.

use std::collections::BTreeMap;

use cairn_formats::provenance::{
    BuildDefinition, BuildMetadata, Builder, ProvenanceV1, RunDetails,
};
use cairn_formats::{DigestSet, ResourceDescriptor};
use serde_json::{json, Map, Value};

use crate::deps::{Lockfile, ResolvedDep};
use crate::source::GitSource;

/// The versioned build type of cairn builds.
pub const BUILD_TYPE: &str = "https://cairn.dev/build/v1";
/// The default builder id.
pub const DEFAULT_BUILDER_ID: &str = "https://cairn.dev/builder/local/v1";

/// `annotations.kind` values of resolved dependencies.
pub const KIND_SOURCE: &str = "source";
pub const KIND_LOCKFILE: &str = "lockfile";
pub const KIND_PACKAGE: &str = "package";
pub const KIND_TOOLCHAIN_MANIFEST: &str = "toolchain-manifest";
pub const KIND_TOOLCHAIN_EXEC: &str = "toolchain-exec";
pub const KIND_OS_RELEASE: &str = "os-release";
/// The annotation `cairn-evidence` looks for when it checks the `builder-binary` event.
pub const KIND_BUILDER_BINARY: &str = "builder-binary";

pub(crate) fn kind_ann(kind: &str) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("kind".to_string(), Value::from(kind));
    m
}

/// The `kind` annotation of a resolved dependency.
pub fn kind_of(d: &ResourceDescriptor) -> Option<&str> {
    d.annotations.as_ref()?.get("kind")?.as_str()
}

/// Everything the provenance records, gathered by the supervisor.
pub struct ProvenanceInputs<'a> {
    pub source: &'a GitSource,
    pub commands: &'a [Vec<String>],
    pub config_path: Option<&'a str>,
    pub outputs: &'a [String],
    pub policy_digest: &'a str,
    pub policy: Value,
    pub toolchain_digest: &'a str,
    pub toolchain_files: usize,
    /// Executed toolchain files with their sha256, when observed.
    pub executed: Option<&'a [(String, String)]>,
    pub lockfiles: &'a [Lockfile],
    pub deps: &'a [ResolvedDep],
    pub os_release: Option<(String, String)>,
    pub builder_id: &'a str,
    pub builder_version: BTreeMap<String, String>,
    /// The running cairn binary: its path and SHA-256 (hex).
    pub builder_binary: (String, String),
    pub invocation_id: &'a str,
    pub started_on: String,
    pub finished_on: String,
    pub log_sha256: &'a str,
    /// Evidence kinds the build attaches (e.g. `tpm2-quote`), claimed in the provenance.
    pub hardware_evidence: Vec<&'static str>,
}

/// The resolved dependencies, in a fixed order: source, lockfiles, packages, toolchain
/// manifest, executed toolchain files, OS release.
pub fn resolved_dependencies(i: &ProvenanceInputs<'_>) -> Vec<ResourceDescriptor> {
    let mut out = vec![ResourceDescriptor {
        uri: Some(i.source.uri()),
        digest: DigestSet::new()
            .with("gitCommit", &i.source.commit)
            .with("gitTree", &i.source.tree),
        annotations: Some(kind_ann(KIND_SOURCE)),
        ..Default::default()
    }];
    for l in i.lockfiles {
        out.push(ResourceDescriptor {
            name: Some(l.path.clone()),
            digest: DigestSet::sha256(&l.sha256),
            annotations: Some(kind_ann(KIND_LOCKFILE)),
            ..Default::default()
        });
    }
    out.extend(i.deps.iter().map(ResolvedDep::descriptor));
    let mut ann = kind_ann(KIND_TOOLCHAIN_MANIFEST);
    ann.insert("files".into(), Value::from(i.toolchain_files));
    out.push(ResourceDescriptor {
        name: Some("toolchain-manifest".into()),
        digest: DigestSet::sha256(i.toolchain_digest),
        annotations: Some(ann),
        ..Default::default()
    });
    for (path, sha) in i.executed.unwrap_or(&[]) {
        out.push(ResourceDescriptor {
            uri: Some(format!("file://{path}")),
            digest: DigestSet::sha256(sha),
            annotations: Some(kind_ann(KIND_TOOLCHAIN_EXEC)),
            ..Default::default()
        });
    }
    if let Some((pretty, sha)) = &i.os_release {
        let mut ann = kind_ann(KIND_OS_RELEASE);
        ann.insert("prettyName".into(), Value::from(pretty.clone()));
        out.push(ResourceDescriptor {
            uri: Some("file:///etc/os-release".into()),
            digest: DigestSet::sha256(sha),
            annotations: Some(ann),
            ..Default::default()
        });
    }
    out
}

pub fn build(i: &ProvenanceInputs<'_>) -> ProvenanceV1 {
    let mut ext = Map::new();
    let mut src = Map::new();
    src.insert("uri".into(), Value::from(i.source.uri()));
    if let Some(r) = &i.source.git_ref {
        src.insert("ref".into(), Value::from(r.clone()));
    }
    src.insert("digest".into(), json!({ "gitCommit": i.source.commit }));
    ext.insert("source".into(), Value::Object(src));
    ext.insert("command".into(), json!(i.commands));
    if let Some(c) = i.config_path {
        ext.insert("configPath".into(), Value::from(c));
    }
    ext.insert("outputs".into(), json!(i.outputs));
    let mut int = Map::new();
    int.insert(
        "sandboxPolicyDigest".into(),
        Value::from(format!("sha256:{}", i.policy_digest)),
    );
    int.insert("sandboxPolicy".into(), i.policy.clone());
    int.insert(
        "toolchainManifestDigest".into(),
        Value::from(format!("sha256:{}", i.toolchain_digest)),
    );
    int.insert(
        "execObservation".into(),
        Value::from(if i.executed.is_some() {
            "fanotify"
        } else {
            "manifest"
        }),
    );
    if !i.hardware_evidence.is_empty() {
        int.insert("hardwareEvidence".into(), json!(i.hardware_evidence));
    }
    ProvenanceV1 {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.into(),
            external_parameters: ext,
            internal_parameters: Some(int),
            resolved_dependencies: resolved_dependencies(i),
        },
        run_details: RunDetails {
            builder: Builder {
                id: i.builder_id.into(),
                version: Some(i.builder_version.clone()),
                builder_dependencies: vec![ResourceDescriptor {
                    name: Some("cairn".into()),
                    uri: Some(format!("file://{}", i.builder_binary.0)),
                    digest: DigestSet::sha256(&i.builder_binary.1),
                    annotations: Some(kind_ann(KIND_BUILDER_BINARY)),
                    ..Default::default()
                }],
            },
            metadata: Some(BuildMetadata {
                invocation_id: Some(i.invocation_id.into()),
                started_on: Some(i.started_on.clone()),
                finished_on: Some(i.finished_on.clone()),
            }),
            byproducts: vec![ResourceDescriptor {
                name: Some("build.log".into()),
                digest: DigestSet::sha256(i.log_sha256),
                media_type: Some("text/plain".into()),
                ..Default::default()
            }],
        },
    }
}

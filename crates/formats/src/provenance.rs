//! SLSA Provenance v1 (written and read) and v0.2 (read), plus [`ProvenanceView`]: the
//! few facts a policy asks about, taken from either version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::digest::DigestSet;
use crate::error::FormatError;
use crate::statement::{ResourceDescriptor, Statement};

pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceV1 {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    pub builder: Builder,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Builder {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builder_dependencies: Vec<ResourceDescriptor>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

/// SLSA v0.2, read only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceV02 {
    pub builder: BuilderV02,
    pub build_type: String,
    #[serde(default)]
    pub invocation: Option<InvocationV02>,
    #[serde(default)]
    pub build_config: Option<Value>,
    #[serde(default)]
    pub metadata: Option<MetadataV02>,
    #[serde(default)]
    pub materials: Vec<MaterialV02>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BuilderV02 {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationV02 {
    #[serde(default)]
    pub config_source: Option<ConfigSourceV02>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub environment: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSourceV02 {
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub digest: DigestSet,
    #[serde(default)]
    pub entry_point: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataV02 {
    #[serde(default)]
    pub build_invocation_id: Option<String>,
    #[serde(default)]
    pub build_started_on: Option<String>,
    #[serde(default)]
    pub build_finished_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MaterialV02 {
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub digest: DigestSet,
}

/// Either provenance version.
#[derive(Debug, Clone, PartialEq)]
pub enum Provenance {
    V1(Box<ProvenanceV1>),
    V02(Box<ProvenanceV02>),
}

impl Provenance {
    /// Parses the predicate of a statement whose predicateType is SLSA provenance.
    /// Returns `Ok(None)` for other predicate types.
    pub fn from_statement(st: &Statement) -> Result<Option<Provenance>, FormatError> {
        fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, FormatError> {
            serde_path_to_error::deserialize(v.clone()).map_err(|e| {
                let path = e.path().to_string();
                FormatError::malformed(
                    "provenance",
                    format!("predicate.{path}"),
                    e.into_inner().to_string(),
                )
            })
        }
        match st.predicate_type.as_str() {
            SLSA_PROVENANCE_V1 => {
                let p: ProvenanceV1 = typed(&st.predicate)?;
                p.validate()?;
                Ok(Some(Provenance::V1(Box::new(p))))
            }
            SLSA_PROVENANCE_V02 => {
                let p: ProvenanceV02 = typed(&st.predicate)?;
                Ok(Some(Provenance::V02(Box::new(p))))
            }
            _ => Ok(None),
        }
    }

    /// The facts a policy checks, from either version.
    pub fn view(&self) -> ProvenanceView {
        match self {
            Provenance::V1(p) => {
                let ext = &p.build_definition.external_parameters;
                let (source_uri, source_ref, source_digest) = source_of_v1(p);
                let meta = p.run_details.metadata.clone().unwrap_or_default();
                ProvenanceView {
                    builder_id: p.run_details.builder.id.clone(),
                    build_type: p.build_definition.build_type.clone(),
                    source_uri,
                    source_ref,
                    source_digest,
                    invocation_id: meta.invocation_id,
                    started_on: meta.started_on,
                    finished_on: meta.finished_on,
                    config_path: ext
                        .get("configPath")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            }
            Provenance::V02(p) => {
                let cs = p.invocation.as_ref().and_then(|i| i.config_source.as_ref());
                let (source_uri, source_ref) = cs
                    .and_then(|c| c.uri.as_deref())
                    .or_else(|| p.materials.first().and_then(|m| m.uri.as_deref()))
                    .map(split_git_uri)
                    .unwrap_or((None, None));
                let source_digest = cs.map(|c| c.digest.clone()).unwrap_or_default();
                let meta = p.metadata.as_ref();
                ProvenanceView {
                    builder_id: p.builder.id.clone(),
                    build_type: p.build_type.clone(),
                    source_uri,
                    source_ref,
                    source_digest,
                    invocation_id: meta.and_then(|m| m.build_invocation_id.clone()),
                    started_on: meta.and_then(|m| m.build_started_on.clone()),
                    finished_on: meta.and_then(|m| m.build_finished_on.clone()),
                    config_path: cs.and_then(|c| c.entry_point.clone()),
                }
            }
        }
    }
}

impl ProvenanceV1 {
    fn validate(&self) -> Result<(), FormatError> {
        if self.build_definition.build_type.is_empty() {
            return Err(FormatError::malformed(
                "provenance",
                "predicate.buildDefinition.buildType",
                "must not be empty",
            ));
        }
        if self.run_details.builder.id.is_empty() {
            return Err(FormatError::malformed(
                "provenance",
                "predicate.runDetails.builder.id",
                "must not be empty",
            ));
        }
        for (i, d) in self
            .build_definition
            .resolved_dependencies
            .iter()
            .enumerate()
        {
            d.validate(
                "provenance",
                &format!("predicate.buildDefinition.resolvedDependencies[{i}]"),
            )?;
        }
        for (i, d) in self.run_details.byproducts.iter().enumerate() {
            d.validate(
                "provenance",
                &format!("predicate.runDetails.byproducts[{i}]"),
            )?;
        }
        if let Some(m) = &self.run_details.metadata {
            for (name, v) in [("startedOn", &m.started_on), ("finishedOn", &m.finished_on)] {
                if let Some(t) = v {
                    parse_time(t).ok_or_else(|| {
                        FormatError::malformed(
                            "provenance",
                            format!("predicate.runDetails.metadata.{name}"),
                            format!("not an RFC 3339 timestamp: {t:?}"),
                        )
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// Where the source came from, for the build types cairn knows, else the first
/// resolved dependency that names a git repository.
fn source_of_v1(p: &ProvenanceV1) -> (Option<String>, Option<String>, DigestSet) {
    let ext = &p.build_definition.external_parameters;
    // cairn's own build type: {"source": {"uri", "ref", "digest"}}
    if let Some(src) = ext.get("source").and_then(Value::as_object) {
        if let Some(uri) = src.get("uri").and_then(Value::as_str) {
            let (u, r) = split_git_uri(uri);
            let r = src
                .get("ref")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(r);
            let digest = src
                .get("digest")
                .and_then(|d| serde_json::from_value::<DigestSet>(d.clone()).ok())
                .unwrap_or_default();
            return (u, r, digest);
        }
    }
    // GitHub Actions build types: {"workflow": {"repository", "ref", "path"}}
    if let Some(wf) = ext.get("workflow").and_then(Value::as_object) {
        if let Some(repo) = wf.get("repository").and_then(Value::as_str) {
            let digest = p
                .build_definition
                .resolved_dependencies
                .iter()
                .find(|d| {
                    d.uri
                        .as_deref()
                        .map(|u| u.contains(repo.trim_start_matches("https://")))
                        .unwrap_or(false)
                })
                .map(|d| d.digest.clone())
                .unwrap_or_default();
            let (u, _) = split_git_uri(repo);
            return (
                u,
                wf.get("ref").and_then(Value::as_str).map(str::to_string),
                digest,
            );
        }
    }
    for d in &p.build_definition.resolved_dependencies {
        if let Some(uri) = d.uri.as_deref() {
            if uri.starts_with("git+") || d.digest.get("gitCommit").is_some() {
                let (u, r) = split_git_uri(uri);
                return (u, r, d.digest.clone());
            }
        }
    }
    (None, None, DigestSet::new())
}

/// Splits `git+https://github.com/o/r@refs/heads/main` into
/// (`https://github.com/o/r`, `refs/heads/main`).
pub fn split_git_uri(uri: &str) -> (Option<String>, Option<String>) {
    let u = uri.strip_prefix("git+").unwrap_or(uri);
    // An '@' after the scheme's '//' host part and after the last '/' marks a ref.
    let scheme_end = u.find("://").map(|i| i + 3).unwrap_or(0);
    match u[scheme_end..].find('@') {
        Some(at) => {
            let (repo, rest) = u.split_at(scheme_end + at);
            // user@host forms keep their '@' (ssh URLs): only split when a path follows the host
            if repo[scheme_end..].contains('/') {
                (Some(repo.to_string()), Some(rest[1..].to_string()))
            } else {
                (Some(u.to_string()), None)
            }
        }
        None => (Some(u.to_string()), None),
    }
}

/// Normalises a repository URI for comparison: no scheme, no `git+`, no `.git`, no
/// trailing slash. `https://github.com/O/R.git` and `github.com/O/R` compare equal.
pub fn normalize_repo_uri(uri: &str) -> String {
    let u = uri.strip_prefix("git+").unwrap_or(uri);
    let u = match u.find("://") {
        Some(i) => &u[i + 3..],
        None => u,
    };
    let u = u.trim_end_matches('/');
    let u = u.strip_suffix(".git").unwrap_or(u);
    u.to_string()
}

/// The facts of a provenance that a verification policy asks about.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceView {
    pub builder_id: String,
    pub build_type: String,
    pub source_uri: Option<String>,
    pub source_ref: Option<String>,
    pub source_digest: DigestSet,
    pub invocation_id: Option<String>,
    pub started_on: Option<String>,
    pub finished_on: Option<String>,
    pub config_path: Option<String>,
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Limits;

    #[test]
    fn git_uri_split() {
        assert_eq!(
            split_git_uri("git+https://github.com/o/r@refs/heads/main"),
            (
                Some("https://github.com/o/r".into()),
                Some("refs/heads/main".into())
            )
        );
        assert_eq!(
            split_git_uri("https://github.com/o/r"),
            (Some("https://github.com/o/r".into()), None)
        );
        assert_eq!(
            split_git_uri("ssh://git@host"),
            (Some("ssh://git@host".into()), None)
        );
        assert_eq!(
            normalize_repo_uri("git+https://github.com/o/r.git/"),
            "github.com/o/r"
        );
    }

    #[test]
    fn v1_view_and_bad_fields() {
        let doc = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}],
          "predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://cairn.dev/build/v1","externalParameters":{"source":{"uri":"git+https://example.com/r@refs/heads/main","digest":{"gitCommit":"0123456789012345678901234567890123456789"}}}},
          "runDetails":{"builder":{"id":"https://cairn.dev/builder"},"metadata":{"finishedOn":"2026-01-01T00:00:00Z"}}}}"#;
        let st = Statement::parse(doc, &Limits::default()).unwrap();
        let v = Provenance::from_statement(&st).unwrap().unwrap().view();
        assert_eq!(v.builder_id, "https://cairn.dev/builder");
        assert_eq!(v.source_uri.as_deref(), Some("https://example.com/r"));
        assert_eq!(v.source_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            v.source_digest.get("gitCommit"),
            Some("0123456789012345678901234567890123456789")
        );

        let bad = String::from_utf8(doc.to_vec())
            .unwrap()
            .replace("2026-01-01T00:00:00Z", "yesterday");
        let st = Statement::parse(bad.as_bytes(), &Limits::default()).unwrap();
        let e = Provenance::from_statement(&st).unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref path, .. } if path == "predicate.runDetails.metadata.finishedOn"),
            "{e:?}"
        );

        let bad = String::from_utf8(doc.to_vec()).unwrap().replace(
            r#""builder":{"id":"https://cairn.dev/builder"}"#,
            r#""builder":{}"#,
        );
        let st = Statement::parse(bad.as_bytes(), &Limits::default()).unwrap();
        let e = Provenance::from_statement(&st).unwrap_err();
        assert!(
            matches!(e, FormatError::Malformed { ref path, .. } if path == "predicate.runDetails.builder"),
            "{e:?}"
        );
    }
}

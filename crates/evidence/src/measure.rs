//! What a cairn build extends into PCR 23, and how the verifier recomputes each value
//! from the verified statement. The kinds and digests are the ones `cairn-build`'s
//! supervisor measures (`cairn_build::MeasurementKind`), so attester and verifier share
//! one definition:
//!
//! | event `content_type`    | digest (SHA-256)                                     | recomputed from the statement as                                                    |
//! |-------------------------|------------------------------------------------------|-------------------------------------------------------------------------------------|
//! | `builder-binary`        | the running cairn binary (`/proc/self/exe`)          | the `runDetails.builder.builderDependencies` entry annotated `{"kind": "builder-binary"}`, when recorded |
//! | `sandbox-policy`        | the sandbox policy's JSON                            | `internalParameters.sandboxPolicyDigest` (`sha256:<hex>`)                           |
//! | `resolved-dependencies` | compact JSON of `resolvedDependencies`               | `resolvedDependencies` parsed as `Vec<ResourceDescriptor>` and re-serialised (compact serde_json, declared field order) |
//! | `toolchain`             | the toolchain manifest's JSON                        | `internalParameters.toolchainManifestDigest` (`sha256:<hex>`)                       |
//! | `outputs`               | compact JSON of the statement's `subject` list       | `subject` re-serialised the same way                                                |
//!
//! Re-serialising through the typed `ResourceDescriptor` makes the last two independent of
//! key order and whitespace in the signed payload.

use cairn_formats::provenance::{Provenance, SLSA_PROVENANCE_V1};
use cairn_formats::Statement;
use serde_json::Value;

use crate::error::EvidenceError;
use crate::tpm::structures::sha256;

/// The annotation value that marks the builder binary among `builderDependencies`.
pub const BUILDER_BINARY_KIND: &str = "builder-binary";

/// The five measurement kinds, in the order `cairn build` extends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeasurementKind {
    BuilderBinary,
    SandboxPolicy,
    Toolchain,
    ResolvedDependencies,
    Outputs,
}

impl MeasurementKind {
    pub const ALL: [MeasurementKind; 5] = [
        MeasurementKind::BuilderBinary,
        MeasurementKind::SandboxPolicy,
        MeasurementKind::Toolchain,
        MeasurementKind::ResolvedDependencies,
        MeasurementKind::Outputs,
    ];

    /// The `content_type` of the event-log entry (same names as `cairn-build`).
    pub fn name(self) -> &'static str {
        match self {
            MeasurementKind::BuilderBinary => "builder-binary",
            MeasurementKind::SandboxPolicy => "sandbox-policy",
            MeasurementKind::Toolchain => "toolchain",
            MeasurementKind::ResolvedDependencies => "resolved-dependencies",
            MeasurementKind::Outputs => "outputs",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        MeasurementKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// SHA-256 digests of each measured part of a build, as the provenance states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildMeasurements {
    /// `None` when the provenance does not record the builder binary's digest: the
    /// measured value is then only reported (and checked against policy, if any).
    pub builder_binary: Option<[u8; 32]>,
    pub sandbox_policy: [u8; 32],
    pub toolchain: [u8; 32],
    pub resolved_dependencies: [u8; 32],
    pub outputs: [u8; 32],
}

fn prov_err(msg: impl Into<String>) -> EvidenceError {
    EvidenceError::Provenance(msg.into())
}

/// Reads a `sha256:<64 hex>` string from `internalParameters`.
fn prefixed_sha256(
    internal: Option<&serde_json::Map<String, Value>>,
    field: &str,
) -> Result<[u8; 32], EvidenceError> {
    let s = internal
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            prov_err(format!(
                "internalParameters.{field} is missing; a TPM-attested build records it"
            ))
        })?;
    s.strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .and_then(|h| hex::decode(h).ok())
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            prov_err(format!(
                "internalParameters.{field} {s:?} is not sha256:<64 lowercase hex>"
            ))
        })
}

impl BuildMeasurements {
    /// Recomputes every measurement from an SLSA v1 provenance statement.
    pub fn from_statement(st: &Statement) -> Result<Self, EvidenceError> {
        if st.predicate_type != SLSA_PROVENANCE_V1 {
            return Err(prov_err(format!(
                "predicateType {:?} is not {SLSA_PROVENANCE_V1}; TPM build measurements are defined for SLSA v1 only",
                st.predicate_type
            )));
        }
        let Some(Provenance::V1(p)) =
            Provenance::from_statement(st).map_err(|e| prov_err(e.to_string()))?
        else {
            return Err(prov_err("not SLSA v1 provenance"));
        };
        let internal = p.build_definition.internal_parameters.as_ref();
        let builder_binary = p
            .run_details
            .builder
            .builder_dependencies
            .iter()
            .find(|d| {
                d.annotations
                    .as_ref()
                    .and_then(|a| a.get("kind"))
                    .and_then(Value::as_str)
                    == Some(BUILDER_BINARY_KIND)
            })
            .map(|d| {
                d.digest
                    .bytes(cairn_formats::DigestAlgorithm::Sha256)
                    .and_then(|v| <[u8; 32]>::try_from(v).ok())
                    .ok_or_else(|| {
                        prov_err(
                            "the builder-binary entry of builderDependencies has no sha256 digest",
                        )
                    })
            })
            .transpose()?;
        Ok(BuildMeasurements {
            builder_binary,
            sandbox_policy: prefixed_sha256(internal, "sandboxPolicyDigest")?,
            toolchain: prefixed_sha256(internal, "toolchainManifestDigest")?,
            resolved_dependencies: json_sha256(&p.build_definition.resolved_dependencies),
            outputs: json_sha256(&st.subject),
        })
    }

    /// The expected digest of `kind`, if the provenance determines it.
    pub fn get(&self, kind: MeasurementKind) -> Option<&[u8; 32]> {
        match kind {
            MeasurementKind::BuilderBinary => self.builder_binary.as_ref(),
            MeasurementKind::SandboxPolicy => Some(&self.sandbox_policy),
            MeasurementKind::Toolchain => Some(&self.toolchain),
            MeasurementKind::ResolvedDependencies => Some(&self.resolved_dependencies),
            MeasurementKind::Outputs => Some(&self.outputs),
        }
    }
}

/// SHA-256 of the compact serde_json bytes of a typed value (what `cairn-build` hashes).
fn json_sha256<T: serde::Serialize>(v: &T) -> [u8; 32] {
    // Serialising plain data structures to a Vec cannot fail.
    sha256(&[&serde_json::to_vec(v).unwrap_or_default()])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cairn_formats::Limits;

    pub(crate) fn statement_json() -> Value {
        serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "hello", "digest": {"sha256": "aa".repeat(32)}}],
            "predicateType": SLSA_PROVENANCE_V1,
            "predicate": {
                "buildDefinition": {
                    "buildType": "https://cairn.dev/build/v1",
                    "externalParameters": {},
                    "internalParameters": {
                        "sandboxPolicyDigest": format!("sha256:{}", "bb".repeat(32)),
                        "toolchainManifestDigest": format!("sha256:{}", "dd".repeat(32))
                    },
                    "resolvedDependencies": [
                        {"uri": "pkg:cargo/serde@1.0.0", "digest": {"sha256": "cc".repeat(32)}, "annotations": {"kind": "package"}}
                    ]
                },
                "runDetails": {"builder": {"id": "https://cairn.dev/builder@v1", "builderDependencies": [
                    {"name": "cairn", "digest": {"sha256": "ee".repeat(32)}, "annotations": {"kind": "builder-binary"}}
                ]}}
            }
        })
    }

    pub(crate) fn statement() -> Statement {
        Statement::parse(statement_json().to_string().as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn measurements_follow_the_documented_definition() {
        let m = BuildMeasurements::from_statement(&statement()).unwrap();
        let expect = |s: &str| sha256(&[s.as_bytes()]);
        assert_eq!(m.builder_binary, Some([0xee; 32]));
        assert_eq!(m.sandbox_policy, [0xbb; 32]);
        assert_eq!(m.toolchain, [0xdd; 32]);
        // Declared field order (name, uri, digest, ..., annotations), whatever the input order.
        assert_eq!(
            m.resolved_dependencies,
            expect(&format!(
                r#"[{{"uri":"pkg:cargo/serde@1.0.0","digest":{{"sha256":"{}"}},"annotations":{{"kind":"package"}}}}]"#,
                "cc".repeat(32)
            ))
        );
        assert_eq!(
            m.outputs,
            expect(&format!(
                r#"[{{"name":"hello","digest":{{"sha256":"{}"}}}}]"#,
                "aa".repeat(32)
            ))
        );
    }

    #[test]
    fn unrecorded_builder_binary_is_none() {
        let mut doc = statement_json();
        doc["predicate"]["runDetails"]["builder"]
            .as_object_mut()
            .unwrap()
            .remove("builderDependencies");
        let st = Statement::parse(doc.to_string().as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            BuildMeasurements::from_statement(&st)
                .unwrap()
                .builder_binary,
            None
        );
    }

    #[test]
    fn rejects_missing_or_malformed_fields() {
        let mut st = statement();
        st.predicate_type = "https://example.com/other".into();
        let e = BuildMeasurements::from_statement(&st).unwrap_err();
        assert!(e.to_string().contains("SLSA v1 only"), "{e}");

        for (field, value, needle) in [
            ("sandboxPolicyDigest", Value::Null, "internalParameters.sandboxPolicyDigest is missing"),
            ("toolchainManifestDigest", Value::String("sha256:XY".into()), "internalParameters.toolchainManifestDigest \"sha256:XY\" is not sha256:<64 lowercase hex>"),
            ("sandboxPolicyDigest", Value::String("bb".repeat(32)), "is not sha256:<64 lowercase hex>"),
        ] {
            let mut doc = statement_json();
            let ip = doc["predicate"]["buildDefinition"]["internalParameters"].as_object_mut().unwrap();
            if value.is_null() {
                ip.remove(field);
            } else {
                ip.insert(field.into(), value);
            }
            let st = Statement::parse(doc.to_string().as_bytes(), &Limits::default()).unwrap();
            let e = BuildMeasurements::from_statement(&st).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }

        let mut doc = statement_json();
        doc["predicate"]["runDetails"]["builder"]["builderDependencies"][0]["digest"] =
            serde_json::json!({"sha512": "ab".repeat(64)});
        let st = Statement::parse(doc.to_string().as_bytes(), &Limits::default()).unwrap();
        let e = BuildMeasurements::from_statement(&st).unwrap_err();
        assert!(
            e.to_string()
                .contains("builder-binary entry of builderDependencies has no sha256"),
            "{e}"
        );
    }
}

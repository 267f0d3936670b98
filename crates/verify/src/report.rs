//! The verification report: the one output schema of `cairn verify --format json`,
//! whatever the input format (documented in `docs/verify-output.md`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::VerifyError;

/// Identifies this schema and its version in every JSON report.
pub const REPORT_SCHEMA: &str = "https://cairn.dev/verify-output/v1";

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema: &'static str,
    pub verified: bool,
    /// `cairn-bundle`, `dsse-envelope`, `intoto-jsonl`, `sigstore-bundle-v0.3`, ...
    pub input_format: String,
    pub artifact: ArtifactInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    pub signers: Vec<SignerInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<BuilderInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    pub timestamps: Vec<TimestampInfo>,
    pub log_entries: Vec<LogEntryInfo>,
    pub hardware_evidence: Vec<EvidenceInfo>,
    /// Every check that ran or was skipped, in order.
    pub checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The verified in-toto statement, when the input carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactInfo {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubjectInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SignerInfo {
    /// `key` for a trusted public key, `certificate` for a Fulcio-style identity.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuilderInfo {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimestampInfo {
    /// `rfc3161`, `tlog-integrated-time`, `provenance-finished-on`, ...
    pub kind: String,
    pub time: String,
    /// True when a signature from a trusted timestamp authority or log covers the time;
    /// false when it is only claimed by the (signed) provenance.
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryInfo {
    /// Log origin or log id.
    pub log: String,
    pub index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<String>,
    pub inclusion_verified: bool,
    /// Witness cosignatures that verified.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceInfo {
    /// `tpm2-quote`, `sev-snp`, `tdx`, `nitro`.
    pub kind: String,
    pub verified: bool,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
}

/// One policy decision or verification step.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    pub kind: String,
    pub message: String,
    pub exit_code: u8,
}

impl Report {
    pub fn new(input_format: impl Into<String>, artifact_name: impl Into<String>) -> Self {
        Report {
            schema: REPORT_SCHEMA,
            verified: false,
            input_format: input_format.into(),
            artifact: ArtifactInfo {
                name: artifact_name.into(),
                digest: BTreeMap::new(),
            },
            subject: None,
            predicate_type: None,
            signers: Vec::new(),
            builder: None,
            build_type: None,
            source: None,
            timestamps: Vec::new(),
            log_entries: Vec::new(),
            hardware_evidence: Vec::new(),
            checks: Vec::new(),
            error: None,
            statement: None,
        }
    }

    pub fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, CheckStatus::Pass, detail.into(), None, None);
    }

    pub fn skip(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, CheckStatus::Skipped, detail.into(), None, None);
    }

    pub fn pass_value(&mut self, name: &str, detail: impl Into<String>, value: impl Into<String>) {
        let v = value.into();
        self.push(
            name,
            CheckStatus::Pass,
            detail.into(),
            Some(v.clone()),
            Some(v),
        );
    }

    /// Records the failure both as a failed check and as the report's error.
    pub fn fail(&mut self, name: &str, err: &VerifyError) {
        let (expected, found) = match err {
            VerifyError::PolicyViolation {
                expected, found, ..
            } => (Some(expected.clone()), Some(found.clone())),
            VerifyError::SubjectMismatch {
                found, subjects, ..
            } => (Some(subjects.clone()), Some(found.clone())),
            _ => (None, None),
        };
        self.push(name, CheckStatus::Fail, err.to_string(), expected, found);
        self.set_error(err);
    }

    pub fn set_error(&mut self, err: &VerifyError) {
        self.verified = false;
        self.error = Some(ErrorInfo {
            kind: err.kind().to_string(),
            message: err.to_string(),
            exit_code: err.exit_code(),
        });
    }

    fn push(
        &mut self,
        name: &str,
        status: CheckStatus,
        detail: String,
        expected: Option<String>,
        found: Option<String>,
    ) {
        self.checks.push(Check {
            name: name.to_string(),
            status,
            detail,
            expected,
            found,
        });
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\":\"report serialisation failed: {e}\"}}"))
    }
}

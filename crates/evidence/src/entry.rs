//! Reading bundle evidence entries: strict typed parsing that names the failing field, and
//! base64 members. Shared by every evidence kind (TPM quote, certified key, TEE reports).

use base64::Engine as _;

use crate::error::EvidenceError;

/// Decodes a required base64 field of an evidence entry.
pub(crate) fn b64_field(
    what: &'static str,
    field: &str,
    value: &str,
) -> Result<Vec<u8>, EvidenceError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| EvidenceError::malformed(what, field, "not base64"))
}

/// Parses an evidence entry into its typed form, naming the field that failed.
pub(crate) fn parse_entry<T: serde::de::DeserializeOwned>(
    what: &'static str,
    expected_kind: &str,
    kind_of: impl Fn(&T) -> &str,
    evidence: &serde_json::Value,
) -> Result<T, EvidenceError> {
    let ev: T = serde_path_to_error::deserialize(evidence).map_err(|e| {
        let field = e.path().to_string();
        EvidenceError::malformed(what, field, e.into_inner().to_string())
    })?;
    if kind_of(&ev) != expected_kind {
        return Err(EvidenceError::malformed(
            what,
            "kind",
            format!("{:?} is not {expected_kind:?}", kind_of(&ev)),
        ));
    }
    Ok(ev)
}

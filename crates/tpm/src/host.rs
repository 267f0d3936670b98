//! HOST.json: what an enrolled build host keeps to quote later. The AK private blob is
//! wrapped by the TPM's EK-hierarchy parent and useless outside that TPM.

use std::path::Path;

use base64::Engine as _;
use cairn_formats::dsse::WireEnvelope;
use cairn_formats::json::{parse_strict, Limits};
use serde::{Deserialize, Serialize};

use crate::error::TpmError;

pub const HOST_FILE_TYPE: &str = "https://cairn.dev/tpm/host/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostFile {
    #[serde(rename = "_type")]
    pub type_: String,
    pub host_id: String,
    /// Base64 TPM2B_PRIVATE contents of the AK (TPM-wrapped).
    pub ak_private: String,
    /// Base64 TPMT_PUBLIC of the AK.
    pub ak_public: String,
    /// The enrollment authority's signed AK binding record (a DSSE envelope).
    pub ak_binding: WireEnvelope,
    /// Base64 TPM2B_PRIVATE contents of a non-restricted ECDSA P-256 signing key under the
    /// EK (TPM-wrapped). Each build certifies it with the AK and signs the envelope with
    /// it. Absent in host files from before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_private: Option<String>,
    /// Base64 TPMT_PUBLIC of that signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_public: Option<String>,
}

impl HostFile {
    pub fn read(path: &Path) -> Result<HostFile, TpmError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TpmError::HostFile(format!("{}: {e}", path.display())))?;
        HostFile::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<HostFile, TpmError> {
        let h: HostFile = parse_strict(
            bytes,
            "host file",
            &Limits {
                max_bytes: 256 * 1024,
            },
        )
        .map_err(|e| TpmError::HostFile(e.to_string()))?;
        if h.type_ != HOST_FILE_TYPE {
            return Err(TpmError::HostFile(format!(
                "`_type` {:?} is not {HOST_FILE_TYPE}",
                h.type_
            )));
        }
        Ok(h)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The signing key's public half as a cairn key, when the host has one.
    pub fn signing_public_key(&self) -> Result<Option<cairn_sign::PublicKey>, TpmError> {
        let Some(public) = &self.signing_key_public else {
            return Ok(None);
        };
        let parsed =
            cairn_evidence::tpm::Public::parse(&HostFile::decode("signingKeyPublic", public)?)?;
        let spki = cairn_evidence::certified::spki_der(&parsed)?;
        cairn_sign::PublicKey::from_spki_der(&spki)
            .map(Some)
            .map_err(|e| TpmError::HostFile(format!("signingKeyPublic: {e}")))
    }

    /// The signing key's public half as SPKI PEM, for consumers who verify the TPM's
    /// envelope signature as an ordinary ECDSA P-256 key (`cairn verify --key`).
    pub fn signing_key_pem(&self) -> Result<Option<String>, TpmError> {
        Ok(self.signing_public_key()?.map(|k| k.to_pem()))
    }

    pub(crate) fn decode(field: &str, s: &str) -> Result<Vec<u8>, TpmError> {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| TpmError::HostFile(format!("`{field}` is not base64")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFile {
        HostFile {
            type_: HOST_FILE_TYPE.into(),
            host_id: "h".into(),
            ak_private: "AA==".into(),
            ak_public: "AA==".into(),
            ak_binding: WireEnvelope {
                payload: "e30=".into(),
                payload_type: "t".into(),
                signatures: vec![],
            },
            signing_key_private: None,
            signing_key_public: None,
        }
    }

    #[test]
    fn round_trips_and_rejects_foreign_files() {
        let h = host();
        assert_eq!(
            HostFile::parse(h.to_json().as_bytes()).unwrap().host_id,
            "h"
        );
        let mut other = h.clone();
        other.type_ = "https://example.com/x".into();
        let e = HostFile::parse(other.to_json().as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("`_type` \"https://example.com/x\""),
            "{e}"
        );
        let e = HostFile::parse(
            h.to_json()
                .replace("\"hostId\"", "\"extra\": 1, \"hostId\"")
                .as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
        let e = HostFile::decode("akPrivate", "***").unwrap_err();
        assert_eq!(e.to_string(), "host file: `akPrivate` is not base64");
        let e = HostFile::read(Path::new("/nonexistent/host.json")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/host.json"), "{e}");
    }
}

//! The AK binding record: the enrollment authority's signed statement that an AK lives in
//! the TPM whose EK certificate chain it names, on the named host. It is a DSSE envelope
//! (payload type [`AK_BINDING_PAYLOAD_TYPE`]) signed with a cairn key; verifiers trust the
//! authority's public key (`--enrollment-key`).

use base64::Engine as _;
use cairn_formats::json::{parse_strict, Limits};
use cairn_formats::Envelope;
use cairn_sign::dsse::{verify_envelope_with, VerifyOptions};
use cairn_sign::{PrivateKey, PublicKey as SignKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ekcert::{ek_matches_cert, verify_ek_chain, VerifiedEkCert};
use crate::error::EvidenceError;
use crate::tpm::structures::{attr, Public};

pub const AK_BINDING_PAYLOAD_TYPE: &str = "application/vnd.cairn.tpm-ak-binding.v1+json";
pub const AK_BINDING_TYPE: &str = "https://cairn.dev/tpm/ak-binding/v1";
/// How the enrollment authority proved the AK and EK share a TPM.
pub const ACTIVATION_METHOD: &str = "TPM2_ActivateCredential";
/// Binding records are small; this bounds a hostile one.
const MAX_BINDING_BYTES: u64 = 64 * 1024;

/// The signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AkBindingRecord {
    #[serde(rename = "_type")]
    pub type_: String,
    pub host_id: String,
    /// Base64 TPMT_PUBLIC of the AK.
    pub ak_public: String,
    /// Hex name of the AK (nameAlg ‖ H(TPMT_PUBLIC)).
    pub ak_name: String,
    /// Base64 TPMT_PUBLIC of the EK.
    pub ek_public: String,
    /// Base64 DER certificates: the EK certificate first, then intermediates.
    pub ek_cert_chain: Vec<String>,
    pub activation: String,
    /// RFC 3339.
    pub enrolled_at: String,
}

/// What a verified binding establishes.
#[derive(Debug, Clone)]
pub struct VerifiedBinding {
    pub record: AkBindingRecord,
    pub ak: Public,
    pub ak_name: Vec<u8>,
    pub ek_cert: VerifiedEkCert,
    /// Key id of the enrollment key that signed.
    pub enrolled_by: String,
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, EvidenceError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| EvidenceError::AkBinding(format!("`{field}` is not base64")))
}

/// The names of the `need`ed object attribute bits that `attributes` lacks.
pub fn missing_attributes(attributes: u32, need: &[(u32, &'static str)]) -> Vec<&'static str> {
    need.iter()
        .filter(|(bit, _)| attributes & bit == 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Fails unless `ak` is a restricted signing key that cannot leave its TPM.
pub fn check_ak_attributes(ak: &Public) -> Result<(), EvidenceError> {
    let missing = missing_attributes(
        ak.attributes,
        &[
            (attr::FIXED_TPM, "fixedTPM"),
            (attr::FIXED_PARENT, "fixedParent"),
            (attr::SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin"),
            (attr::RESTRICTED, "restricted"),
            (attr::SIGN, "sign"),
        ],
    );
    if !missing.is_empty() {
        return Err(EvidenceError::AkAttributes {
            found: ak.attributes,
            reason: format!("missing {}", missing.join(", ")),
        });
    }
    if ak.attributes & attr::DECRYPT != 0 {
        return Err(EvidenceError::AkAttributes {
            found: ak.attributes,
            reason: "decrypt is set".into(),
        });
    }
    Ok(())
}

impl AkBindingRecord {
    /// Signs the record as the enrollment authority.
    pub fn sign(&self, authority: &PrivateKey) -> Result<Envelope, EvidenceError> {
        let payload =
            serde_json::to_vec(self).map_err(|e| EvidenceError::AkBinding(e.to_string()))?;
        cairn_sign::dsse::sign_envelope(AK_BINDING_PAYLOAD_TYPE, &payload, &[authority])
            .map_err(|e| EvidenceError::AkBinding(format!("signing: {e}")))
    }
}

/// Verifies the authority's signature, then everything the record claims that can be
/// re-checked offline: the EK chain to `roots`, the EK key against its certificate, the
/// AK's attributes and name.
pub fn verify_binding(
    env: &Envelope,
    enrollment_keys: &[SignKey],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<VerifiedBinding, EvidenceError> {
    if enrollment_keys.is_empty() {
        return Err(EvidenceError::AkBinding(
            "no trusted enrollment keys configured (--enrollment-key)".into(),
        ));
    }
    let types = [AK_BINDING_PAYLOAD_TYPE];
    let signers = verify_envelope_with(
        env,
        enrollment_keys,
        &VerifyOptions {
            threshold: 1,
            require_all: false,
            payload_types: Some(&types),
        },
    )
    .map_err(|e| {
        EvidenceError::AkBinding(format!("not signed by a trusted enrollment key: {e}"))
    })?;
    let record: AkBindingRecord = parse_strict(
        &env.payload,
        "AK binding record",
        &Limits {
            max_bytes: MAX_BINDING_BYTES,
        },
    )
    .map_err(|e| EvidenceError::AkBinding(e.to_string()))?;
    if record.type_ != AK_BINDING_TYPE {
        return Err(EvidenceError::AkBinding(format!(
            "`_type` {:?} is not {AK_BINDING_TYPE}",
            record.type_
        )));
    }
    if record.activation != ACTIVATION_METHOD {
        return Err(EvidenceError::AkBinding(format!(
            "`activation` {:?} is not {ACTIVATION_METHOD}",
            record.activation
        )));
    }
    let ak = Public::parse(&b64("akPublic", &record.ak_public)?)?;
    check_ak_attributes(&ak)?;
    let ak_name = ak.name()?;
    if hex::encode(&ak_name) != record.ak_name {
        return Err(EvidenceError::AkBinding(format!(
            "`akName` {} is not the name of `akPublic` ({})",
            record.ak_name,
            hex::encode(&ak_name)
        )));
    }
    let ek = Public::parse(&b64("ekPublic", &record.ek_public)?)?;
    let chain = record
        .ek_cert_chain
        .iter()
        .enumerate()
        .map(|(i, c)| b64(&format!("ekCertChain[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let ek_cert = verify_ek_chain(&chain, roots, now)?;
    ek_matches_cert(&ek, &chain[0])?;
    Ok(VerifiedBinding {
        record,
        ak,
        ak_name,
        ek_cert,
        enrolled_by: signers.into_iter().next().unwrap_or_default(),
    })
}

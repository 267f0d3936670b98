//! A TPM-resident signing key certified by the AK (TPM2_Certify), which signs the DSSE
//! envelope itself. Consumers that do not understand TPM structures then still see an
//! ordinary ECDSA P-256 signature (`cairn verify --key HOST.signing.pub`), and those that
//! do learn from the certification that the key cannot leave the enrolled TPM.
//!
//! Checks, after the AK is established by the quote's binding: the certification is
//! signed by the AK, is TPM_GENERATED of type CERTIFY, its `extraData` is SHA-256 of this
//! envelope's PAE (so it was made for this build), `attested.name` is the name of the
//! reported key, the key is a non-decrypting signing key that is `fixedTPM`,
//! `fixedParent` and `sensitiveDataOrigin`, and one of the envelope's signatures verifies
//! with it.

use cairn_formats::Envelope;
use serde::{Deserialize, Serialize};

use crate::error::EvidenceError;
use crate::tpm::sigcheck::left_pad;
use crate::tpm::structures::{
    attr, sha256, Attest, Attested, Public, PublicKey, Signature, ALG_ECDSA, ECC_NIST_P256,
    TPM_GENERATED, TPM_ST_ATTEST_CERTIFY,
};
use crate::tpm::verify_signature;

/// The `certifiedKey` member of a `tpm2-quote` evidence entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CertifiedKeyEvidence {
    /// Base64 TPMT_PUBLIC of the signing key.
    pub public: String,
    /// Base64 TPMS_ATTEST of TPM2_Certify(key, AK, extraData = SHA-256(PAE)).
    pub certify_info: String,
    /// Base64 TPMT_SIGNATURE of `certify_info` by the AK.
    pub signature: String,
}

fn bad(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::CertifiedKey(reason.into())
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, EvidenceError> {
    crate::entry::b64_field("tpm2-quote evidence", &format!("certifiedKey.{field}"), s)
}

/// SPKI DER of a TPM ECC P-256 public key.
pub fn spki_der(key: &Public) -> Result<Vec<u8>, EvidenceError> {
    let PublicKey::Ecc { curve, x, y, .. } = &key.key else {
        return Err(bad("the signing key is not an ECC key"));
    };
    if *curve != ECC_NIST_P256 {
        return Err(bad(format!(
            "the signing key's curve 0x{curve:04x} is not NIST P-256"
        )));
    }
    let pad = |v: &[u8]| {
        left_pad(v, 32)
            .map(|v| p256::FieldBytes::clone_from_slice(&v))
            .ok_or_else(|| bad("the signing key's point coordinate is longer than 32 bytes"))
    };
    let point = p256::EncodedPoint::from_affine_coordinates(&pad(x)?, &pad(y)?, false);
    p256::ecdsa::VerifyingKey::from_encoded_point(&point)
        .map_err(|_| bad("the signing key is not a point on P-256"))?;
    // SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } is a fixed 26-byte DER prefix
    // before the 65-byte uncompressed point; `cairn_sign` parses the result again.
    let mut der = P256_SPKI_PREFIX.to_vec();
    der.extend_from_slice(point.as_bytes());
    Ok(der)
}

/// DER of `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (65 bytes) }` up
/// to the BIT STRING's contents.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A DSSE signature (ASN.1 DER ECDSA) from a TPM ECDSA signature's r and s.
pub fn ecdsa_der(r: &[u8], s: &[u8]) -> Result<Vec<u8>, EvidenceError> {
    let pad = |v: &[u8]| {
        left_pad(v, 32)
            .map(|v| p256::FieldBytes::clone_from_slice(&v))
            .ok_or_else(|| bad("ECDSA r or s is longer than 32 bytes"))
    };
    let sig = p256::ecdsa::Signature::from_scalars(pad(r)?, pad(s)?)
        .map_err(|_| bad("ECDSA r or s is out of range"))?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// What a verified certified key establishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedCertifiedKey {
    /// cairn key id (SHA-256 of the SPKI DER) of the TPM-resident key.
    pub key_id: String,
    /// Its TPM name (hex).
    pub name: String,
}

/// Verifies `ck` against the enrolled `ak` and `envelope` (see the module docs).
pub fn verify_certified_key(
    ck: &CertifiedKeyEvidence,
    ak: &Public,
    envelope: &Envelope,
) -> Result<VerifiedCertifiedKey, EvidenceError> {
    let public_bytes = b64("public", &ck.public)?;
    let key = Public::parse(&public_bytes)?;
    let info = b64("certifyInfo", &ck.certify_info)?;
    let sig = Signature::parse(&b64("signature", &ck.signature)?)?;

    // The AK signed the certification: checked over the raw bytes before any field.
    verify_signature(ak, &info, &sig).map_err(|e| {
        bad(format!(
            "the certification is not signed by the enrolled AK: {e}"
        ))
    })?;
    let attest = Attest::parse(&info)?;
    if attest.magic != TPM_GENERATED {
        return Err(EvidenceError::NotTpmGenerated(attest.magic));
    }
    let Attested::Certify { name, .. } = &attest.attested else {
        return Err(EvidenceError::WrongAttestType {
            found: attest.attest_type,
            expected: TPM_ST_ATTEST_CERTIFY,
            name: "TPM_ST_ATTEST_CERTIFY",
        });
    };
    let expected = sha256(&[&envelope.pae()]);
    if attest.extra_data != expected {
        return Err(bad(format!(
            "the certification's extraData {} is not SHA-256 of this envelope's PAE ({}): it was made for another build",
            hex::encode(&attest.extra_data),
            hex::encode(expected)
        )));
    }
    let key_name = key.name()?;
    if *name != key_name {
        return Err(bad(format!(
            "the certified name {} is not the name of the reported key {}",
            hex::encode(name),
            hex::encode(&key_name)
        )));
    }

    // A signing key that cannot leave this TPM, and was made inside it.
    let missing = crate::binding::missing_attributes(
        key.attributes,
        &[
            (attr::FIXED_TPM, "fixedTPM"),
            (attr::FIXED_PARENT, "fixedParent"),
            (attr::SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin"),
            (attr::SIGN, "sign"),
        ],
    );
    if !missing.is_empty() {
        return Err(bad(format!(
            "the signing key's attributes 0x{:08x} lack {}",
            key.attributes,
            missing.join(", ")
        )));
    }
    if key.attributes & attr::DECRYPT != 0 {
        return Err(bad("the signing key can also decrypt"));
    }
    if let PublicKey::Ecc { scheme, .. } = &key.key {
        if *scheme != ALG_ECDSA {
            return Err(bad(format!(
                "the signing key's scheme 0x{scheme:04x} is not ECDSA"
            )));
        }
    }

    // It signed this envelope.
    let spki = spki_der(&key)?;
    let pk = cairn_sign::PublicKey::from_spki_der(&spki)
        .map_err(|e| bad(format!("the signing key: {e}")))?;
    cairn_sign::dsse::verify_envelope(envelope, std::slice::from_ref(&pk), 1).map_err(|_| {
        bad(format!(
            "no signature of the envelope verifies with the TPM-resident key {}",
            pk.key_id()
        ))
    })?;
    Ok(VerifiedCertifiedKey {
        key_id: pk.key_id().to_string(),
        name: hex::encode(key_name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::EncodePublicKey as _;

    fn ecc_public(curve: u16, x: Vec<u8>, y: Vec<u8>) -> Public {
        Public {
            raw: Vec::new(),
            name_alg: 0x000b,
            attributes: 0,
            auth_policy: Vec::new(),
            key: PublicKey::Ecc {
                curve,
                x,
                y,
                scheme: ALG_ECDSA,
                scheme_hash: Some(0x000b),
                symmetric: None,
            },
        }
    }

    #[test]
    fn der_signature_from_tpm_scalars_verifies_and_bad_scalars_fail() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&sk, b"pae");
        let (r, s) = sig.split_bytes();
        // TPMs drop leading zeros; the helper pads them back.
        let strip = |v: &[u8]| {
            v.iter()
                .skip_while(|b| **b == 0)
                .copied()
                .collect::<Vec<u8>>()
        };
        let der = ecdsa_der(&strip(&r), &strip(&s)).unwrap();
        let parsed = p256::ecdsa::Signature::from_der(&der).unwrap();
        sk.verifying_key().verify(b"pae", &parsed).unwrap();
        assert!(ecdsa_der(&[1; 33], &s)
            .unwrap_err()
            .to_string()
            .contains("longer than 32"));
        assert!(ecdsa_der(&[], &s)
            .unwrap_err()
            .to_string()
            .contains("out of range"));
    }

    #[test]
    fn spki_of_a_p256_point_and_refusals() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let point = sk.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
        let der = spki_der(&ecc_public(ECC_NIST_P256, x.clone(), y.clone())).unwrap();
        assert_eq!(
            der,
            sk.verifying_key().to_public_key_der().unwrap().as_bytes()
        );
        let e = spki_der(&ecc_public(0x0004, x.clone(), y.clone())).unwrap_err();
        assert!(e.to_string().contains("is not NIST P-256"), "{e}");
        let mut off_curve = y;
        off_curve[31] ^= 1;
        let e = spki_der(&ecc_public(ECC_NIST_P256, x, off_curve)).unwrap_err();
        assert!(e.to_string().contains("not a point on P-256"), "{e}");
    }
}

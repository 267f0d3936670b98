//! TPM2_MakeCredential in software (TPM 2.0 Part 1, 24.4-24.5), for the enrollment side:
//! it needs only the EK public and the AK name, never a TPM.
//!
//! seed  = random; secret = RSA-OAEP(EK, seed, label "IDENTITY\0", EK nameAlg)
//! symKey = KDFa(seed, "STORAGE", AK name, "", 128); encIdentity = AES-128-CFB(symKey, IV 0, TPM2B(credential))
//! hmacKey = KDFa(seed, "INTEGRITY", "", "", 256); outerHMAC = HMAC(hmacKey, encIdentity ‖ AK name)
//! credentialBlob = TPM2B(outerHMAC) ‖ encIdentity
//!
//! Written with RustCrypto (`rsa`, `aes`, `cfb-mode`, `hmac`) after keylime's
//! `tpm_util.makecredential` and go-attestation's `ActivationParameters.Generate`.

use aes::cipher::{AsyncStreamCipher, KeyIvInit};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

use crate::error::EvidenceError;
use crate::tpm::structures::{Public, PublicKey, ALG_AES, ALG_CFB, ALG_SHA256};

type HmacSha256 = Hmac<Sha256>;

/// The two blobs TPM2_ActivateCredential takes: TPM2B_ID_OBJECT and
/// TPM2B_ENCRYPTED_SECRET contents (without their outer size fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialBlob {
    pub id_object: Vec<u8>,
    pub encrypted_secret: Vec<u8>,
}

/// KDFa with HMAC-SHA256 (SP 800-108 counter mode, Part 1, 11.4.10.2).
pub fn kdfa_sha256(
    key: &[u8],
    label: &str,
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(bytes + 32);
    let mut counter: u32 = 0;
    while out.len() < bytes {
        counter += 1;
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        mac.update(&counter.to_be_bytes());
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(context_u);
        mac.update(context_v);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
    }
    out.truncate(bytes);
    out
}

/// Wraps `credential` (at most 32 bytes) so that only the TPM holding `ek` can release
/// it, and only to a loaded object named `ak_name`.
pub fn make_credential(
    ek: &Public,
    ak_name: &[u8],
    credential: &[u8],
) -> Result<CredentialBlob, EvidenceError> {
    let PublicKey::Rsa {
        modulus,
        exponent,
        symmetric,
        ..
    } = &ek.key
    else {
        return Err(EvidenceError::Credential(
            "only RSA endorsement keys are supported".into(),
        ));
    };
    if ek.name_alg != ALG_SHA256 {
        return Err(EvidenceError::Credential(format!(
            "EK nameAlg 0x{:04x} is not SHA-256",
            ek.name_alg
        )));
    }
    if *symmetric != Some((ALG_AES, 128, ALG_CFB)) {
        return Err(EvidenceError::Credential(format!(
            "EK symmetric {symmetric:?} is not AES-128-CFB (the default EK template)"
        )));
    }
    if credential.is_empty() || credential.len() > 32 {
        return Err(EvidenceError::Credential(format!(
            "credential must be 1-32 bytes, got {}",
            credential.len()
        )));
    }
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);

    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(modulus),
        rsa::BigUint::from(*exponent),
    )
    .map_err(|e| EvidenceError::Credential(format!("EK RSA key: {e}")))?;
    let padding = rsa::Oaep::new_with_label::<Sha256, _>("IDENTITY\0");
    let encrypted_secret = key
        .encrypt(&mut OsRng, padding, &seed)
        .map_err(|e| EvidenceError::Credential(format!("RSA-OAEP: {e}")))?;

    let sym_key = kdfa_sha256(&seed, "STORAGE", ak_name, &[], 128);
    let mut enc_identity = (credential.len() as u16).to_be_bytes().to_vec();
    enc_identity.extend_from_slice(credential);
    cfb_mode::Encryptor::<aes::Aes128>::new_from_slices(&sym_key, &[0u8; 16])
        .map_err(|e| EvidenceError::Credential(format!("AES key: {e}")))?
        .encrypt(&mut enc_identity);

    let hmac_key = kdfa_sha256(&seed, "INTEGRITY", &[], &[], 256);
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&hmac_key).unwrap_or_else(|_| unreachable!());
    mac.update(&enc_identity);
    mac.update(ak_name);
    let outer = mac.finalize().into_bytes();

    let mut id_object = (outer.len() as u16).to_be_bytes().to_vec();
    id_object.extend_from_slice(&outer);
    id_object.extend_from_slice(&enc_identity);
    Ok(CredentialBlob {
        id_object,
        encrypted_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdfa_matches_a_hand_computed_block() {
        // One block = one HMAC; check the counter, label NUL and length encoding.
        let got = kdfa_sha256(b"key", "STORAGE", b"u", b"v", 128);
        let mut mac = <HmacSha256 as Mac>::new_from_slice(b"key").unwrap();
        mac.update(b"\x00\x00\x00\x01STORAGE\x00uv\x00\x00\x00\x80");
        assert_eq!(got, mac.finalize().into_bytes()[..16].to_vec());
        assert_eq!(kdfa_sha256(b"k", "INTEGRITY", b"", b"", 256).len(), 32);
        assert_eq!(kdfa_sha256(b"k", "X", b"", b"", 512).len(), 64);
    }
}

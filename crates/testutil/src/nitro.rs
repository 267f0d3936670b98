//! Synthetic AWS Nitro Enclaves attestation documents: a P-384 chain root → intermediate
//! → signing certificate made with rcgen, and COSE_Sign1 (ES384) documents signed by it.
//! Real documents can only come from an enclave, and AWS's sample binds no cairn
//! envelope; these exercise the binding, policy and chain checks end to end.

use std::collections::BTreeMap;

use aws_nitro_enclaves_nsm_api::api::{AttestationDoc, Digest as NsmDigest};
use base64::Engine as _;
use coset::{iana, CborSerializable, CoseSign1Builder, HeaderBuilder};
use p384::ecdsa::signature::Signer as _;
use p384::pkcs8::DecodePrivateKey as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, PKCS_ECDSA_P384_SHA384};
use sha2::Digest as _;
use time::macros::datetime;

/// The PCR0 (launch measurement) the synthetic enclave reports.
pub const PCR0: [u8; 48] = [0x11; 48];
/// `timestamp` of synthetic documents: 2025-10-09T08:53:20Z.
pub const TIMESTAMP_MS: u64 = 1_760_000_000_000;

pub struct SyntheticNitro {
    pub root: Vec<u8>,
    pub intermediate: Vec<u8>,
    pub leaf: Vec<u8>,
    pub leaf_key: p384::ecdsa::SigningKey,
}

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = datetime!(2025-01-01 00:00:00 UTC);
    p.not_after = datetime!(2035-01-01 00:00:00 UTC);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    p
}

impl SyntheticNitro {
    /// A fresh chain, valid 2025-01-01 to 2035-01-01.
    pub fn new() -> Self {
        Self::with_intermediate_ca(true)
    }

    /// A chain whose intermediate is (or, for negative tests, is not) a CA.
    pub fn with_intermediate_ca(intermediate_is_ca: bool) -> Self {
        let gen = || KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("P-384 keygen");
        let (root_key, int_key, leaf_key) = (gen(), gen(), gen());
        let root = params("test.nitro-root", true)
            .self_signed(&root_key)
            .expect("root");
        let int = params("test.nitro-intermediate", intermediate_is_ca)
            .signed_by(&int_key, &root, &root_key)
            .expect("intermediate");
        let leaf = params("test.nitro-enclave", false)
            .signed_by(&leaf_key, &int, &int_key)
            .expect("leaf");
        SyntheticNitro {
            root: root.der().to_vec(),
            intermediate: int.der().to_vec(),
            leaf: leaf.der().to_vec(),
            leaf_key: p384::ecdsa::SigningKey::from_pkcs8_der(&leaf_key.serialize_der())
                .expect("PKCS#8"),
        }
    }

    /// SHA-256 of the root's DER: what a verifier pins.
    pub fn root_sha256(&self) -> [u8; 32] {
        sha2::Sha256::digest(&self.root).into()
    }

    /// The root as PEM (for `--nitro-root`).
    pub fn root_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.root);
        let body: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            body.join("\n")
        )
    }

    /// A signed document with this user data and PCR0 (PCR1 non-zero, PCR2 zero).
    pub fn document(&self, user_data: Option<Vec<u8>>, pcr0: [u8; 48]) -> Vec<u8> {
        let mut pcrs = BTreeMap::new();
        pcrs.insert(0, pcr0.to_vec());
        pcrs.insert(1, vec![0x22; 48]);
        pcrs.insert(2, vec![0; 48]);
        let doc = AttestationDoc::new(
            "i-test-enc0001".into(),
            NsmDigest::SHA384,
            TIMESTAMP_MS,
            pcrs,
            self.leaf.clone(),
            vec![self.root.clone(), self.intermediate.clone()],
            user_data,
            None,
            None,
        );
        self.sign(doc.to_binary())
    }

    /// COSE_Sign1 (ES384, empty external AAD) of `payload` by the signing certificate's key.
    pub fn sign(&self, payload: Vec<u8>) -> Vec<u8> {
        CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES384)
                    .build(),
            )
            .payload(payload)
            .create_signature(b"", |data| {
                let sig: p384::ecdsa::Signature = self.leaf_key.sign(data);
                sig.to_vec()
            })
            .build()
            .to_vec()
            .expect("COSE encoding")
    }
}

impl Default for SyntheticNitro {
    fn default() -> Self {
        Self::new()
    }
}

//! Keys: generation, PEM (PKCS#8 private, SPKI public), key ids, signing, verification.
//!
//! A key id is the lowercase hex SHA-256 of the public key's SPKI DER, so any party can
//! recompute it from the `.pub` file alone.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, PqdsaKeyPair,
    VerificationAlgorithm,
};
use spki::der::Decode;
use spki::ObjectIdentifier;
use zeroize::Zeroizing;

use crate::digest::sha256;
use crate::error::KeyError;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ML_DSA_65: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18");

/// Signature algorithms cairn signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    MlDsa65,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Ed25519,
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
        Algorithm::MlDsa65,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::EcdsaP384 => "ecdsa-p384",
            Algorithm::MlDsa65 => "ml-dsa-65",
        }
    }

    /// True for the post-quantum algorithms.
    pub fn is_post_quantum(self) -> bool {
        matches!(self, Algorithm::MlDsa65)
    }

    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Algorithm::Ed25519 => &signature::ED25519,
            Algorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
            Algorithm::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
            Algorithm::MlDsa65 => &signature::ML_DSA_65,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| KeyError::UnknownAlgorithmName(s.to_string()))
    }
}

/// A public key that verifies signatures.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: Algorithm,
    spki_der: Vec<u8>,
    key_id: String,
    parsed: std::sync::Arc<ParsedPublicKey>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl PublicKey {
    /// Parses SPKI DER and identifies the algorithm from its OIDs.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let what = "public key";
        let info =
            spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::Malformed {
                what,
                reason: format!("not a SubjectPublicKeyInfo: {e}"),
            })?;
        let oid = info.algorithm.oid;
        let algorithm = if oid == OID_ED25519 {
            Algorithm::Ed25519
        } else if oid == OID_ML_DSA_65 {
            Algorithm::MlDsa65
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| KeyError::Malformed {
                    what,
                    reason: "EC key without a named curve".into(),
                })?;
            if curve == OID_P256 {
                Algorithm::EcdsaP256
            } else if curve == OID_P384 {
                Algorithm::EcdsaP384
            } else {
                return Err(KeyError::UnsupportedAlgorithm {
                    what,
                    found: format!("EC curve {curve}"),
                });
            }
        } else {
            return Err(KeyError::UnsupportedAlgorithm {
                what,
                found: format!("OID {oid}"),
            });
        };
        let parsed = ParsedPublicKey::new(algorithm.verification(), der).map_err(|e| {
            KeyError::Malformed {
                what,
                reason: format!("{algorithm} key rejected: {e}"),
            }
        })?;
        Ok(PublicKey {
            algorithm,
            key_id: hex::encode(sha256(der)),
            spki_der: der.to_vec(),
            parsed: std::sync::Arc::new(parsed),
        })
    }

    /// Parses a `PUBLIC KEY` PEM block (SPKI).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::parse(text).map_err(|e| KeyError::NotPem {
            what: "public key",
            reason: e.to_string(),
        })?;
        if block.tag() != "PUBLIC KEY" {
            return Err(KeyError::WrongPemLabel {
                what: "public key",
                expected: "PUBLIC KEY",
                found: block.tag().to_string(),
            });
        }
        PublicKey::from_spki_der(block.contents())
    }

    pub fn from_pem_file(path: &Path) -> Result<Self, KeyError> {
        let text = read_limited(path)?;
        PublicKey::from_pem(&text)
    }

    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.spki_der.clone()))
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Hex SHA-256 of the SPKI DER.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        self.parsed
            .verify_sig(message, sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

enum Inner {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    MlDsa(PqdsaKeyPair),
}

/// A private signing key. Its PKCS#8 form is only ever held in zeroizing buffers.
pub struct PrivateKey {
    inner: Inner,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("PrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

fn ecdsa_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    }
}

impl PrivateKey {
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let fail = |_| KeyError::Malformed {
            what: "key generation",
            reason: "the crypto backend refused".into(),
        };
        let inner = match algorithm {
            Algorithm::Ed25519 => Inner::Ed25519(Ed25519KeyPair::generate().map_err(fail)?),
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                Inner::Ecdsa(EcdsaKeyPair::generate(ecdsa_signing(algorithm)).map_err(fail)?)
            }
            Algorithm::MlDsa65 => {
                Inner::MlDsa(PqdsaKeyPair::generate(&signature::ML_DSA_65_SIGNING).map_err(fail)?)
            }
        };
        PrivateKey::from_inner(inner, algorithm)
    }

    fn from_inner(inner: Inner, algorithm: Algorithm) -> Result<Self, KeyError> {
        let der = match &inner {
            Inner::Ed25519(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ecdsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::MlDsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Malformed {
            what: "private key",
            reason: "cannot encode its public key".into(),
        })?;
        let public = PublicKey::from_spki_der(&der)?;
        debug_assert_eq!(public.algorithm, algorithm);
        Ok(PrivateKey { inner, public })
    }

    /// Parses PKCS#8 DER, trying each supported algorithm.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        if let Ok(k) = Ed25519KeyPair::from_pkcs8(der) {
            return PrivateKey::from_inner(Inner::Ed25519(k), Algorithm::Ed25519);
        }
        for alg in [Algorithm::EcdsaP256, Algorithm::EcdsaP384] {
            if let Ok(k) = EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), der) {
                return PrivateKey::from_inner(Inner::Ecdsa(k), alg);
            }
        }
        if let Ok(k) = PqdsaKeyPair::from_pkcs8(&signature::ML_DSA_65_SIGNING, der) {
            return PrivateKey::from_inner(Inner::MlDsa(k), Algorithm::MlDsa65);
        }
        Err(KeyError::UnsupportedAlgorithm {
            what: "private key",
            found: "a PKCS#8 key that is not ed25519, ecdsa-p256, ecdsa-p384 or ml-dsa-65".into(),
        })
    }

    /// Parses a `PRIVATE KEY` PEM block (unencrypted PKCS#8).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::parse(text).map_err(|e| KeyError::NotPem {
            what: "private key",
            reason: e.to_string(),
        })?;
        if block.tag() != "PRIVATE KEY" {
            return Err(KeyError::WrongPemLabel {
                what: "private key",
                expected: "PRIVATE KEY",
                found: block.tag().to_string(),
            });
        }
        let der = Zeroizing::new(block.into_contents());
        PrivateKey::from_pkcs8_der(&der)
    }

    pub fn from_pem_file(path: &Path) -> Result<Self, KeyError> {
        let text = Zeroizing::new(read_limited(path)?);
        PrivateKey::from_pem(&text)
    }

    /// PKCS#8 v1 PEM, the form OpenSSL and Python's `cryptography` read.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let fail = |_| KeyError::Malformed {
            what: "private key",
            reason: "cannot encode as PKCS#8".into(),
        };
        let doc = match &self.inner {
            Inner::Ed25519(k) => k.to_pkcs8v1().map_err(fail)?,
            Inner::Ecdsa(k) => k.to_pkcs8v1().map_err(fail)?,
            Inner::MlDsa(k) => k.to_pkcs8v1().map_err(fail)?,
        };
        let der = Zeroizing::new(doc.as_ref().to_vec());
        Ok(Zeroizing::new(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            der.to_vec(),
        ))))
    }

    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub fn key_id(&self) -> &str {
        self.public.key_id()
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Inner::Ecdsa(k) => k
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::SigningFailed),
            Inner::MlDsa(k) => {
                let mut sig = vec![0u8; signature::ML_DSA_65_SIGNING.signature_len()];
                let n = k
                    .sign(message, &mut sig)
                    .map_err(|_| KeyError::SigningFailed)?;
                sig.truncate(n);
                Ok(sig)
            }
        }
    }

    /// Writes `<base>.key` (PKCS#8 PEM, mode 0600, created exclusively) and `<base>.pub`
    /// (SPKI PEM). Refuses to overwrite either file; on failure nothing is left behind.
    pub fn write_pair(
        &self,
        base: &Path,
    ) -> Result<(std::path::PathBuf, std::path::PathBuf), KeyError> {
        let key_path = with_suffix(base, "key");
        let pub_path = with_suffix(base, "pub");
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(KeyError::Exists {
                    path: p.display().to_string(),
                });
            }
        }
        let pem = self.to_pkcs8_pem()?;
        write_new(&key_path, pem.as_bytes(), 0o600)?;
        if let Err(e) = write_new(&pub_path, self.public.to_pem().as_bytes(), 0o644) {
            let _ = std::fs::remove_file(&key_path);
            return Err(e);
        }
        Ok((key_path, pub_path))
    }
}

fn with_suffix(base: &Path, ext: &str) -> std::path::PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    s.into()
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    let mut f = opts.open(path).map_err(io)?;
    let r = f.write_all(bytes).and_then(|_| f.sync_all());
    if let Err(e) = r {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

/// Key files are small; refuse anything over 1 MiB rather than read it.
fn read_limited(path: &Path) -> Result<String, KeyError> {
    const MAX: u64 = 1 << 20;
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX {
        return Err(KeyError::Malformed {
            what: "key file",
            reason: format!(
                "{} is {} bytes, over the 1 MiB limit",
                path.display(),
                meta.len()
            ),
        });
    }
    std::fs::read_to_string(path).map_err(io)
}

//! TPMS_ATTEST, TPMT_PUBLIC and TPMT_SIGNATURE (TPM 2.0 Part 2), parsed strictly: every
//! length is bounded, unknown algorithms are refused, trailing bytes are an error.

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::wire::Reader;
use crate::error::EvidenceError;

pub const TPM_GENERATED: u32 = 0xff54_4347;
pub const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
pub const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;

pub const ALG_RSA: u16 = 0x0001;
pub const ALG_AES: u16 = 0x0006;
pub const ALG_SHA256: u16 = 0x000b;
pub const ALG_SHA384: u16 = 0x000c;
pub const ALG_SHA512: u16 = 0x000d;
pub const ALG_NULL: u16 = 0x0010;
pub const ALG_RSASSA: u16 = 0x0014;
pub const ALG_RSAPSS: u16 = 0x0016;
pub const ALG_ECDSA: u16 = 0x0018;
pub const ALG_ECDAA: u16 = 0x001a;
pub const ALG_ECC: u16 = 0x0023;
pub const ALG_CFB: u16 = 0x0043;
pub const ECC_NIST_P256: u16 = 0x0003;
pub const ECC_NIST_P384: u16 = 0x0004;

/// TPMA_OBJECT bits (Part 2, 8.3).
pub mod attr {
    pub const FIXED_TPM: u32 = 1 << 1;
    pub const FIXED_PARENT: u32 = 1 << 4;
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    pub const RESTRICTED: u32 = 1 << 16;
    pub const DECRYPT: u32 = 1 << 17;
    pub const SIGN: u32 = 1 << 18;
}

/// Largest TPM2B we accept: RSA-4096 moduli and signatures are 512 bytes; names and
/// digests are far smaller.
const MAX_TPM2B: usize = 1024;

/// A hash algorithm the verifier accepts. SHA-1 is deliberately absent: a SHA-1 bank,
/// name or signature is refused as unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn from_tpm(id: u16) -> Option<Self> {
        Some(match id {
            ALG_SHA256 => HashAlg::Sha256,
            ALG_SHA384 => HashAlg::Sha384,
            ALG_SHA512 => HashAlg::Sha512,
            _ => return None,
        })
    }
    pub fn tpm_id(self) -> u16 {
        match self {
            HashAlg::Sha256 => ALG_SHA256,
            HashAlg::Sha384 => ALG_SHA384,
            HashAlg::Sha512 => ALG_SHA512,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sha256" => HashAlg::Sha256,
            "sha384" => HashAlg::Sha384,
            "sha512" => HashAlg::Sha512,
            _ => return None,
        })
    }
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
    pub fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        match self {
            HashAlg::Sha256 => run::<Sha256>(parts),
            HashAlg::Sha384 => run::<Sha384>(parts),
            HashAlg::Sha512 => run::<Sha512>(parts),
        }
    }
}

/// One TPMS_PCR_SELECTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSelection {
    pub hash: u16,
    /// Selected PCR indices, ascending.
    pub pcrs: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockInfo {
    pub clock: u64,
    pub reset_count: u32,
    pub restart_count: u32,
    pub safe: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    Quote {
        pcr_select: Vec<PcrSelection>,
        pcr_digest: Vec<u8>,
    },
    Certify {
        name: Vec<u8>,
        qualified_name: Vec<u8>,
    },
}

/// A parsed TPMS_ATTEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attest {
    pub magic: u32,
    pub attest_type: u16,
    pub qualified_signer: Vec<u8>,
    pub extra_data: Vec<u8>,
    pub clock_info: ClockInfo,
    pub firmware_version: u64,
    pub attested: Attested,
}

impl Attest {
    /// Parses the raw bytes the signature covers. Magic and type are parsed, not
    /// judged: the verifier checks them and names the failure.
    pub fn parse(bytes: &[u8]) -> Result<Attest, EvidenceError> {
        let mut r = Reader::new("TPMS_ATTEST", bytes);
        let magic = r.u32("magic")?;
        let attest_type = r.u16("type")?;
        let qualified_signer = r.tpm2b("qualifiedSigner", 2 + 64)?.to_vec();
        let extra_data = r.tpm2b("extraData", 64)?.to_vec();
        let clock_info = ClockInfo {
            clock: r.u64("clockInfo.clock")?,
            reset_count: r.u32("clockInfo.resetCount")?,
            restart_count: r.u32("clockInfo.restartCount")?,
            safe: match r.u8("clockInfo.safe")? {
                0 => false,
                1 => true,
                v => {
                    return Err(r.err(
                        "clockInfo.safe",
                        format!("TPMI_YES_NO must be 0 or 1, found {v}"),
                    ))
                }
            },
        };
        let firmware_version = r.u64("firmwareVersion")?;
        let attested = match attest_type {
            TPM_ST_ATTEST_QUOTE => {
                let count = r.u32("attested.quote.pcrSelect.count")?;
                if count > 16 {
                    return Err(r.err(
                        "attested.quote.pcrSelect.count",
                        format!("{count} banks is more than any TPM has"),
                    ));
                }
                let mut pcr_select = Vec::new();
                for _ in 0..count {
                    let hash = r.u16("attested.quote.pcrSelect.hash")?;
                    let size = r.u8("attested.quote.pcrSelect.sizeofSelect")? as usize;
                    if size > 4 {
                        return Err(r.err(
                            "attested.quote.pcrSelect.sizeofSelect",
                            format!("{size} bytes is more than 32 PCRs"),
                        ));
                    }
                    let bits = r.bytes(size, "attested.quote.pcrSelect.pcrSelect")?;
                    let mut pcrs = Vec::new();
                    for (i, byte) in bits.iter().enumerate() {
                        for b in 0..8 {
                            if byte & (1 << b) != 0 {
                                pcrs.push((i * 8 + b) as u32);
                            }
                        }
                    }
                    pcr_select.push(PcrSelection { hash, pcrs });
                }
                let pcr_digest = r.tpm2b("attested.quote.pcrDigest", 64)?.to_vec();
                Attested::Quote {
                    pcr_select,
                    pcr_digest,
                }
            }
            TPM_ST_ATTEST_CERTIFY => Attested::Certify {
                name: r.tpm2b("attested.certify.name", 2 + 64)?.to_vec(),
                qualified_name: r.tpm2b("attested.certify.qualifiedName", 2 + 64)?.to_vec(),
            },
            other => {
                return Err(EvidenceError::WrongAttestType {
                    found: other,
                    expected: TPM_ST_ATTEST_QUOTE,
                    name: "TPM_ST_ATTEST_QUOTE",
                })
            }
        };
        r.finish()?;
        Ok(Attest {
            magic,
            attest_type,
            qualified_signer,
            extra_data,
            clock_info,
            firmware_version,
            attested,
        })
    }
}

/// The key part of a TPMT_PUBLIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa {
        modulus: Vec<u8>,
        exponent: u32,
        scheme: u16,
        scheme_hash: Option<u16>,
        symmetric: Option<(u16, u16, u16)>,
    },
    Ecc {
        curve: u16,
        x: Vec<u8>,
        y: Vec<u8>,
        scheme: u16,
        scheme_hash: Option<u16>,
        symmetric: Option<(u16, u16, u16)>,
    },
}

/// A parsed TPMT_PUBLIC plus the exact bytes it came from (names hash those bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Public {
    pub raw: Vec<u8>,
    pub name_alg: u16,
    pub attributes: u32,
    pub auth_policy: Vec<u8>,
    pub key: PublicKey,
}

impl Public {
    /// Parses a TPMT_PUBLIC (no size prefix).
    pub fn parse(bytes: &[u8]) -> Result<Public, EvidenceError> {
        let mut r = Reader::new("TPMT_PUBLIC", bytes);
        let key_type = r.u16("type")?;
        let name_alg = r.u16("nameAlg")?;
        let attributes = r.u32("objectAttributes")?;
        let auth_policy = r.tpm2b("authPolicy", 64)?.to_vec();
        let symmetric = match r.u16("parameters.symmetric.algorithm")? {
            ALG_NULL => None,
            alg => Some((
                alg,
                r.u16("parameters.symmetric.keyBits")?,
                r.u16("parameters.symmetric.mode")?,
            )),
        };
        let key = match key_type {
            ALG_RSA => {
                let scheme = r.u16("parameters.scheme.scheme")?;
                // RSAES (0x0015) carries no hash; the signing and OAEP schemes do.
                let scheme_hash = match scheme {
                    ALG_NULL | 0x0015 => None,
                    _ => Some(r.u16("parameters.scheme.hashAlg")?),
                };
                let _key_bits = r.u16("parameters.keyBits")?;
                let exponent = r.u32("parameters.exponent")?;
                let modulus = r.tpm2b("unique.rsa", 512)?.to_vec();
                PublicKey::Rsa {
                    modulus,
                    exponent: if exponent == 0 { 65537 } else { exponent },
                    scheme,
                    scheme_hash,
                    symmetric,
                }
            }
            ALG_ECC => {
                let scheme = r.u16("parameters.scheme.scheme")?;
                let scheme_hash = match scheme {
                    ALG_NULL => None,
                    _ => Some(r.u16("parameters.scheme.hashAlg")?),
                };
                if scheme == ALG_ECDAA {
                    r.u16("parameters.scheme.count")?;
                }
                let curve = r.u16("parameters.curveID")?;
                if r.u16("parameters.kdf.scheme")? != ALG_NULL {
                    r.u16("parameters.kdf.hashAlg")?;
                }
                let x = r.tpm2b("unique.ecc.x", 66)?.to_vec();
                let y = r.tpm2b("unique.ecc.y", 66)?.to_vec();
                PublicKey::Ecc {
                    curve,
                    x,
                    y,
                    scheme,
                    scheme_hash,
                    symmetric,
                }
            }
            other => {
                return Err(EvidenceError::UnsupportedAlgorithm {
                    what: "TPMT_PUBLIC",
                    field: "type",
                    value: other,
                })
            }
        };
        r.finish()?;
        Ok(Public {
            raw: bytes.to_vec(),
            name_alg,
            attributes,
            auth_policy,
            key,
        })
    }

    /// Parses a TPM2B_PUBLIC (16-bit size, then TPMT_PUBLIC).
    pub fn parse_tpm2b(bytes: &[u8]) -> Result<Public, EvidenceError> {
        let mut r = Reader::new("TPM2B_PUBLIC", bytes);
        let inner = r.tpm2b("size", MAX_TPM2B)?;
        r.finish()?;
        Public::parse(inner)
    }

    /// The object's name: nameAlg (big-endian) followed by H_nameAlg(TPMT_PUBLIC).
    pub fn name(&self) -> Result<Vec<u8>, EvidenceError> {
        let alg = match HashAlg::from_tpm(self.name_alg) {
            Some(a) => a,
            None => {
                return Err(EvidenceError::UnsupportedAlgorithm {
                    what: "TPMT_PUBLIC",
                    field: "nameAlg",
                    value: self.name_alg,
                })
            }
        };
        let mut out = self.name_alg.to_be_bytes().to_vec();
        out.extend_from_slice(&alg.hash(&[&self.raw]));
        Ok(out)
    }
}

/// A parsed TPMT_SIGNATURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    Ecdsa {
        hash: u16,
        r: Vec<u8>,
        s: Vec<u8>,
    },
    Rsa {
        scheme: u16,
        hash: u16,
        sig: Vec<u8>,
    },
}

impl Signature {
    pub fn parse(bytes: &[u8]) -> Result<Signature, EvidenceError> {
        let mut r = Reader::new("TPMT_SIGNATURE", bytes);
        let sig = match r.u16("sigAlg")? {
            ALG_ECDSA => Signature::Ecdsa {
                hash: r.u16("signature.ecdsa.hash")?,
                r: r.tpm2b("signature.ecdsa.signatureR", 66)?.to_vec(),
                s: r.tpm2b("signature.ecdsa.signatureS", 66)?.to_vec(),
            },
            scheme @ (ALG_RSASSA | ALG_RSAPSS) => Signature::Rsa {
                scheme,
                hash: r.u16("signature.rsa.hash")?,
                sig: r.tpm2b("signature.rsa.sig", 512)?.to_vec(),
            },
            other => {
                return Err(EvidenceError::UnsupportedAlgorithm {
                    what: "TPMT_SIGNATURE",
                    field: "sigAlg",
                    value: other,
                })
            }
        };
        r.finish()?;
        Ok(sig)
    }
}

/// Computes the quote's pcrDigest: H(concatenation of the selected PCR values in
/// selection order).
pub fn pcr_digest(alg: HashAlg, values: &[&[u8]]) -> Vec<u8> {
    alg.hash(values)
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

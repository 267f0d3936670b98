//! The EK certificate: chain to a trusted TPM manufacturer root, the TCG EK EKU, and the
//! key the TPM reports.

use ::time::OffsetDateTime;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey as SpkiKey;

use crate::error::EvidenceError;
use crate::tpm::structures::{Public, PublicKey};

/// tcg-kp-EKCertificate (TCG EK Credential Profile).
pub const TCG_KP_EK_CERTIFICATE: &str = "2.23.133.8.1";

/// Chains longer than this are refused (real EK chains are 2-4 certificates).
pub const MAX_CHAIN: usize = 6;

/// What the verifier learnt about a verified EK certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEkCert {
    pub subject: String,
    pub issuer: String,
    /// Subject of the trusted root the chain ended at.
    pub root: String,
}

fn parse<'a>(der: &'a [u8], label: &str) -> Result<X509Certificate<'a>, EvidenceError> {
    match X509Certificate::from_der(der) {
        Ok(([], c)) => Ok(c),
        Ok(_) => Err(EvidenceError::EkChain(format!(
            "{label}: trailing bytes after the certificate"
        ))),
        Err(e) => Err(EvidenceError::EkChain(format!(
            "{label}: not a DER X.509 certificate: {e}"
        ))),
    }
}

/// Verifies `chain` (EK certificate first, then any intermediates) up to one of `roots`
/// (DER), at time `now`.
pub fn verify_ek_chain(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<VerifiedEkCert, EvidenceError> {
    if roots.is_empty() {
        return Err(EvidenceError::EkChain(
            "no trusted TPM manufacturer roots configured (--tpm-ca)".into(),
        ));
    }
    let leaf_der = chain
        .first()
        .ok_or_else(|| EvidenceError::EkChain("empty chain".into()))?;
    if chain.len() > MAX_CHAIN {
        return Err(EvidenceError::EkChain(format!(
            "{} certificates exceed the limit of {MAX_CHAIN}",
            chain.len()
        )));
    }
    let leaf = parse(leaf_der, "EK certificate")?;
    let intermediates = chain[1..]
        .iter()
        .enumerate()
        .map(|(i, d)| parse(d, &format!("chain[{}]", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let roots = roots
        .iter()
        .enumerate()
        .map(|(i, d)| parse(d, &format!("root[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let at = ASN1Time::from(now);

    let eku = leaf
        .extended_key_usage()
        .map_err(|e| EvidenceError::EkCertificate(format!("bad extendedKeyUsage: {e}")))?
        .ok_or_else(|| {
            EvidenceError::EkCertificate(format!(
                "no extendedKeyUsage; expected tcg-kp-EKCertificate ({TCG_KP_EK_CERTIFICATE})"
            ))
        })?;
    if !eku
        .value
        .other
        .iter()
        .any(|o| o.to_id_string() == TCG_KP_EK_CERTIFICATE)
    {
        return Err(EvidenceError::EkCertificate(format!(
            "extendedKeyUsage lacks tcg-kp-EKCertificate ({TCG_KP_EK_CERTIFICATE})"
        )));
    }

    let mut current = &leaf;
    let mut label = "EK certificate".to_string();
    for _ in 0..MAX_CHAIN {
        if !current.validity().is_valid_at(at) {
            return Err(EvidenceError::EkChain(format!(
                "{label} ({}) is not valid at {now}: valid {} to {}",
                current.subject(),
                current.validity().not_before,
                current.validity().not_after
            )));
        }
        // A trusted root that issued `current` ends the walk.
        for root in &roots {
            if root.subject().as_raw() == current.issuer().as_raw()
                && current.verify_signature(Some(root.public_key())).is_ok()
            {
                if !root.validity().is_valid_at(at) {
                    return Err(EvidenceError::EkChain(format!(
                        "trusted root {} is not valid at {now}",
                        root.subject()
                    )));
                }
                return Ok(VerifiedEkCert {
                    subject: leaf.subject().to_string(),
                    issuer: leaf.issuer().to_string(),
                    root: root.subject().to_string(),
                });
            }
        }
        // Names are not unique (every swtpm local CA is "CN=swtpm-localca"): the issuer
        // is the chain certificate with that name whose key verifies the signature.
        let named: Vec<&X509Certificate> = intermediates
            .iter()
            .filter(|c| c.subject().as_raw() == current.issuer().as_raw())
            .collect();
        let next = named
            .iter()
            .copied()
            .find(|c| current.verify_signature(Some(c.public_key())).is_ok());
        let Some(next) = next else {
            let why = if named.is_empty()
                && roots
                    .iter()
                    .all(|r| r.subject().as_raw() != current.issuer().as_raw())
            {
                "which is neither a trusted TPM manufacturer root nor in the chain"
            } else {
                "but no trusted TPM manufacturer root or chain certificate of that name verifies its signature"
            };
            return Err(EvidenceError::EkChain(format!(
                "{label} (subject {}) was issued by {}, {why}",
                current.subject(),
                current.issuer()
            )));
        };
        let is_ca = next
            .basic_constraints()
            .ok()
            .flatten()
            .map(|b| b.value.ca)
            .unwrap_or(false);
        if !is_ca {
            return Err(EvidenceError::EkChain(format!(
                "issuer {} is not a CA (basicConstraints)",
                next.subject()
            )));
        }
        label = format!("intermediate {}", next.subject());
        current = next;
    }
    Err(EvidenceError::EkChain(format!(
        "no trusted root within {MAX_CHAIN} certificates"
    )))
}

fn strip_zeros(v: &[u8]) -> &[u8] {
    let i = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    &v[i..]
}

/// Checks that the EK public the TPM reports is the key in the EK certificate.
pub fn ek_matches_cert(ek: &Public, cert_der: &[u8]) -> Result<(), EvidenceError> {
    let cert = parse(cert_der, "EK certificate")?;
    let spki = cert
        .public_key()
        .parsed()
        .map_err(|e| EvidenceError::EkCertificate(format!("unreadable public key: {e}")))?;
    let same = match (&ek.key, spki) {
        (
            PublicKey::Rsa {
                modulus, exponent, ..
            },
            SpkiKey::RSA(k),
        ) => {
            strip_zeros(modulus.as_slice()) == strip_zeros(k.modulus)
                && strip_zeros(&exponent.to_be_bytes()) == strip_zeros(k.exponent)
        }
        (PublicKey::Ecc { x, y, .. }, SpkiKey::EC(p)) => {
            let data = p.data();
            // Uncompressed SEC1 point: 0x04 ‖ X ‖ Y, each coordinate the curve's size.
            data.first() == Some(&4)
                && data.len() == 1 + x.len() + y.len()
                && data[1..1 + x.len()] == x[..]
                && data[1 + x.len()..] == y[..]
        }
        _ => false,
    };
    if !same {
        return Err(EvidenceError::EkKeyMismatch);
    }
    Ok(())
}

/// Decodes every certificate in a PEM bundle.
pub fn certs_from_pem(text: &[u8]) -> Result<Vec<Vec<u8>>, EvidenceError> {
    let items = ::pem::parse_many(text).map_err(|e| EvidenceError::EkChain(format!("PEM: {e}")))?;
    let certs: Vec<Vec<u8>> = items
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(EvidenceError::EkChain(
            "PEM input holds no CERTIFICATE block".into(),
        ));
    }
    Ok(certs)
}

/// DER certificates: (self-issued roots, intermediates).
pub type RootsAndIntermediates = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Splits CA certificates (e.g. the contents of `--ek-ca` files) into self-issued roots
/// and intermediates.
pub fn split_roots(certs: &[Vec<u8>]) -> Result<RootsAndIntermediates, EvidenceError> {
    let mut roots = Vec::new();
    let mut intermediates = Vec::new();
    for (i, der) in certs.iter().enumerate() {
        let c = parse(der, &format!("CA certificate {i}"))?;
        if c.subject().as_raw() == c.issuer().as_raw() {
            roots.push(der.clone());
        } else {
            intermediates.push(der.clone());
        }
    }
    if roots.is_empty() {
        return Err(EvidenceError::EkChain(
            "the CA certificates hold no self-issued root".into(),
        ));
    }
    Ok((roots, intermediates))
}

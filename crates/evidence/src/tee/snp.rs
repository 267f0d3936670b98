//! AMD SEV-SNP attestation reports (`sev` crate, pure-Rust `crypto_nossl` backend):
//! VCEK → ASK → ARK (AMD's built-in roots for Milan, Genoa, Turin), the report signature,
//! a non-debug guest policy, and REPORT_DATA = SHA-256(PAE) ‖ 32 zero bytes.

use ::time::OffsetDateTime;
use cairn_formats::Envelope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sev::certs::snp::{builtin, ca, Certificate, Verifiable};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;
use x509_parser::prelude::*;

use crate::error::EvidenceError;

pub const SNP_KIND: &str = "sev-snp";
/// Size of an SEV-SNP ATTESTATION_REPORT (SNP firmware ABI, table 22).
pub const REPORT_LEN: usize = 1184;

/// SHA-256 of AMD's ARK-Milan certificate (DER), pinned: the `sev` crate's built-in copy
/// must be this exact certificate.
pub const ARK_MILAN_SHA256: &str =
    "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd";

/// The `sev-snp` evidence entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnpEvidence {
    pub kind: String,
    /// Base64 of the 1184-byte report.
    pub report: String,
    /// Base64 DER of the VCEK certificate.
    pub vcek: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedSnp {
    /// AMD product line whose ARK/ASK signed the VCEK.
    pub product: String,
    pub measurement: String,
    pub report_data: String,
    pub policy: u64,
    pub vmpl: u32,
}

fn err(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::TeeReport {
        kind: SNP_KIND,
        reason: reason.into(),
    }
}

/// A certificate's subject and validity window, kept so cached roots need no re-parse.
struct Window {
    subject: String,
    validity: Validity,
}

impl Window {
    fn of(c: &X509Certificate<'_>) -> Window {
        Window {
            subject: c.subject().to_string(),
            validity: c.validity().clone(),
        }
    }

    fn check(&self, what: &str, now: OffsetDateTime) -> Result<(), EvidenceError> {
        if !self.validity.is_valid_at(ASN1Time::from(now)) {
            return Err(err(format!(
                "{what} ({}) is not valid at {now}: valid {} to {}",
                self.subject, self.validity.not_before, self.validity.not_after
            )));
        }
        Ok(())
    }
}

fn parse_x509<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, EvidenceError> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| err(format!("{what}: not a DER X.509 certificate: {e}")))
}

type Roots = fn() -> std::io::Result<Certificate>;

/// One AMD product line's built-in ARK and ASK, checked.
struct ProductRoots {
    name: &'static str,
    ask: Certificate,
    ark_window: Window,
    ask_window: Window,
}

const PRODUCTS: [(&str, Roots, Roots); 3] = [
    ("milan", builtin::milan::ark, builtin::milan::ask),
    ("genoa", builtin::genoa::ark, builtin::genoa::ask),
    ("turin", builtin::turin::ark, builtin::turin::ask),
];

/// AMD's built-in ARK → ASK pair of product `i`, checked once per process (lazily, so a
/// Milan report pays only for Milan's pair): the ARK is self-signed, signs the ASK, and
/// ARK-Milan is the pinned certificate. They never change, so checking them per report
/// (as `sev`'s `Chain` does, twice) would only repeat RSA-4096 verifications.
fn product_roots(i: usize) -> Result<&'static ProductRoots, EvidenceError> {
    type Slot = std::sync::OnceLock<Result<ProductRoots, String>>;
    static ROOTS: [Slot; 3] = [Slot::new(), Slot::new(), Slot::new()];
    let (name, ark, ask) = PRODUCTS[i];
    ROOTS[i]
        .get_or_init(|| {
            let (ark, ask) = (
                ark().map_err(|e| format!("built-in {name} ARK: {e}"))?,
                ask().map_err(|e| format!("built-in {name} ASK: {e}"))?,
            );
            ca::Chain {
                ark: ark.clone(),
                ask: ask.clone(),
            }
            .verify()
            .map_err(|e| format!("built-in {name} ARK/ASK do not verify: {e}"))?;
            let ark_der = ark.to_der().map_err(|e| format!("{name} ARK: {e}"))?;
            let ask_der = ask.to_der().map_err(|e| format!("{name} ASK: {e}"))?;
            if name == "milan"
                && hex::encode(crate::tpm::structures::sha256(&[&ark_der])) != ARK_MILAN_SHA256
            {
                return Err("the built-in ARK-Milan is not the pinned certificate".into());
            }
            let window = |der: &[u8], what: &str| {
                parse_x509(der, what)
                    .map(|c| Window::of(&c))
                    .map_err(|e| e.to_string())
            };
            Ok(ProductRoots {
                name,
                ark_window: window(&ark_der, "ARK")?,
                ask_window: window(&ask_der, "ASK")?,
                ask,
            })
        })
        .as_ref()
        .map_err(|e| err(e.clone()))
}

/// The subjects of the products' built-in ASKs, read once without verifying anything:
/// they pick the product whose ASK issued a VCEK, before its chain is checked.
fn ask_subjects() -> &'static [Option<String>; 3] {
    static SUBJECTS: std::sync::OnceLock<[Option<String>; 3]> = std::sync::OnceLock::new();
    SUBJECTS.get_or_init(|| {
        PRODUCTS.map(|(_, _, ask)| {
            let der = ask().ok()?.to_der().ok()?;
            X509Certificate::from_der(&der)
                .map(|(_, c)| c.subject().to_string())
                .ok()
        })
    })
}

/// VCEK extensions (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS
/// Interface Specification"): the TCB security patch levels the key was derived for, and
/// the chip's hardware id.
const VCEK_TCB_OIDS: [(&str, &str); 5] = [
    ("bootloader", "1.3.6.1.4.1.3704.1.3.1"),
    ("tee", "1.3.6.1.4.1.3704.1.3.2"),
    ("snp", "1.3.6.1.4.1.3704.1.3.3"),
    ("microcode", "1.3.6.1.4.1.3704.1.3.8"),
    ("fmc", "1.3.6.1.4.1.3704.1.3.9"),
];
const VCEK_HWID_OID: &str = "1.3.6.1.4.1.3704.1.4";

/// AMD's consistency rule: the report's `REPORTED_TCB` must be the TCB the VCEK was
/// issued for, and its `CHIP_ID` the VCEK's hwID (unless the guest masked the chip id,
/// which leaves it all zero). `reported` holds (name, SPL) in [`VCEK_TCB_OIDS`] order;
/// `None` for a field this report format does not carry (FMC before Turin).
pub fn check_vcek_matches_report(
    vcek_der: &[u8],
    reported: &[(&str, Option<u8>)],
    chip_id: &[u8; 64],
) -> Result<(), EvidenceError> {
    check_vcek_tcb(&parse_x509(vcek_der, "VCEK")?, reported, chip_id)
}

fn check_vcek_tcb(
    cert: &X509Certificate<'_>,
    reported: &[(&str, Option<u8>)],
    chip_id: &[u8; 64],
) -> Result<(), EvidenceError> {
    let ext = |oid: &str| {
        cert.extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == oid)
            .map(|e| e.value)
    };
    for ((name, oid), (rname, value)) in VCEK_TCB_OIDS.iter().zip(reported) {
        debug_assert_eq!(name, rname);
        let in_cert = match ext(oid) {
            Some(v) => Some(
                x509_parser::der_parser::der::parse_der_integer(v)
                    .ok()
                    .and_then(|(_, i)| i.as_u32().ok())
                    .ok_or_else(|| {
                        err(format!(
                            "VCEK extension {oid} ({name} SPL) is not an INTEGER"
                        ))
                    })?,
            ),
            None => None,
        };
        match (in_cert, value) {
            (Some(c), Some(r)) if c != u32::from(*r) => {
                return Err(err(format!(
                    "REPORTED_TCB.{name} is {r}, but the VCEK was issued for {name} SPL {c}: the report and the VCEK are from different TCBs"
                )))
            }
            (None, Some(_)) if *name != "fmc" => {
                return Err(err(format!("VCEK has no {name} SPL extension ({oid})")))
            }
            _ => {}
        }
    }
    if chip_id.iter().any(|b| *b != 0) {
        let hwid = ext(VCEK_HWID_OID)
            .ok_or_else(|| err(format!("VCEK has no hwID extension ({VCEK_HWID_OID})")))?;
        // An OCTET STRING, or (some AMD certificates) the raw 64 bytes.
        let hwid = x509_parser::der_parser::der::parse_der_octetstring(hwid)
            .ok()
            .and_then(|(_, o)| o.as_slice().ok().map(<[u8]>::to_vec))
            .unwrap_or_else(|| hwid.to_vec());
        if hwid != chip_id {
            return Err(err(
                "CHIP_ID does not equal the VCEK's hwID: the VCEK belongs to another chip",
            ));
        }
    }
    Ok(())
}

/// Verifies a report and its VCEK against AMD's roots at `now`. Does not look at
/// REPORT_DATA; see [`verify_snp_evidence`] for the binding.
pub fn verify_snp_report(
    report: &[u8],
    vcek_der: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedSnp, EvidenceError> {
    if report.len() != REPORT_LEN {
        return Err(err(format!(
            "report is {} bytes, expected {REPORT_LEN}",
            report.len()
        )));
    }
    let vcek_x509 = parse_x509(vcek_der, "VCEK")?;
    Window::of(&vcek_x509).check("VCEK", now)?;
    let vcek = Certificate::from_der(vcek_der).map_err(|e| err(format!("VCEK: {e}")))?;
    let issuer = vcek_x509.issuer().to_string();
    // The product whose ASK issued the VCEK (by name, then by signature).
    let product = (0..PRODUCTS.len())
        .filter(|i| ask_subjects()[*i].as_deref() == Some(issuer.as_str()))
        .map(product_roots)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|p| (&p.ask, &vcek).verify().is_ok())
        .ok_or_else(|| err("the VCEK does not chain to AMD's ARK/ASK for Milan, Genoa or Turin"))?;
    product.ark_window.check("ARK", now)?;
    product.ask_window.check("ASK", now)?;
    let parsed = AttestationReport::from_bytes(report).map_err(|e| err(format!("report: {e}")))?;
    // `sev` checks the signature over its own re-encoding of the parsed fields, which
    // drops bytes it does not model: refuse a report whose bytes do not round-trip, or a
    // flipped reserved byte would go unnoticed.
    let reencoded = parsed.to_bytes().map_err(|e| err(format!("report: {e}")))?;
    if let Some(at) = report
        .iter()
        .zip(reencoded.iter())
        .position(|(a, b)| a != b)
    {
        return Err(err(format!("byte 0x{at:03x} is not part of any field the verifier checks (reserved bytes must be zero as signed)")));
    }
    (&vcek, &parsed).verify().map_err(|e| {
        err(format!(
            "report signature does not verify with the VCEK: {e}"
        ))
    })?;
    if parsed.policy.debug_allowed() {
        return Err(err(
            "guest policy allows debugging (policy bit 19): its memory is readable by the host",
        ));
    }
    let t = &parsed.reported_tcb;
    check_vcek_tcb(
        &vcek_x509,
        &[
            ("bootloader", Some(t.bootloader)),
            ("tee", Some(t.tee)),
            ("snp", Some(t.snp)),
            ("microcode", Some(t.microcode)),
            ("fmc", t.fmc),
        ],
        &parsed.chip_id,
    )?;
    Ok(VerifiedSnp {
        product: product.name.into(),
        measurement: hex::encode(parsed.measurement),
        report_data: hex::encode(parsed.report_data),
        policy: parsed.policy.0,
        vmpl: parsed.vmpl,
    })
}

/// Verifies a `sev-snp` evidence entry, its binding to `envelope` and the launch
/// measurement policy (`MEASUREMENT`).
pub fn verify_snp_evidence(
    evidence: &Value,
    envelope: &Envelope,
    policy: &super::TeePolicy,
    now: OffsetDateTime,
) -> Result<VerifiedSnp, EvidenceError> {
    let what = "sev-snp evidence";
    let ev: SnpEvidence =
        crate::entry::parse_entry(what, SNP_KIND, |e: &SnpEvidence| &e.kind, evidence)?;
    let report = crate::entry::b64_field(what, "report", &ev.report)?;
    let vcek = crate::entry::b64_field(what, "vcek", &ev.vcek)?;
    let v = verify_snp_report(&report, &vcek, now)?;
    let data = hex::decode(&v.report_data).unwrap_or_default();
    super::check_report_data(SNP_KIND, &data, envelope)?;
    let measurement = hex::decode(&v.measurement).unwrap_or_default();
    policy.check_launch_measurement(SNP_KIND, "MEASUREMENT", &measurement)?;
    Ok(v)
}

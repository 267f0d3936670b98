//! Intel TDX quotes (`dcap-qvl`, ring backend, no network): the PCK chain to
//! Intel's SGX Root CA, the QE report and attestation-key signatures, the collateral
//! (TCB info, QE identity, CRLs, all signed and in date at `now`), the TCB status, a
//! non-debug TD, and REPORTDATA = SHA-256(PAE) ‖ 32 zero bytes.
//!
//! The collateral travels in the evidence entry, so the consumer needs no PCCS: the
//! build host fetches it once (Intel PCS or a PCCS) when it makes the quote.

use cairn_formats::Envelope;
use dcap_qvl::configs::RingConfig;
use dcap_qvl::quote::{AuthData, Quote, Report};
use dcap_qvl::verify::QuoteVerifier;
pub use dcap_qvl::QuoteCollateralV3;
use dcap_qvl::{QuotePolicy, TcbStatus};
use parity_scale_codec::Encode as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::TeePolicy;
use crate::error::EvidenceError;

pub const TDX_KIND: &str = "tdx-quote";
/// `tee_type` of a TDX quote (an SGX quote has 0).
const TEE_TYPE_TDX: u32 = 0x81;
/// Quotes are a few KiB; refuse anything far larger before parsing.
pub const MAX_QUOTE_LEN: usize = 64 * 1024;

/// Intel SGX Root CA (DER), the anchor of every PCK chain and of the collateral's
/// issuer chains; the same file dcap-qvl ships (it does not export it). Its SHA-256 is
/// [`INTEL_SGX_ROOT_SHA256`], as Intel publishes; a test recomputes it.
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("intel-sgx-root-ca.der");
pub const INTEL_SGX_ROOT_SHA256: &str =
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

/// The `tdx-quote` evidence entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TdxEvidence {
    pub kind: String,
    /// Base64 of the raw quote (v4 or v5).
    pub quote: String,
    /// The DCAP collateral, as dcap-qvl and Intel's PCCS serve it.
    pub collateral: QuoteCollateralV3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedTdx {
    /// Converged platform + QE TCB status (e.g. `UpToDate`).
    pub tcb_status: String,
    pub advisory_ids: Vec<String>,
    /// MRTD: the initial TD contents (firmware).
    pub mr_td: String,
    pub rtmr: [String; 4],
    pub mr_config_id: String,
    pub mr_owner: String,
    pub report_data: String,
}

fn err(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::TeeReport {
        kind: TDX_KIND,
        reason: reason.into(),
    }
}

fn now_secs(now: OffsetDateTime) -> Result<u64, EvidenceError> {
    u64::try_from(now.unix_timestamp()).map_err(|_| err("verification time is before 1970"))
}

fn parse_status(name: &str) -> Result<TcbStatus, EvidenceError> {
    serde_json::from_value(Value::String(name.to_string())).map_err(|_| {
        EvidenceError::Policy(format!(
            "unknown TDX TCB status {name:?} (known: UpToDate, SWHardeningNeeded, \
             ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, \
             OutOfDateConfigurationNeeded, TDRelaunchAdvised, TDRelaunchAdvisedConfigurationNeeded)"
        ))
    })
}

/// dcap-qvl's appraisal policy from cairn's: `UpToDate` plus the extra statuses, and the
/// platform flags the consumer accepts. Errors name an unknown status or flag.
pub(crate) fn quote_policy(policy: &TeePolicy, now: u64) -> Result<QuotePolicy, EvidenceError> {
    let mut quote_policy = QuotePolicy::strict(now);
    for s in &policy.tdx_extra_tcb_statuses {
        quote_policy = quote_policy.allow_status(parse_status(s)?);
    }
    for flag in &policy.tdx_allowed_platform_flags {
        quote_policy = match flag.as_str() {
            "dynamic-platform" => quote_policy.allow_dynamic_platform(true),
            "cached-keys" => quote_policy.allow_cached_keys(true),
            "smt" => quote_policy.allow_smt(true),
            other => {
                return Err(EvidenceError::Policy(format!(
                "unknown TDX platform flag {other:?} (known: dynamic-platform, cached-keys, smt)"
            )))
            }
        };
    }
    Ok(quote_policy)
}

/// Verifies a quote and its collateral against Intel's root at `now`, and applies the TCB
/// status policy (`UpToDate`, plus `policy.tdx_extra_tcb_statuses`). Does not look at
/// REPORTDATA; see [`verify_tdx_evidence`] for the binding.
pub fn verify_tdx_quote(
    quote: &[u8],
    collateral: &QuoteCollateralV3,
    policy: &TeePolicy,
    now: OffsetDateTime,
) -> Result<VerifiedTdx, EvidenceError> {
    if quote.len() > MAX_QUOTE_LEN {
        return Err(err(format!(
            "quote is {} bytes, more than the {MAX_QUOTE_LEN}-byte limit",
            quote.len()
        )));
    }
    // dcap-qvl reads the auth data through its own length prefix and ignores what
    // follows, so an unsigned length field or trailing byte could change without failing
    // verification. Require the declared part to be exactly the encoding of what was
    // parsed, and anything after it to be zero padding (quote generators pad their
    // buffers: the real sample carries 70 zero bytes).
    let parsed = Quote::parse(quote).map_err(|e| err(format!("quote: {e:#}")))?;
    let reencoded = parsed.encode();
    let declared = quote.get(..reencoded.len()).unwrap_or(quote);
    if let Some(at) = declared
        .iter()
        .zip(reencoded.iter())
        .position(|(a, b)| a != b)
        .or((declared.len() < reencoded.len()).then_some(declared.len()))
    {
        return Err(err(format!(
            "quote is not canonically encoded: byte {at} differs from the re-encoding of its parsed fields (a length field was altered)"
        )));
    }
    // v4/v5 auth data: the outer certification data must be type 6 (QE report
    // certification data) and the inner one type 5 (the PCK chain in PEM). dcap-qvl checks
    // only the inner type; the outer is unsigned and would otherwise be malleable.
    if let AuthData::V4(a) = &parsed.auth_data {
        if a.certification_data.cert_type != 6 {
            return Err(err(format!(
                "certification data type {} is not 6 (QE report certification data)",
                a.certification_data.cert_type
            )));
        }
    }
    // The PCK chain travels as PEM text, outside every signature; a parser tolerates
    // whitespace changes in it. Require the canonical form Intel's quote generator writes
    // (64-column base64, LF line ends, an optional NUL terminator), so no byte of the
    // quote can change without failing.
    if let Ok(chain) = parsed.raw_cert_chain() {
        let text = chain.strip_suffix(b"\0").unwrap_or(chain);
        let certs = pem::parse_many(text).map_err(|e| err(format!("PCK chain: {e}")))?;
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        let canonical: String = certs
            .iter()
            .map(|c| pem::encode_config(c, config))
            .collect();
        if canonical.as_bytes() != text {
            return Err(err(
                "the PCK certificate chain is not canonical PEM (64-column base64, LF line ends)",
            ));
        }
        // dcap-qvl anchors the chain on its trusted root and skips the copy the quote
        // carries; that copy must be the pinned root itself, byte for byte.
        if certs.last().map(pem::Pem::contents) != Some(INTEL_SGX_ROOT_CA_DER) {
            return Err(err(
                "the PCK certificate chain does not end in the Intel SGX Root CA cairn trusts",
            ));
        }
    }
    if let Some(off) = quote[reencoded.len()..].iter().position(|b| *b != 0) {
        return Err(err(format!(
            "byte {} after the quote's declared end is not zero padding",
            reencoded.len() + off
        )));
    }
    let now = now_secs(now)?;
    let quote_policy = quote_policy(policy, now)?;
    // dcap-qvl rejects debug TDs unless told otherwise, and service-TD-bound TDs too.
    let claims = QuoteVerifier::new(INTEL_SGX_ROOT_CA_DER.to_vec())
        .with_config::<RingConfig>()
        .verify_with_policy(quote, collateral.clone(), now, &quote_policy)
        .map_err(|e| {
            let msg = format!("{e:#}");
            let hint = [
                ("Dynamic platform", "dynamic-platform"),
                ("Cached keys", "cached-keys"),
                ("SMT", "smt"),
            ]
            .iter()
            .find(|(m, _)| msg.contains(m) && msg.contains("not allowed"))
            .map(|(_, flag)| format!(" (the consumer may accept it with --tdx-allow {flag})"))
            .unwrap_or_default();
            err(format!("{msg}{hint}"))
        })?;
    if claims.tee_type != TEE_TYPE_TDX {
        return Err(err(format!(
            "tee_type 0x{:x} is not TDX (0x81): an SGX enclave quote is not TD evidence",
            claims.tee_type
        )));
    }
    let td = match &claims.report {
        Report::TD10(r) => r,
        Report::TD15(r) => &r.base,
        Report::TD15Ex(r) => &r.base.base,
        Report::SgxEnclave(_) => return Err(err("the quote body is an SGX enclave report")),
    };
    let mut advisory_ids = claims.tcb.advisory_ids.clone();
    advisory_ids.sort();
    Ok(VerifiedTdx {
        tcb_status: claims.tcb.status.to_string(),
        advisory_ids,
        mr_td: hex::encode(td.mr_td),
        rtmr: [
            hex::encode(td.rt_mr0),
            hex::encode(td.rt_mr1),
            hex::encode(td.rt_mr2),
            hex::encode(td.rt_mr3),
        ],
        mr_config_id: hex::encode(td.mr_config_id),
        mr_owner: hex::encode(td.mr_owner),
        report_data: hex::encode(td.report_data),
    })
}

/// Verifies a `tdx-quote` evidence entry, its binding to `envelope` and the launch
/// measurement policy (MRTD).
pub fn verify_tdx_evidence(
    evidence: &Value,
    envelope: &Envelope,
    policy: &TeePolicy,
    now: OffsetDateTime,
) -> Result<VerifiedTdx, EvidenceError> {
    let ev: TdxEvidence = crate::entry::parse_entry(
        "tdx-quote evidence",
        TDX_KIND,
        |e: &TdxEvidence| &e.kind,
        evidence,
    )?;
    let quote = crate::entry::b64_field("tdx-quote evidence", "quote", &ev.quote)?;
    let v = verify_tdx_quote(&quote, &ev.collateral, policy, now)?;
    let data = hex::decode(&v.report_data).unwrap_or_default();
    super::check_report_data(TDX_KIND, &data, envelope)?;
    let mr_td = hex::decode(&v.mr_td).unwrap_or_default();
    policy.check_launch_measurement(TDX_KIND, "MRTD", &mr_td)?;
    Ok(v)
}

//! The `tpm2-quote` evidence entry and its verification (the checklist in
//! `docs/tpm.md`): AK binding → quote signature → magic/type → extraData → pcrDigest →
//! event-log replay → measurements against the provenance → golden PCRs → clock →
//! the certified signing key, when present.

use std::collections::BTreeMap;

use cairn_formats::dsse::WireEnvelope;
use cairn_formats::{Envelope, Statement};
use cairn_sign::PublicKey as SignKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::binding::verify_binding;
use crate::error::EvidenceError;
use crate::eventlog::{check_events, Event, BUILD_PCR};
use crate::measure::BuildMeasurements;
use crate::tpm::structures::{
    sha256, Attest, Attested, HashAlg, Signature, ALG_SHA256, TPM_GENERATED, TPM_ST_ATTEST_QUOTE,
};
use crate::tpm::verify_signature;

pub const TPM_QUOTE_KIND: &str = "tpm2-quote";

/// The evidence entry a TPM-attested build adds to its bundle attestation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TpmQuoteEvidence {
    pub kind: String,
    /// The enrollment authority's signed AK binding record.
    pub ak_binding: WireEnvelope,
    /// Base64 TPMS_ATTEST, exactly as signed.
    pub attest: String,
    /// Base64 TPMT_SIGNATURE.
    pub signature: String,
    /// Bank name → PCR index (decimal string) → hex value, for every quoted PCR.
    pub pcrs: BTreeMap<String, BTreeMap<String, String>>,
    /// The build event log (PCR 23 extends), in order.
    pub event_log: Vec<Event>,
    /// A TPM-resident key certified by the AK for this build, which signed the envelope
    /// (`crate::certified`). Absent when the host has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified_key: Option<crate::certified::CertifiedKeyEvidence>,
}

impl TpmQuoteEvidence {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What the verifier trusts for TPM evidence.
#[derive(Debug, Clone, Default)]
pub struct TpmTrust {
    /// DER certificates of trusted TPM manufacturer roots (`--tpm-ca`).
    pub manufacturer_roots: Vec<Vec<u8>>,
    /// Keys of trusted enrollment authorities (`--enrollment-key`).
    pub enrollment_keys: Vec<SignKey>,
    /// Optional golden SHA-256 PCR values (typically PCRs 0-7 of a host class).
    pub golden_pcrs: BTreeMap<u32, [u8; 32]>,
    /// When non-empty, the measured builder binary must be one of these.
    pub allowed_builder_binaries: Vec<[u8; 32]>,
}

impl TpmTrust {
    /// Loads trust from files: PEM certificates (`--tpm-ca`, repeatable; every certificate
    /// in each file is a trust anchor), enrollment public keys (`--enrollment-key`, SPKI
    /// PEM), an optional golden-PCR policy file and allowed builder digests (hex).
    pub fn from_files(
        tpm_ca: &[std::path::PathBuf],
        enrollment_keys: &[std::path::PathBuf],
        golden_pcrs: Option<&std::path::Path>,
        allowed_builder_binaries: &[String],
    ) -> Result<TpmTrust, EvidenceError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| EvidenceError::Policy(format!("{}: {e}", p.display())))
        };
        let mut trust = TpmTrust::default();
        for p in tpm_ca {
            let certs = crate::ekcert::certs_from_pem(&read(p)?)
                .map_err(|e| EvidenceError::Policy(format!("{}: {e}", p.display())))?;
            trust.manufacturer_roots.extend(certs);
        }
        for p in enrollment_keys {
            let k = SignKey::from_pem_file(p).map_err(|e| {
                EvidenceError::Policy(format!("--enrollment-key {}: {e}", p.display()))
            })?;
            trust.enrollment_keys.push(k);
        }
        if let Some(p) = golden_pcrs {
            trust.golden_pcrs = parse_golden_pcrs(&read(p)?)?;
        }
        for h in allowed_builder_binaries {
            let v = hex::decode(h.strip_prefix("sha256:").unwrap_or(h))
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| {
                    EvidenceError::Policy(format!("builder digest {h:?} is not sha256:<64 hex>"))
                })?;
            trust.allowed_builder_binaries.push(v);
        }
        Ok(trust)
    }
}

/// The facts a verified quote establishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedTpmEvidence {
    pub host_id: String,
    pub ak_name: String,
    pub ek_certificate_subject: String,
    pub ek_certificate_issuer: String,
    pub manufacturer_root: String,
    pub enrolled_by: String,
    pub quoted_pcrs: Vec<u32>,
    pub pcr23: String,
    /// The measured builder binary (SHA-256 hex).
    pub builder_binary: String,
    /// Whether the provenance records the builder binary digest (and so it was compared);
    /// otherwise only the event log and the policy allow-list vouch for it.
    pub builder_binary_in_provenance: bool,
    pub golden_pcrs_checked: Vec<u32>,
    pub reset_count: u32,
    pub restart_count: u32,
    pub firmware_version: u64,
    /// The TPM-resident key that also signed the envelope, when the evidence carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_key: Option<crate::certified::VerifiedCertifiedKey>,
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, EvidenceError> {
    crate::entry::b64_field("tpm2-quote evidence", field, s)
}

/// Parses an evidence entry strictly, naming the field that failed.
pub fn parse_tpm_evidence(evidence: &Value) -> Result<TpmQuoteEvidence, EvidenceError> {
    crate::entry::parse_entry(
        "tpm2-quote evidence",
        TPM_QUOTE_KIND,
        |e: &TpmQuoteEvidence| &e.kind,
        evidence,
    )
}

/// Reported PCR values of the SHA-256 bank, by index.
fn reported_pcrs(
    pcrs: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<BTreeMap<u32, [u8; 32]>, EvidenceError> {
    let mut out = BTreeMap::new();
    for bank in pcrs.keys() {
        if bank != "sha256" {
            return Err(EvidenceError::PcrSelection(format!(
                "bank {bank:?} is not supported; cairn quotes the sha256 bank"
            )));
        }
    }
    let Some(bank) = pcrs.get("sha256") else {
        return Ok(out);
    };
    for (idx, value) in bank {
        let pcr: u32 = idx
            .parse()
            .ok()
            .filter(|p: &u32| *p < 24 && idx == &p.to_string())
            .ok_or_else(|| {
                EvidenceError::PcrSelection(format!("{idx:?} is not a PCR index 0-23"))
            })?;
        let v = hex::decode(value)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| {
                EvidenceError::PcrSelection(format!("PCR {pcr}: value is not 32 bytes of hex"))
            })?;
        out.insert(pcr, v);
    }
    Ok(out)
}

/// Verifies one `tpm2-quote` entry against the envelope it accompanies and the
/// statement inside that envelope (already signature-checked by the caller).
pub fn verify_tpm_evidence(
    evidence: &Value,
    envelope: &Envelope,
    statement: &Statement,
    trust: &TpmTrust,
    now: OffsetDateTime,
) -> Result<VerifiedTpmEvidence, EvidenceError> {
    let ev = parse_tpm_evidence(evidence)?;

    // 1. The AK: enrolled by a trusted authority, EK chain to a trusted root.
    let binding_env =
        Envelope::from_wire_in(ev.ak_binding.clone(), "tpm2-quote evidence", "akBinding.")
            .map_err(|e| EvidenceError::AkBinding(e.to_string()))?;
    let binding = verify_binding(
        &binding_env,
        &trust.enrollment_keys,
        &trust.manufacturer_roots,
        now,
    )?;

    // 2. Signature over the raw TPMS_ATTEST bytes, before any field is believed.
    let attest_bytes = b64("attest", &ev.attest)?;
    let sig = Signature::parse(&b64("signature", &ev.signature)?)?;
    verify_signature(&binding.ak, &attest_bytes, &sig)?;

    // 3. Magic and type.
    let attest = Attest::parse(&attest_bytes)?;
    if attest.magic != TPM_GENERATED {
        return Err(EvidenceError::NotTpmGenerated(attest.magic));
    }
    let Attested::Quote {
        pcr_select,
        pcr_digest,
    } = &attest.attested
    else {
        return Err(EvidenceError::WrongAttestType {
            found: attest.attest_type,
            expected: TPM_ST_ATTEST_QUOTE,
            name: "TPM_ST_ATTEST_QUOTE",
        });
    };

    // 4. extraData binds this exact envelope.
    let expected = sha256(&[&envelope.pae()]);
    if attest.extra_data != expected {
        return Err(EvidenceError::ExtraDataMismatch {
            expected: hex::encode(expected),
            found: hex::encode(&attest.extra_data),
        });
    }

    // 5. pcrDigest over the reported values, in selection order.
    let reported = reported_pcrs(&ev.pcrs)?;
    let mut quoted = Vec::new();
    for sel in pcr_select {
        if sel.hash != ALG_SHA256 {
            return Err(EvidenceError::PcrSelection(format!(
                "quote selects bank 0x{:04x}; only sha256 is supported",
                sel.hash
            )));
        }
        quoted.extend_from_slice(&sel.pcrs);
    }
    let mut values: Vec<&[u8]> = Vec::with_capacity(quoted.len());
    for pcr in &quoted {
        let v = reported.get(pcr).ok_or_else(|| {
            EvidenceError::PcrSelection(format!(
                "PCR {pcr} is quoted but its value is not reported"
            ))
        })?;
        values.push(v);
    }
    if let Some(extra) = reported.keys().find(|p| !quoted.contains(p)) {
        return Err(EvidenceError::PcrSelection(format!(
            "PCR {extra} is reported but not covered by the quote"
        )));
    }
    let computed = HashAlg::Sha256.hash(&values);
    if &computed != pcr_digest {
        return Err(EvidenceError::PcrDigestMismatch {
            computed: hex::encode(&computed),
            found: hex::encode(pcr_digest),
        });
    }

    // 6. The event log replays to PCR 23, and each event is what the provenance says.
    let pcr23 = *reported.get(&BUILD_PCR).ok_or_else(|| {
        EvidenceError::PcrSelection(format!(
            "the quote does not cover the build PCR {BUILD_PCR}"
        ))
    })?;
    let measurements = BuildMeasurements::from_statement(statement)?;
    let checked = check_events(&ev.event_log, &measurements)?;
    if checked.replayed != pcr23 {
        return Err(EvidenceError::PcrReplay {
            pcr: BUILD_PCR,
            replayed: hex::encode(checked.replayed),
            quoted: hex::encode(pcr23),
        });
    }
    if !trust.allowed_builder_binaries.is_empty()
        && !trust
            .allowed_builder_binaries
            .contains(&checked.builder_binary)
    {
        return Err(EvidenceError::Policy(format!(
            "measured builder binary {} is not among the allowed builder digests",
            hex::encode(checked.builder_binary)
        )));
    }

    // 7. Golden values for the platform PCRs, when the policy gives them.
    for (pcr, want) in &trust.golden_pcrs {
        let got = reported.get(pcr).ok_or_else(|| {
            EvidenceError::Policy(format!(
                "golden value given for PCR {pcr}, but the quote does not cover it"
            ))
        })?;
        if got != want {
            return Err(EvidenceError::GoldenPcr {
                pcr: *pcr,
                expected: hex::encode(want),
                found: hex::encode(got),
            });
        }
    }

    // 8. A clock that may have rolled back makes the quote's counters meaningless.
    if !attest.clock_info.safe {
        return Err(EvidenceError::ClockNotSafe);
    }

    // 9. A certified TPM-resident key that signed the envelope, if the host has one.
    let certified_key = ev
        .certified_key
        .as_ref()
        .map(|ck| crate::certified::verify_certified_key(ck, &binding.ak, envelope))
        .transpose()?;

    Ok(VerifiedTpmEvidence {
        host_id: binding.record.host_id.clone(),
        ak_name: hex::encode(&binding.ak_name),
        ek_certificate_subject: binding.ek_cert.subject.clone(),
        ek_certificate_issuer: binding.ek_cert.issuer.clone(),
        manufacturer_root: binding.ek_cert.root.clone(),
        enrolled_by: binding.enrolled_by.clone(),
        quoted_pcrs: quoted,
        pcr23: hex::encode(pcr23),
        builder_binary: hex::encode(checked.builder_binary),
        builder_binary_in_provenance: measurements.builder_binary.is_some(),
        golden_pcrs_checked: trust.golden_pcrs.keys().copied().collect(),
        reset_count: attest.clock_info.reset_count,
        restart_count: attest.clock_info.restart_count,
        firmware_version: attest.firmware_version,
        certified_key,
    })
}

/// Reads a golden-PCR policy file: `{"pcrs": {"sha256": {"0": "<hex>", ...}}}`.
pub fn parse_golden_pcrs(bytes: &[u8]) -> Result<BTreeMap<u32, [u8; 32]>, EvidenceError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        pcrs: BTreeMap<String, BTreeMap<String, String>>,
    }
    let f: File = cairn_formats::json::parse_strict(
        bytes,
        "golden PCR policy",
        &cairn_formats::Limits {
            max_bytes: 64 * 1024,
        },
    )
    .map_err(|e| EvidenceError::Policy(e.to_string()))?;
    reported_pcrs(&f.pcrs).map_err(|e| EvidenceError::Policy(format!("golden PCR policy: {e}")))
}

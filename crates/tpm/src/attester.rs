//! Build-time TPM work, run by the build supervisor outside the sandbox:
//! [`TpmBuildAttester::begin`] resets PCR 23, [`TpmBuildAttester::measure`] extends it and
//! logs the event, [`TpmBuildAttester::finish`] quotes with extraData = SHA-256(PAE) and
//! returns the `tpm2-quote` evidence entry for the bundle.

use std::collections::BTreeMap;

use base64::Engine as _;
use cairn_evidence::certified::CertifiedKeyEvidence;
use cairn_evidence::eventlog::{Event, BUILD_PCR};
use cairn_evidence::measure::{BuildMeasurements, MeasurementKind};
use cairn_evidence::quote::{TpmQuoteEvidence, TPM_QUOTE_KIND};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tss_esapi::abstraction::pcr;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::handles::{KeyHandle, PcrHandle};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    Data, Digest, DigestValues, PcrSelectionList, PcrSlot, Private, Public, SignatureScheme,
};
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
use tss_esapi::Context;

use crate::error::{TpmError, TssContext};
use crate::host::HostFile;
use crate::session::{ek_for, load_ak};

/// The PCRs a quote covers (SHA-256 bank). Default: 0-7 (firmware and boot loader) and 23.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrSpec(pub Vec<u32>);

impl Default for PcrSpec {
    fn default() -> Self {
        PcrSpec(vec![0, 1, 2, 3, 4, 5, 6, 7, BUILD_PCR])
    }
}

impl PcrSpec {
    /// Parses `sha256:0-7,23` or `0,1,2,23`. PCR 23 must be included: it carries the
    /// build's measurements.
    pub fn parse(s: &str) -> Result<PcrSpec, TpmError> {
        let body = match s.split_once(':') {
            Some(("sha256", rest)) => rest,
            Some((bank, _)) => {
                return Err(TpmError::Attester(format!(
                    "PCR bank {bank:?} is not supported (use sha256)"
                )))
            }
            None => s,
        };
        let mut pcrs = Vec::new();
        for part in body.split(',') {
            let bad = || TpmError::Attester(format!("{part:?} is not a PCR index or range 0-23"));
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (
                    a.trim().parse::<u32>().map_err(|_| bad())?,
                    b.trim().parse::<u32>().map_err(|_| bad())?,
                ),
                None => {
                    let v = part.trim().parse::<u32>().map_err(|_| bad())?;
                    (v, v)
                }
            };
            if a > b || b > 23 {
                return Err(bad());
            }
            pcrs.extend(a..=b);
        }
        pcrs.sort_unstable();
        pcrs.dedup();
        if !pcrs.contains(&BUILD_PCR) {
            return Err(TpmError::Attester(format!("the PCR selection must include PCR {BUILD_PCR}, which holds the build measurements")));
        }
        Ok(PcrSpec(pcrs))
    }

    fn selection(&self) -> Result<PcrSelectionList, TpmError> {
        let slots: Vec<PcrSlot> = self
            .0
            .iter()
            .map(|p| PcrSlot::try_from(1u32 << p).op("PcrSlot"))
            .collect::<Result<_, _>>()?;
        PcrSelectionList::builder()
            .with_selection(HashingAlgorithm::Sha256, &slots)
            .build()
            .op("PcrSelectionList")
    }
}

/// The EK public area recorded in the host's AK binding.
fn enrolled_ek_public(host: &HostFile) -> Result<Vec<u8>, TpmError> {
    let env = cairn_formats::Envelope::from_wire(host.ak_binding.clone())
        .map_err(|e| TpmError::HostFile(format!("akBinding: {e}")))?;
    let record: cairn_evidence::binding::AkBindingRecord = serde_json::from_slice(&env.payload)
        .map_err(|e| TpmError::HostFile(format!("akBinding payload: {e}")))?;
    HostFile::decode("akBinding.ekPublic", &record.ek_public)
}

/// Loads the host's signing key under the EK; its cairn key id comes from the host file.
fn load_signing_key(
    ctx: &mut Context,
    ek: KeyHandle,
    host: &HostFile,
    private: &str,
    public: &str,
) -> Result<SigningKey, TpmError> {
    let public_bytes = HostFile::decode("signingKeyPublic", public)?;
    let private =
        Private::try_from(HostFile::decode("signingKeyPrivate", private)?).op("TPM2B_PRIVATE")?;
    let tpm_public = Public::unmarshall(&public_bytes).op("TPMT_PUBLIC")?;
    let handle = load_ak(ctx, ek, private, tpm_public)
        .map_err(|e| TpmError::Attester(format!("cannot load the host's signing key: {e}")))?;
    let key_id = host
        .signing_public_key()?
        .ok_or_else(|| TpmError::HostFile("signingKeyPublic is missing".into()))?
        .key_id()
        .to_string();
    Ok(SigningKey {
        handle,
        public: public_bytes,
        key_id,
    })
}

/// Holds the TPM for one build. Create it in the supervisor, never inside the sandbox.
pub struct TpmBuildAttester {
    ctx: Context,
    ak: KeyHandle,
    binding: cairn_formats::dsse::WireEnvelope,
    pcrs: PcrSpec,
    events: Vec<Event>,
    /// Selected PCR values other than 23, read at `begin`: platform PCRs do not change
    /// during a build, so `finish` needs no second read unless the quote disagrees.
    platform_pcrs: BTreeMap<u32, [u8; 32]>,
    /// The host's certified signing key, when it has one.
    signing_key: Option<SigningKey>,
}

/// A loaded TPM signing key: its handle, TPMT_PUBLIC bytes and cairn key id.
struct SigningKey {
    handle: KeyHandle,
    public: Vec<u8>,
    key_id: String,
}

impl TpmBuildAttester {
    /// Opens the TPM behind `tcti` and loads the host's enrolled AK.
    pub fn open(tcti: &str, host: &HostFile, pcrs: PcrSpec) -> Result<Self, TpmError> {
        let mut ctx = crate::open(tcti)?;
        let private = Private::try_from(HostFile::decode("akPrivate", &host.ak_private)?)
            .op("TPM2B_PRIVATE")?;
        let public = Public::unmarshall(&HostFile::decode("akPublic", &host.ak_public)?)
            .op("TPMT_PUBLIC")?;
        let ek_public = enrolled_ek_public(host)?;
        let (ek, transient) = ek_for(&mut ctx, &ek_public)?;
        let loaded = load_ak(&mut ctx, ek, private, public);
        let signing = match (&host.signing_key_private, &host.signing_key_public) {
            (Some(private), Some(public)) if loaded.is_ok() => {
                Some(load_signing_key(&mut ctx, ek, host, private, public))
            }
            _ => None,
        };
        if transient {
            ctx.flush_context(ek.into()).op("FlushContext(EK)")?;
        }
        let ak = loaded.map_err(|e| {
            TpmError::Attester(format!(
                "cannot load the enrolled AK (is this the enrolled TPM?): {e}"
            ))
        })?;
        Ok(TpmBuildAttester {
            ctx,
            ak,
            binding: host.ak_binding.clone(),
            pcrs,
            events: Vec::new(),
            platform_pcrs: BTreeMap::new(),
            signing_key: signing.transpose()?,
        })
    }

    /// Signs `pae` (the envelope's DSSE PAE) with the host's TPM-resident signing key:
    /// `(key id, ASN.1 DER ECDSA signature)`, or `None` when the host has no such key.
    pub fn sign_envelope(&mut self, pae: &[u8]) -> Result<Option<(String, Vec<u8>)>, TpmError> {
        let Some(key) = &self.signing_key else {
            return Ok(None);
        };
        let handle = key.handle;
        let digest = Digest::try_from(Sha256::digest(pae).to_vec()).op("Digest")?;
        // A null ticket: the digest was computed outside the TPM, which a non-restricted
        // key may sign.
        let validation = TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        };
        let signature = self
            .ctx
            .execute_with_nullauth_session(|c| {
                c.sign(
                    handle,
                    digest,
                    SignatureScheme::Null,
                    validation.try_into()?,
                )
            })
            .op("Sign(envelope)")?;
        let tss_esapi::structures::Signature::EcDsa(ecdsa) = signature else {
            return Err(TpmError::Attester(
                "the signing key did not make an ECDSA signature".into(),
            ));
        };
        let der = cairn_evidence::certified::ecdsa_der(
            ecdsa.signature_r().value(),
            ecdsa.signature_s().value(),
        )?;
        Ok(Some((key.key_id.clone(), der)))
    }

    /// Resets PCR 23 and starts a new event log.
    pub fn begin(&mut self) -> Result<(), TpmError> {
        self.events.clear();
        self.ctx
            .execute_with_nullauth_session(|c| c.pcr_reset(PcrHandle::Pcr23))
            .op("PCR_Reset(23)")?;
        let platform = PcrSpec(
            self.pcrs
                .0
                .iter()
                .copied()
                .filter(|p| *p != BUILD_PCR)
                .collect(),
        );
        self.platform_pcrs = if platform.0.is_empty() {
            BTreeMap::new()
        } else {
            self.read_pcrs(&platform)?
        };
        Ok(())
    }

    fn read_pcrs(&mut self, spec: &PcrSpec) -> Result<BTreeMap<u32, [u8; 32]>, TpmError> {
        let selection = spec.selection()?;
        let data = self
            .ctx
            .execute_without_session(|c| pcr::read_all(c, selection))
            .op("PCR_Read")?;
        let bank = data
            .pcr_bank(HashingAlgorithm::Sha256)
            .ok_or_else(|| TpmError::Attester("the TPM returned no sha256 PCR bank".into()))?;
        let mut out = BTreeMap::new();
        for p in &spec.0 {
            let slot = PcrSlot::try_from(1u32 << p).op("PcrSlot")?;
            let d = bank
                .get_digest(slot)
                .ok_or_else(|| TpmError::Attester(format!("PCR {p} was not read")))?;
            let v: [u8; 32] = d
                .value()
                .try_into()
                .map_err(|_| TpmError::Attester(format!("PCR {p} is not 32 bytes")))?;
            out.insert(*p, v);
        }
        Ok(out)
    }

    /// The selected PCR values as this attester expects them: platform PCRs from `begin`,
    /// PCR 23 from replaying its own event log.
    fn expected_pcrs(&self) -> BTreeMap<u32, [u8; 32]> {
        let mut v = self.platform_pcrs.clone();
        let digests: Vec<[u8; 32]> = self
            .events
            .iter()
            .filter_map(|e| {
                hex::decode(&e.digests.sha256)
                    .ok()
                    .and_then(|d| d.try_into().ok())
            })
            .collect();
        v.insert(BUILD_PCR, cairn_evidence::eventlog::replay(&digests));
        v
    }

    /// Extends PCR 23 with `digest` and logs it as `kind`.
    pub fn measure(&mut self, kind: MeasurementKind, digest: &[u8; 32]) -> Result<(), TpmError> {
        let mut values = DigestValues::new();
        values.set(
            HashingAlgorithm::Sha256,
            Digest::try_from(digest.to_vec()).op("Digest")?,
        );
        self.ctx
            .execute_with_nullauth_session(|c| c.pcr_extend(PcrHandle::Pcr23, values))
            .op("PCR_Extend(23)")?;
        self.events
            .push(Event::new(self.events.len(), kind, digest));
        Ok(())
    }

    /// Measures all five parts, in [`MeasurementKind::ALL`] order, as recomputed from
    /// the provenance (which must record the builder binary digest).
    pub fn measure_all(&mut self, m: &BuildMeasurements) -> Result<(), TpmError> {
        for kind in MeasurementKind::ALL {
            let d = m.get(kind).ok_or_else(|| {
                TpmError::Attester(format!(
                    "the provenance does not determine the `{}` measurement",
                    kind.name()
                ))
            })?;
            self.measure(kind, d)?;
        }
        Ok(())
    }

    /// The open TPM context, for callers that need further TPM operations on the same
    /// connection (swtpm and `/dev/tpm0` serve one client at a time).
    pub fn tpm(&mut self) -> &mut Context {
        &mut self.ctx
    }

    /// The event log so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Quotes the selected PCRs with extraData = `pae_sha256` (SHA-256 of the DSSE PAE of
    /// the signed provenance envelope) and returns the bundle evidence entry.
    pub fn finish(&mut self, pae_sha256: &[u8; 32]) -> Result<Value, TpmError> {
        let selection = self.pcrs.selection()?;
        let ak = self.ak;
        let qualifying = Data::try_from(pae_sha256.to_vec()).op("Data")?;
        let (attest, signature) = self
            .ctx
            .execute_with_nullauth_session(|c| {
                c.quote(ak, qualifying, SignatureScheme::Null, selection.clone())
            })
            .op("Quote")?;
        let attest_bytes = attest.marshall().op("marshal TPMS_ATTEST")?;
        let sig_bytes = signature.marshall().op("marshal TPMT_SIGNATURE")?;
        let parsed = cairn_evidence::tpm::Attest::parse(&attest_bytes)?;
        let cairn_evidence::tpm::Attested::Quote { pcr_digest, .. } = &parsed.attested else {
            return Err(TpmError::Attester(
                "the TPM returned a non-quote attestation".into(),
            ));
        };
        let digest_of = |m: &BTreeMap<u32, [u8; 32]>| {
            Sha256::digest(m.values().flatten().copied().collect::<Vec<u8>>())
        };
        let mut actual = self.expected_pcrs();
        if digest_of(&actual).as_slice() != pcr_digest.as_slice() {
            // Something else extended or reset a PCR since `begin`: ship the values the
            // TPM really quoted, so the verifier names the PCR that disagrees.
            actual = self.read_pcrs(&self.pcrs.clone())?;
            if digest_of(&actual).as_slice() != pcr_digest.as_slice() {
                return Err(TpmError::Attester(
                    "PCR values changed between the quote and the PCR read; retry".into(),
                ));
            }
        }
        let values: BTreeMap<String, String> = actual
            .iter()
            .map(|(p, v)| (p.to_string(), hex::encode(v)))
            .collect();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        // TPM2_Certify(signing key, AK) over the same envelope digest: proves, for this
        // build, that the key that signed the envelope lives in this TPM.
        let certified_key = match &self.signing_key {
            Some(key) => {
                let handle = key.handle;
                let qualifying = Data::try_from(pae_sha256.to_vec()).op("Data")?;
                let (info, sig) = self
                    .ctx
                    .execute_with_sessions(
                        (
                            Some(AuthSession::Password),
                            Some(AuthSession::Password),
                            None,
                        ),
                        |c| c.certify(handle.into(), ak, qualifying, SignatureScheme::Null),
                    )
                    .op("Certify(signing key)")?;
                Some(CertifiedKeyEvidence {
                    public: b64(&key.public),
                    certify_info: b64(&info.marshall().op("marshal TPMS_ATTEST")?),
                    signature: b64(&sig.marshall().op("marshal TPMT_SIGNATURE")?),
                })
            }
            None => None,
        };
        let ev = TpmQuoteEvidence {
            kind: TPM_QUOTE_KIND.into(),
            ak_binding: self.binding.clone(),
            attest: b64(&attest_bytes),
            signature: b64(&sig_bytes),
            pcrs: BTreeMap::from([("sha256".to_string(), values)]),
            event_log: self.events.clone(),
            certified_key,
        };
        Ok(ev.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_spec_parses_ranges_and_requires_pcr_23() {
        assert_eq!(PcrSpec::parse("sha256:0-7,23").unwrap(), PcrSpec::default());
        assert_eq!(
            PcrSpec::parse("23,10,0-1,1").unwrap(),
            PcrSpec(vec![0, 1, 10, 23])
        );
        for (bad, needle) in [
            ("sha1:0-7,23", "PCR bank \"sha1\" is not supported"),
            ("0-7", "must include PCR 23"),
            ("0-24", "\"0-24\" is not a PCR index or range 0-23"),
            ("7-3,23", "\"7-3\" is not a PCR index or range"),
            ("x,23", "\"x\" is not a PCR index"),
            ("", "\"\" is not a PCR index"),
        ] {
            let e = PcrSpec::parse(bad).unwrap_err();
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
    }
}

//! `cairn tpm enroll`: the host's TPM half and the enrollment authority's pure-Rust half,
//! run back to back. The authority's steps use only `cairn-evidence` (no TPM), so they can
//! move to a separate service unchanged: it needs the EK public, EK certificate and AK
//! public from the host, and one round trip for the credential.

use base64::Engine as _;
use cairn_evidence::binding::{
    check_ak_attributes, AkBindingRecord, ACTIVATION_METHOD, AK_BINDING_TYPE,
};
use cairn_evidence::credential::make_credential;
use cairn_evidence::ekcert::{ek_matches_cert, split_roots, verify_ek_chain};
use cairn_evidence::tpm::Public as ParsedPublic;
use cairn_formats::provenance::format_time;
use cairn_sign::PrivateKey;
use rand_core::RngCore;
use time::OffsetDateTime;
use tss_esapi::abstraction::{ak, ek, KeyCustomization};
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, SignatureSchemeAlgorithm};

use crate::error::{TpmError, TssContext};
use crate::host::{HostFile, HOST_FILE_TYPE};
use crate::session::{activate_credential, create_ek, load_ak, persist_ek, public_bytes, EK_ALG};

pub struct EnrollOptions<'a> {
    pub tcti: &'a str,
    /// DER certificates from `--ek-ca`: self-issued ones are trusted manufacturer roots,
    /// the others are intermediates the EK chain may use.
    pub ek_ca: Vec<Vec<u8>>,
    pub authority: &'a PrivateKey,
    pub host_id: String,
    pub now: OffsetDateTime,
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Enrolls the TPM behind `opts.tcti` and returns the host file.
pub fn enroll(opts: &EnrollOptions) -> Result<HostFile, TpmError> {
    let (roots, intermediates) = split_roots(&opts.ek_ca)?;
    let mut ctx = crate::open(opts.tcti)?;

    // Host: EK, its certificate from NV, a fresh AK under it.
    let ek_handle = create_ek(&mut ctx)?;
    let (ek_pub, _, _) = ctx.read_public(ek_handle).op("ReadPublic(EK)")?;
    let ek_public = public_bytes(&ek_pub)?;
    let ek_cert =
        ek::retrieve_ek_pubcert(&mut ctx, EK_ALG).op("NV_Read(EK certificate 0x01c00002)")?;
    let created = ak::create_ak(
        &mut ctx,
        ek_handle,
        HashingAlgorithm::Sha256,
        SignatureSchemeAlgorithm::EcDsa,
        None,
        None,
    )
    .op("Create(AK)")?;
    let ak_public = public_bytes(&created.out_public)?;
    // A non-restricted signing key beside the AK: it signs envelopes (which a restricted
    // AK cannot), and each build's TPM2_Certify by the AK proves it lives in this TPM.
    let signing = ak::create_ak(
        &mut ctx,
        ek_handle,
        HashingAlgorithm::Sha256,
        SignatureSchemeAlgorithm::EcDsa,
        None,
        SigningKeyTemplate,
    )
    .op("Create(signing key)")?;
    let ak_handle = load_ak(
        &mut ctx,
        ek_handle,
        created.out_private.clone(),
        created.out_public.clone(),
    )?;
    let (_, tpm_ak_name, _) = ctx.read_public(ak_handle).op("ReadPublic(AK)")?;

    // Authority: EK chain and key, AK shape and name, then a credential for that name.
    let mut chain = vec![ek_cert.clone()];
    chain.extend(intermediates);
    verify_ek_chain(&chain, &roots, opts.now)?;
    let ek_parsed = ParsedPublic::parse(&ek_public)?;
    ek_matches_cert(&ek_parsed, &ek_cert)?;
    let ak_parsed = ParsedPublic::parse(&ak_public)?;
    check_ak_attributes(&ak_parsed)?;
    let ak_name = ak_parsed.name()?;
    if ak_name != tpm_ak_name.value() {
        return Err(TpmError::Enrollment(
            "the AK name the TPM reports differs from the name of its public area".into(),
        ));
    }
    let mut secret = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut secret);
    let blob = make_credential(&ek_parsed, &ak_name, &secret)?;

    // Host: only the TPM holding this EK releases the secret, and only to this AK.
    let recovered = activate_credential(
        &mut ctx,
        ak_handle,
        ek_handle,
        blob.id_object,
        blob.encrypted_secret,
    )?;
    ctx.flush_context(ak_handle.into()).op("FlushContext(AK)")?;
    // Keep the EK at its TCG persistent handle when free, so builds need not recreate it.
    persist_ek(&mut ctx, ek_handle)?;
    ctx.flush_context(ek_handle.into()).op("FlushContext(EK)")?;

    // Authority: the secret came back, so the AK and EK share a TPM.
    if recovered != secret {
        return Err(TpmError::Enrollment(
            "credential activation returned a different secret".into(),
        ));
    }
    let record = AkBindingRecord {
        type_: AK_BINDING_TYPE.into(),
        host_id: opts.host_id.clone(),
        ak_public: b64(&ak_public),
        ak_name: hex::encode(&ak_name),
        ek_public: b64(&ek_public),
        ek_cert_chain: chain.iter().map(|c| b64(c)).collect(),
        activation: ACTIVATION_METHOD.into(),
        enrolled_at: format_time(opts.now),
    };
    let binding = record.sign(opts.authority)?;
    Ok(HostFile {
        type_: HOST_FILE_TYPE.into(),
        host_id: opts.host_id.clone(),
        ak_private: b64(created.out_private.value()),
        ak_public: b64(&ak_public),
        ak_binding: binding.to_wire(),
        signing_key_private: Some(b64(signing.out_private.value())),
        signing_key_public: Some(b64(&public_bytes(&signing.out_public)?)),
    })
}

/// The AK template (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, sign,
/// ECDSA P-256/SHA-256) without `restricted`, so the key can sign external digests.
struct SigningKeyTemplate;

impl KeyCustomization for SigningKeyTemplate {
    fn attributes(&self, builder: ObjectAttributesBuilder) -> ObjectAttributesBuilder {
        builder.with_restricted(false)
    }
}

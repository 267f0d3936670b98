//! Key loading and credential activation: the parts that need EK policy sessions.

use tss_esapi::abstraction::{ak, ek, AsymmetricAlgorithmSelection};
use tss_esapi::attributes::SessionAttributesBuilder;
use tss_esapi::constants::SessionType;
use tss_esapi::handles::{AuthHandle, KeyHandle, PersistentTpmHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::dynamic_handles::Persistent;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Provision;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::interface_types::session_handles::PolicySession;
use tss_esapi::structures::{EncryptedSecret, IdObject, Private, Public, SymmetricDefinition};
use tss_esapi::traits::Marshall;
use tss_esapi::Context;

use crate::error::{TpmError, TssContext};

/// The EK algorithm cairn enrolls: RSA-2048 from the default template, whose
/// certificate sits at NV 0x01c00002 on every TPM we target (swtpm included).
pub(crate) const EK_ALG: AsymmetricAlgorithmSelection =
    AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048);

/// The TCG EK Credential Profile's persistent handle for the RSA EK.
pub(crate) const EK_PERSISTENT_HANDLE: u32 = 0x8101_0001;

fn ek_slot() -> Result<TpmHandle, TpmError> {
    Ok(TpmHandle::Persistent(
        PersistentTpmHandle::new(EK_PERSISTENT_HANDLE).op("PersistentTpmHandle")?,
    ))
}

/// The EK: the persistent copy at 0x81010001 when it is exactly `expected` (TPMT_PUBLIC),
/// else a transient one recreated from the template (an RSA key generation inside the
/// TPM, the slowest step of a build's TPM work). Returns the handle and whether it is
/// transient (the caller flushes it).
pub(crate) fn ek_for(ctx: &mut Context, expected: &[u8]) -> Result<(KeyHandle, bool), TpmError> {
    let slot = ek_slot()?;
    if let Ok(obj) = ctx.execute_without_session(|c| c.tr_from_tpm_public(slot)) {
        let key = KeyHandle::from(obj);
        if let Ok((public, _, _)) = ctx.read_public(key) {
            if public.marshall().ok().as_deref() == Some(expected) {
                return Ok((key, false));
            }
        }
        let mut obj = obj;
        let _ = ctx.tr_close(&mut obj);
    }
    Ok((create_ek(ctx)?, true))
}

/// Makes the EK persistent at 0x81010001 if that slot is free and the owner hierarchy has
/// an empty password, so later builds skip recreating it. Best effort: returns whether
/// the EK is now persistent.
pub(crate) fn persist_ek(ctx: &mut Context, ek: KeyHandle) -> Result<bool, TpmError> {
    let slot = ek_slot()?;
    if let Ok(mut existing) = ctx.execute_without_session(|c| c.tr_from_tpm_public(slot)) {
        let _ = ctx.tr_close(&mut existing);
        return Ok(false);
    }
    let TpmHandle::Persistent(handle) = slot else {
        return Ok(false);
    };
    let persisted = ctx.execute_with_session(Some(AuthSession::Password), |c| {
        c.evict_control(Provision::Owner, ek.into(), Persistent::Persistent(handle))
    });
    Ok(match persisted {
        Ok(mut obj) => {
            let _ = ctx.tr_close(&mut obj);
            true
        }
        Err(_) => false,
    })
}

/// Recreates the EK (deterministic from the template) as a transient object.
pub(crate) fn create_ek(ctx: &mut Context) -> Result<KeyHandle, TpmError> {
    ek::create_ek_object_2(ctx, EK_ALG, None).op("CreatePrimary(EK)")
}

pub(crate) fn public_bytes(public: &Public) -> Result<Vec<u8>, TpmError> {
    public.marshall().op("marshal TPMT_PUBLIC")
}

/// Loads the AK blobs under the EK (needs a PolicySecret(endorsement) session).
pub(crate) fn load_ak(
    ctx: &mut Context,
    ek: KeyHandle,
    private: Private,
    public: Public,
) -> Result<KeyHandle, TpmError> {
    ak::load_ak(ctx, ek, None, private, public).op("Load(AK)")
}

/// TPM2_ActivateCredential: the AK needs user auth (an HMAC session), the EK its
/// PolicySecret(TPM_RH_ENDORSEMENT) policy.
pub(crate) fn activate_credential(
    ctx: &mut Context,
    ak: KeyHandle,
    ek: KeyHandle,
    id_object: Vec<u8>,
    encrypted_secret: Vec<u8>,
) -> Result<Vec<u8>, TpmError> {
    let id = IdObject::try_from(id_object).op("IdObject")?;
    let secret = EncryptedSecret::try_from(encrypted_secret).op("EncryptedSecret")?;
    let (attrs, mask) = SessionAttributesBuilder::new().build();
    let hmac = ctx
        .start_auth_session(
            None,
            None,
            None,
            SessionType::Hmac,
            SymmetricDefinition::AES_128_CFB,
            HashingAlgorithm::Sha256,
        )
        .op("StartAuthSession(HMAC)")?
        .ok_or_else(|| TpmError::Enrollment("TPM returned no HMAC session".into()))?;
    ctx.tr_sess_set_attributes(hmac, attrs, mask)
        .op("TRSess_SetAttributes")?;
    let policy = ctx
        .start_auth_session(
            None,
            None,
            None,
            SessionType::Policy,
            SymmetricDefinition::AES_128_CFB,
            HashingAlgorithm::Sha256,
        )
        .op("StartAuthSession(policy)")?
        .ok_or_else(|| TpmError::Enrollment("TPM returned no policy session".into()))?;
    ctx.tr_sess_set_attributes(policy, attrs, mask)
        .op("TRSess_SetAttributes")?;
    let policy_session = PolicySession::try_from(policy).op("policy session")?;
    ctx.execute_with_session(Some(hmac), |c| {
        c.policy_secret(
            policy_session,
            AuthHandle::Endorsement,
            Default::default(),
            Default::default(),
            Default::default(),
            None,
        )
    })
    .op("PolicySecret(endorsement)")?;
    ctx.set_sessions((Some(hmac), Some(policy), None));
    let result = ctx
        .activate_credential(ak, ek, id, secret)
        .op("ActivateCredential");
    ctx.clear_sessions();
    for s in [hmac, policy] {
        // Sessions are flushed explicitly: without a resource manager they would
        // otherwise hold TPM session slots until the context closes.
        let _ = ctx.flush_context(tss_esapi::handles::SessionHandle::from(s).into());
    }
    Ok(result?.value().to_vec())
}

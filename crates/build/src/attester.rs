//! The hook through which hardware evidence (TPM quote, TEE report) is bound to a build.
//! The supervisor calls it outside the sandbox: `begin` before the sandbox starts,
//! `measure` for each measured digest, `finish` with SHA-256 of the DSSE PAE of the
//! signed envelope; the returned JSON object (with a `kind`) goes into the bundle's
//! `evidence` list.

use std::fmt;

/// What a measurement is of, in the order the supervisor extends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeasurementKind {
    /// SHA-256 of the running cairn binary (`/proc/self/exe`).
    BuilderBinary,
    /// SHA-256 of the canonical sandbox policy JSON (`internalParameters.sandboxPolicyDigest`).
    SandboxPolicy,
    /// SHA-256 of the canonical JSON of `resolvedDependencies`.
    ResolvedDependencies,
    /// SHA-256 of the canonical toolchain manifest (`internalParameters.toolchainManifestDigest`).
    Toolchain,
    /// SHA-256 of the canonical JSON of the statement's `subject` list.
    Outputs,
}

impl MeasurementKind {
    /// The stable name used in event logs and docs.
    pub fn name(self) -> &'static str {
        match self {
            MeasurementKind::BuilderBinary => "builder-binary",
            MeasurementKind::SandboxPolicy => "sandbox-policy",
            MeasurementKind::ResolvedDependencies => "resolved-dependencies",
            MeasurementKind::Toolchain => "toolchain",
            MeasurementKind::Outputs => "outputs",
        }
    }
}

impl fmt::Display for MeasurementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A DSSE signature made by an attester's hardware-resident key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// cairn key id: SHA-256 of the key's SPKI DER, hex.
    pub keyid: String,
    /// The signature bytes as DSSE carries them (ASN.1 DER for ECDSA).
    pub sig: Vec<u8>,
}

/// Error type of an attester: a message that names what failed.
pub type AttesterError = Box<dyn std::error::Error + Send + Sync>;

/// Binds a build to hardware. Called only by the supervisor, outside the sandbox. Any
/// error fails the build before anything is written.
pub trait BuildAttester {
    /// The `kind` of the evidence entry [`BuildAttester::finish`] returns. The provenance
    /// claims it in `internalParameters.hardwareEvidence`, so a bundle whose evidence was
    /// stripped fails verification even when the consumer did not require hardware.
    fn evidence_kind(&self) -> &'static str;
    /// Before the sandbox starts (e.g. reset PCR 23).
    fn begin(&mut self) -> Result<(), AttesterError>;
    /// One measurement (e.g. extend PCR 23 and append to the event log).
    fn measure(&mut self, kind: MeasurementKind, digest: [u8; 32]) -> Result<(), AttesterError>;
    /// After the builder key signed: an additional DSSE signature over `pae` by a key the
    /// hardware holds, if the attester has one. The default has none.
    fn envelope_signature(
        &mut self,
        _pae: &[u8],
    ) -> Result<Option<EnvelopeSignature>, AttesterError> {
        Ok(None)
    }
    /// After signing: evidence over `envelope_pae_sha256` = SHA-256(PAE(payloadType,
    /// payload)) of the envelope (e.g. a quote with that extraData). Returns one bundle
    /// evidence entry: a JSON object with a string `kind`.
    fn finish(&mut self, envelope_pae_sha256: [u8; 32])
        -> Result<serde_json::Value, AttesterError>;
}

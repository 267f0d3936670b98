//! `cairn tpm`: enroll a build host's TPM, and check TPM evidence in a bundle. Also the
//! flag groups `cairn build` (`--tpm`, `--tpm-host`, `--tpm-pcrs`) and `cairn verify`
//! (`--tpm-ca`, `--enrollment-key`, `--golden-pcrs`, `--require-hardware`) flatten in.
//!
//! Enrollment and build-time quoting need libtss2 (cargo feature `tpm`, on by default);
//! verification is pure Rust and stays available with `--no-default-features`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use cairn_evidence::check::HardwareEvidenceCheck;
use cairn_evidence::hardware::{kind_for_requirement, verify_attestation_hardware, HardwareTrust};
use cairn_evidence::tee::TeePolicy;
use cairn_evidence::TpmTrust;
use cairn_formats::bundle::BundleInput;
use cairn_formats::{Limits, Statement};
use clap::{Args, Subcommand};

use crate::exit::{CliError, CliResult};

#[derive(Subcommand, Debug)]
pub enum TpmCommand {
    /// Enroll this host's TPM: check its EK certificate against the manufacturer roots,
    /// create a restricted signing AK, prove it shares the TPM with the EK (credential
    /// activation), and write HOST.json with the AK binding signed by --authority.
    #[cfg(feature = "tpm")]
    #[command(after_help = "Example (swtpm):
  cairn tpm enroll --tcti swtpm:host=127.0.0.1,port=2321 \\
      --ek-ca swtpm-localca-rootca-cert.pem --ek-ca issuercert.pem \\
      --authority enroll.key --out host.json")]
    Enroll(EnrollArgs),
    /// Verify the hardware evidence of every attestation in a cairn bundle, offline. This
    /// checks the TPM quote chain only; `cairn verify` also checks signatures and policy.
    VerifyEvidence(VerifyEvidenceArgs),
}

#[cfg(feature = "tpm")]
#[derive(Args, Debug)]
pub struct EnrollArgs {
    /// TPM to enroll: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=N, ...
    #[arg(long, value_name = "TCTI")]
    pub tcti: String,
    /// PEM file(s) of the TPM manufacturer's CA certificates: self-signed ones are trusted
    /// roots, others intermediates. Repeatable.
    #[arg(long = "ek-ca", value_name = "FILE", required = true)]
    pub ek_ca: Vec<PathBuf>,
    /// The enrollment authority's private key (PKCS#8 PEM) that signs the AK binding.
    #[arg(long, value_name = "KEY")]
    pub authority: PathBuf,
    /// Where to write the host file (AK blobs, the signed AK binding, the signing key's
    /// blobs). The signing key's public half goes beside it as HOST.signing.pub.
    #[arg(long, value_name = "HOST.json")]
    pub out: PathBuf,
    /// Host identifier recorded in the binding [default: this machine's hostname].
    #[arg(long, value_name = "ID")]
    pub host_id: Option<String>,
}

/// Flags `cairn verify` takes for hardware evidence.
#[derive(Args, Debug, Clone, Default)]
pub struct VerifyHardwareArgs {
    /// Trusted TPM manufacturer root certificate(s), PEM. Repeatable.
    #[arg(long = "tpm-ca", value_name = "FILE")]
    pub tpm_ca: Vec<PathBuf>,
    /// Trusted enrollment authority public key (SPKI PEM) for AK bindings. Repeatable.
    #[arg(long = "enrollment-key", value_name = "PUB")]
    pub enrollment_key: Vec<PathBuf>,
    /// Golden PCR values: {"pcrs": {"sha256": {"0": "<hex>", ...}}}.
    #[arg(long = "golden-pcrs", value_name = "FILE")]
    pub golden_pcrs: Option<PathBuf>,
    /// Hardware evidence that must be present: tpm, snp, tdx or nitro. Repeatable.
    #[arg(long = "require-hardware", value_name = "KIND")]
    pub require_hardware: Vec<String>,
    /// Allowed measured builder binary digest (sha256:<hex>). Repeatable.
    #[arg(long = "allowed-builder-digest", value_name = "DIGEST")]
    pub allowed_builder_digest: Vec<String>,
    /// Accepted TEE launch measurement, KIND:HEX (snp: MEASUREMENT, tdx: MRTD, nitro:
    /// PCR0; 96 hex digits). With any for a kind, that kind's evidence must match one.
    /// Repeatable.
    #[arg(long = "tee-measurement", value_name = "KIND:HEX")]
    pub tee_measurement: Vec<String>,
    /// Also accept this TDX TCB status besides UpToDate (e.g. SWHardeningNeeded,
    /// OutOfDate). Repeatable.
    #[arg(long = "tdx-tcb-status", value_name = "STATUS")]
    pub tdx_tcb_status: Vec<String>,
    /// Accept a TDX platform property that is refused by default: dynamic-platform,
    /// cached-keys or smt (typical of cloud hosts). Repeatable.
    #[arg(long = "tdx-allow", value_name = "FLAG")]
    pub tdx_allow: Vec<String>,
    /// Trust this root (PEM) for Nitro attestation documents instead of AWS Nitro
    /// Enclaves Root-G1. Repeatable.
    #[arg(long = "nitro-root", value_name = "FILE")]
    pub nitro_root: Vec<PathBuf>,
}

impl VerifyHardwareArgs {
    pub fn trust(&self) -> anyhow::Result<HardwareTrust> {
        let tpm = TpmTrust::from_files(
            &self.tpm_ca,
            &self.enrollment_key,
            self.golden_pcrs.as_deref(),
            &self.allowed_builder_digest,
        )?;
        let mut tee = TeePolicy {
            tdx_extra_tcb_statuses: self.tdx_tcb_status.clone(),
            tdx_allowed_platform_flags: self.tdx_allow.clone(),
            ..Default::default()
        };
        for m in &self.tee_measurement {
            tee.add_launch_measurement(m)?;
        }
        for p in &self.nitro_root {
            let bytes =
                std::fs::read(p).with_context(|| format!("--nitro-root {}", p.display()))?;
            tee.add_nitro_roots_pem(&bytes)
                .with_context(|| format!("--nitro-root {}", p.display()))?;
        }
        tee.validate()?;
        Ok(HardwareTrust { tpm, tee })
    }

    pub fn required(&self) -> anyhow::Result<Vec<&'static str>> {
        self.require_hardware
            .iter()
            .map(|r| kind_for_requirement(r).map_err(|e| anyhow!(e)))
            .collect()
    }

    /// The pipeline step for `cairn_verify::verify_dsse_input`'s checks.
    pub fn check(&self, now: time::OffsetDateTime) -> anyhow::Result<HardwareEvidenceCheck> {
        Ok(HardwareEvidenceCheck {
            trust: self.trust()?,
            required: self.required()?,
            now,
        })
    }
}

#[derive(Args, Debug)]
pub struct VerifyEvidenceArgs {
    /// The cairn bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub tpm: VerifyHardwareArgs,
    /// Print the verified facts as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check certificate and collateral validity as of this RFC 3339 time instead of now.
    #[arg(long = "verification-time", value_name = "RFC3339")]
    pub verification_time: Option<String>,
}

/// Flags `cairn build` takes to attach TPM evidence.
#[cfg(feature = "tpm")]
#[derive(Args, Debug, Clone, Default)]
pub struct BuildTpmArgs {
    /// Quote with this TPM (the enrolled one), e.g. device:/dev/tpmrm0.
    #[arg(long = "tpm", value_name = "TCTI", requires = "tpm_host")]
    pub tpm: Option<String>,
    /// The host file written by `cairn tpm enroll`.
    #[arg(long = "tpm-host", value_name = "HOST.json", requires = "tpm")]
    pub tpm_host: Option<PathBuf>,
    /// PCRs to quote (sha256 bank); must include 23.
    #[arg(long = "tpm-pcrs", value_name = "SEL", default_value = "sha256:0-7,23")]
    pub tpm_pcrs: String,
}

#[cfg(feature = "tpm")]
impl BuildTpmArgs {
    /// Opens the TPM and loads the enrolled AK, or `None` without `--tpm`.
    pub fn attester(&self) -> anyhow::Result<Option<TpmAttester>> {
        let (Some(tcti), Some(host)) = (&self.tpm, &self.tpm_host) else {
            return Ok(None);
        };
        let pcrs = cairn_tpm::PcrSpec::parse(&self.tpm_pcrs)?;
        let host = cairn_tpm::HostFile::read(host)?;
        Ok(Some(TpmAttester(cairn_tpm::TpmBuildAttester::open(
            tcti, &host, pcrs,
        )?)))
    }
}

/// Adapts the TPM attester to the build supervisor's hook.
#[cfg(feature = "tpm")]
pub struct TpmAttester(pub cairn_tpm::TpmBuildAttester);

#[cfg(feature = "tpm")]
impl cairn_build::BuildAttester for TpmAttester {
    fn evidence_kind(&self) -> &'static str {
        "tpm2-quote"
    }
    fn begin(&mut self) -> Result<(), cairn_build::AttesterError> {
        Ok(self.0.begin()?)
    }

    fn measure(
        &mut self,
        kind: cairn_build::MeasurementKind,
        digest: [u8; 32],
    ) -> Result<(), cairn_build::AttesterError> {
        // Both crates name the kinds identically; an unknown name is a version skew.
        let k = cairn_evidence::MeasurementKind::from_name(kind.name())
            .ok_or_else(|| format!("measurement kind {kind} has no TPM event type"))?;
        Ok(self.0.measure(k, &digest)?)
    }

    fn envelope_signature(
        &mut self,
        pae: &[u8],
    ) -> Result<Option<cairn_build::EnvelopeSignature>, cairn_build::AttesterError> {
        Ok(self
            .0
            .sign_envelope(pae)?
            .map(|(keyid, sig)| cairn_build::EnvelopeSignature { keyid, sig }))
    }

    fn finish(
        &mut self,
        envelope_pae_sha256: [u8; 32],
    ) -> Result<serde_json::Value, cairn_build::AttesterError> {
        Ok(self.0.finish(&envelope_pae_sha256)?)
    }
}

pub fn run(cmd: TpmCommand) -> CliResult {
    match cmd {
        #[cfg(feature = "tpm")]
        TpmCommand::Enroll(a) => enroll(a),
        TpmCommand::VerifyEvidence(a) => verify_evidence(a),
    }
}

#[cfg(feature = "tpm")]
fn enroll(a: EnrollArgs) -> CliResult {
    let mut ek_ca = Vec::new();
    for p in &a.ek_ca {
        let bytes = std::fs::read(p).with_context(|| format!("--ek-ca {}", p.display()))?;
        ek_ca.extend(
            cairn_evidence::ekcert::certs_from_pem(&bytes)
                .with_context(|| format!("--ek-ca {}", p.display()))?,
        );
    }
    let authority = cairn_sign::PrivateKey::from_pem_file(&a.authority)
        .with_context(|| format!("--authority {}", a.authority.display()))?;
    let host_id = match a.host_id {
        Some(h) => h,
        None => std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown-host".into()),
    };
    let host = cairn_tpm::enroll(&cairn_tpm::EnrollOptions {
        tcti: &a.tcti,
        ek_ca,
        authority: &authority,
        host_id: host_id.clone(),
        now: time::OffsetDateTime::now_utc(),
    })
    .map_err(|e| CliError::Failed {
        error: anyhow!("enrollment failed: {e}"),
        printed: false,
    })?;
    std::fs::write(&a.out, host.to_json())
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "enrolled host {host_id:?}: EK certificate verified, AK activated; wrote {}",
        a.out.display()
    );
    if let Some(pem) = host.signing_key_pem().map_err(|e| anyhow!(e))? {
        let path = a.out.with_extension("signing.pub");
        std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "the TPM-resident signing key (certified by the AK at every build) is {}",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_evidence(a: VerifyEvidenceArgs) -> CliResult {
    let bytes =
        std::fs::read(&a.bundle).with_context(|| format!("--bundle {}", a.bundle.display()))?;
    let limits = Limits::default();
    let BundleInput::Cairn(bundle) = BundleInput::parse(&bytes, &limits)
        .with_context(|| format!("--bundle {}", a.bundle.display()))?
    else {
        return Err(CliError::Input(anyhow!(
            "--bundle: hardware evidence lives only in cairn bundles"
        )));
    };
    let trust = a.tpm.trust()?;
    let required = a.tpm.required()?;
    let now = super::verify::verification_time(a.verification_time.as_deref())?;
    let mut all = Vec::new();
    let mut lines = Vec::new();
    for (i, att) in bundle.attestations.iter().enumerate() {
        let st = Statement::from_envelope(&att.envelope, &limits)
            .with_context(|| format!("attestation {i}"))?;
        let verified =
            verify_attestation_hardware(att, &st, &required, &trust, now).map_err(|e| {
                CliError::Failed {
                    error: anyhow!("attestation {i}: {e}"),
                    printed: false,
                }
            })?;
        if verified.is_empty() {
            lines.push(format!(
                "attestation {i}: no hardware evidence claimed, carried or required"
            ));
        }
        lines.extend(
            verified
                .iter()
                .map(|v| format!("attestation {i}: verified {}", v.summary())),
        );
        all.push(serde_json::json!({"attestation": i, "evidence": verified}));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
    } else {
        for line in &lines {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! Trusted roots: the embedded Sigstore public-good, staging and GitHub roots, or a
//! `trusted_root.json` file that overrides them. Nothing here touches the network.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sigstore_verify::trust_root::{SigstoreInstance, TrustedRoot};
use sigstore_verify::Verifier;

use crate::error::{Check, SigstoreError};

/// A `trusted_root.json` larger than this is refused (real ones are ~10 KiB).
pub const MAX_TRUSTED_ROOT_BYTES: u64 = 4 << 20;

/// A well-known Sigstore instance whose root cairn embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Instance {
    PublicGood,
    Staging,
    /// GitHub's artifact-attestation instance (private repositories): Fulcio-like CA and
    /// RFC 3161 TSA, no transparency log and no CT log.
    GitHub,
}

impl Instance {
    pub fn name(self) -> &'static str {
        match self {
            Instance::PublicGood => "sigstore-public-good",
            Instance::Staging => "sigstore-staging",
            Instance::GitHub => "github",
        }
    }

    pub(crate) fn backend(self) -> SigstoreInstance {
        match self {
            Instance::PublicGood => SigstoreInstance::PublicGood,
            Instance::Staging => SigstoreInstance::Staging,
            Instance::GitHub => SigstoreInstance::GitHub,
        }
    }

    /// Whether this instance runs a transparency log and CT log at all.
    pub fn has_transparency_log(self) -> bool {
        !matches!(self, Instance::GitHub)
    }
}

/// Where the trusted root comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// Pick the embedded root by the signing certificate's issuer: GitHub's instance for
    /// certificates issued by `O=GitHub, Inc.`, otherwise the public-good instance
    /// (`staging` selects the staging root instead of public-good).
    /// A root refreshed by `cairn trust-root update` into `updated_dir` is preferred to
    /// the embedded snapshot of the same instance.
    Embedded {
        staging: bool,
        updated_dir: Option<PathBuf>,
    },
    /// One `trusted_root.json` file, used for every bundle.
    File(PathBuf),
}

/// A loaded root plus the prepared verifier (parsing the root is most of the cost of
/// one verification, so it is done once per root).
pub struct LoadedRoot {
    /// Human-readable origin: instance name or file path.
    pub name: String,
    /// The instance, when the root is an embedded one.
    pub instance: Option<Instance>,
    /// The root lists a transparency log / a CT log (GitHub's instance has neither).
    pub has_tlogs: bool,
    pub has_ctlogs: bool,
    pub(crate) verifier: Verifier,
}

impl LoadedRoot {
    pub fn embedded(instance: Instance) -> Result<Self, SigstoreError> {
        let root = TrustedRoot::from_embedded(instance.backend()).map_err(|e| {
            SigstoreError::TrustRoot {
                source_name: format!("embedded {}", instance.name()),
                reason: e.to_string(),
            }
        })?;
        Self::from_root(
            root,
            format!("embedded:{}", instance.name()),
            Some(instance),
        )
    }

    pub fn from_file(path: &Path) -> Result<Self, SigstoreError> {
        let err = |reason: String| SigstoreError::TrustRoot {
            source_name: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_TRUSTED_ROOT_BYTES {
            return Err(err(format!(
                "{} bytes, over the {MAX_TRUSTED_ROOT_BYTES}-byte limit",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::from_json(&text, path.display().to_string())
    }

    pub fn from_json(text: &str, name: String) -> Result<Self, SigstoreError> {
        let root = TrustedRoot::from_json(text).map_err(|e| SigstoreError::TrustRoot {
            source_name: name.clone(),
            reason: e.to_string(),
        })?;
        Self::from_root(root, name, None)
    }

    fn from_root(
        root: TrustedRoot,
        name: String,
        instance: Option<Instance>,
    ) -> Result<Self, SigstoreError> {
        let verifier = Verifier::new(&root).map_err(|source| SigstoreError::Verification {
            check: Check::TrustRoot,
            source,
        })?;
        Ok(LoadedRoot {
            name,
            instance,
            has_tlogs: !root.tlogs.is_empty(),
            has_ctlogs: !root.ctlogs.is_empty(),
            verifier,
        })
    }
}

/// The roots one verifier process may need, loaded lazily and kept.
pub struct TrustRoots {
    source: TrustSource,
    file: OnceLock<LoadedRoot>,
    primary: OnceLock<LoadedRoot>,
    github: OnceLock<LoadedRoot>,
}

impl TrustRoots {
    pub fn new(source: TrustSource) -> Self {
        TrustRoots {
            source,
            file: OnceLock::new(),
            primary: OnceLock::new(),
            github: OnceLock::new(),
        }
    }

    pub fn source(&self) -> &TrustSource {
        &self.source
    }

    /// The root to verify a bundle with, given whether its certificate was issued by
    /// GitHub's CA.
    pub fn select(&self, github_issued: bool) -> Result<&LoadedRoot, SigstoreError> {
        match &self.source {
            TrustSource::File(path) => get_or_load(&self.file, || LoadedRoot::from_file(path)),
            TrustSource::Embedded { updated_dir, .. } if github_issued => {
                get_or_load(&self.github, || {
                    load_instance(Instance::GitHub, updated_dir)
                })
            }
            TrustSource::Embedded {
                staging,
                updated_dir,
            } => {
                let instance = if *staging {
                    Instance::Staging
                } else {
                    Instance::PublicGood
                };
                get_or_load(&self.primary, || load_instance(instance, updated_dir))
            }
        }
    }
}

/// Where `cairn trust-root update` stores an instance's refreshed root.
pub fn updated_root_path(dir: &Path, instance: Instance) -> PathBuf {
    dir.join(format!("{}.trusted_root.json", instance.name()))
}

fn load_instance(
    instance: Instance,
    updated_dir: &Option<PathBuf>,
) -> Result<LoadedRoot, SigstoreError> {
    if let Some(dir) = updated_dir {
        let path = updated_root_path(dir, instance);
        if path.exists() {
            let mut root = LoadedRoot::from_file(&path)?;
            root.name = format!("updated:{}", path.display());
            root.instance = Some(instance);
            return Ok(root);
        }
    }
    LoadedRoot::embedded(instance)
}

fn get_or_load(
    cell: &OnceLock<LoadedRoot>,
    load: impl FnOnce() -> Result<LoadedRoot, SigstoreError>,
) -> Result<&LoadedRoot, SigstoreError> {
    if let Some(root) = cell.get() {
        return Ok(root);
    }
    let root = load()?;
    Ok(cell.get_or_init(|| root))
}

/// Whether a DER certificate's issuer names the organisation `GitHub, Inc.`, which is how
/// `gh attestation verify` tells GitHub's instance from the public-good one.
pub fn issued_by_github(cert_der: &[u8]) -> bool {
    use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
    use x509_cert::der::{Decode, Tagged};
    const ORGANIZATION: x509_cert::der::oid::ObjectIdentifier =
        x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.10");
    let Ok(cert) = x509_cert::Certificate::from_der(cert_der) else {
        return false;
    };
    cert.tbs_certificate.issuer.0.iter().any(|rdn| {
        rdn.0.iter().any(|atv| {
            if atv.oid != ORGANIZATION {
                return false;
            }
            let value = &atv.value;
            let text = match value.tag() {
                x509_cert::der::Tag::Utf8String => {
                    Utf8StringRef::try_from(value).map(|s| s.as_str().to_string())
                }
                x509_cert::der::Tag::PrintableString => {
                    PrintableStringRef::try_from(value).map(|s| s.as_str().to_string())
                }
                _ => return false,
            };
            text.is_ok_and(|t| t == "GitHub, Inc.")
        })
    })
}

/// Where `cairn trust-root update` keeps refreshed roots: `$CAIRN_TRUST_DIR`, else
/// `$XDG_DATA_HOME/cairn/trust`, else `$HOME/.local/share/cairn/trust`.
pub fn default_updated_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("CAIRN_TRUST_DIR")
        .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("cairn/trust")))
        .or_else(|| env("HOME").map(|h| h.join(".local/share/cairn/trust")))
}

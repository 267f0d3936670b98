//! Identity policy on a verified certificate: cosign's `--certificate-identity[-regexp]` /
//! `--certificate-oidc-issuer[-regexp]`, and `gh attestation verify`'s `--owner`, `--repo`,
//! `--signer-workflow`. Every policy yields [`Decision`]s for the report; any failed
//! decision fails verification.

use regex::Regex;
use serde::Serialize;

use crate::error::PolicyError;
use crate::model::{CertificateSigner, VerifiedBundle};

/// GitHub Actions' OIDC issuer.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// One policy decision: what was required, what the verified bundle carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub policy: String,
    pub expected: String,
    pub found: Option<String>,
    pub passed: bool,
}

impl Decision {
    fn new(policy: &str, expected: impl Into<String>, found: Option<&str>, passed: bool) -> Self {
        Decision {
            policy: policy.to_string(),
            expected: expected.into(),
            found: found.map(str::to_string),
            passed,
        }
    }
}

/// The first failed decision as an error (the found value is printed, so the user sees
/// what to put in the flag).
pub fn require_all(decisions: &[Decision]) -> Result<(), PolicyError> {
    match decisions.iter().find(|d| !d.passed) {
        None => Ok(()),
        Some(d) => Err(PolicyError::Mismatch {
            what: policy_label(&d.policy),
            expected: d.expected.clone(),
            found: d.found.clone().unwrap_or_else(|| "(none)".into()),
        }),
    }
}

fn policy_label(policy: &str) -> &'static str {
    match policy {
        "certificate_identity" => "certificate identity",
        "certificate_oidc_issuer" => "certificate OIDC issuer",
        "owner" => "source repository owner (--owner)",
        "repo" => "source repository (--repo)",
        "signer_workflow" => "signer workflow",
        "source_ref" => "source ref",
        "predicate_type" => "predicate type",
        _ => "policy",
    }
}

/// Exact string or a regular expression that must match the whole value (anchored, unlike
/// cosign's unanchored Go match: a pattern that is too loose fails closed here).
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Regex(Regex),
}

impl Matcher {
    pub fn regex(pattern: &str, flag: &'static str) -> Result<Self, PolicyError> {
        Regex::new(&format!("^(?:{pattern})$"))
            .map(Matcher::Regex)
            .map_err(|e| PolicyError::BadRegex {
                flag,
                reason: e.to_string(),
            })
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Matcher::Exact(s) => s.clone(),
            Matcher::Regex(r) => format!("regexp {}", r.as_str()),
        }
    }
}

/// cosign-style identity policy. Empty when no flag was given.
#[derive(Debug, Clone, Default)]
pub struct IdentityPolicy {
    pub identity: Option<Matcher>,
    pub issuer: Option<Matcher>,
}

impl IdentityPolicy {
    /// From the four cosign flags; the exact and regexp forms of one are exclusive.
    pub fn from_flags(
        identity: Option<&str>,
        identity_regexp: Option<&str>,
        issuer: Option<&str>,
        issuer_regexp: Option<&str>,
    ) -> Result<Self, PolicyError> {
        let identity = match (identity, identity_regexp) {
            (Some(_), Some(_)) => return Err(PolicyError::BadValue {
                flag: "--certificate-identity",
                reason:
                    "give either --certificate-identity or --certificate-identity-regexp, not both"
                        .into(),
            }),
            (Some(s), None) => Some(Matcher::Exact(s.to_string())),
            (None, Some(r)) => Some(Matcher::regex(r, "--certificate-identity-regexp")?),
            (None, None) => None,
        };
        let issuer = match (issuer, issuer_regexp) {
            (Some(_), Some(_)) => {
                return Err(PolicyError::BadValue {
                    flag: "--certificate-oidc-issuer",
                    reason: "give either --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both".into(),
                })
            }
            (Some(s), None) => Some(Matcher::Exact(s.to_string())),
            (None, Some(r)) => Some(Matcher::regex(r, "--certificate-oidc-issuer-regexp")?),
            (None, None) => None,
        };
        Ok(IdentityPolicy { identity, issuer })
    }

    pub fn is_empty(&self) -> bool {
        self.identity.is_none() && self.issuer.is_none()
    }

    pub fn evaluate(&self, signer: &CertificateSigner) -> Vec<Decision> {
        let mut out = Vec::new();
        if let Some(m) = &self.identity {
            let found = Some(signer.identity.as_str()).filter(|s| !s.is_empty());
            out.push(Decision::new(
                "certificate_identity",
                m.describe(),
                found,
                found.is_some_and(|f| m.matches(f)),
            ));
        }
        if let Some(m) = &self.issuer {
            let found = signer.issuer.as_deref();
            out.push(Decision::new(
                "certificate_oidc_issuer",
                m.describe(),
                found,
                found.is_some_and(|f| m.matches(f)),
            ));
        }
        out
    }
}

/// `gh attestation verify` policy: the source repository's owner or the repository, the
/// workflow that signed, and GitHub Actions as the issuer.
#[derive(Debug, Clone, Default)]
pub struct GitHubPolicy {
    pub owner: Option<String>,
    /// `owner/repo`.
    pub repo: Option<String>,
    /// `[host/]owner/repo/path/to/workflow.yml` (the ref after `@` is not required).
    pub signer_workflow: Option<String>,
    /// Expected issuer; `None` means GitHub Actions.
    pub issuer: Option<String>,
}

impl GitHubPolicy {
    pub fn is_empty(&self) -> bool {
        self.owner.is_none() && self.repo.is_none() && self.signer_workflow.is_none()
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(repo) = &self.repo {
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(PolicyError::BadValue {
                    flag: "--repo",
                    reason: format!("expected OWNER/REPO, got {repo:?}"),
                });
            }
            if let Some(owner) = &self.owner {
                if owner != parts[0] {
                    return Err(PolicyError::BadValue {
                        flag: "--owner",
                        reason: format!("--owner {owner} disagrees with --repo {repo}"),
                    });
                }
            }
        }
        if let Some(owner) = &self.owner {
            if owner.is_empty() || owner.contains('/') {
                return Err(PolicyError::BadValue {
                    flag: "--owner",
                    reason: format!("expected an organisation or user name, got {owner:?}"),
                });
            }
        }
        Ok(())
    }

    pub fn evaluate(&self, signer: &CertificateSigner) -> Vec<Decision> {
        let claims = &signer.claims;
        let mut out = Vec::new();
        let issuer = self.issuer.as_deref().unwrap_or(GITHUB_ACTIONS_ISSUER);
        out.push(Decision::new(
            "certificate_oidc_issuer",
            issuer,
            signer.issuer.as_deref(),
            signer.issuer.as_deref() == Some(issuer),
        ));
        if let Some(owner) = &self.owner {
            let want = format!("https://github.com/{owner}");
            let found = claims.source_repository_owner_uri.as_deref();
            out.push(Decision::new(
                "owner",
                &want,
                found,
                found == Some(want.as_str()),
            ));
        }
        if let Some(repo) = &self.repo {
            let want = format!("https://github.com/{repo}");
            let found = claims.source_repository_uri.as_deref();
            out.push(Decision::new(
                "repo",
                &want,
                found,
                found == Some(want.as_str()),
            ));
        }
        // The signing workflow: the one given, else (as gh) one in the same repo/owner.
        let prefix = match (&self.signer_workflow, &self.repo, &self.owner) {
            (Some(w), _, _) => {
                let w = w.trim_start_matches("https://");
                let w = if w.starts_with("github.com/") {
                    w.to_string()
                } else {
                    format!("github.com/{w}")
                };
                // Without a ref the workflow path must end at `@`.
                if w.contains('@') {
                    format!("https://{w}")
                } else {
                    format!("https://{w}@")
                }
            }
            (None, Some(repo), _) => format!("https://github.com/{repo}/"),
            (None, None, Some(owner)) => format!("https://github.com/{owner}/"),
            (None, None, None) => return out,
        };
        let found = Some(signer.identity.as_str()).filter(|s| !s.is_empty());
        let passed = found.is_some_and(|f| {
            if prefix.ends_with('@') || prefix.ends_with('/') {
                f.starts_with(&prefix)
            } else {
                f == prefix
            }
        });
        out.push(Decision::new(
            "signer_workflow",
            format!("{prefix}…"),
            found,
            passed,
        ));
        out
    }
}

/// Decisions shared by every keyless bundle: without any identity-binding policy a
/// keyless signature proves nothing about who signed, so it is refused.
pub fn require_identity_policy(
    verified: &VerifiedBundle,
    has_identity_policy: bool,
) -> Result<(), PolicyError> {
    match verified.certificate() {
        Some(c) if !has_identity_policy => Err(PolicyError::NoIdentityPolicy {
            identity: c.identity.clone(),
            issuer: c.issuer.clone().unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

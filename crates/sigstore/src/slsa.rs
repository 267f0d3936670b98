//! slsa-verifier's `verify-artifact` semantics for slsa-github-generator provenance and
//! GitHub `attest-build-provenance` bundles, evaluated on a verified bundle.
//!
//! Trust comes from the Fulcio certificate, not from the provenance: the signing workflow
//! (the SAN) must be a trusted builder pinned at a release tag, the certificate's source
//! repository must be the expected one, and the provenance must agree with both.

use serde_json::Value;

use crate::error::PolicyError;
use crate::model::VerifiedBundle;
use crate::policy::{Decision, GITHUB_ACTIONS_ISSUER};

/// slsa-verifier's default trusted builders for `verify-artifact` (reusable workflows of
/// slsa-framework/slsa-github-generator). Other builders need `--builder-id`.
pub const DEFAULT_TRUSTED_BUILDERS: &[&str] = &[
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml",
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml",
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_docker-based_slsa3.yml",
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml",
];

const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// The `slsa-verifier verify-artifact` flags.
#[derive(Debug, Clone, Default)]
pub struct SlsaOptions {
    /// `github.com/owner/repo` (also accepted with `https://` or `git+https://`).
    pub source_uri: String,
    pub builder_id: Option<String>,
    pub source_branch: Option<String>,
    pub source_tag: Option<String>,
    pub source_versioned_tag: Option<String>,
}

/// Evaluates the policy; returns all decisions, stopping at the first failure (later
/// checks would only restate it).
pub fn evaluate(v: &VerifiedBundle, opts: &SlsaOptions) -> Result<Vec<Decision>, PolicyError> {
    let mut out = Vec::new();
    let source = normalize_source(&opts.source_uri)?;
    let cert = v.certificate().ok_or_else(|| {
        PolicyError::Provenance(
            "slsa-verifier policy needs a keyless bundle signed by a GitHub Actions workflow"
                .into(),
        )
    })?;
    let push = |out: &mut Vec<Decision>, d: Decision| -> Result<(), PolicyError> {
        let failed = !d.passed;
        out.push(d.clone());
        if failed {
            Err(fail(&d))
        } else {
            Ok(())
        }
    };

    // 1. The certificate was issued to a GitHub Actions workflow on a hosted runner.
    let issuer = cert.issuer.as_deref();
    push(
        &mut out,
        decision(
            "certificate_oidc_issuer",
            GITHUB_ACTIONS_ISSUER,
            issuer,
            issuer == Some(GITHUB_ACTIONS_ISSUER),
        ),
    )?;
    if let Some(env) = cert.claims.runner_environment.as_deref() {
        push(
            &mut out,
            decision(
                "runner_environment",
                "github-hosted",
                Some(env),
                env == "github-hosted",
            ),
        )?;
    }

    // 2. The signing workflow is a trusted builder at a release tag.
    let (builder_name, builder_ref) = cert
        .identity
        .strip_prefix("https://github.com/")
        .and_then(|_| cert.identity.split_once('@'))
        .ok_or_else(|| PolicyError::UntrustedBuilder {
            found: cert.identity.clone(),
            reason: "a GitHub workflow URI with a ref (https://github.com/OWNER/REPO/PATH@REF)"
                .into(),
        })?;
    match &opts.builder_id {
        None => {
            let trusted = DEFAULT_TRUSTED_BUILDERS.contains(&builder_name);
            if !trusted {
                return Err(PolicyError::UntrustedBuilder {
                    found: cert.identity.clone(),
                    reason: "one of slsa-verifier's default trusted builders (name any other builder with --builder-id)".into(),
                });
            }
            out.push(decision(
                "builder_id",
                "default trusted builders",
                Some(&cert.identity),
                true,
            ));
        }
        Some(want) => {
            let (want_name, want_ref) = match want.split_once('@') {
                Some((n, r)) => (n, Some(r)),
                None => (want.as_str(), None),
            };
            let ok = want_name == builder_name && want_ref.is_none_or(|r| r == builder_ref);
            push(
                &mut out,
                decision("builder_id", want, Some(&cert.identity), ok),
            )?;
        }
    }
    let tag = builder_ref.strip_prefix("refs/tags/").unwrap_or("");
    if !is_release_tag(tag) {
        return Err(PolicyError::UntrustedBuilder {
            found: cert.identity.clone(),
            reason: "a builder pinned at a release tag refs/tags/vX.Y.Z".into(),
        });
    }

    // 3. The certificate's source repository is the expected one.
    let want_repo = format!("https://{source}");
    let found_repo = cert.claims.source_repository_uri.as_deref();
    push(
        &mut out,
        decision(
            "source_uri",
            &want_repo,
            found_repo,
            found_repo == Some(want_repo.as_str()),
        ),
    )?;

    // 4. The provenance agrees with the certificate.
    let statement = v.statement().ok_or_else(|| {
        PolicyError::Provenance("the bundle signs a blob, not SLSA provenance".into())
    })?;
    let prov = ProvenanceFields::read(&statement.predicate_type, &statement.predicate)?;
    push(
        &mut out,
        decision(
            "provenance_builder_id",
            &cert.identity,
            Some(&prov.builder_id),
            prov.builder_id == cert.identity,
        ),
    )?;
    let want_git = format!("git+https://{source}");
    let (trigger_repo, trigger_ref) = split_ref(&prov.trigger_uri);
    push(
        &mut out,
        decision(
            "provenance_trigger_uri",
            &want_git,
            Some(&prov.trigger_uri),
            trigger_repo == want_git && !trigger_ref.is_empty(),
        ),
    )?;
    let (source_repo, source_ref) = split_ref(&prov.source_uri);
    push(
        &mut out,
        decision(
            "provenance_source_uri",
            &want_git,
            Some(&prov.source_uri),
            source_repo == want_git
                && !source_ref.is_empty()
                && prov.source_uri == prov.trigger_uri,
        ),
    )?;
    if let Some(cert_ref) = cert.claims.source_repository_ref.as_deref() {
        push(
            &mut out,
            decision(
                "certificate_source_ref",
                cert_ref,
                Some(trigger_ref),
                cert_ref == trigger_ref,
            ),
        )?;
    }
    if let (Some(cert_sha), Some(prov_sha)) = (
        cert.claims.source_repository_digest.as_deref(),
        prov.source_commit.as_deref(),
    ) {
        push(
            &mut out,
            decision(
                "certificate_source_commit",
                cert_sha,
                Some(prov_sha),
                cert_sha == prov_sha,
            ),
        )?;
    }

    // 5. Branch, tag, versioned tag of the source.
    if let Some(want) = &opts.source_branch {
        let branch = trigger_ref.strip_prefix("refs/heads/").or_else(|| {
            prov.base_ref
                .as_deref()
                .and_then(|b| b.strip_prefix("refs/heads/"))
        });
        push(
            &mut out,
            decision("source_branch", want, branch, branch == Some(want.as_str())),
        )?;
    }
    let source_tag = trigger_ref.strip_prefix("refs/tags/");
    if let Some(want) = &opts.source_tag {
        push(
            &mut out,
            decision(
                "source_tag",
                want,
                source_tag,
                source_tag == Some(want.as_str()),
            ),
        )?;
    }
    if let Some(want) = &opts.source_versioned_tag {
        let want_v = Semver::parse(want).ok_or_else(|| PolicyError::BadValue {
            flag: "--source-versioned-tag",
            reason: format!("{want:?} is not a semantic version vMAJOR[.MINOR[.PATCH]]"),
        })?;
        let ok = source_tag
            .and_then(Semver::parse)
            .is_some_and(|have| want_v.accepts(&have));
        push(
            &mut out,
            decision("source_versioned_tag", want, source_tag, ok),
        )?;
    }
    Ok(out)
}

fn decision(policy: &str, expected: &str, found: Option<&str>, passed: bool) -> Decision {
    Decision {
        policy: policy.to_string(),
        expected: expected.to_string(),
        found: found.map(str::to_string),
        passed,
    }
}

fn fail(d: &Decision) -> PolicyError {
    let what: &'static str = match d.policy.as_str() {
        "certificate_oidc_issuer" => "certificate OIDC issuer",
        "runner_environment" => "runner environment",
        "builder_id" => "builder id (--builder-id)",
        "source_uri" => "certificate source repository (--source-uri)",
        "provenance_builder_id" => "provenance builder id vs. signing workflow",
        "provenance_trigger_uri" => "provenance trigger (--source-uri)",
        "provenance_source_uri" => "provenance source material (--source-uri)",
        "certificate_source_ref" => "provenance ref vs. certificate source ref",
        "certificate_source_commit" => "provenance commit vs. certificate source commit",
        "source_branch" => "source branch (--source-branch)",
        "source_tag" => "source tag (--source-tag)",
        "source_versioned_tag" => "source versioned tag (--source-versioned-tag)",
        _ => "slsa policy",
    };
    PolicyError::Mismatch {
        what,
        expected: d.expected.clone(),
        found: d.found.clone().unwrap_or_else(|| "(none)".into()),
    }
}

/// `github.com/owner/repo` from any of the spellings slsa-verifier accepts.
fn normalize_source(uri: &str) -> Result<String, PolicyError> {
    let s = uri
        .trim_start_matches("git+")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .trim_end_matches(".git");
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() != 3 || parts[0] != "github.com" || parts[1].is_empty() || parts[2].is_empty() {
        return Err(PolicyError::BadValue {
            flag: "--source-uri",
            reason: format!("expected github.com/OWNER/REPO, got {uri:?}"),
        });
    }
    Ok(s.to_string())
}

fn split_ref(uri: &str) -> (&str, &str) {
    uri.split_once('@').unwrap_or((uri, ""))
}

/// The provenance fields slsa-verifier reads, for SLSA v0.2 and v1.
struct ProvenanceFields {
    builder_id: String,
    trigger_uri: String,
    source_uri: String,
    source_commit: Option<String>,
    /// v0.2 push events: the branch a tag was pushed from.
    base_ref: Option<String>,
}

impl ProvenanceFields {
    fn read(predicate_type: &str, p: &Value) -> Result<Self, PolicyError> {
        let s = |v: &Value, path: &str| -> Result<String, PolicyError> {
            v.pointer(path)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    PolicyError::Provenance(format!(
                        "provenance field {path} is missing or not a string"
                    ))
                })
        };
        match predicate_type {
            SLSA_V02 => Ok(ProvenanceFields {
                builder_id: s(p, "/builder/id")?,
                trigger_uri: s(p, "/invocation/configSource/uri")?,
                source_uri: s(p, "/materials/0/uri")?,
                source_commit: p
                    .pointer("/materials/0/digest/sha1")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                base_ref: (p
                    .pointer("/invocation/environment/github_event_name")
                    .and_then(Value::as_str)
                    == Some("push"))
                .then(|| {
                    p.pointer("/invocation/environment/github_event_payload/base_ref")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .flatten(),
            }),
            SLSA_V1 => {
                let repo = s(p, "/buildDefinition/externalParameters/workflow/repository")?;
                let git_ref = s(p, "/buildDefinition/externalParameters/workflow/ref")?;
                Ok(ProvenanceFields {
                    builder_id: s(p, "/runDetails/builder/id")?,
                    trigger_uri: format!("git+{repo}@{git_ref}"),
                    source_uri: s(p, "/buildDefinition/resolvedDependencies/0/uri")?,
                    source_commit: p
                        .pointer("/buildDefinition/resolvedDependencies/0/digest/gitCommit")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    base_ref: None,
                })
            }
            other => Err(PolicyError::Provenance(format!(
                "predicate type {other:?} is not SLSA provenance v0.2 or v1"
            ))),
        }
    }
}

/// `vX.Y.Z` with no pre-release or build part: how a trusted builder must be pinned.
fn is_release_tag(tag: &str) -> bool {
    Semver::parse(tag).is_some_and(|v| v.parts == 3 && v.pre.is_empty() && !v.has_build)
}

/// A Go `golang.org/x/mod/semver` version: `vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    /// How many numeric parts were written (1–3).
    parts: usize,
    pre: String,
    has_build: bool,
}

impl Semver {
    fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix('v')?;
        let (rest, build) = match rest.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (rest, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let nums: Vec<&str> = core.split('.').collect();
        if nums.is_empty() || nums.len() > 3 {
            return None;
        }
        // Shorthand (vX, vX.Y) may not carry pre-release or build parts.
        if nums.len() < 3 && (pre.is_some() || build.is_some()) {
            return None;
        }
        let mut n = [0u64; 3];
        for (i, part) in nums.iter().enumerate() {
            if part.is_empty()
                || !part.bytes().all(|b| b.is_ascii_digit())
                || (part.len() > 1 && part.starts_with('0'))
            {
                return None;
            }
            n[i] = part.parse().ok()?;
        }
        let ident_ok = |x: &str| {
            !x.is_empty()
                && x.split('.').all(|id| {
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        };
        if pre.is_some_and(|p| !ident_ok(p)) || build.is_some_and(|b| !ident_ok(b)) {
            return None;
        }
        Some(Semver {
            major: n[0],
            minor: n[1],
            patch: n[2],
            parts: nums.len(),
            pre: pre.unwrap_or("").to_string(),
            has_build: build.is_some(),
        })
    }

    /// slsa-verifier's versioned-tag rule: the parts the user wrote must be equal (the
    /// patch comparison includes the pre-release; build metadata is ignored).
    fn accepts(&self, have: &Semver) -> bool {
        self.major == have.major
            && (self.parts < 2 || self.minor == have.minor)
            && (self.parts < 3 || (self.patch == have.patch && self.pre == have.pre))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_parsing_follows_go_semver() {
        assert_eq!(
            Semver::parse("v14").map(|v| (v.major, v.minor, v.patch)),
            Some((14, 0, 0))
        );
        assert_eq!(
            Semver::parse("v14.2").map(|v| (v.minor, v.parts)),
            Some((2, 2))
        );
        assert!(Semver::parse("v1.2.3-alpha+123").is_some());
        for bad in [
            "14",
            "v",
            "v01",
            "v1.2.3.4",
            "v1.2-alpha",
            "v1+b",
            "v1.2.3-",
            "vx",
        ] {
            assert!(Semver::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn versioned_tag_compares_only_the_written_parts() {
        let have = Semver::parse("v13.0.30").unwrap();
        for (want, ok) in [
            ("v13", true),
            ("v13.0", true),
            ("v13.0.30", true),
            ("v13.1", false),
            ("v13.0.29", false),
            ("v12", false),
        ] {
            assert_eq!(Semver::parse(want).unwrap().accepts(&have), ok, "{want}");
        }
        let pre = Semver::parse("v1.2.3-rc.1+build").unwrap();
        assert!(Semver::parse("v1.2.3-rc.1").unwrap().accepts(&pre));
        assert!(!Semver::parse("v1.2.3").unwrap().accepts(&pre));
    }

    #[test]
    fn release_tags_need_three_parts_and_nothing_else() {
        assert!(is_release_tag("v2.1.0"));
        for bad in ["v2.1", "v2", "v2.1.0-rc.1", "v2.1.0+b", "main", ""] {
            assert!(!is_release_tag(bad), "{bad}");
        }
    }

    #[test]
    fn source_uri_spellings_normalise_and_bad_ones_are_refused() {
        for s in [
            "github.com/o/r",
            "https://github.com/o/r",
            "git+https://github.com/o/r",
            "github.com/o/r.git",
        ] {
            assert_eq!(normalize_source(s).unwrap(), "github.com/o/r");
        }
        for bad in [
            "gitlab.com/o/r",
            "github.com/o",
            "github.com/o/r/x",
            "github.com//r",
        ] {
            let e = normalize_source(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    PolicyError::BadValue {
                        flag: "--source-uri",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}

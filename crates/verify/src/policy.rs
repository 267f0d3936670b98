//! Policy on a verified statement: predicate type, builder, build type, source, age.

use std::time::Duration;

use cairn_formats::provenance::{normalize_repo_uri, parse_time, Provenance, ProvenanceView};
use cairn_formats::Statement;
use time::OffsetDateTime;

use crate::error::VerifyError;
use crate::report::{BuilderInfo, Report, SourceInfo, TimestampInfo};

/// What the consumer requires. Unset fields are not checked (and are reported as
/// skipped where the consumer might have expected a check).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Distinct trusted keys that must have signed.
    pub threshold: usize,
    /// Every `--key` must have signed (hybrid classical + post-quantum envelopes).
    pub require_all_keys: bool,
    pub predicate_type: Option<String>,
    pub builder_id: Option<String>,
    pub build_type: Option<String>,
    pub source_uri: Option<String>,
    pub source_ref: Option<String>,
    /// The provenance must say the build finished at most this long before `now`.
    pub max_age: Option<Duration>,
    pub now: OffsetDateTime,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            threshold: 1,
            require_all_keys: false,
            predicate_type: None,
            builder_id: None,
            build_type: None,
            source_uri: None,
            source_ref: None,
            max_age: None,
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// Clock skew tolerated for timestamps slightly in the future.
const MAX_FUTURE_SKEW: Duration = Duration::from_secs(300);

impl Policy {
    fn needs_provenance(&self) -> bool {
        self.builder_id.is_some()
            || self.build_type.is_some()
            || self.source_uri.is_some()
            || self.source_ref.is_some()
            || self.max_age.is_some()
    }

    /// Evaluates the statement-level policy and fills the report's builder/source fields.
    /// Returns the parsed provenance, if the predicate is SLSA provenance.
    pub fn evaluate(
        &self,
        st: &Statement,
        report: &mut Report,
    ) -> Result<Option<Provenance>, VerifyError> {
        report.predicate_type = Some(st.predicate_type.clone());
        match &self.predicate_type {
            Some(want) if want != &st.predicate_type => {
                let e = VerifyError::policy("predicateType", want, &st.predicate_type);
                report.fail("predicate-type", &e);
                return Err(e);
            }
            Some(want) => report.pass_value(
                "predicate-type",
                "predicate type is the one required",
                want.clone(),
            ),
            None => report.skip(
                "predicate-type",
                format!("any predicate type accepted (found {})", st.predicate_type),
            ),
        }

        let provenance = Provenance::from_statement(st).map_err(VerifyError::Malformed)?;
        let Some(prov) = provenance else {
            if self.needs_provenance() {
                let e = VerifyError::policy(
                    "predicateType",
                    "SLSA provenance (v1 or v0.2) for builder/source policy",
                    &st.predicate_type,
                );
                report.fail("provenance", &e);
                return Err(e);
            }
            return Ok(None);
        };
        let view = prov.view();
        fill_report(&prov, &view, report);

        check_exact(
            report,
            "builder-id",
            "runDetails.builder.id",
            self.builder_id.as_deref(),
            &view.builder_id,
        )?;
        check_exact(
            report,
            "build-type",
            "buildDefinition.buildType",
            self.build_type.as_deref(),
            &view.build_type,
        )?;

        if let Some(want) = &self.source_uri {
            let found = view.source_uri.clone().unwrap_or_default();
            if found.is_empty() || normalize_repo_uri(want) != normalize_repo_uri(&found) {
                let e = VerifyError::policy(
                    "source.uri",
                    want,
                    if found.is_empty() {
                        "(none recorded)".into()
                    } else {
                        found
                    },
                );
                report.fail("source-uri", &e);
                return Err(e);
            }
            report.pass_value("source-uri", "source repository matches", found);
        }
        if let Some(want) = &self.source_ref {
            let found = view.source_ref.clone().unwrap_or_default();
            if !ref_matches(want, &found) {
                let e = VerifyError::policy(
                    "source.ref",
                    want,
                    if found.is_empty() {
                        "(none recorded)".into()
                    } else {
                        found
                    },
                );
                report.fail("source-ref", &e);
                return Err(e);
            }
            report.pass_value("source-ref", "source ref matches", found);
        }
        if let Some(max_age) = self.max_age {
            self.check_age(&view, max_age, report)?;
        }
        Ok(Some(prov))
    }

    fn check_age(
        &self,
        view: &ProvenanceView,
        max_age: Duration,
        report: &mut Report,
    ) -> Result<(), VerifyError> {
        let (field, raw) = match (&view.finished_on, &view.started_on) {
            (Some(f), _) => ("runDetails.metadata.finishedOn", f),
            (None, Some(s)) => ("runDetails.metadata.startedOn", s),
            (None, None) => {
                let e = VerifyError::policy(
                    "runDetails.metadata.finishedOn",
                    "a build time (required by --max-age)",
                    "(none recorded)",
                );
                report.fail("max-age", &e);
                return Err(e);
            }
        };
        let Some(t) = parse_time(raw) else {
            let e = VerifyError::policy(field, "an RFC 3339 time", raw);
            report.fail("max-age", &e);
            return Err(e);
        };
        let max = time::Duration::try_from(max_age).unwrap_or(time::Duration::MAX);
        let skew = time::Duration::try_from(MAX_FUTURE_SKEW).unwrap_or(time::Duration::ZERO);
        if t > self.now + skew {
            let e = VerifyError::policy(
                field,
                format!("a time not after now ({})", fmt(self.now)),
                raw,
            );
            report.fail("max-age", &e);
            return Err(e);
        }
        if self.now - t > max {
            let e = VerifyError::policy(
                field,
                format!(
                    "at most {} old (not before {})",
                    humanize(max_age),
                    fmt(self.now - max)
                ),
                raw,
            );
            report.fail("max-age", &e);
            return Err(e);
        }
        report.pass_value(
            "max-age",
            format!("built within {}", humanize(max_age)),
            raw.clone(),
        );
        Ok(())
    }
}

/// `--source-ref main` matches `refs/heads/main` or `refs/tags/main`; a full ref must match
/// exactly.
fn ref_matches(want: &str, found: &str) -> bool {
    if want == found {
        return true;
    }
    !want.starts_with("refs/")
        && (found == format!("refs/heads/{want}") || found == format!("refs/tags/{want}"))
}

fn check_exact(
    report: &mut Report,
    name: &str,
    field: &str,
    want: Option<&str>,
    found: &str,
) -> Result<(), VerifyError> {
    if let Some(want) = want {
        if want != found {
            let e = VerifyError::policy(field, want, found);
            report.fail(name, &e);
            return Err(e);
        }
        report.pass_value(name, format!("{field} matches"), found);
    }
    Ok(())
}

fn fill_report(prov: &Provenance, view: &ProvenanceView, report: &mut Report) {
    let version = match prov {
        Provenance::V1(p) => p.run_details.builder.version.clone(),
        Provenance::V02(_) => None,
    };
    report.builder = Some(BuilderInfo {
        id: view.builder_id.clone(),
        version,
    });
    report.build_type = Some(view.build_type.clone());
    if view.source_uri.is_some() || view.source_ref.is_some() {
        report.source = Some(SourceInfo {
            uri: view.source_uri.clone(),
            ref_: view.source_ref.clone(),
            commit: view
                .source_digest
                .get("gitCommit")
                .or_else(|| view.source_digest.get("sha1"))
                .map(str::to_string),
        });
    }
    if let Some(t) = &view.finished_on {
        report.timestamps.push(TimestampInfo {
            kind: "provenance-finished-on".into(),
            time: t.clone(),
            verified: false,
        });
    }
}

fn fmt(t: OffsetDateTime) -> String {
    cairn_formats::provenance::format_time(t)
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s % 86400 == 0 && s > 0 {
        format!("{}d", s / 86400)
    } else if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        assert!(ref_matches("main", "refs/heads/main"));
        assert!(ref_matches("v1.0", "refs/tags/v1.0"));
        assert!(ref_matches("refs/heads/main", "refs/heads/main"));
        assert!(!ref_matches("refs/heads/main", "refs/heads/mainline"));
        assert!(!ref_matches("main", "refs/heads/dev"));
        assert!(!ref_matches("main", ""));
    }
}

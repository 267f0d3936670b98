//! The build event log: one JSON object per PCR extend, in extend order.
//!
//! ```json
//! {"recnum":0,"pcr":23,"digests":{"sha256":"…"},"content_type":"builder"}
//! ```
//!
//! Replaying `PCR = SHA-256(PCR ‖ digest)` from 32 zero bytes (PCR 23 is reset at build
//! start) must give the quoted PCR 23, and each digest must equal the measurement the
//! verifier recomputes from the provenance.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::EvidenceError;
use crate::measure::{BuildMeasurements, MeasurementKind};
use crate::tpm::structures::sha256;

/// The application PCR a build extends.
pub const BUILD_PCR: u32 = 23;

/// More events than any build extends; bounds work on hostile input.
pub const MAX_EVENTS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDigests {
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub recnum: usize,
    pub pcr: u32,
    pub digests: EventDigests,
    pub content_type: String,
}

impl Event {
    pub fn new(recnum: usize, kind: MeasurementKind, digest: &[u8; 32]) -> Self {
        Event {
            recnum,
            pcr: BUILD_PCR,
            digests: EventDigests {
                sha256: hex::encode(digest),
            },
            content_type: kind.name().to_string(),
        }
    }

    fn digest(&self) -> Result<[u8; 32], EvidenceError> {
        let err = || EvidenceError::EventLog {
            recnum: self.recnum,
            reason: format!(
                "digests.sha256 {:?} is not 64 lowercase hex characters",
                self.digests.sha256
            ),
        };
        if self.digests.sha256.len() != 64
            || self.digests.sha256.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(err());
        }
        let v = hex::decode(&self.digests.sha256).map_err(|_| err())?;
        v.try_into().map_err(|_| err())
    }
}

/// PCR 23's value after extending `digests` in order from zero.
pub fn replay(digests: &[[u8; 32]]) -> [u8; 32] {
    digests.iter().fold([0u8; 32], |pcr, d| sha256(&[&pcr, d]))
}

/// The result of checking a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedLog {
    /// PCR 23 after replaying every event from zero.
    pub replayed: [u8; 32],
    /// The measured builder binary digest.
    pub builder_binary: [u8; 32],
}

/// Checks the log's shape and every event against `expected`.
pub fn check_events(
    events: &[Event],
    expected: &BuildMeasurements,
) -> Result<CheckedLog, EvidenceError> {
    if events.len() > MAX_EVENTS {
        return Err(EvidenceError::EventLog {
            recnum: MAX_EVENTS,
            reason: format!("{} events exceed the limit of {MAX_EVENTS}", events.len()),
        });
    }
    let mut seen = BTreeSet::new();
    let mut digests = Vec::with_capacity(events.len());
    let mut builder_binary = [0u8; 32];
    for (i, ev) in events.iter().enumerate() {
        if ev.recnum != i {
            return Err(EvidenceError::EventLog {
                recnum: i,
                reason: format!(
                    "recnum is {}, expected {i}: events were removed or reordered",
                    ev.recnum
                ),
            });
        }
        if ev.pcr != BUILD_PCR {
            return Err(EvidenceError::EventLog {
                recnum: i,
                reason: format!(
                    "extends PCR {}, but build events go to PCR {BUILD_PCR}",
                    ev.pcr
                ),
            });
        }
        let kind = MeasurementKind::from_name(&ev.content_type).ok_or_else(|| {
            EvidenceError::EventLog {
                recnum: i,
                reason: format!("unknown content_type {:?}", ev.content_type),
            }
        })?;
        if !seen.insert(kind) {
            return Err(EvidenceError::EventLog {
                recnum: i,
                reason: format!("second `{}` measurement", kind.name()),
            });
        }
        let d = ev.digest()?;
        if kind == MeasurementKind::BuilderBinary {
            builder_binary = d;
        }
        if let Some(want) = expected.get(kind).filter(|want| *want != &d) {
            return Err(EvidenceError::MeasurementMismatch {
                recnum: i,
                kind: kind.name().to_string(),
                expected: hex::encode(want),
                found: hex::encode(d),
            });
        }
        digests.push(d);
    }
    if let Some(missing) = MeasurementKind::ALL.into_iter().find(|k| !seen.contains(k)) {
        return Err(EvidenceError::MeasurementMissing(
            missing.name().to_string(),
        ));
    }
    Ok(CheckedLog {
        replayed: replay(&digests),
        builder_binary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurements() -> BuildMeasurements {
        BuildMeasurements {
            builder_binary: Some([1; 32]),
            sandbox_policy: [2; 32],
            toolchain: [3; 32],
            resolved_dependencies: [4; 32],
            outputs: [5; 32],
        }
    }

    fn log(m: &BuildMeasurements) -> Vec<Event> {
        MeasurementKind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| Event::new(i, *k, m.get(*k).unwrap()))
            .collect()
    }

    #[test]
    fn replay_matches_manual_extend() {
        let m = measurements();
        let checked = check_events(&log(&m), &m).unwrap();
        let mut manual = [0u8; 32];
        for k in MeasurementKind::ALL {
            manual = sha256(&[&manual, m.get(k).unwrap()]);
        }
        assert_eq!(checked.replayed, manual);
        assert_ne!(checked.replayed, [0u8; 32]);
        assert_eq!(checked.builder_binary, [1; 32]);
    }

    #[test]
    fn unrecorded_builder_binary_is_taken_from_the_log() {
        let m = measurements();
        let l = log(&m);
        let unrecorded = BuildMeasurements {
            builder_binary: None,
            ..m
        };
        assert_eq!(
            check_events(&l, &unrecorded).unwrap().builder_binary,
            [1; 32]
        );
    }

    #[test]
    fn each_defect_is_named() {
        let m = measurements();
        let mut l = log(&m);
        l[3].digests.sha256 = hex::encode([9u8; 32]);
        let e = check_events(&l, &m).unwrap_err();
        assert!(
            matches!(e, EvidenceError::MeasurementMismatch { recnum: 3, ref kind, .. } if kind == "resolved-dependencies"),
            "{e}"
        );

        let mut l = log(&m);
        l.remove(4);
        assert_eq!(
            check_events(&l, &m).unwrap_err(),
            EvidenceError::MeasurementMissing("outputs".into())
        );

        let mut l = log(&m);
        l.swap(0, 1);
        assert!(check_events(&l, &m)
            .unwrap_err()
            .to_string()
            .contains("event 0: recnum is 1"));

        let mut l = log(&m);
        l[1].pcr = 16;
        assert!(check_events(&l, &m)
            .unwrap_err()
            .to_string()
            .contains("event 1: extends PCR 16"));

        let mut l = log(&m);
        l[3].content_type = "firmware".into();
        assert!(check_events(&l, &m)
            .unwrap_err()
            .to_string()
            .contains("unknown content_type \"firmware\""));

        let mut l = log(&m);
        l[1] = Event::new(1, MeasurementKind::BuilderBinary, &[1; 32]);
        assert!(check_events(&l, &m)
            .unwrap_err()
            .to_string()
            .contains("second `builder-binary` measurement"));

        let mut l = log(&m);
        l[0].digests.sha256 = "AB".repeat(32);
        assert!(check_events(&l, &m)
            .unwrap_err()
            .to_string()
            .contains("not 64 lowercase hex"));

        let l: Vec<Event> = (0..MAX_EVENTS + 1)
            .map(|i| Event::new(i, MeasurementKind::Outputs, &m.outputs))
            .collect();
        assert!(check_events(&l, &m)
            .unwrap_err()
            .to_string()
            .contains("exceed the limit"));
    }
}

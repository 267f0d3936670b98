//! `cairn build`: hermetic attested builds.
//!
//! The build side (feature `sandbox`, on by default) runs a build under bubblewrap with a
//! seccomp filter, checks pinned dependencies offline, hashes the toolchain, and signs
//! SLSA v1 provenance (buildType [`provenance::BUILD_TYPE`]) into a cairn bundle. The
//! verifier side (always built, pure Rust) recomputes source and lockfile digests from a
//! consumer's checkout ([`check::check_source`]) and offers policy helpers ([`policy`]).

pub mod attester;
pub mod check;
pub mod config;
pub mod deps;
pub mod error;
pub mod hash;
pub mod policy;
pub mod provenance;
pub mod source;
pub mod toolchain;

#[cfg(feature = "sandbox")]
pub mod build;
#[cfg(feature = "sandbox")]
pub mod outputs;
#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use attester::{AttesterError, BuildAttester, EnvelopeSignature, MeasurementKind};
pub use error::{BuildError, DependencyError};
pub use provenance::BUILD_TYPE;

#[cfg(feature = "sandbox")]
pub use build::{build, BuildRequest, BuildResult, Progress, Quiet, Stage};

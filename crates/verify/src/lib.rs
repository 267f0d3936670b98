//! The verification pipeline behind `cairn verify`.
//!
//! Order of checks, each of which fails closed:
//! 1. parse the input strictly (`cairn-formats`);
//! 2. DSSE signatures over the PAE against the trusted keys, with a threshold;
//! 3. the statement inside the *verified* payload bytes (never a re-parse of the envelope);
//! 4. the artifact's digest against a subject, computing the algorithm the subject names;
//! 5. policy on the predicate (type, builder, build type, source, age);
//! 6. evidence hooks (transparency-log receipts, hardware evidence, source checkouts),
//!    supplied by other crates through [`AttestationCheck`].
//!
//! Every outcome is recorded in a [`Report`], the one output schema of `cairn verify`.

pub mod artifact;
pub mod error;
pub mod pipeline;
pub mod policy;
pub mod report;

pub use artifact::ArtifactInput;
pub use error::VerifyError;
pub use pipeline::{verify_dsse_input, AttestationCheck, CheckContext, TrustedKeys};
pub use policy::Policy;
pub use report::{Check, CheckStatus, Report};

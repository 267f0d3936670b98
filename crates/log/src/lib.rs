//! cairn's transparency log (`docs/log.md`).
//!
//! The verifier side (always built, cargo-only): [`merkle`] (RFC 6962 proofs), [`note`]
//! (C2SP signed notes and cosignatures), [`checkpoint`] (C2SP tlog-checkpoint), [`tiles`]
//! (C2SP tlog-tiles paths, tiles, entry bundles), [`entry`] (the fixed-size record cairn
//! logs for a DSSE envelope) and [`receipt`] (offline receipt verification).
//! With feature `server`: the log and witness HTTP servers over [`store`].
//! With feature `client`: submit, monitor and consistency fetching over HTTP.

pub mod checkpoint;
pub mod entry;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod tiles;

pub use entry::entry_for_envelope;
pub use receipt::{verify_receipt, Receipt, ReceiptError, VerifiedReceipt, WitnessPolicy};
#[cfg(feature = "client")]
pub mod client;
pub mod dedup;
pub mod fsutil;
#[cfg(feature = "client")]
pub mod monitor;
#[cfg(feature = "server")]
pub mod server;
pub mod store;

#[cfg(feature = "client")]
pub use client::{submit, submit_bundle};
#[cfg(feature = "server")]
pub mod witness;

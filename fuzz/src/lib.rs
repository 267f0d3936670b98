//! Shared code of the fuzz targets. The invariants live in `checks.rs`, a file without
//! dependencies beyond `cairn-formats` and `serde_json`, so that the stable-Rust corpus
//! runner in `crates/formats/tests/fuzz_corpus.rs` can include it unchanged.

pub mod checks;

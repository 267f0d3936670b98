#![no_main]
//! Fuzz target `provenance`: see `cairn_fuzz::checks::provenance` for the invariants checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cairn_fuzz::checks::provenance(data);
});

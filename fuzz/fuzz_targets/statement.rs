#![no_main]
//! Fuzz target `statement`: see `cairn_fuzz::checks::statement` for the invariants checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cairn_fuzz::checks::statement(data);
});

#![no_main]
//! Fuzz target `bundle`: see `cairn_fuzz::checks::bundle` for the invariants checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cairn_fuzz::checks::bundle(data);
});

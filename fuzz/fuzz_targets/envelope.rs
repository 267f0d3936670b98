#![no_main]
//! Fuzz target `envelope`: see `cairn_fuzz::checks::envelope` for the invariants checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cairn_fuzz::checks::envelope(data);
});

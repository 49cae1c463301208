//! libFuzzer target: arbitrary configuration, peer and header lines through `resolve`, with
//! the invariants of `tests/common/fuzz_entry.rs` (shared with the proptest run).
#![no_main]

#[path = "../../tests/common/fuzz_entry.rs"]
mod fuzz_entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_entry::run(data));

//! `nested`: see `tests/common/targets.rs` for what it checks, and `fuzz/README.md` for how to run it.

#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::targets::nested(data));

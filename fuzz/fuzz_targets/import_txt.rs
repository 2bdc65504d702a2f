#![no_main]
//! Fuzzes the txt importer.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    studio_fuzz::run("fuzz.txt", data);
});

//! Fuzz target: the HTML parser and both extraction modes must never panic on any bytes.
#![no_main]

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let _ = extract_plain_text(&html, &ExtractOptions::default());
    let plain = ExtractOptions {
        main_content: false,
        ..ExtractOptions::default()
    };
    let _ = extract_plain_text(&html, &plain);
});

//! Fuzz target: the WARC reader (and HTTP parsing, and extraction of what it yields) must never
//! panic or loop on any byte stream.
#![no_main]

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use dclm_extract::warc::WarcReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for rec in WarcReader::new(data, "fuzz.warc")
        .with_max_record_bytes(1 << 16)
        .flatten()
    {
        if let Ok(html) = std::str::from_utf8(rec.payload()) {
            let _ = extract_plain_text(html, &ExtractOptions::default());
        }
    }
});

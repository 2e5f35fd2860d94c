//! Print the text of an HTML file as DCLM extracts it: `cargo run --example html2text -- page.html [--plain]`.

use dclm_extract::html::{extract_plain_text, ExtractOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: html2text FILE.html [--plain]");
        std::process::exit(2);
    };
    let plain = args.any(|a| a == "--plain");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let html = String::from_utf8_lossy(&bytes);
    let opts = ExtractOptions {
        main_content: !plain,
        ..ExtractOptions::default()
    };
    print!("{}", extract_plain_text(&html, &opts));
}

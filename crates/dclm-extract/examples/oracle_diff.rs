//! Compare our extraction with reference outputs stored beside the HTML:
//! `oracle_diff FILE.jsonl [DIFF_DIR]`, one JSON object a line with `name`, `html`, `main` (expected
//! text with main-content rules) and `plain` (expected text without). Prints how many rows are
//! identical in each mode; with `DIFF_DIR`, writes ours/theirs of every differing row there.

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use serde_json::Value;
use std::io::BufRead;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: oracle_diff FILE.jsonl [DIFF_DIR]");
        std::process::exit(2);
    };
    let diff_dir = args.next().map(std::path::PathBuf::from);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let main_opts = ExtractOptions::default();
    let plain_opts = ExtractOptions {
        main_content: false,
        ..ExtractOptions::default()
    };
    let (mut n, mut same_main, mut same_plain) = (0usize, 0usize, 0usize);
    for line in std::io::BufReader::new(file).lines() {
        let line = line.expect("readable line");
        let row: Value = serde_json::from_str(&line).expect("JSON row");
        let name = row["name"].as_str().unwrap_or("?").replace('/', "_");
        let html = row["html"].as_str().unwrap_or("");
        n += 1;
        for (opts, field, same) in [
            (&main_opts, "main", &mut same_main),
            (&plain_opts, "plain", &mut same_plain),
        ] {
            let ours = extract_plain_text(html, opts);
            let theirs = row[field].as_str().unwrap_or("");
            if ours == theirs {
                *same += 1;
            } else if let Some(d) = &diff_dir {
                std::fs::create_dir_all(d).expect("diff folder");
                std::fs::write(d.join(format!("{name}.{field}.ours.txt")), &ours).expect("write");
                std::fs::write(d.join(format!("{name}.{field}.theirs.txt")), theirs).expect("write");
                std::fs::write(d.join(format!("{name}.html")), html).expect("write");
            }
        }
    }
    println!("rows={n} identical_main={same_main} identical_plain={same_plain}");
}

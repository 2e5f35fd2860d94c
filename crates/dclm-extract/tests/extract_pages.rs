//! Conformance on real article pages (`../shared/conformance/extract-pages/`): the share of pages whose
//! text is byte-identical to resiliparse 0.14.5, with and without main-content rules.
//!
//! Set `DCLM_EXTRACT_DIFF_DIR` to write ours/theirs for every differing page into that folder.

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use dclm_extract::warc::WarcReader;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Pages differing in one mode, by name.
fn differing(main_content: bool) -> Option<(usize, Vec<String>)> {
    let dir = dclm_core::testdata::shared("conformance/extract-pages", "extract_pages_identical")?;
    let rows: HashMap<String, Value> = std::fs::read_to_string(dir.join("extract.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["record_id"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let opts = ExtractOptions {
        main_content,
        ..ExtractOptions::default()
    };
    let field = if main_content {
        "text_resiliparse_0_14_5"
    } else {
        "text_no_main_resiliparse_0_14_5"
    };
    let diff_dir = std::env::var_os("DCLM_EXTRACT_DIFF_DIR").map(std::path::PathBuf::from);
    let reader = WarcReader::open(&dir.join("pages.warc.gz"), Arc::new(AtomicU64::new(0)))
        .unwrap()
        .with_types(&["response"]);
    let mut seen = 0;
    let mut bad = vec![];
    for rec in reader {
        let rec = rec.unwrap();
        let row = &rows[rec.record_id()];
        seen += 1;
        let html = std::str::from_utf8(rec.payload()).expect("every page is UTF-8");
        let ours = extract_plain_text(html, &opts);
        let theirs = row[field].as_str().unwrap();
        if ours != theirs {
            let name = row["name"].as_str().unwrap().to_string();
            if let Some(d) = &diff_dir {
                let mode = if main_content { "main" } else { "plain" };
                std::fs::create_dir_all(d).unwrap();
                std::fs::write(d.join(format!("{name}.{mode}.ours.txt")), &ours).unwrap();
                std::fs::write(d.join(format!("{name}.{mode}.theirs.txt")), theirs).unwrap();
            }
            bad.push(name);
        }
    }
    assert_eq!(seen, rows.len(), "every row has its record");
    Some((seen, bad))
}

fn check(main_content: bool) {
    let Some((n, bad)) = differing(main_content) else {
        return;
    };
    let same = n - bad.len();
    eprintln!(
        "main_content={main_content}: {same}/{n} identical ({:.1}%); differing: {bad:?}",
        100.0 * same as f64 / n as f64
    );
    assert!(same * 100 >= n * 99, "{same}/{n} identical < 99%: {bad:?}");
}

#[test]
fn extract_pages_identical_main_content() {
    check(true);
}

#[test]
fn extract_pages_identical_keep_boilerplate() {
    check(false);
}

//! Small generated pages, one or a few per main-content rule (tags, `rel`/`itemprop`/ARIA attributes,
//! class/ID patterns at several body depths, the main-content zone, link clusters) and per formatting
//! rule (headings, lists, tables, `<pre>`, `<br>`, white space), checked against resiliparse 0.14.5's
//! output for the same HTML with `main_content` on and off (`tests/data/rules_oracle.jsonl`; the
//! generator is `tests/data/gen_rules_oracle.py`).

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use serde_json::Value;

#[test]
fn generated_rule_pages_match_resiliparse() {
    let data = include_str!("data/rules_oracle.jsonl");
    let main = ExtractOptions::default();
    let plain = ExtractOptions {
        main_content: false,
        ..ExtractOptions::default()
    };
    let mut n = 0;
    let mut bad = vec![];
    for line in data.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let name = row["name"].as_str().unwrap();
        let html = row["html"].as_str().unwrap();
        for (opts, field) in [(&main, "main"), (&plain, "plain")] {
            n += 1;
            let ours = extract_plain_text(html, opts);
            let theirs = row[field].as_str().unwrap();
            if ours != theirs {
                bad.push(format!(
                    "{name} [{field}]\n  html:   {html:?}\n  ours:   {ours:?}\n  theirs: {theirs:?}"
                ));
            }
        }
    }
    assert!(n > 1000, "the oracle file holds {n} checks");
    assert!(bad.is_empty(), "{} of {n} differ:\n{}", bad.len(), bad.join("\n"));
}

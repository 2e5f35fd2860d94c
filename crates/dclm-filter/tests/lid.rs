//! Language ID against `conformance/lid/` (official fastText 0.9.2 on `lid.176.ftz`), through the
//! `FastTextLid` backend and the `detect_lang_whole_page_enricher` step's own text preparation.

use crate::common;

use common::read_jsonl;
use dclm_filter::steps::meta::{is_space_or_punct, DetectLangEnricher};
use dclm_filter::{FastTextLid, LanguageId};
use std::sync::Arc;

#[test]
fn lid_top1_matches_fasttext() {
    let Some(dir) = dclm_core::testdata::shared("conformance/lid", "lid_top1_matches_fasttext") else {
        return;
    };
    let shared = dir.parent().unwrap().parent().unwrap();
    let lid = Arc::new(FastTextLid::load(&shared.join("data/lid/lid.176.ftz")).unwrap());
    let enricher = DetectLangEnricher::new("language_id_whole_page", lid.clone());
    let (mut n, mut same_label, mut max_dp) = (0usize, 0usize, 0f64);
    let mut gate_ok = 0usize;
    for row in read_jsonl(&dir.join("lid.jsonl")) {
        let text = row["text"].as_str().unwrap();
        n += 1;
        let (label, prob) = lid.top1(&text.replace('\n', "")).unwrap();
        let want_label = row["top1"]["label"].as_str().unwrap();
        let want_prob = row["top1"]["prob"].as_f64().unwrap();
        if label == want_label {
            same_label += 1;
        } else {
            eprintln!("LABEL MISMATCH {}: {label} vs {want_label}", row["id"]);
        }
        max_dp = max_dp.max((prob as f64 - want_prob).abs());
        let gate = row["dclm_gate_returns_empty"].as_bool().unwrap();
        let stored = enricher.detect(text).unwrap();
        if is_space_or_punct(text) == gate && stored.is_empty() == gate {
            gate_ok += 1;
        }
    }
    eprintln!("lid top-1 label: {same_label}/{n}, max |dp| = {max_dp:.3e}, gate {gate_ok}/{n}");
    assert_eq!(same_label, n);
    assert!(max_dp < 1e-4);
    assert_eq!(gate_ok, n);
}

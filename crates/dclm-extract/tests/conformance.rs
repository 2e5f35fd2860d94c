//! Conformance against resiliparse's own output on real WARC records
//! (`../shared/conformance/extract/extract.jsonl`): payload bytes, strict-UTF-8 failures, and the
//! line-F1 / exact-match of our text versus resiliparse 0.14.5 (primary) and 2.0.1 (reported).

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use dclm_extract::warc::WarcReader;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Line-level F1 between two texts: lines are compared as multisets of whitespace-trimmed,
/// non-empty lines. Two empty texts score 1.
fn line_f1(ours: &str, theirs: &str) -> f64 {
    let a: Vec<&str> = ours.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let b: Vec<&str> = theirs.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for l in &b {
        *counts.entry(l).or_default() += 1;
    }
    let mut common = 0;
    for l in &a {
        if let Some(c) = counts.get_mut(l) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let p = common as f64 / a.len() as f64;
    let r = common as f64 / b.len() as f64;
    2.0 * p * r / (p + r)
}

struct Score {
    n: usize,
    exact: usize,
    f1_sum: f64,
    f1s: Vec<f64>,
}

impl Score {
    fn new() -> Self {
        Score {
            n: 0,
            exact: 0,
            f1_sum: 0.0,
            f1s: vec![],
        }
    }
    fn add(&mut self, ours: &str, theirs: &str) {
        self.n += 1;
        self.exact += usize::from(ours == theirs);
        let f = line_f1(ours, theirs);
        self.f1_sum += f;
        self.f1s.push(f);
    }
    fn mean(&self) -> f64 {
        self.f1_sum / self.n.max(1) as f64
    }
    fn exact_rate(&self) -> f64 {
        self.exact as f64 / self.n.max(1) as f64
    }
    fn describe(&mut self, name: &str) -> String {
        self.f1s.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| self.f1s[((self.f1s.len() - 1) as f64 * p).round() as usize];
        format!(
            "{name}: n={} exact={}/{} ({:.1}%) mean line-F1={:.4} min={:.3} p10={:.3} median={:.3}",
            self.n,
            self.exact,
            self.n,
            100.0 * self.exact_rate(),
            self.mean(),
            q(0.0),
            q(0.1),
            q(0.5)
        )
    }
}

#[test]
fn conformance_with_resiliparse() {
    let Some(jsonl) = dclm_core::testdata::shared("conformance/extract/extract.jsonl", "conformance_with_resiliparse")
    else {
        return;
    };
    let Some(warc_dir) = dclm_core::testdata::shared("data/warc", "conformance_with_resiliparse") else {
        return;
    };
    let rows: HashMap<String, Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["record_id"].as_str().unwrap().to_string(), v)
        })
        .collect();

    let mut files: Vec<_> = std::fs::read_dir(&warc_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz") && !p.to_string_lossy().contains(".wet"))
        .collect();
    files.sort();
    let main_opts = ExtractOptions::default();
    let plain_opts = ExtractOptions {
        main_content: false,
        ..ExtractOptions::default()
    };
    let (mut main14, mut plain14, mut main20, mut plain20) = (Score::new(), Score::new(), Score::new(), Score::new());
    let mut seen = 0;
    let mut worst: Vec<(f64, String)> = vec![];
    for f in &files {
        let reader = WarcReader::open(f, Arc::new(AtomicU64::new(0)))
            .unwrap()
            .with_types(&["response"]);
        for rec in reader {
            let rec = rec.unwrap();
            let Some(row) = rows.get(rec.record_id()) else { continue };
            seen += 1;
            let payload = rec.payload();
            assert_eq!(
                payload.len() as u64,
                row["html_len"].as_u64().unwrap(),
                "{}",
                rec.record_id()
            );
            let decoded = std::str::from_utf8(payload);
            assert_eq!(
                decoded.is_err(),
                row.get("error").is_some(),
                "UTF-8 verdict of {}",
                rec.record_id()
            );
            let Ok(html) = decoded else { continue };
            let ours_main = extract_plain_text(html, &main_opts);
            let ours_plain = extract_plain_text(html, &plain_opts);
            let r14 = row["text_resiliparse_0_14_5"].as_str().unwrap();
            main14.add(&ours_main, r14);
            plain14.add(&ours_plain, row["text_no_main_resiliparse_0_14_5"].as_str().unwrap());
            main20.add(&ours_main, row["text"].as_str().unwrap());
            plain20.add(&ours_plain, row["text_no_main"].as_str().unwrap());
            worst.push((line_f1(&ours_main, r14), rec.record_id().to_string()));
        }
    }
    assert_eq!(seen, rows.len(), "every conformance row was found in the WARC files");
    worst.sort_by(|a, b| a.0.total_cmp(&b.0));
    eprintln!("{}", main14.describe("main_content=True  vs resiliparse 0.14.5"));
    eprintln!("{}", plain14.describe("main_content=False vs resiliparse 0.14.5"));
    eprintln!("{}", main20.describe("main_content=True  vs resiliparse 2.0.1 "));
    eprintln!("{}", plain20.describe("main_content=False vs resiliparse 2.0.1 "));
    eprintln!("lowest main-content F1: {:?}", &worst[..worst.len().min(5)]);
    assert!(
        main14.mean() >= 0.90,
        "main-content mean line-F1 {:.4} < 0.90",
        main14.mean()
    );
    // Every record is byte-identical to resiliparse 0.14.5 in both modes.
    assert_eq!(
        main14.exact, main14.n,
        "main-content records identical to resiliparse 0.14.5"
    );
    assert_eq!(
        plain14.exact, plain14.n,
        "no-boilerplate records identical to resiliparse 0.14.5"
    );
    assert!(
        plain14.mean() >= 0.97,
        "no-boilerplate mean line-F1 {:.4} < 0.97",
        plain14.mean()
    );
}

#[test]
fn run_over_shared_warcs_writes_dclm_pool_jsonl() {
    let Some(jsonl) = dclm_core::testdata::shared("conformance/extract/extract.jsonl", "run_over_shared_warcs") else {
        return;
    };
    let Some(warc_dir) = dclm_core::testdata::shared("data/warc", "run_over_shared_warcs") else {
        return;
    };
    let expected: HashMap<String, Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["record_id"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let mut inputs: Vec<_> = std::fs::read_dir(&warc_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz") && !p.to_string_lossy().contains(".wet"))
        .collect();
    inputs.sort();
    let out = tempfile::tempdir().unwrap();
    let mut cfg = dclm_extract::ExtractConfig::new(inputs.clone(), out.path());
    cfg.progress = false;
    let summary = dclm_extract::run(&cfg).unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.stats.error_count(), 0, "{:?}", summary.stats.error_examples);
    let dropped = summary.stats.steps[0].dropped.get("non_utf8").copied().unwrap_or(0);
    assert_eq!(summary.stats.docs_in, summary.stats.docs_out + dropped);
    let mut checked = 0;
    for input in &inputs {
        let name = input
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".warc.gz", ".jsonl.gz");
        let (docs, errs) = dclm_core::io::read_all(out.path().join(&name)).unwrap();
        assert!(errs.is_empty());
        for doc in docs {
            let meta = doc.metadata().expect("metadata");
            assert_eq!(meta["WARC-Type"], "response");
            let id = meta["WARC-Record-ID"].as_str().unwrap();
            if let Some(row) = expected.get(id) {
                assert_eq!(meta["WARC-Target-URI"].as_str(), row["url"].as_str());
                assert_eq!(Some(doc.text.as_str()), row["text_resiliparse_0_14_5"].as_str(), "{id}");
                checked += 1;
            }
            // warcinfo is carried into every following record (cc-single-record.warc.gz has none).
            match name.as_str() {
                n if n.starts_with("english-pages") => assert!(doc.warcinfo().is_some_and(|w| w.contains("Wget"))),
                n if n.starts_with("cc-main") => assert!(doc.warcinfo().is_some_and(|w| w.contains("isPartOf"))),
                _ => assert!(doc.warcinfo().is_none()),
            }
        }
    }
    assert_eq!(checked, expected.values().filter(|r| r.get("error").is_none()).count());
}

#[test]
fn warc_pages_yield_dclm_pool_documents() {
    let test = "warc_pages_yield_dclm_pool_documents";
    let Some(jsonl) = dclm_core::testdata::shared("conformance/extract/extract.jsonl", test) else {
        return;
    };
    let Some(warc_dir) = dclm_core::testdata::shared("data/warc", test) else {
        return;
    };
    let rows: HashMap<String, Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["record_id"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let extractor = dclm_extract::ResiliparseExtractor::dclm();
    let (mut texts, mut non_utf8) = (0, 0);
    for name in ["cc-main-2020-34-sample.warc.gz", "english-pages-0000.warc.gz"] {
        let pages =
            dclm_extract::WarcPages::open(&warc_dir.join(name), &extractor, u64::MAX, Arc::new(AtomicU64::new(0)))
                .unwrap();
        for page in pages {
            let dclm_extract::WarcPage::Page { result, .. } = page else {
                panic!("read error in {name}: {page:?}");
            };
            match result {
                Ok(Some(doc)) => {
                    assert!(
                        doc.get("warcinfo").is_some(),
                        "{name}: warcinfo of the file is attached"
                    );
                    let Some(row) = rows.get(doc.id().unwrap()) else {
                        continue;
                    };
                    assert_eq!(doc.text, row["text_resiliparse_0_14_5"].as_str().unwrap());
                    texts += 1;
                }
                Err(e) => {
                    assert!(dclm_extract::is_expected_drop(&e), "{e}");
                    non_utf8 += 1;
                }
                Ok(None) => panic!("the DCLM extractor always gives a document"),
            }
        }
    }
    assert!(
        texts >= 10 && non_utf8 >= 1,
        "{texts} texts, {non_utf8} non-UTF-8 pages"
    );
}

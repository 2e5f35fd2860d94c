//! Tests of the embedded default data: the shipped corpus is exactly what the generator makes, its WARC is
//! well-formed and holds every kind of page the DCLM stages need, and the positives and eval files are valid.

use dclm_report::corpus::{default_pages, parse_special_tsv, write_default_corpus, CorpusPlan, PageInfo};
use dclm_report::corpus::{reference_negatives, NEGATIVES_SEED};
use dclm_report::embedded::{self, CORPUS_INDEX_JSONL, CORPUS_WARC_GZ, EVAL_FILES, NEGATIVES_JSONL, POSITIVES_JSONL};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

fn baseline_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/baseline")
}

fn gunzip_all(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// Minimal WARC record parser for the test: (headers, block) pairs, checking Content-Length framing.
fn parse_warc(data: &[u8]) -> Vec<(BTreeMap<String, String>, Vec<u8>)> {
    let mut recs = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        assert!(
            data[pos..].starts_with(b"WARC/1.0\r\n"),
            "record at byte {pos} lacks a version line"
        );
        let head_end = pos + data[pos..].windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = std::str::from_utf8(&data[pos..head_end]).unwrap();
        let headers: BTreeMap<String, String> = head
            .lines()
            .skip(1)
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let len: usize = headers["Content-Length"].parse().unwrap();
        let start = head_end + 4;
        let block = data[start..start + len].to_vec();
        assert_eq!(&data[start + len..start + len + 4], b"\r\n\r\n");
        pos = start + len + 4;
        recs.push((headers, block));
    }
    recs
}

fn index() -> Vec<PageInfo> {
    CORPUS_INDEX_JSONL
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn shipped_corpus_is_what_the_generator_makes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus.warc.gz");
    let summary = write_default_corpus(&baseline_dir().join("pages"), &out, &CorpusPlan::default()).unwrap();
    assert_eq!(
        gunzip_all(&std::fs::read(&out).unwrap()),
        gunzip_all(CORPUS_WARC_GZ),
        "assets/baseline/corpus.warc.gz is stale: run `cargo run -p dclm-report --example make_corpus`"
    );
    assert_eq!(std::fs::read_to_string(&summary.index).unwrap(), CORPUS_INDEX_JSONL);
    // Also on disk (the embedded copy is compiled in; the file is what git holds).
    assert_eq!(
        std::fs::read(baseline_dir().join("corpus.warc.gz")).unwrap(),
        CORPUS_WARC_GZ
    );
}

#[test]
fn corpus_warc_is_well_formed() {
    assert!(
        CORPUS_WARC_GZ.len() < 1_000_000,
        "corpus is {} bytes",
        CORPUS_WARC_GZ.len()
    );
    let data = gunzip_all(CORPUS_WARC_GZ);
    let recs = parse_warc(&data);
    assert_eq!(recs[0].0["WARC-Type"], "warcinfo");
    // Many gzip members: a reader that stops after the first member would only see the warcinfo record.
    let mut first = Vec::new();
    flate2::read::GzDecoder::new(CORPUS_WARC_GZ)
        .read_to_end(&mut first)
        .unwrap();
    assert_eq!(parse_warc(&first).len(), 1);

    let idx = index();
    let responses: Vec<_> = recs.iter().filter(|(h, _)| h["WARC-Type"] == "response").collect();
    assert_eq!(responses.len(), idx.len());
    assert!((150..=400).contains(&idx.len()), "{} pages", idx.len());
    let mut ids = BTreeSet::new();
    for (i, (h, block)) in recs.iter().enumerate().skip(1) {
        assert!(ids.insert(h["WARC-Record-ID"].clone()), "duplicate record id");
        if h["WARC-Type"] == "response" {
            assert_eq!(recs[i - 1].0["WARC-Type"], "request");
            assert_eq!(recs[i - 1].0["WARC-Target-URI"], h["WARC-Target-URI"]);
            assert_eq!(h["WARC-Concurrent-To"], recs[i - 1].0["WARC-Record-ID"]);
            assert!(block.starts_with(b"HTTP/1.1 "));
        }
    }
    // Index order = WARC order.
    for (info, (h, _)) in idx.iter().zip(responses.iter()) {
        assert_eq!(info.url, h["WARC-Target-URI"]);
    }
    // Exactly the latin-1 pages are not UTF-8.
    let bodies: BTreeMap<&str, &[u8]> = responses
        .iter()
        .map(|(h, b)| {
            let split = b.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            (h["WARC-Target-URI"].as_str(), &b[split..])
        })
        .collect();
    let non_utf8: Vec<&str> = bodies
        .iter()
        .filter(|(_, b)| std::str::from_utf8(b).is_err())
        .map(|(u, _)| *u)
        .collect();
    let expected_non_utf8: Vec<&str> = idx
        .iter()
        .filter(|i| i.expect == "extract:non_utf8")
        .map(|i| i.url.as_str())
        .collect();
    assert_eq!(non_utf8.len(), 3);
    assert_eq!(
        non_utf8.iter().copied().collect::<BTreeSet<_>>(),
        expected_non_utf8.into_iter().collect()
    );

    // Duplicates come after their originals; exact ones are byte-identical.
    let pos: BTreeMap<&str, usize> = idx.iter().enumerate().map(|(i, p)| (p.url.as_str(), i)).collect();
    let mut dups = 0;
    for (i, p) in idx.iter().enumerate() {
        if let Some(orig) = p.source.strip_prefix("copy of ") {
            assert!(pos[orig] < i, "{} precedes its original", p.url);
            assert_eq!(bodies[orig], bodies[p.url.as_str()]);
            dups += 1;
        } else if let Some(orig) = p.source.strip_prefix("syndicated copy of ") {
            assert!(pos[orig] < i);
            dups += 1;
        }
    }
    assert_eq!(dups, 16);
}

#[test]
fn corpus_exercises_every_dclm_step() {
    let idx = index();
    let expects: BTreeSet<String> = idx
        .iter()
        .map(|p| p.expect.split(':').next().unwrap().to_string())
        .collect();
    for step in [
        "extract",
        "url_substring_filter",
        "url_removal_modifier",
        "language_filter",
        "page_length_filter",
        "word_length_filter",
        "symbol_ratio_filter",
        "bullet_count_filter",
        "ellipsis_count_filter",
        "alphabetic_word_ratio_filter",
        "stop_word_filter",
        "massive_web_repetition_filters",
        "word_removal_ratio_filter",
        "dedup",
        "quality_filter",
        "keep",
    ] {
        assert!(expects.contains(step), "no page for {step}");
    }
    // Every special page listed in special.tsv is in the corpus.
    let tsv_path = baseline_dir().join("pages/special.tsv");
    let specials = parse_special_tsv(&tsv_path, &std::fs::read_to_string(&tsv_path).unwrap()).unwrap();
    let urls: BTreeSet<&str> = idx.iter().map(|p| p.url.as_str()).collect();
    for s in &specials {
        assert!(urls.contains(s.url.as_str()), "{} missing", s.url);
    }
    // Banned-URL pages really contain a word of DCLM's lists (checked against the shared banlists when present).
    if let Some(dir) = dclm_core::testdata::shared("data/dclm/banlists", "corpus_exercises_every_dclm_step") {
        let strict =
            std::fs::read_to_string(dir.join("refinedweb_banned_words_strict_reverse_engineered.txt")).unwrap();
        for s in specials
            .iter()
            .filter(|s| s.expect.starts_with("url_substring_filter:strict"))
        {
            let flat = s.url.to_lowercase().replace(['-', '.'], "");
            assert!(strict.lines().any(|w| !w.is_empty() && flat.contains(w)), "{}", s.url);
        }
    }
    // Mostly good articles.
    let articles = idx
        .iter()
        .filter(|p| p.expect == "keep" && p.kind.starts_with("article/"))
        .count();
    assert!(articles * 2 > idx.len(), "{articles} good articles of {}", idx.len());
}

#[test]
fn generated_articles_have_enough_text() {
    // The generated good articles alone hold well over 200k words of running text (the heuristics and dedup
    // keep most of it; see assets/baseline/README.md for the measured figures).
    let pages = default_pages(&baseline_dir().join("pages"), &CorpusPlan::default()).unwrap();
    let mut words = 0usize;
    for (page, info) in &pages {
        if info.expect == "keep" && info.kind.starts_with("article/") {
            let html = std::str::from_utf8(&page.body).unwrap();
            for p in html.split("<p>").skip(1) {
                words += p.split("</p>").next().unwrap().split_whitespace().count();
            }
        }
    }
    assert!(words > 220_000, "{words} words");
}

#[test]
fn positives_are_valid() {
    let mut ids = BTreeSet::new();
    let mut n = 0;
    for line in POSITIVES_JSONL.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(ids.insert(v["id"].as_str().unwrap().to_string()));
        assert!(text.split_whitespace().count() >= 40, "{text}");
        assert!(text.starts_with(v["instruction"].as_str().unwrap()));
        assert!(!text.contains("http"));
        n += 1;
    }
    assert!((100..=200).contains(&n), "{n} positives");
}

#[test]
fn negatives_are_reproducible_and_distinct_from_the_corpus() {
    let docs = reference_negatives(&baseline_dir().join("pages"), 300, NEGATIVES_SEED).unwrap();
    let shipped: Vec<String> = NEGATIVES_JSONL
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(shipped, docs, "negatives.jsonl is stale: run the make_corpus example");
    let sources: BTreeSet<&str> = NEGATIVES_JSONL
        .lines()
        .filter_map(|l| l.split("\"source\":\"").nth(1))
        .collect();
    assert!(sources.len() >= 4, "all four families present");
    // No negative repeats a corpus page's title (different seed, so the classifier never sees test pages).
    let titles: BTreeSet<String> = default_pages(&baseline_dir().join("pages"), &CorpusPlan::default())
        .unwrap()
        .iter()
        .filter_map(|(p, _)| {
            let h = std::str::from_utf8(&p.body).ok()?;
            Some(h.split("<h1>").nth(1)?.split("</h1>").next()?.to_string())
        })
        .collect();
    let unique: BTreeSet<&String> = docs.iter().collect();
    assert!(unique.len() > 250, "{} distinct negatives", unique.len());
    for d in &docs {
        assert!(d.split_whitespace().count() >= 40, "{d}");
        assert!(!titles.contains(d.lines().next().unwrap()), "{d}");
    }
}

#[test]
fn eval_files_are_valid_llm_foundry_tasks() {
    let files: BTreeMap<&str, &str> = EVAL_FILES.iter().copied().collect();
    let yaml = files["baseline_tasks.yaml"];
    let csv = files["eval_meta_data.csv"];
    let mut labels = Vec::new();
    for block in yaml.split("\n-\n").skip(1) {
        let get = |k: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{k}: ")))
                .map(|v| v.split(" #").next().unwrap().trim().to_string())
                .unwrap()
        };
        let (label, uri, ty) = (get("label"), get("dataset_uri"), get("icl_task_type"));
        let data = files[uri.as_str()];
        let mut rows = 0;
        for line in data.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            match ty.as_str() {
                "multiple_choice" => {
                    let n = v["choices"].as_array().unwrap().len();
                    assert!(v["query"].is_string() && n >= 2 && (v["gold"].as_u64().unwrap() as usize) < n);
                }
                "schema" => {
                    let n = v["context_options"].as_array().unwrap().len();
                    assert!(v["continuation"].is_string() && (v["gold"].as_u64().unwrap() as usize) < n);
                }
                "language_modeling" => {
                    assert!(v["context"].is_string() && v["continuation"].is_string());
                }
                "generation_task_with_answers" => {
                    let aliases = v["aliases"].as_array().unwrap();
                    let answer = v["answer"].as_str().unwrap();
                    assert!(v["context"].is_string() && aliases.iter().any(|a| a.as_str() == Some(answer)));
                }
                other => panic!("unknown task type {other}"),
            }
            rows += 1;
        }
        assert!((20..=50).contains(&rows), "{label}: {rows} rows");
        let meta = csv
            .lines()
            .find(|l| l.starts_with(&format!("{label},")))
            .expect("meta row");
        let cols: Vec<&str> = meta.split(',').collect();
        assert_eq!(cols[4].parse::<usize>().unwrap(), rows, "{label} #datapoints");
        let baseline: f64 = cols[5].parse().unwrap();
        assert!((0.0..100.0).contains(&baseline));
        labels.push(label);
    }
    assert_eq!(labels, ["mini_arc", "mini_winograd", "mini_lambada", "mini_squad"]);
}

#[test]
fn embedded_assets_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = embedded::write_baseline_assets(dir.path()).unwrap();
    assert_eq!(std::fs::read(&a.corpus_warc).unwrap(), CORPUS_WARC_GZ);
    assert!(a.eval_yaml.exists());
    assert!(a
        .eval_dir
        .join("local_data/reading_comprehension/mini_squad.jsonl")
        .exists());
    assert_eq!(std::fs::read_to_string(&a.positives).unwrap(), POSITIVES_JSONL);
    assert_eq!(std::fs::read_to_string(&a.negatives).unwrap(), NEGATIVES_JSONL);
}

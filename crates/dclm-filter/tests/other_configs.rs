//! DCLM's other baseline configs end to end on the shared real documents (the 499 Common Crawl texts of
//! `quality/dclm-majority-data.jsonl`, each given a synthetic `WARC-Target-URI` as the other tests do):
//! `c4.yaml` (with a small stand-in LDNOOBW list, as the real list is not in the shared data, and the fastText
//! LID standing in for `langdetect`) and `refinedweb.yaml` (step 2, the non-public curated-domain banlist,
//! skipped). Prints the per-step stats table and checks that the counters add up.

use dclm_core::{Document, Stats};
use dclm_filter::{BuildContext, FastTextLid, LanguageId, LoadOptions, PipelineConfig, Registry};
use std::path::Path;
use std::sync::Arc;

fn docs(shared: &Path) -> Vec<Document> {
    let text = std::fs::read_to_string(shared.join("data/quality/dclm-majority-data.jsonl")).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut d = Document::new(v["text"].as_str().unwrap());
            d.metadata_mut().insert(
                "WARC-Target-URI".into(),
                format!("http://majority.example/doc/{i}").into(),
            );
            d
        })
        .collect()
}

/// Runs every document, prints the table, checks the bookkeeping; returns (stats, kept).
fn run_and_report(name: &str, p: &dclm_filter::Pipeline, docs: Vec<Document>) -> (Stats, usize) {
    let n = docs.len() as u64;
    let mut stats = Stats::new(name);
    let kept = docs.into_iter().filter_map(|d| p.process(d, &mut stats)).count();
    let modified = p.modified_counts();
    println!("\n{name}: {n} docs in, {kept} kept");
    println!(
        "{:<34} {:>6} {:>6} {:>8}  dropped by reason",
        "step", "in", "out", "modified"
    );
    for (s, m) in stats.steps.iter().zip(&modified) {
        println!(
            "{:<34} {:>6} {:>6} {:>8}  {:?}",
            s.name, s.docs_in, s.docs_out, m.1, s.dropped
        );
    }
    assert_eq!(stats.steps.len(), p.len(), "{name}: every step has stats");
    assert_eq!(stats.steps[0].docs_in, n);
    for (i, s) in stats.steps.iter().enumerate() {
        assert!(s.docs_in > 0, "{name}: step {} never reached", s.name);
        let dropped: u64 = s.dropped.values().sum();
        assert_eq!(s.docs_in, s.docs_out + dropped, "{name}: {} in = out + dropped", s.name);
        if let Some(next) = stats.steps.get(i + 1) {
            assert_eq!(s.docs_out, next.docs_in, "{name}: {} out = next in", s.name);
        }
        assert!(
            !s.dropped.keys().any(|k| k.starts_with("error:")),
            "{name}: {} reported errors: {:?}",
            s.name,
            s.dropped
        );
    }
    assert_eq!(stats.steps.last().unwrap().docs_out, kept as u64);
    (stats, kept)
}

fn lid(shared: &Path) -> Arc<dyn LanguageId> {
    Arc::new(FastTextLid::load(&shared.join("data/lid/lid.176.ftz")).unwrap())
}

#[test]
fn c4_yaml_end_to_end() {
    let Some(cfg) = dclm_core::testdata::shared("data/dclm/configs/c4.yaml", "c4_yaml_end_to_end") else {
        return;
    };
    let shared = cfg
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    // Stand-in bad-words list (the real LDNOOBW list is not in the shared data), at C4's relative path.
    let assets = tempfile::tempdir().unwrap();
    let banlists = assets.path().join("baselines/mappers/banlists");
    std::fs::create_dir_all(&banlists).unwrap();
    std::fs::write(banlists.join("ldnoobw.txt"), "porn\nsex\nfuck\nshit\nnude\nxxx\n").unwrap();
    let l = lid(shared);
    let ctx = BuildContext::new(assets.path())
        .with_language_id(l.clone())
        .with_langdetect(l);
    let loaded = PipelineConfig::load(&cfg)
        .unwrap()
        .build(&Registry::dclm(), &ctx, &LoadOptions::default())
        .unwrap();
    assert_eq!(loaded.pipeline.len(), 21);
    let (stats, kept) = run_and_report("c4.yaml", &loaded.pipeline, docs(shared));
    let n = stats.steps[0].docs_in as usize;
    // C4's rules are harsh on web text but leave a real share of the prose pages.
    assert!(kept > n / 20 && kept < n * 9 / 10, "c4 kept {kept} of {n}");
    let by = |label: &str| stats.steps.iter().find(|s| s.name == label).unwrap();
    assert!(by("6:punctuation_line_modifier").docs_out > 0);
    assert!(by("12:page_length_filter").docs_in > by("12:page_length_filter").docs_out);
    // The `{` filter removes code-like pages.
    assert!(by("10:substring_filter").dropped.values().sum::<u64>() > 0);

    // What the LID stand-in scores the pages reaching C4's 0.99 language threshold (step 21 left out).
    let opts = LoadOptions {
        skip_steps: vec![21],
        ..Default::default()
    };
    let p = PipelineConfig::load(&cfg)
        .unwrap()
        .build(&Registry::dclm(), &ctx, &opts)
        .unwrap()
        .pipeline;
    let en: Vec<f64> = docs(shared)
        .into_iter()
        .filter_map(|d| p.run(d))
        .map(|d| {
            d.get("language_id_whole_page_langdetect")
                .and_then(|m| m.get("en"))
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        })
        .collect();
    let above = |t: f64| en.iter().filter(|&&x| x > t).count();
    println!(
        "LID stand-in on the {} pages reaching step 21: en top-1 {}; en > 0.5: {}, > 0.65: {}, > 0.9: {}, > 0.99: {}",
        en.len(),
        above(0.0),
        above(0.5),
        above(0.65),
        above(0.9),
        above(0.99)
    );
    assert_eq!(above(0.99), kept);
    assert!(
        above(0.0) * 10 > en.len() * 8,
        "most pages that pass C4's rules are English"
    );
}

#[test]
fn refinedweb_yaml_end_to_end_without_curated_domains() {
    let Some(cfg) = dclm_core::testdata::shared(
        "data/dclm/configs/refinedweb.yaml",
        "refinedweb_yaml_end_to_end_without_curated_domains",
    ) else {
        return;
    };
    let shared = cfg
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    let ctx = BuildContext::new(shared.join("data/dclm-assets")).with_language_id(lid(shared));
    let opts = LoadOptions {
        skip_steps: vec![2],
        ..Default::default()
    };
    let loaded = PipelineConfig::load(&cfg)
        .unwrap()
        .build(&Registry::dclm(), &ctx, &opts)
        .unwrap();
    assert_eq!(loaded.skipped.len(), 1);
    assert_eq!(loaded.skipped[0].func, "url_substring_filter");
    let (_, kept) = run_and_report("refinedweb.yaml", &loaded.pipeline, docs(shared));
    assert!(kept > 0 && kept < 499, "refinedweb kept {kept}");
}
